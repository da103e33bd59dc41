package touched

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/hack/bench/corpus"
	"github.com/prowctl/prowctl/pkg/jobconfig"
	"github.com/prowctl/prowctl/pkg/process"
)

// sameConfig compares two loaded configs field by field, unexported fields
// included (compiled regexes by their source, Prow's getters by identity).
var sameConfig = []cmp.Option{
	cmp.Exporter(func(reflect.Type) bool { return true }),
	cmp.Comparer(func(a, b *regexp.Regexp) bool {
		return (a == nil) == (b == nil) && (a == nil || a.String() == b.String())
	}),
	cmp.Comparer(func(a, b config.ProwYAMLGetter) bool {
		return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer()
	}),
}

// gitRepo is a scratch repository with files committed at HEAD.
type gitRepo struct {
	t   *testing.T
	dir string
}

func newGitRepo(t *testing.T, files map[string]string) *gitRepo {
	t.Helper()
	r := &gitRepo{t: t, dir: t.TempDir()}
	r.write(files)
	r.git(nil, "init", "-q", "-b", "main")
	r.git(nil, "add", ".")
	r.git(nil, "commit", "-q", "-m", "base")
	return r
}

func (r *gitRepo) write(files map[string]string) {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "symlink:"); ok {
			if err := os.Symlink(target, p); err != nil {
				r.t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

func (r *gitRepo) git(stdout *bytes.Buffer, args ...string) {
	r.t.Helper()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + r.dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
	var stderr bytes.Buffer
	c := process.Cmd{Name: "git", Args: append([]string{"-C", r.dir}, args...), Env: env, Stderr: &stderr}
	if stdout != nil {
		c.Stdout = stdout
	}
	if err := (process.Exec{}).Run(context.Background(), c); err != nil {
		r.t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
}

// archiveCopy writes rels as git archive has them at ref under dir: the
// copy Ref loads when reading objects is left to it.
func (r *gitRepo) archiveCopy(ref, dir string, rels ...string) {
	r.t.Helper()
	var tar bytes.Buffer
	r.git(&tar, append([]string{"archive", "--format=tar", ref, "--"}, rels...)...)
	if err := untar(&tar, dir); err != nil {
		r.t.Fatal(err)
	}
}

const (
	objConfig = `prowjob_namespace: default
pod_namespace: test-pods
plank:
  default_decoration_config_entries:
  - config:
      gcs_configuration:
        bucket: logs
        path_strategy: explicit
      gcs_credentials_secret: gcs
      utility_images:
        clonerefs: clonerefs:v1
        entrypoint: entrypoint:v1
        initupload: initupload:v1
        sidecar: sidecar:v1
presets:
- labels:
    preset-cache: "true"
  env:
  - name: CACHE
    value: v1
`
	objJob = `presubmits:
  example/%s:
  - name: %s
    always_run: true
    decorate: true
    labels:
      preset-cache: "true"
    spec:
      containers:
      - image: golang
        command: [make]
`
)

func objJobFile(repo, name string) string {
	return fmt.Sprintf(objJob, repo, name)
}

// The ref's files read from git's objects give exactly what Prow's
// config.Load gives on the git archive copy Ref used to make, jobs'
// SourcePath included: Walk's order (not git's: "a-b/" sorts before "a/"
// in git, after it in a walk), "..*" entries, other extensions, symlinks
// (which the copy leaves out), an executable file, a VERSION file beside
// config.yaml (outside the paths the copy holds), a preset in a job file, a
// directory named *.yaml.
func TestRefFromObjectsEqualsConfigLoad(t *testing.T) {
	files := map[string]string{
		"config/prow/config.yaml":           objConfig,
		"config/prow/VERSION":               "v42\n",
		"config/jobs/a/x.yaml":              objJobFile("a", "a-x"),
		"config/jobs/a-b/y.yaml":            objJobFile("a", "ab-y"),
		"config/jobs/a.b/z.yml":             objJobFile("b", "a.b-z"),
		"config/jobs/top.yaml":              objJobFile("b", "top"),
		"config/jobs/presets.yaml":          "presets:\n- labels:\n    preset-extra: \"true\"\n  env:\n  - name: EXTRA\n    value: \"1\"\n",
		"config/jobs/..data/hidden.yaml":    objJobFile("c", "hidden-dir"),
		"config/jobs/..skipped.yaml":        objJobFile("c", "hidden-file"),
		"config/jobs/README.md":             "not a job file\n",
		"config/jobs/notes.txt":             "presubmits: {}\n",
		"config/jobs/d.yaml/inner.yaml":     objJobFile("d", "inner"),
		"config/jobs/link.yaml":             "symlink:top.yaml",
		"config/jobs/sub/deeper/last.yaml":  objJobFile("e", "deeper"),
		"config/jobs/sub/deeper-b/l2.yaml":  objJobFile("e", "deeper-b"),
		"config/other/ignored-by-path.yaml": objJobFile("f", "elsewhere"),
	}
	repo := newGitRepo(t, files)
	if err := os.Chmod(filepath.Join(repo.dir, "config/jobs/top.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	repo.git(nil, "add", ".")
	repo.git(nil, "commit", "-q", "-m", "executable")
	// The work tree moves on: the ref's files are what count.
	repo.write(map[string]string{"config/jobs/top.yaml": objJobFile("b", "top-in-the-work-tree")})

	l := &Loader{Runner: process.Exec{}, RepoDir: repo.dir}
	rels := []string{"config/prow/config.yaml", "config/jobs"}
	dir := t.TempDir()
	got, _ := l.refFromObjects(context.Background(), "HEAD", rels, dir, nil)
	if got == nil {
		t.Fatal("reading the ref's objects gave up on a plain config")
	}
	repo.archiveCopy("HEAD", dir, rels...)
	want, err := config.Load(filepath.Join(dir, rels[0]), filepath.Join(dir, rels[1]), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, sameConfig...); diff != "" {
		t.Errorf("objects differ from config.Load of the archive (-Prow +objects):\n%s", diff)
	}
	var names []string
	for _, j := range got.AllStaticPresubmits(nil) {
		names = append(names, j.Name)
	}
	if len(names) != 7 {
		t.Errorf("jobs %v, want the 7 the walk lists", names)
	}

	// The listing itself is the walk's, in its order.
	l2, err := jobconfig.Files(filepath.Join(dir, rels[1]))
	if err != nil {
		t.Fatal(err)
	}
	var tree bytes.Buffer
	repo.git(&tree, "ls-tree", "-r", "-z", "--full-tree", "HEAD", "--", rels[1])
	entries, ok := parseTree(tree.Bytes())
	if !ok {
		t.Fatal("ls-tree output not parsed")
	}
	listed, ok := jobFiles(rels[1], entries)
	if !ok {
		t.Fatal("jobFiles gave up")
	}
	var gotPaths []string
	for _, e := range listed {
		gotPaths = append(gotPaths, filepath.Join(dir, e.path))
	}
	if diff := cmp.Diff(l2.Files, gotPaths); diff != "" {
		t.Errorf("listing differs from jobconfig.Files (-walk +objects):\n%s", diff)
	}
}

// A single job config file, and the bench corpus (one preset changed
// between two commits) through Ref: equal to config.Load of archive
// copies.
func TestRefFromObjectsCorpus(t *testing.T) {
	repo := &gitRepo{t: t, dir: t.TempDir()}
	n := 600
	if testing.Short() {
		n = 30
	}
	if _, err := corpus.Generate(filepath.Join(repo.dir, "config"), n, 1); err != nil {
		t.Fatal(err)
	}
	repo.git(nil, "init", "-q", "-b", "main")
	repo.git(nil, "add", ".")
	repo.git(nil, "commit", "-q", "-m", "base")
	cfg := filepath.Join(repo.dir, "config/config.yaml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	edited := bytes.Replace(b, []byte(presetOld), []byte(presetNew), 1)
	if bytes.Equal(edited, b) {
		t.Fatal("the preset edit changed nothing")
	}
	if err := os.WriteFile(cfg, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	repo.git(nil, "commit", "-q", "-a", "-m", "preset")

	var one string
	err = filepath.WalkDir(filepath.Join(repo.dir, "config/jobs"), func(p string, d os.DirEntry, err error) error {
		if err == nil && one == "" && !d.IsDir() && strings.HasSuffix(p, ".yaml") {
			one, _ = filepath.Rel(repo.dir, p)
		}
		return err
	})
	if err != nil || one == "" {
		t.Fatalf("no job file: %v", err)
	}
	for _, tc := range []struct{ name, ref, jobs string }{
		{"the corpus at HEAD~", "HEAD~", "config/jobs"},
		{"the corpus at HEAD", "HEAD", "config/jobs"},
		{"one job config file", "HEAD", one},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &Loader{Runner: process.Exec{}, RepoDir: repo.dir}
			rels := []string{"config/config.yaml", tc.jobs}
			dir := t.TempDir()
			got, _ := l.refFromObjects(context.Background(), tc.ref, rels, dir, nil)
			if got == nil {
				t.Fatal("reading the ref's objects gave up")
			}
			repo.archiveCopy(tc.ref, dir, rels...)
			want, err := config.Load(filepath.Join(dir, rels[0]), filepath.Join(dir, rels[1]), nil, "")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, sameConfig...); diff != "" {
				t.Errorf("objects differ from config.Load of the archive (-Prow +objects):\n%s", diff)
			}
			if len(got.AllStaticPresubmits(nil))+len(got.AllStaticPostsubmits(nil))+len(got.AllPeriodics()) == 0 {
				t.Error("no jobs: the comparison proves nothing")
			}
		})
	}
}

// What the walk's rules need the disk for, or Prow's loader must judge, is
// left to the copy, and Ref's result is still config.Load's on it.
func TestRefFromObjectsLeavesItToTheCopy(t *testing.T) {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write([]byte(objJobFile("z", "zipped"))); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	base := map[string]string{
		"config/prow/config.yaml": objConfig,
		"config/jobs/a.yaml":      objJobFile("a", "a"),
		"config/jobs/sub/b.yaml":  objJobFile("b", "b"),
	}
	for _, tc := range []struct {
		name  string
		extra map[string]string
		// refused: Prow refuses the config; Ref's error names the ref.
		refused bool
	}{
		{name: "a .prowignore", extra: map[string]string{"config/jobs/sub/.prowignore": "b.yaml\n"}},
		{name: "a .prowignore at the top", extra: map[string]string{"config/jobs/.prowignore": "sub/\n"}},
		{name: "a gzipped file", extra: map[string]string{"config/jobs/z.yaml": gz.String()}},
		{name: "two files of one basename", extra: map[string]string{"config/jobs/other/a.yaml": objJobFile("c", "c")}, refused: true},
		{name: "a file Prow's decoder refuses", extra: map[string]string{"config/jobs/bad.yaml": "presubmits: [\n"}, refused: true},
		{name: "a job in config.yaml", extra: map[string]string{"config/prow/config.yaml": objConfig + "periodics:\n- name: p\n  interval: 1h\n  spec:\n    containers:\n    - image: golang\n"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{}
			for k, v := range base {
				files[k] = v
			}
			for k, v := range tc.extra {
				files[k] = v
			}
			repo := newGitRepo(t, files)
			rels := []string{"config/prow/config.yaml", "config/jobs"}
			l := &Loader{Runner: process.Exec{}, RepoDir: repo.dir, ConfigPath: filepath.Join(repo.dir, rels[0]), JobConfigPath: filepath.Join(repo.dir, rels[1])}
			if c, _ := l.refFromObjects(context.Background(), "HEAD", rels, t.TempDir(), nil); c != nil {
				t.Error("reading objects did not leave it to the copy")
			}
			got, err := l.Ref(context.Background(), "HEAD")
			dir := t.TempDir()
			repo.archiveCopy("HEAD", dir, rels...)
			want, werr := config.Load(filepath.Join(dir, rels[0]), filepath.Join(dir, rels[1]), nil, "")
			if tc.refused {
				if werr == nil {
					t.Fatal("Prow accepts the config: the case tests nothing")
				}
				if err == nil || !strings.Contains(err.Error(), "HEAD") {
					t.Errorf("Ref: %v, want an error naming the ref", err)
				}
				return
			}
			if werr != nil {
				t.Fatal(werr)
			}
			if err != nil {
				t.Fatal(err)
			}
			// The copies' directories differ: compare without SourcePath.
			if diff := cmp.Diff(want, got, append(sameConfig, cmp.FilterPath(func(p cmp.Path) bool {
				return p.Last().String() == ".SourcePath"
			}, cmp.Ignore()))...); diff != "" {
				t.Errorf("Ref differs from config.Load of the archive (-Prow +Ref):\n%s", diff)
			}
		})
	}
}
