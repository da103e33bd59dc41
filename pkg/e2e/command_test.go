package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"

	"github.com/prowctl/prowctl/pkg/process"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestInvokeLocalDefaultsAndStepByStep(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	spec := `steps:
- name: produce
  run: echo "$BUILD_ID" > "$ARTIFACTS/produced-by-build"
- name: consume
  run: test "$(cat "$ARTIFACTS/produced-by-build")" = "$BUILD_ID" && echo "consumed $JOB_NAME $BUILD_ID"
  needs: [produce]
`
	if err := os.WriteFile("e2e.yaml", []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	inv := Invocation{Pipeline: "e2e.yaml", Kinds: CoreKinds(), Getenv: envOf(nil), Now: func() time.Time { return now }, Out: &bytes.Buffer{}}
	rep, err := Invoke(context.Background(), inv)
	if err != nil {
		t.Fatal(err)
	}
	art := filepath.Join(work, "_artifacts")
	want := LocalJobSpec(LocalJob, "20261125120000")
	if d := cmp.Diff(want, rep.Job, cmp.AllowUnexported(downwardapi.JobSpec{})); d != "" {
		t.Errorf("job spec (-want +got):\n%s", d)
	}
	if !rep.Passed() {
		t.Fatalf("run failed: %v", statuses(rep))
	}
	for _, f := range []string{"build-log.txt", "started.json", "finished.json", JUnitFile, "steps/consume.log"} {
		if _, err := os.Stat(filepath.Join(art, f)); err != nil {
			t.Errorf("missing artifact: %v", err)
		}
	}

	// Later, by hand, in another process: the same build, no results files
	// rewritten.
	os.Remove(filepath.Join(art, "finished.json"))
	now = now.Add(time.Hour)
	var out bytes.Buffer
	inv.Step, inv.Out = "consume", &out
	rep, err = Invoke(context.Background(), inv)
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(rep); !cmp.Equal(got, map[string]string{"consume": "passed"}) {
		t.Errorf("step run: %v", got)
	}
	if !strings.Contains(out.String(), "[consume] consumed local-e2e 20261125120000") {
		t.Errorf("step output:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(art, "finished.json")); err == nil {
		t.Error("e2e step wrote finished.json")
	}

	// A whole run again starts a new build with fresh state, and none of
	// the last build's JUnit reports (its upload would show them as its own).
	stale := filepath.Join(art, "junit_operator.xml")
	if err := os.WriteFile(stale, []byte("<testsuite/>"), 0o644); err != nil {
		t.Fatal(err)
	}
	inv.Step = ""
	rep, err = Invoke(context.Background(), inv)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Job.BuildID != "20261125130000" {
		t.Errorf("fresh run kept build %s", rep.Job.BuildID)
	}
	if _, err := os.Stat(stale); err == nil {
		t.Error("a fresh run kept the last build's junit_operator.xml")
	}

	if _, err := Invoke(context.Background(), Invocation{Pipeline: "e2e.yaml", Kinds: CoreKinds(), Step: "nope", Getenv: envOf(nil)}); err == nil ||
		err.Error() != `e2e.yaml: no step "nope" (steps: produce, consume)` {
		t.Errorf("unknown step: %v", err)
	}
}

func TestInvokeUnderProw(t *testing.T) {
	work := t.TempDir()
	t.Chdir(work)
	if err := os.WriteFile("e2e.yaml", []byte("steps:\n- name: show\n  run: echo \"$JOB_TYPE $PULL_NUMBER\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := presubmitSpec()
	spec.DecorationConfig = &prowapi.DecorationConfig{}
	raw, _ := json.Marshal(spec)
	art := filepath.Join(work, "logs", "artifacts")
	var out bytes.Buffer
	rep, err := Invoke(context.Background(), Invocation{
		Pipeline: "e2e.yaml", Kinds: CoreKinds(), Out: &out,
		Getenv: envOf(map[string]string{"JOB_SPEC": string(raw), "ARTIFACTS": art}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Job.Job != "pull-tf-k8s-e2e" || rep.Job.Refs.Pulls[0].Number != 42 {
		t.Errorf("job spec not from JOB_SPEC: %+v", rep.Job)
	}
	if !strings.Contains(out.String(), "[show] presubmit 42") {
		t.Errorf("step did not see the job's Prow variables:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(art, "finished.json")); err != nil {
		t.Errorf("results not in $ARTIFACTS: %v", err)
	}
}

func TestLiveViewShowsFailedStepsLog(t *testing.T) {
	var out bytes.Buffer
	s := &StepSpec{Name: "unit", Run: "for i in $(seq 1 12); do echo line $i; done; exit 1"}
	s.Step = &RunStep{Command: s.Run}
	run(t, pipeline(s), Options{Out: &out, TTY: true})
	got := out.String()
	got = got[strings.Index(got, "e2e: FAILURE"):]
	want := "e2e: FAILURE: 1 failed in"
	if !strings.HasPrefix(got, want) {
		t.Fatalf("summary %q, want prefix %q", got, want)
	}
	_, got, _ = strings.Cut(got, "\n")
	wantTail := "\nunit: sh: exit status 1\n  | line 4\n"
	if !strings.HasPrefix(got, wantTail) || !strings.Contains(got, "  | line 12\n  | failed: sh: exit status 1\n  log: ") || strings.Contains(got, "line 3\n") {
		t.Errorf("failure report:\n%s", got)
	}
}

func TestLiveView(t *testing.T) {
	var out bytes.Buffer
	release := make(chan struct{})
	p := pipeline(
		step("fast", StepFunc(func(context.Context, *Env) error { return nil })),
		step("slow", StepFunc(func(context.Context, *Env) error { <-release; return nil })),
		step("after", StepFunc(func(context.Context, *Env) error { return nil }), "fast", "slow"),
	)
	go func() { time.Sleep(2 * liveRefresh); close(release) }()
	rep := run(t, p, Options{Out: &out, TTY: true})
	if !rep.Passed() {
		t.Fatal(statuses(rep))
	}
	s := out.String()
	for _, want := range []string{
		"\x1b[3A",                   // moved back over the 3 lines to redraw them
		"after pending",             // the DAG before it ran
		"needs fast, slow",          // with its edges
		"slow  running",             // a step while it runs
		"after passed",              // and at the end
		"e2e: SUCCESS: 3 passed in", // summary
	} {
		if !strings.Contains(s, want) {
			t.Errorf("live view lacks %q:\n%q", want, s)
		}
	}
	if strings.Contains(s, "started (") {
		t.Errorf("live view printed progress lines meant for logs:\n%q", s)
	}
}

func TestGracePeriod(t *testing.T) {
	decorated := func(g time.Duration) *downwardapi.JobSpec {
		j := periodicSpec()
		j.DecorationConfig = &prowapi.DecorationConfig{}
		if g > 0 {
			j.DecorationConfig.GracePeriod = &prowapi.Duration{Duration: g}
		}
		return j
	}
	for _, tt := range []struct {
		job  *downwardapi.JobSpec
		want time.Duration
	}{
		{periodicSpec(), 30 * time.Second},
		{decorated(0), 13500 * time.Millisecond},
		{decorated(time.Minute), 54 * time.Second},
	} {
		if got := GracePeriod(tt.job); got != tt.want {
			t.Errorf("GracePeriod(%+v) = %s, want %s", tt.job.DecorationConfig, got, tt.want)
		}
	}
}

func TestInvokeLocalRecordsCheckout(t *testing.T) {
	t.Chdir(t.TempDir())
	if err := os.WriteFile("e2e.yaml", []byte("steps:\n- name: a\n  run: 'true'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runner := &process.Recorder{Fn: func(ctx context.Context, c process.Cmd) error {
		answers := map[string]string{
			"git rev-parse --show-toplevel":   "/src/tf-k8s\n",
			"git rev-parse HEAD":              "0123abc\n",
			"git rev-parse --abbrev-ref HEAD": "main\n",
		}
		if a, ok := answers[c.String()]; ok {
			_, err := io.WriteString(c.Stdout, a)
			return err
		}
		return process.Exec{}.Run(ctx, c)
	}}
	rep, err := Invoke(context.Background(), Invocation{Pipeline: "e2e.yaml", Kinds: CoreKinds(), Getenv: envOf(nil), Runner: runner})
	if err != nil {
		t.Fatal(err)
	}
	want := []prowapi.Refs{{Org: "local", Repo: "tf-k8s", BaseRef: "main", BaseSHA: "0123abc"}}
	if d := cmp.Diff(want, rep.Job.ExtraRefs); d != "" {
		t.Errorf("extra refs (-want +got):\n%s", d)
	}
	var started struct {
		RepoCommit string            `json:"repo-commit"`
		Repos      map[string]string `json:"repos"`
	}
	readJSON(t, filepath.Join("_artifacts", "started.json"), &started)
	if started.RepoCommit != "0123abc" || started.Repos["local/tf-k8s"] != "main:0123abc" {
		t.Errorf("started.json: %+v", started)
	}
}
