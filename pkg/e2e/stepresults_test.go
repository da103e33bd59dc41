package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"
)

// A pipeline run a step per process with --results (as the Argo export's
// pods run it: the driver skips what needs a failed step, the finalizers
// run after the main DAG) leaves the same finished.json and JUnit as the
// same pipeline run whole; only the times differ.
func TestStepResultsMatchAWholeRun(t *testing.T) {
	jobSpec := `{"type":"periodic","job":"e2e-argo","buildid":"42","prowjobid":"p"}`
	run := func(t *testing.T, steps []string) string {
		f := newFakeSteps()
		f.fail["build-image"] = true
		art := t.TempDir()
		var out bytes.Buffer
		inv := retryInvocation(t, f, art, &out)
		inv.Getenv = envOf(map[string]string{downwardapi.JobSpecEnv: jobSpec})
		if steps == nil {
			if _, err := Invoke(context.Background(), inv); err != nil {
				t.Fatal(err)
			}
			return art
		}
		inv.StepResults = true
		for _, s := range steps {
			inv.Step = s
			if _, err := Invoke(context.Background(), inv); err != nil {
				t.Fatalf("step %s: %v", s, err)
			}
			if s == "registry" {
				if _, err := os.Stat(filepath.Join(art, "started.json")); err != nil {
					t.Errorf("the first step wrote no started.json: %v", err)
				}
			}
		}
		return art
	}
	whole := run(t, nil)
	// What Argo runs of it: build-image fails, so cluster-up, deploy and
	// test never start; the exit handler runs teardown, then upload.
	byStep := run(t, []string{"registry", "build-image", "teardown", "upload"})

	times := regexp.MustCompile(`time="[^"]*"`)
	junit := func(dir string) string {
		b, err := os.ReadFile(filepath.Join(dir, JUnitFile))
		if err != nil {
			t.Fatal(err)
		}
		return times.ReplaceAllString(string(b), `time="T"`)
	}
	if d := cmp.Diff(junit(whole), junit(byStep)); d != "" {
		t.Errorf("JUnit, whole run vs a step per process (-whole +steps):\n%s", d)
	}
	finished := func(dir string) map[string]any {
		b, err := os.ReadFile(filepath.Join(dir, "finished.json"))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "timestamp")
		return m
	}
	got := finished(byStep)
	if d := cmp.Diff(finished(whole), got); d != "" {
		t.Errorf("finished.json, whole run vs a step per process (-whole +steps):\n%s", d)
	}
	if got["passed"] != false || got["result"] != "FAILURE" {
		t.Errorf("finished.json: passed %v, result %v; want false, FAILURE", got["passed"], got["result"])
	}
	// The build log has each step's log, in the order they ran, and how
	// each ended.
	log, err := os.ReadFile(filepath.Join(byStep, BuildLogFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"[registry] run 1\nregistry: passed\n[build-image] run 1\n", "build-image: failed: 2 of 5 tests failed\n", "cluster-up: skipped: needs build-image (failed)\n", "[teardown] run 1\nteardown: passed\n"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("build log lacks %q:\n%s", want, log)
		}
	}
}
