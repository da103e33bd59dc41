package jobconfig

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/internal/filetree"
)

func periodic(name string) string {
	return "periodics:\n- name: " + name + "\n  interval: 1h\n  spec:\n    containers:\n    - image: alpine\n"
}

// Files lists exactly the files Prow's own ReadJobConfig reads: every job
// it loads carries the file it came from.
func TestFilesAgreeWithProw(t *testing.T) {
	files := map[string]string{
		".prowignore":            "ignored/\n*-wip.yaml\n",
		"a.yaml":                 periodic("a"),
		"b.yml":                  periodic("b"),
		"c-wip.yaml":             periodic("c"),
		"ignored/d.yaml":         periodic("d"),
		"sub/e.yaml":             periodic("e"),
		"sub/.prowignore":        "f.yaml\n",
		"sub/f.yaml":             periodic("f"),
		"sub/deeper/g.yaml":      periodic("g"),
		"..data/h.yaml":          periodic("h"),
		"..i.yaml":               periodic("i"),
		"j.json":                 "{}",
		"README.md":              "# jobs\n",
		"dir.yaml/k.yaml":        periodic("k"),
		"other/sub/ignored.yaml": periodic("l"),
	}
	dir := filetree.Temp(t, files)
	if err := os.Symlink(filepath.Join(dir, "a.yaml"), filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "link.yaml.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	jc, err := config.ReadJobConfig(dir)
	if err != nil {
		// The symlink duplicates a's job: Prow merges by name and refuses;
		// drop it for Prow's run and compare the rest.
		os.Remove(filepath.Join(dir, "link.yaml"))
		if jc, err = config.ReadJobConfig(dir); err != nil {
			t.Fatal(err)
		}
	}
	var prow []string
	for _, p := range jc.Periodics {
		prow = append(prow, p.SourcePath)
	}
	slices.Sort(prow)
	l, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Clone(l.Files)
	slices.Sort(got)
	if diff := cmp.Diff(prow, got); diff != "" {
		t.Errorf("files (-Prow +Files):\n%s", diff)
	}
	if len(got) < 5 {
		t.Fatalf("only %d files: the tree does not exercise the walk", len(got))
	}
}

func TestFilesDuplicateBasename(t *testing.T) {
	dir := filetree.Temp(t, map[string]string{"x/a.yaml": periodic("a"), "y/a.yaml": periodic("b")})
	l, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := &Listing{Files: []string{filepath.Join(dir, "x/a.yaml")}, Duplicates: []Duplicate{{Path: filepath.Join(dir, "y/a.yaml"), First: filepath.Join(dir, "x/a.yaml")}}}
	if diff := cmp.Diff(want, l); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// prompt fails the test unless Files returns within a second.
func prompt(t *testing.T, dir string) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { _, err := Files(dir); done <- err }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Second):
		t.Fatal("Files still running after 1s")
		return nil
	}
}

func TestFilesRefusesWhatProwBlocksOrSpinsOn(t *testing.T) {
	t.Run("prowignore directory", func(t *testing.T) {
		dir := filetree.Temp(t, map[string]string{"a.yaml": periodic("a"), "sub/b.yaml": periodic("b"), "sub/.prowignore/x": ""})
		err := prompt(t, dir)
		want := filepath.Join(dir, "sub/.prowignore") + ": is a directory; .prowignore must be a file of patterns"
		if err == nil || err.Error() != want {
			t.Fatalf("error = %v, want %q", err, want)
		}
	})
	t.Run("prowignore named pipe at the root", func(t *testing.T) {
		dir := filetree.Temp(t, map[string]string{"a.yaml": periodic("a")})
		if err := syscall.Mkfifo(filepath.Join(dir, ".prowignore"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := prompt(t, dir)
		if err == nil || !strings.Contains(err.Error(), ".prowignore: is a named pipe (FIFO)") {
			t.Fatalf("error = %v", err)
		}
	})
	t.Run("named pipe among the files", func(t *testing.T) {
		dir := filetree.Temp(t, map[string]string{"a.yaml": periodic("a")})
		fifo := filepath.Join(dir, "z.yaml")
		if err := syscall.Mkfifo(fifo, 0o644); err != nil {
			t.Fatal(err)
		}
		err := prompt(t, dir)
		want := fifo + ": is a named pipe (FIFO), not a regular file; Prow reads every *.yaml and *.yml here: remove it or add it to .prowignore"
		if err == nil || err.Error() != want {
			t.Fatalf("error = %v, want %q", err, want)
		}
	})
	t.Run("named pipe that .prowignore excludes", func(t *testing.T) {
		dir := filetree.Temp(t, map[string]string{"a.yaml": periodic("a"), ".prowignore": "z.yaml\n"})
		if err := syscall.Mkfifo(filepath.Join(dir, "z.yaml"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := prompt(t, dir); err != nil {
			t.Fatalf("an ignored pipe is not read: %v", err)
		}
	})
	t.Run("a prowignore directory where no file is read is left alone, as Prow does", func(t *testing.T) {
		dir := filetree.Temp(t, map[string]string{"a.yaml": periodic("a"), "docs/.prowignore/x": "", "docs/README.md": ""})
		if err := prompt(t, dir); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("total budget", func(t *testing.T) {
		dir := t.TempDir()
		// Sparse files: sizes count, nothing is written.
		for i := range 9 {
			f, err := os.Create(filepath.Join(dir, string(rune('a'+i))+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(8 << 20); err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
		err := prompt(t, dir)
		if err == nil || !strings.Contains(err.Error(), "job config files total more than 64 MiB") {
			t.Fatalf("error = %v", err)
		}
	})
}
