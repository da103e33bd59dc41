package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/GoogleCloudPlatform/testgrid/metadata"
	"github.com/google/go-cmp/cmp"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", path, d)
	}
}

// fakeClock advances by step on every reading, so durations are known.
type fakeClock struct {
	t    time.Time
	step time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.t = c.t.Add(c.step)
	return c.t
}

func presubmitSpec() *downwardapi.JobSpec {
	return &downwardapi.JobSpec{
		Type: prowapi.PresubmitJob, Job: "pull-tf-k8s-e2e", BuildID: "1729", ProwJobID: "abc",
		Refs: &prowapi.Refs{Org: "tensorflow", Repo: "k8s", BaseRef: "master", BaseSHA: "b5e",
			Pulls: []prowapi.Pull{{Number: 42, SHA: "feed", Author: "alice"}}},
	}
}

func TestResultsFiles(t *testing.T) {
	dir := t.TempDir()
	clock := &fakeClock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), step: 1500 * time.Millisecond}
	p := pipeline(
		step("build-image", StepFunc(func(ctx context.Context, env *Env) error {
			return env.State.Set(StateImage, "127.0.0.1:5000/op@sha256:abc")
		})),
		step("cluster-up", StepFunc(func(context.Context, *Env) error { return Skip("provider kubeconfig: nothing to create") })),
		step("test", StepFunc(func(context.Context, *Env) error { return errors.New("2 tests failed\nsee junit_go.xml") }), "build-image"),
		step("report", StepFunc(func(context.Context, *Env) error { return nil }), "test"),
		finalizer("teardown", StepFunc(func(context.Context, *Env) error { return nil }), "test"),
	)
	// One step at a time so the clock readings, and so the durations, are in
	// a fixed order.
	rep, err := Run(context.Background(), p, Options{Artifacts: dir, Results: true, Parallelism: 1, Job: presubmitSpec(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	junit, err := os.ReadFile(filepath.Join(dir, JUnitFile))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, JUnitFile, junit)

	var started metadata.Started
	readJSON(t, filepath.Join(dir, "started.json"), &started)
	wantStarted := metadata.Started{
		Timestamp: rep.Start.Unix(), Pull: "42", RepoCommit: "feed", DeprecatedRepoVersion: "feed",
		Repos: map[string]string{"tensorflow/k8s": "master:b5e,42:feed"},
	}
	if d := cmp.Diff(wantStarted, started); d != "" {
		t.Errorf("started.json (-want +got):\n%s", d)
	}
	var finished metadata.Finished
	readJSON(t, filepath.Join(dir, "finished.json"), &finished)
	ts, passed := rep.End.Unix(), false
	wantFinished := metadata.Finished{
		Timestamp: &ts, Passed: &passed, Result: "FAILURE", DeprecatedRevision: "feed",
		Metadata: metadata.Metadata{
			"image": "127.0.0.1:5000/op@sha256:abc",
			"e2e-steps": map[string]any{
				"build-image": "passed", "cluster-up": "skipped", "test": "failed", "report": "skipped", "teardown": "passed",
			},
		},
	}
	if d := cmp.Diff(wantFinished, finished); d != "" {
		t.Errorf("finished.json (-want +got):\n%s", d)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
