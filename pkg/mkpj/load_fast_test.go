package mkpj

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/prow/pkg/config"

	benchcorpus "github.com/prowctl/prowctl/hack/bench/corpus"
	"github.com/prowctl/prowctl/internal/filetree"
	"github.com/prowctl/prowctl/pkg/jobconfig"
)

// sameConfig compares two loaded configs field by field, unexported fields
// included (compiled regexes by their source, Prow's getters by identity):
// everything a caller of config.Load could observe.
var sameConfig = []cmp.Option{
	cmp.Exporter(func(reflect.Type) bool { return true }),
	cmp.Comparer(func(a, b *regexp.Regexp) bool {
		return (a == nil) == (b == nil) && (a == nil || a.String() == b.String())
	}),
	cmp.Comparer(func(a, b config.ProwYAMLGetter) bool {
		return reflect.ValueOf(a).Pointer() == reflect.ValueOf(b).Pointer()
	}),
}

// checkLoadFast asserts that where Prow accepts the config, the fast path
// gives exactly the *config.Config config.Load gives.
func checkLoadFast(t *testing.T, configPath, jobConfigPath string) {
	t.Helper()
	want, err := config.Load(configPath, jobConfigPath, nil, "")
	if err != nil {
		t.Fatalf("Prow refuses the config: %v", err)
	}
	l, err := jobconfig.Files(jobConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	got := new(Loader).loadFast(configPath, jobConfigPath, l)
	if got == nil {
		t.Fatal("the fast path gave up on a config Prow accepts")
	}
	if diff := cmp.Diff(want, got, sameConfig...); diff != "" {
		t.Errorf("the fast path differs from config.Load (-Prow +fast):\n%s", diff)
	}
	if n := len(got.PresubmitsStatic) + len(got.PostsubmitsStatic) + len(got.Periodics); n == 0 {
		t.Error("no jobs loaded: the comparison proves nothing")
	}
}

func TestLoadFastEqualsConfigLoad(t *testing.T) {
	t.Run("the repository's config", func(t *testing.T) {
		checkLoadFast(t, "../../config/prow/config.yaml", "../../config/jobs")
	})
	t.Run("testdata/compare", func(t *testing.T) {
		checkLoadFast(t, "testdata/compare/config.yaml", "testdata/compare/jobs")
	})
	t.Run("a single job config file", func(t *testing.T) {
		checkLoadFast(t, "testdata/compare/config.yaml", "testdata/compare/jobs/org-b/repo-two/repo-two.yaml")
	})
	t.Run("what Prow's merge and decoder keep or drop", func(t *testing.T) {
		dir := filetree.Temp(t, edgeCaseTree(t))
		checkLoadFast(t, filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs"))
	})
	t.Run("the bench corpus", func(t *testing.T) {
		dir := t.TempDir()
		if testing.Short() {
			if _, err := benchcorpus.Generate(dir, 30, 7); err != nil {
				t.Fatal(err)
			}
		} else {
			dir = corpusDir(t)
		}
		checkLoadFast(t, filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs"))
	})
}

// One Loader loading two versions of a config side by side, as jobs diff
// does, gives each exactly what config.Load gives: the files both hold are
// decoded once, and neither load's defaulting reaches the other's jobs (a
// preset changed in one applies there only).
func TestLoaderSharesDecoding(t *testing.T) {
	before := edgeCaseTree(t)
	after := edgeCaseTree(t)
	after["config.yaml"] = strings.Replace(after["config.yaml"], "service-account.json", "service-account-v2.json", 1)
	if after["config.yaml"] == before["config.yaml"] {
		t.Fatal("the preset edit changed nothing")
	}
	dirs := []string{filetree.Temp(t, before), filetree.Temp(t, after)}
	var ld Loader
	got := make([]*config.Config, len(dirs))
	errs := make([]error, len(dirs))
	var wg sync.WaitGroup
	for i, dir := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = ld.LoadAll(filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs"))
		}()
	}
	wg.Wait()
	for i, dir := range dirs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		want, err := config.Load(filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs"), nil, "")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got[i], sameConfig...); diff != "" {
			t.Errorf("%s: the shared loader differs from config.Load (-Prow +Loader):\n%s", dir, diff)
		}
	}
}

// edgeCaseTree is a config Prow accepts that exercises its merge and
// decoder: presets in config.yaml and in files, a repo with only
// postsubmits, a repo key listing no job, decorate_all_jobs in a job file
// (Prow's merge drops it), an empty file, a second document (dropped),
// YAML 1.1 booleans, anchors and merge keys, a gzipped file, a cluster
// other than the default, a .prowignore, jobs of one repo in two files.
func edgeCaseTree(t *testing.T) map[string]string {
	t.Helper()
	cfg, err := os.ReadFile("testdata/compare/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	job := func(name string) string {
		return "  - name: " + name + "\n    decorate: true\n    spec:\n      containers:\n      - image: alpine\n        command: [make]\n"
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	if _, err := w.Write([]byte("periodics:\n- name: zipped\n  interval: 2h\n  spec:\n    containers:\n    - image: alpine\n")); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"config.yaml": string(cfg),
		"jobs/a.yaml": "decorate_all_jobs: true\npresubmits:\n  org/a:\n" + job("pull-a-1") + job("pull-a-2") +
			"postsubmits:\n  org/post-only:\n" + job("post-only") +
			"presets:\n- labels:\n    preset-x: \"true\"\n  env:\n  - name: X\n    value: x\n",
		"jobs/b.yml":  "presubmits:\n  org/a:\n" + job("pull-a-3") + "  org/empty: []\n  org/null:\nperiodics: []\n",
		"jobs/c.yaml": "# nothing yet\n",
		"jobs/d.yaml": "periodics:\n- name: first-doc\n  interval: 1h\n  labels:\n    preset-x: \"true\"\n    preset-service-account: \"true\"\n" +
			"  spec:\n    containers:\n    - image: alpine\n---\nperiodics:\n- name: second-doc\n",
		"jobs/e.yaml": "base: &base\n  always_run: yes\n  optional: on\n  cluster: build\n  spec:\n    containers:\n    - image: alpine\n" +
			"presubmits:\n  org/e:\n  - <<: *base\n    name: pull-e\n    branches: [main, release-.*]\n  - <<: *base\n    name: pull-e-changed\n    always_run: no\n    run_if_changed: '^pkg/'\n" +
			"periodics:\n- name: with-refs\n  cron: \"0 * * * *\"\n  decorate: true\n  extra_refs:\n  - org: org-b\n    repo: repo-two\n    base_ref: main\n  spec:\n    containers:\n    - image: alpine\n      command: [make]\n",
		"jobs/z.yaml":           gz.String(),
		"jobs/sub/.prowignore":  "ignored.yaml\n",
		"jobs/sub/ignored.yaml": "not: [valid\n",
		"jobs/sub/kept.yaml":    "postsubmits:\n  org/a:\n" + job("post-a"),
	}
}

// Where Prow refuses the config, or defaults jobs in config.yaml itself, the
// fast path leaves it to Prow: LoadAll then gives Prow's verdict.
func TestLoadFastLeavesItToProw(t *testing.T) {
	job := "presubmits:\n  org/a:\n  - name: pull-a\n    spec:\n      containers:\n      - image: alpine\n"
	for _, tc := range []struct {
		name    string
		files   map[string]string
		prowErr bool
	}{
		{name: "jobs in config.yaml", files: map[string]string{"config.yaml": "prowjob_namespace: prow\npod_namespace: test-pods\n" + job, "jobs/a.yaml": "presets:\n- labels: {a: b}\n  env: [{name: A, value: a}]\n"}},
		{name: "a file Prow's decoder refuses", files: map[string]string{"jobs/a.yaml": "periodics:\n- name: p\n  max_concurrency: lots\n"}, prowErr: true},
		{name: "two presets with one pair", files: map[string]string{"jobs/a.yaml": "presets:\n- labels: {a: b}\n", "jobs/b.yaml": "presets:\n- labels: {a: b}\n"}, prowErr: true},
		{name: "a job Prow's validation refuses", files: map[string]string{"jobs/a.yaml": job, "jobs/b.yaml": job}, prowErr: true},
		{name: "a duplicated basename", files: map[string]string{"jobs/x/a.yaml": job, "jobs/y/a.yaml": "periodics: []\n"}, prowErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, ok := tc.files["config.yaml"]; !ok {
				tc.files["config.yaml"] = "prowjob_namespace: prow\npod_namespace: test-pods\n"
			}
			dir := filetree.Temp(t, tc.files)
			cfg, jobs := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs")
			l, err := jobconfig.Files(jobs)
			if err != nil {
				t.Fatal(err)
			}
			if c := new(Loader).loadFast(cfg, jobs, l); c != nil {
				t.Error("the fast path loaded it")
			}
			want, wantErr := config.Load(cfg, jobs, nil, "")
			if (wantErr != nil) != tc.prowErr {
				t.Fatalf("config.Load: %v, the case expects an error: %v", wantErr, tc.prowErr)
			}
			got, err := LoadAll(cfg, jobs)
			if (err != nil) != tc.prowErr {
				t.Fatalf("LoadAll: %v; config.Load: %v", err, wantErr)
			}
			if err == nil {
				if diff := cmp.Diff(want, got, sameConfig...); diff != "" {
					t.Errorf("LoadAll differs from config.Load (-Prow +LoadAll):\n%s", diff)
				}
			}
		})
	}
}
