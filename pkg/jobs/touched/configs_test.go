package touched

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/hack/bench/corpus"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/process"
)

// Configs' base takes the jobs it shares with the head instead of defaulting
// them, and Configs.Jobs builds no spec for those: both must give exactly
// what loading each side on its own and comparing every job gives, whatever
// the change. Each case changes the work tree of a corpus committed at
// HEAD (and may commit it, for a head at a ref).
func TestConfigsJobsEqualsJobs(t *testing.T) {
	ctx := context.Background()
	replaceIn := func(t *testing.T, path, old, new string) {
		t.Helper()
		b := readFile(t, path)
		if !strings.Contains(string(b), old) {
			t.Fatalf("%s lacks %q", path, old)
		}
		if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// firstWith is the first job file (in Prow's order) holding s.
	firstWith := func(t *testing.T, dir, s string) string {
		t.Helper()
		var found string
		err := filepath.WalkDir(filepath.Join(dir, "jobs"), func(p string, d os.DirEntry, err error) error {
			if err == nil && found == "" && !d.IsDir() && strings.Contains(string(readFile(t, p)), s) {
				found = p
			}
			return err
		})
		if err != nil || found == "" {
			t.Fatalf("no job file holds %q: %v", s, err)
		}
		return found
	}
	for _, tc := range []struct {
		name string
		// edit changes the config in dir (config.yaml, jobs/).
		edit        func(t *testing.T, dir string)
		head        string // "" for the work tree; else edit is committed
		takesNone   bool
		touchesNone bool
	}{
		{name: "the corpus edits: a preset, a command, a move, a re-indent, a removal, an addition",
			edit: func(t *testing.T, dir string) { editCorpus(t, dir) }},
		{name: "the same edits, the head at a ref", head: "HEAD",
			edit: func(t *testing.T, dir string) { editCorpus(t, dir) }},
		{name: "a decoration default", takesNone: true,
			edit: func(t *testing.T, dir string) {
				replaceIn(t, filepath.Join(dir, "config.yaml"), "timeout: 2h", "timeout: 3h")
			}},
		{name: "one job file's bytes",
			edit: func(t *testing.T, dir string) {
				replaceIn(t, firstWith(t, dir, "- runner.sh"), "- runner.sh", "- runner-v2.sh")
			}},
		{name: "a preset no job carries, before the others", touchesNone: true,
			edit: func(t *testing.T, dir string) {
				writePreset(t, dir, "labels:\n    preset-none: \"true\"")
			}},
		{name: "a preset without labels, which every job carries", takesNone: true,
			edit: func(t *testing.T, dir string) { writePreset(t, dir, "labels: {}") }},
		{name: "nothing", touchesNone: true, edit: func(*testing.T, string) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := &gitRepo{t: t, dir: t.TempDir()}
			dir := filepath.Join(repo.dir, "config")
			if _, err := corpus.Generate(dir, 40, 1); err != nil {
				t.Fatal(err)
			}
			repo.git(nil, "init", "-q", "-b", "main")
			repo.git(nil, "add", ".")
			repo.git(nil, "commit", "-q", "-m", "base")
			tc.edit(t, dir)
			base := "HEAD"
			if tc.head != "" {
				repo.git(nil, "add", "-A")
				repo.git(nil, "commit", "-q", "--allow-empty", "-m", "head")
				base = "HEAD~"
			}
			cfg, jobs := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs")

			l := &Loader{Runner: process.Exec{}, RepoDir: repo.dir, ConfigPath: cfg, JobConfigPath: jobs}
			cs, err := l.Configs(ctx, base, tc.head)
			if err != nil {
				t.Fatal(err)
			}
			// Each side on its own: nothing to take from.
			wantBase, err := LoadRef(ctx, process.Exec{}, repo.dir, base, cfg, jobs)
			if err != nil {
				t.Fatal(err)
			}
			var wantHead *config.Config
			if tc.head == "" {
				wantHead, err = mkpj.LoadAll(cfg, jobs)
			} else {
				wantHead, err = LoadRef(ctx, process.Exec{}, repo.dir, tc.head, cfg, jobs)
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantBase, cs.Base, append(sameConfig, sameCopyPath)...); diff != "" {
				t.Errorf("the base differs from its own load (-alone +Configs):\n%s", diff)
			}
			if diff := cmp.Diff(wantHead, cs.Head, append(sameConfig, sameCopyPath)...); diff != "" {
				t.Errorf("the head differs from its own load (-alone +Configs):\n%s", diff)
			}

			want, err := Jobs(ctx, wantBase, wantHead)
			if err != nil {
				t.Fatal(err)
			}
			got, err := cs.Jobs(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Configs.Jobs differs from Jobs on configs loaded apart (-apart +Configs):\n%s", diff)
			}
			if (len(want) == 0) != tc.touchesNone {
				t.Errorf("%d job(s) touched: the case does not test what it says", len(want))
			}
			if (len(cs.taken) == 0) != tc.takesNone {
				t.Errorf("the base took %d job(s) from the head", len(cs.taken))
			}
		})
	}
}

// A base Prow refuses is Configs' error, as Ref's, even when every job it
// shares with the head could be taken; a head Prow refuses is a *HeadError.
func TestConfigsErrors(t *testing.T) {
	ctx := context.Background()
	files := map[string]string{
		"config/prow/config.yaml": objConfig,
		"config/jobs/a.yaml":      objJobFile("a", "pull-a"),
		"config/jobs/dup.yaml":    objJobFile("a", "pull-a"),
	}
	repo := newGitRepo(t, files)
	if err := os.Remove(filepath.Join(repo.dir, "config/jobs/dup.yaml")); err != nil {
		t.Fatal(err)
	}
	cfg, jobs := filepath.Join(repo.dir, "config/prow/config.yaml"), filepath.Join(repo.dir, "config/jobs")
	l := &Loader{Runner: process.Exec{}, RepoDir: repo.dir, ConfigPath: cfg, JobConfigPath: jobs}
	_, want := LoadRef(ctx, process.Exec{}, repo.dir, "HEAD", cfg, jobs)
	if want == nil {
		t.Fatal("Prow accepts the base")
	}
	_, err := l.Configs(ctx, "HEAD", "")
	var he *HeadError
	if err == nil || errors.As(err, &he) || err.Error() != want.Error() {
		t.Errorf("a base Prow refuses: %v (%T), want %v", err, err, want)
	}

	repo.write(map[string]string{"config/jobs/b.yaml": objJobFile("a", "pull-a")})
	_, err = l.Configs(ctx, "HEAD", "")
	if err == nil || errors.As(err, &he) {
		t.Errorf("base and head Prow refuses: %v (%T), want the base's error", err, err)
	}
	repo.git(nil, "rm", "-q", "config/jobs/dup.yaml")
	repo.git(nil, "commit", "-q", "-m", "fix")
	_, err = l.Configs(ctx, "HEAD", "")
	if !errors.As(err, &he) || !strings.Contains(err.Error(), "pull-a") {
		t.Errorf("a head Prow refuses: %v (%T), want a *HeadError", err, err)
	}
}

// sameCopyPath compares jobs' SourcePath but for the temporary directory a
// ref's files are placed in, which each load makes anew.
var sameCopyPath = cmp.FilterPath(func(p cmp.Path) bool {
	sf, ok := p.Last().(cmp.StructField)
	return ok && sf.Name() == "SourcePath"
}, cmp.Comparer(func(a, b string) bool {
	tmp := regexp.MustCompile(`^.*/prowctl-config-[0-9]+/`)
	return tmp.ReplaceAllString(a, "") == tmp.ReplaceAllString(b, "")
}))

// writePreset writes a job file of one preset with labels (YAML), first in
// Prow's order.
func writePreset(t *testing.T, dir, labels string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "jobs", "0.yaml"), []byte("presets:\n- "+labels+"\n  env:\n  - name: ADDED\n    value: added\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
