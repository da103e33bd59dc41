package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestNewFileGetsPermAndParents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "state.json")
	if err := Write(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := read(t, path); got != "new" {
		t.Errorf("content %q, want new", got)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestExistingFileKeepsItsMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o640 || read(t, path) != "new" {
		t.Errorf("mode %v content %q, want 0640 new", fi.Mode().Perm(), read(t, path))
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary file left behind: %v", entries)
	}
}

func TestSymlinkIsFollowedAndKept(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink("real/config.yaml", link); err != nil {
		t.Fatal(err)
	}
	chain := filepath.Join(dir, "chain.yaml")
	if err := os.Symlink(link, chain); err != nil {
		t.Fatal(err)
	}
	if err := Write(chain, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{link, chain} {
		fi, err := os.Lstat(l)
		if err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symlink (%v)", l, err)
		}
	}
	if got := read(t, real); got != "new" {
		t.Errorf("target holds %q, want new", got)
	}
}

func TestReadOnlyIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte("old"), 0o444); err != nil {
		t.Fatal(err)
	}
	err := Write(path, []byte("new"), 0o644)
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("err = %v, want ErrReadOnly", err)
	}
	if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q is not one line naming the file", err)
	}
	if got := read(t, path); got != "old" {
		t.Errorf("read-only file rewritten: %q", got)
	}
}

func TestDirectoryIsRefused(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, []byte("x"), 0o644); err == nil {
		t.Fatal("writing over a directory succeeded")
	}
}

func TestWriteFuncFailureLeavesTheOldFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteFunc(p, 0o644, func(w io.Writer) error {
		if _, err := w.Write([]byte("half of the new")); err != nil {
			return err
		}
		return errors.New("the source broke")
	})
	if err == nil || !strings.Contains(err.Error(), "the source broke") {
		t.Fatalf("err = %v, want the writer's error", err)
	}
	if got := read(t, p); got != "old" {
		t.Errorf("after a failed write the file holds %q, want %q", got, "old")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(p), ".f.tmp-*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}
