package mkpj

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"
)

// refsFor returns refs every job of testdata/compare accepts.
func refsFor(j Job) Refs {
	r := Refs{BaseRef: "main", BaseSHA: sha1}
	if j.Presubmit != nil {
		r.PullNumber, r.PullSHA, r.PullAuthor, r.PullHeadRef = 42, sha2, "alice", "fix-things"
	}
	if !j.CouldRun(r.BaseRef) {
		r.BaseRef = "release-1.0"
	}
	return r
}

// The fast path must default each job exactly as Prow's full config load.
func TestLoadForJobEqualsLoadAll(t *testing.T) {
	const cfgPath, jobsPath = "testdata/compare/config.yaml", "testdata/compare/jobs"
	all, err := LoadAll(cfgPath, jobsPath)
	if err != nil {
		t.Fatal(err)
	}
	names := Names(all)
	if len(names) < 10 {
		t.Fatalf("testdata has %d jobs, want at least 10: %v", len(names), names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			fast, complete, err := LoadForJob(cfgPath, jobsPath, name)
			if err != nil {
				t.Fatal(err)
			}
			if !complete {
				t.Fatal("fast path did not find the job")
			}
			want, got := Matches(all, name), Matches(fast, name)
			if len(want) != 1 || len(got) != 1 {
				t.Fatalf("matches: full %d, fast %d, want 1 each", len(want), len(got))
			}
			wantPJ, err := NewProwJob(context.Background(), all, want[0], refsFor(want[0]), RefSources{})
			if err != nil {
				t.Fatal(err)
			}
			gotPJ, err := NewProwJob(context.Background(), fast, got[0], refsFor(got[0]), RefSources{})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(wantPJ, gotPJ, ignoreNameAndStart...); diff != "" {
				t.Errorf("fast path differs from config.Load (-want +got):\n%s", diff)
			}
		})
	}
}

var ignoreNameAndStart = []cmp.Option{
	cmpopts.IgnoreFields(prowapi.ProwJob{}, "ObjectMeta.Name"),
	cmpopts.IgnoreFields(prowapi.ProwJobStatus{}, "StartTime"),
}

// A preset in a file that holds no job still applies.
func TestLoadForJobPresetsInOtherFiles(t *testing.T) {
	c, _, err := LoadForJob("testdata/compare/config.yaml", "testdata/compare/jobs", "post-repo-two-build")
	if err != nil {
		t.Fatal(err)
	}
	m := Matches(c, "post-repo-two-build")
	if len(m) != 1 {
		t.Fatalf("got %d matches", len(m))
	}
	var env []string
	for _, e := range m[0].Postsubmit.Spec.Containers[0].Env {
		env = append(env, e.Name)
	}
	if diff := cmp.Diff([]string{"DOCKER_IN_DOCKER_ENABLED"}, env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
}

func TestLoadForJobDuplicateBasename(t *testing.T) {
	dir := t.TempDir()
	for _, p := range []string{"a/jobs.yaml", "b/jobs.yaml"} {
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("periodics: []\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, _, err := LoadForJob("testdata/compare/config.yaml", dir, "x")
	if err == nil {
		t.Fatal("want an error for a duplicated basename")
	}
	if _, err := config.Load("testdata/compare/config.yaml", dir, nil, ""); err == nil {
		t.Fatal("Prow accepts duplicated basenames; the fast path should too")
	}
}

func TestBuildJobInProwConfig(t *testing.T) {
	res, err := Build(context.Background(), Options{
		ConfigPath: "testdata/injobconfig/config.yaml", JobConfigPath: "testdata/injobconfig/jobs", Query: Query{Name: "ci-in-prow-config"},
	})
	if err != nil {
		t.Fatal(err)
	}
	env := res.ProwJob.Spec.PodSpec.Containers[0].Env
	if len(env) != 1 || env[0].Name != "X" {
		t.Errorf("env %v, want the preset of the job config file", env)
	}
}

// Prow's loader names no line; mkpj places its refusal, and refuses what
// would block Prow's loader before it starts.
func TestLoadErrorsArePositioned(t *testing.T) {
	cfg, err := filepath.Abs("testdata/compare/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("periodics:\n- name: p\n  interval: 1h\n  max_concurrency: lots\n  spec:\n    containers:\n    - image: alpine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := bad + `:4:20: cannot unmarshal string into Go struct field Periodic.JobConfig.periodics.JobBase.max_concurrency of type int`
	if _, err := LoadAll(cfg, dir); err == nil || err.Error() != want {
		t.Errorf("LoadAll error = %v\nwant %s", err, want)
	}
	if _, _, err := LoadForJob(cfg, dir, "p"); err == nil || err.Error() != want {
		t.Errorf("LoadForJob error = %v\nwant %s", err, want)
	}

	fifoDir := t.TempDir()
	fifo := filepath.Join(fifoDir, "pipe.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	ignoreDir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(ignoreDir, ".prowignore"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ignoreDir, "a.yaml"), []byte("periodics: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ dir, want string }{
		{fifoDir, fifo + ": is a named pipe (FIFO)"},
		{ignoreDir, filepath.Join(ignoreDir, ".prowignore") + ": is a directory"},
	} {
		done := make(chan error, 2)
		go func() {
			_, err := LoadAll(cfg, tc.dir)
			done <- err
			_, _, err = LoadForJob(cfg, tc.dir, "x")
			done <- err
		}()
		for range 2 {
			select {
			case err := <-done:
				if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
					t.Errorf("error = %v, want %s...", err, tc.want)
				}
			case <-time.After(2 * time.Second):
				t.Fatalf("%s: still loading after 2s", tc.dir)
			}
		}
	}
}
