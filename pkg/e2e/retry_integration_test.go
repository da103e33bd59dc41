package e2e_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/steps"
	"github.com/prowctl/prowctl/pkg/registry"
)

// teardowns of retryPipeline: the real one, which keeps the cluster but
// removes the release, and one that keeps both.
const (
	teardownRelease = `- name: teardown
  uses: teardown
  needs: [test]
  always: true
  with: {cluster: false}`
	teardownNothing = `- name: teardown
  needs: [test]
  always: true
  run: echo "keeping $E2E_RELEASE in $E2E_NAMESPACE for a retry"`
)

// retryPipeline is the tf-k8s pipeline's shape with the real step kinds on a
// personal cluster with a simulated node (the operator does not run; helm
// installs its release), a registry that outlives one run (as a retry
// needs: the run's own loopback registry stops with it), a cluster that
// teardown keeps, and a test that fails the first time.
const retryPipeline = `steps:
- name: registry
  uses: registry
  with: {addr: %[1]s}
- name: build-image
  uses: build-image
  needs: [registry]
  with: {package: ./testdata/operator, name: tf-operator}
- name: build-chart
  uses: build-chart
  needs: [registry]
  with:
    chart: testdata/chart/tf-operator
    image: {name: tf-operator}
- name: cluster-up
  uses: cluster-up
  with:
    provider: local
    local: {dir: %[2]s, node: kwok}
- name: deploy
  uses: deploy
  needs: [build-image, build-chart, cluster-up]
- name: test
  needs: [deploy]
  run: |
    echo "testing $E2E_RELEASE in $E2E_NAMESPACE"
    mkdir -p "$ARTIFACTS/junit"
    if [ ! -e %[3]s ]; then
      touch %[3]s
      printf '<testsuite name="e2e" tests="1" failures="1"><testcase name="TestTFJob"><failure>flaked</failure></testcase></testsuite>' > "$ARTIFACTS/junit/junit_e2e.xml"
      exit 1
    fi
    printf '<testsuite name="e2e" tests="1"><testcase name="TestTFJob"/></testsuite>' > "$ARTIFACTS/junit/junit_e2e.xml"
%[5]s
- name: upload
  uses: upload
  needs: [teardown]
  always: true
  with: {to: %[4]s}
`

// TestRetryOnThePersonalCluster: a run whose test fails, retried, runs
// again only what failed, the finalizers, and what the failure's teardown
// undid: with a teardown that keeps the deployment, test, teardown and
// upload alone; with the real one, which removed the release deploy handed
// on, deploy too. The image, the chart and the cluster are reused, as the
// JUnit and the state file say.
func TestRetryOnThePersonalCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs a pipeline on a personal cluster")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	reg, err := registry.Start(io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close(context.Background()) })
	clusterDir := filepath.Join(tmp, "cluster")
	t.Cleanup(func() {
		cluster.Down(context.Background(), clusterDir, cluster.DownOptions{StopGrace: 5 * time.Second})
	})
	for _, tc := range []struct {
		name, teardown, build string
		// again are the steps the retry runs; the others are reused.
		again []string
	}{
		// The case: only what failed and the finalizers.
		{"teardown keeps the release", teardownNothing, "2001", []string{"test", "teardown", "upload"}},
		// Teardown removed the release deploy handed on: deploy too.
		{"teardown removes the release", teardownRelease, "2002", []string{"deploy", "test", "teardown", "upload"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(tmp, tc.build)
			spec := fmt.Sprintf(retryPipeline, reg.Addr(), clusterDir, filepath.Join(dir, "failed-once"), filepath.Join(dir, "uploaded"), tc.teardown)
			p, err := e2e.ParsePipeline("retry.yaml", []byte(spec), steps.Builtin())
			if err != nil {
				t.Fatal(err)
			}
			art := filepath.Join(dir, "artifacts")
			run := func(retry *e2e.RetryPlan) *e2e.Report {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
				defer cancel()
				var out strings.Builder
				rep, err := e2e.Run(ctx, p, e2e.Options{
					Artifacts: art, Dir: repo, Job: e2e.LocalJobSpec("ci-tf-k8s-retry", tc.build), Results: true,
					Parallelism: 4, Out: &out, Retry: retry,
				})
				t.Logf("run:\n%s", out.String())
				if err != nil {
					t.Fatal(err)
				}
				return rep
			}
			if rep := run(nil); rep.Passed() {
				t.Fatal("the first run passed")
			}
			first := stepRecords(t, art)
			for name, want := range map[string]string{"cluster-up": "passed", "deploy": "passed", "test": "failed", "teardown": "passed"} {
				if first[name].Status != want {
					t.Errorf("first run: %s %s, want %s", name, first[name].Status, want)
				}
			}

			plan, err := e2e.PlanRetry(p, e2e.OpenState(e2e.StatePath(art)))
			if err != nil {
				t.Fatal(err)
			}
			if rep := run(plan); !rep.Passed() || rep.Attempt != 2 {
				t.Fatalf("the retry: passed %v, attempt %d", rep.Passed(), rep.Attempt)
			}
			reused := "skipped: passed in the previous run"
			want := map[string]string{}
			for _, s := range []string{"registry", "build-image", "build-chart", "cluster-up", "deploy", "test", "teardown", "upload"} {
				want[s] = reused
			}
			for _, s := range tc.again {
				want[s] = "passed"
			}
			if d := cmp.Diff(want, junitCases(t, filepath.Join(art, e2e.JUnitFile))); d != "" {
				t.Errorf("the retry's JUnit (-want +got):\n%s", d)
			}
			second := stepRecords(t, art)
			for name, r := range second {
				wantAttempt, wantReused := 2, false
				if want[name] == reused {
					wantAttempt, wantReused = 1, true
				}
				if r.Attempt != wantAttempt || r.Reused != wantReused || r.Status != "passed" {
					t.Errorf("state file after the retry: %s %s attempt %d reused %v, want passed attempt %d reused %v", name, r.Status, r.Attempt, r.Reused, wantAttempt, wantReused)
				}
			}
			if second["build-image"].Outputs["image"] == "" || second["build-image"].Outputs["image"] != first["build-image"].Outputs["image"] {
				t.Errorf("the image was not reused: %v then %v", first["build-image"].Outputs, second["build-image"].Outputs)
			}
		})
	}
}

type stepRecord struct {
	Status  string            `json:"status"`
	Attempt int               `json:"attempt"`
	Reused  bool              `json:"reused"`
	Outputs map[string]string `json:"outputs"`
}

// stepRecords reads the steps' records from the state file as it is on
// disk: what a later run, or a person, reads.
func stepRecords(t *testing.T, artifacts string) map[string]stepRecord {
	t.Helper()
	b, err := os.ReadFile(e2e.StatePath(artifacts))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Run struct {
			Steps map[string]stepRecord `json:"steps"`
		} `json:"e2e.run"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", e2e.StatePath(artifacts), err)
	}
	return f.Run.Steps
}

// junitCases is each test case's outcome in a JUnit file.
func junitCases(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Cases []junitCase `xml:"testcase"`
		} `xml:"testsuite"`
		Cases []junitCase `xml:"testcase"`
	}
	if err := xml.Unmarshal(b, &suites); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{}
	cases := suites.Cases
	for _, s := range suites.Suites {
		cases = append(cases, s.Cases...)
	}
	for _, c := range cases {
		switch {
		case c.Failure != nil:
			out[c.Name] = "failed"
		case c.Skipped != nil:
			out[c.Name] = "skipped: " + c.Skipped.Message
		default:
			out[c.Name] = "passed"
		}
	}
	return out
}

type junitCase struct {
	Name    string    `xml:"name,attr"`
	Failure *struct{} `xml:"failure"`
	Skipped *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
}
