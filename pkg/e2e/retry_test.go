package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/process"
)

// fakeSteps is the kind `fake` of testdata/retry-pipeline.yaml: a step that
// counts its runs, needs the state keys of in:, hands on out: (each value
// suffixed with #N, N its run count, so what is made again differs from
// what is reused) and deletes delete:. A step fails while fail names it.
type fakeSteps struct {
	mu   sync.Mutex
	runs map[string]int
	fail map[string]bool
}

type fakeSettings struct {
	In     []string          `yaml:"in"`
	Out    map[string]string `yaml:"out"`
	Delete []string          `yaml:"delete"`
	// DeleteAtExit are deleted when the run ends, as the registry kind
	// forgets the registry it started.
	DeleteAtExit []string `yaml:"delete_at_exit"`
}

func newFakeSteps() *fakeSteps {
	return &fakeSteps{runs: map[string]int{}, fail: map[string]bool{}}
}

func (f *fakeSteps) kinds() Kinds {
	k := CoreKinds()
	k["fake"] = KindFunc(func(n *yaml.Node) (Step, error) {
		var s fakeSettings
		if err := DecodeSettings(n, &s); err != nil {
			return nil, err
		}
		return StepFunc(func(ctx context.Context, env *Env) error {
			f.mu.Lock()
			f.runs[env.Name]++
			run, fail := f.runs[env.Name], f.fail[env.Name]
			f.mu.Unlock()
			fmt.Fprintf(env.Log, "run %d\n", run)
			for _, key := range s.In {
				if env.State.Lookup(key) == "" {
					return fmt.Errorf("no %s in the state", key)
				}
			}
			if fail {
				return errors.New("2 of 5 tests failed")
			}
			if len(s.DeleteAtExit) > 0 {
				env.AtExit(func(context.Context) error { return env.State.Delete(s.DeleteAtExit...) })
			}
			return env.State.Update(func(m map[string]string) {
				for k, v := range s.Out {
					m[k] = fmt.Sprintf("%s#%d", v, run)
				}
				for _, k := range s.Delete {
					delete(m, k)
				}
			})
		}), nil
	})
	return k
}

func (f *fakeSteps) ran() map[string]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]int{}
	for k, v := range f.runs {
		out[k] = v
	}
	return out
}

// junitOutcomes reads the run's JUnit report: each case as passed, failed,
// or skipped: MESSAGE.
func junitOutcomes(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Suites []struct {
			Cases []struct {
				Name    string `xml:"name,attr"`
				Failure *struct {
					Message string `xml:"message,attr"`
				} `xml:"failure"`
				Skipped *struct {
					Message string `xml:"message,attr"`
				} `xml:"skipped"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			switch {
			case c.Failure != nil:
				out[c.Name] = "failed: " + c.Failure.Message
			case c.Skipped != nil:
				out[c.Name] = "skipped: " + c.Skipped.Message
			default:
				out[c.Name] = "passed"
			}
		}
	}
	return out
}

// stateFile reads the state file as a reader other than State would: the
// values, and the run record under its key.
type stateFile struct {
	Values map[string]string
	Run    RunRecord
}

func readStateFile(t *testing.T, artifacts string) stateFile {
	t.Helper()
	var raw map[string]json.RawMessage
	readJSON(t, StatePath(artifacts), &raw)
	sf := stateFile{Values: map[string]string{}}
	for k, v := range raw {
		if k == StateRunKey {
			if err := json.Unmarshal(v, &sf.Run); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			t.Fatalf("state %s: %v", k, err)
		}
		sf.Values[k] = s
	}
	return sf
}

// outcomes summarises a run record: each step as status[@attempt][ reused]
// [ blocked by X].
func outcomes(rec RunRecord) map[string]string {
	out := map[string]string{}
	for name, s := range rec.Steps {
		o := fmt.Sprintf("%s@%d", s.Status, s.Attempt)
		if s.Reused {
			o += " reused"
		}
		if s.BlockedBy != "" {
			o += " blocked by " + s.BlockedBy
		}
		out[name] = o
	}
	return out
}

// retryInvocation runs testdata/retry-pipeline.yaml as `prowctl e2e run`
// does, outside Prow, uploading to a directory.
func retryInvocation(t *testing.T, f *fakeSteps, artifacts string, out *bytes.Buffer) Invocation {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	return Invocation{
		Pipeline: "testdata/retry-pipeline.yaml", Kinds: f.kinds(), Artifacts: artifacts,
		Upload: filepath.Join(t.TempDir(), "gcs"), Getenv: envOf(nil), Out: out,
		Now: func() time.Time { now = now.Add(time.Second); return now },
		// No git here: the run records no checkout.
		Runner: &process.Recorder{Fn: func(context.Context, process.Cmd) error { return errors.New("no git") }},
	}
}

// TestRetryRunsWhatFailed is the "done": a run whose test step
// fails, retried with --from-failed, runs only test, teardown and upload
// again, which the JUnit and the state file both say, and the steps that
// passed hand on what they made the first time.
func TestRetryRunsWhatFailed(t *testing.T) {
	f := newFakeSteps()
	art := t.TempDir()
	var out bytes.Buffer
	inv := retryInvocation(t, f, art, &out)

	f.fail["test"] = true
	rep, err := Invoke(context.Background(), inv)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed() {
		t.Fatalf("first run passed: %v", statuses(rep))
	}
	first := readStateFile(t, art)
	wantFirst := map[string]string{
		"registry": "passed@1", "build-image": "passed@1", "cluster-up": "passed@1", "deploy": "passed@1",
		"test": "failed@1", "teardown": "passed@1", "upload": "passed@1",
	}
	if d := cmp.Diff(wantFirst, outcomes(first.Run)); d != "" {
		t.Errorf("state file after the failed run (-want +got):\n%s", d)
	}
	image := "127.0.0.1:5000/tf-operator@sha256:build#1"
	if got := first.Run.Steps["build-image"].Outputs; !cmp.Equal(got, map[string]string{"image": image}) {
		t.Errorf("build-image's recorded outputs: %v", got)
	}

	// The fix lands; retry.
	f.fail["test"] = false
	out.Reset()
	inv.FromFailed = true
	rep, err = Invoke(context.Background(), inv)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Passed() || rep.Attempt != 2 {
		t.Fatalf("retry: passed %v, attempt %d: %v\n%s", rep.Passed(), rep.Attempt, statuses(rep), out.String())
	}
	wantRuns := map[string]int{"registry": 1, "build-image": 1, "cluster-up": 1, "deploy": 1, "test": 2, "teardown": 2}
	if d := cmp.Diff(wantRuns, f.ran()); d != "" {
		t.Errorf("runs of each step (-want +got):\n%s", d)
	}
	reused := "skipped: passed in the previous run"
	wantJUnit := map[string]string{
		"registry": reused, "build-image": reused, "cluster-up": reused, "deploy": reused,
		"test": "passed", "teardown": "passed", "upload": "passed",
	}
	if d := cmp.Diff(wantJUnit, junitOutcomes(t, filepath.Join(art, JUnitFile))); d != "" {
		t.Errorf("the retry's %s (-want +got):\n%s", JUnitFile, d)
	}
	second := readStateFile(t, art)
	wantSecond := map[string]string{
		"registry": "passed@1 reused", "build-image": "passed@1 reused", "cluster-up": "passed@1 reused", "deploy": "passed@1 reused",
		"test": "passed@2", "teardown": "passed@2", "upload": "passed@2",
	}
	if d := cmp.Diff(wantSecond, outcomes(second.Run)); d != "" {
		t.Errorf("state file after the retry (-want +got):\n%s", d)
	}
	if second.Run.Attempt != 2 || second.Run.Build != first.Run.Build {
		t.Errorf("record: attempt %d of build %s, want attempt 2 of %s", second.Run.Attempt, second.Run.Build, first.Run.Build)
	}
	if second.Values["image"] != image || !cmp.Equal(second.Run.Steps["build-image"], first.Run.Steps["build-image"], cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Reused" }, cmp.Ignore())) {
		t.Errorf("build-image was not reused: image %q, record %+v", second.Values["image"], second.Run.Steps["build-image"])
	}
	for _, want := range []string{
		"e2e: retry of build 20261125120001, attempt 2: 3 steps to run again, 4 reused\n",
		"build-image: passed in the previous run (reused)\n",
		"test: runs again: failed in the previous run\n",
		"teardown: runs again: a finalizer (always: true)\n",
		"e2e: SUCCESS: 3 passed, 4 reused in",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	var finished struct {
		Passed   bool           `json:"passed"`
		Metadata map[string]any `json:"metadata"`
	}
	readJSON(t, filepath.Join(art, "finished.json"), &finished)
	if !finished.Passed || finished.Metadata["e2e-attempt"] != 2.0 || len(finished.Metadata["e2e-reused"].([]any)) != 4 {
		t.Errorf("finished.json: %+v", finished)
	}
	// The failure the retry answered is kept, out of Spyglass's way.
	if got := junitOutcomes(t, filepath.Join(AttemptDir(art, 1), JUnitFile))["test"]; got != "failed: 2 of 5 tests failed" {
		t.Errorf("attempt-1/%s: test %s", JUnitFile, got)
	}
	for _, f := range []string{"build-log.txt", "finished.json", "steps/test.log", "steps/teardown.log"} {
		if _, err := os.Stat(filepath.Join(AttemptDir(art, 1), f)); err != nil {
			t.Errorf("the previous attempt's %s was not kept: %v", f, err)
		}
	}
	if log, err := os.ReadFile(filepath.Join(art, "steps", "build-image.log")); err != nil || string(log) != "run 1\n" {
		t.Errorf("the reused step's log: %q %v", log, err)
	}

	// Everything passed now.
	_, err = Invoke(context.Background(), inv)
	if !errors.Is(err, ErrNothingToRetry) || !strings.Contains(err.Error(), "nothing failed in attempt 2 of build 20261125120001") {
		t.Errorf("third run: %v, want nothing to retry", err)
	}
	if d := cmp.Diff(wantRuns, f.ran()); d != "" {
		t.Errorf("nothing to retry ran steps (-want +got):\n%s", d)
	}
}

// TestPlanRetry runs testdata/retry-pipeline.yaml once with a failure, then
// changes the pipeline or the state and asks what a retry would do.
func TestPlanRetry(t *testing.T) {
	spec, err := os.ReadFile("testdata/retry-pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const reuse = "reused"
	// A teardown that deletes the cluster, as the real one does.
	deletingTeardown := func(s string) string {
		return strings.Replace(s, "- name: teardown\n  uses: fake\n", "- name: teardown\n  uses: fake\n  with: {delete: [kubeconfig, cluster]}\n", 1)
	}
	// A registry that lives as long as the run, as the real one does.
	stoppingRegistry := func(s string) string {
		return strings.Replace(s, "    out: {registry: 127.0.0.1:5000}\n", "    out: {registry: 127.0.0.1:5000}\n    delete_at_exit: [registry]\n", 1)
	}
	tests := []struct {
		name string
		fail []string
		// first changes the spec of the first run, edit that of the retry.
		first, edit func(spec string) string
		want        map[string]string
		// forgotten is the plan's Forgotten.
		forgotten []string
	}{
		{
			name: "test failed",
			fail: []string{"test"},
			want: map[string]string{
				"registry": reuse, "build-image": reuse, "cluster-up": reuse, "deploy": reuse,
				"test":     "failed in the previous run",
				"teardown": "a finalizer (always: true)", "upload": "a finalizer (always: true)",
			},
		},
		{
			name: "a chain skipped because of a failure",
			fail: []string{"build-image"},
			want: map[string]string{
				"registry":    reuse,
				"build-image": "failed in the previous run",
				"cluster-up":  "skipped in the previous run because build-image failed",
				"deploy":      "skipped in the previous run because build-image failed",
				"test":        "skipped in the previous run because build-image failed",
				"teardown":    "a finalizer (always: true)", "upload": "a finalizer (always: true)",
			},
		},
		{
			name: "a changed definition runs again with what needs it; comments and timeouts are no change",
			fail: []string{"test"},
			edit: func(s string) string {
				s = strings.Replace(s, "out: {kubeconfig: /tmp/kubeconfig, cluster: e2e-local}", "out: {kubeconfig: /tmp/kubeconfig, cluster: e2e-other}", 1)
				s = strings.Replace(s, "timeout: 10m", "timeout: 20m", 1)
				return strings.Replace(s, "  with:\n    out: {registry: 127.0.0.1:5000}", "  with: # a comment\n    out: {registry: 127.0.0.1:5000}", 1)
			},
			want: map[string]string{
				"registry": reuse, "build-image": reuse,
				"cluster-up": "its definition changed since the previous run",
				"deploy":     "needs cluster-up, which runs again",
				"test":       "failed in the previous run",
				"teardown":   "a finalizer (always: true)", "upload": "a finalizer (always: true)",
			},
		},
		{
			name:  "outputs a later step deleted",
			fail:  []string{"test"},
			first: deletingTeardown,
			edit:  deletingTeardown,
			want: map[string]string{
				"registry": reuse, "build-image": reuse,
				"cluster-up": "what it handed on is gone from the state (cluster, kubeconfig)",
				"deploy":     "needs cluster-up, which runs again",
				"test":       "failed in the previous run",
				"teardown":   "a finalizer (always: true)", "upload": "a finalizer (always: true)",
			},
		},
		{
			name:  "a registry that stopped with the run",
			fail:  []string{"test"},
			first: stoppingRegistry,
			edit:  stoppingRegistry,
			want: map[string]string{
				"registry":    "what it handed on is gone from the state (registry)",
				"build-image": "needs registry, which runs again",
				"cluster-up":  "needs build-image, which runs again",
				"deploy":      "needs cluster-up, which runs again",
				"test":        "failed in the previous run",
				"teardown":    "a finalizer (always: true)", "upload": "a finalizer (always: true)",
			},
		},
		{
			name: "a step renamed, a step added",
			fail: []string{"test"},
			edit: func(s string) string {
				s = strings.Replace(s, "- name: registry\n", "- name: registry-renamed\n", 1)
				s = strings.Replace(s, "needs: [registry]", "needs: [registry-renamed]", 1)
				return strings.Replace(s, "- name: cluster-up\n", "- name: lint\n  uses: fake\n- name: cluster-up\n", 1)
			},
			want: map[string]string{
				"registry-renamed": "not in the previous run",
				"build-image":      "its definition changed since the previous run",
				"lint":             "not in the previous run",
				"cluster-up":       "needs build-image, which runs again",
				"deploy":           "needs cluster-up, which runs again",
				"test":             "failed in the previous run",
				"teardown":         "a finalizer (always: true)", "upload": "a finalizer (always: true)",
			},
			forgotten: []string{"registry"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeSteps()
			for _, s := range tt.fail {
				f.fail[s] = true
			}
			art := t.TempDir()
			first := string(spec)
			if tt.first != nil {
				first = tt.first(first)
			}
			p, err := ParsePipeline("retry.yaml", []byte(first), f.kinds())
			if err != nil {
				t.Fatal(err)
			}
			if rep := run(t, p, Options{Artifacts: art, Results: true}); rep.Passed() {
				t.Fatalf("first run passed: %v", statuses(rep))
			}
			if tt.edit != nil {
				if p, err = ParsePipeline("retry.yaml", []byte(tt.edit(string(spec))), f.kinds()); err != nil {
					t.Fatal(err)
				}
			}
			plan, err := PlanRetry(p, OpenState(StatePath(art)))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, s := range plan.Steps {
				got[s.Name] = s.Again
				if s.Reuse != nil {
					got[s.Name] = reuse
				}
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("plan (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.forgotten, plan.Forgotten); d != "" {
				t.Errorf("forgotten (-want +got):\n%s", d)
			}
			if plan.Attempt != 2 {
				t.Errorf("attempt %d, want 2", plan.Attempt)
			}

			// The retry runs the plan, with what it reuses in the state.
			delete(f.fail, "test")
			delete(f.fail, "build-image")
			before := f.ran()
			var out bytes.Buffer
			rep := run(t, p, Options{Artifacts: art, Results: true, Retry: plan, Out: &out})
			if !rep.Passed() {
				t.Fatalf("retry: %v\n%s", statuses(rep), out.String())
			}
			after := f.ran()
			for name, again := range got {
				if p.Lookup(name).Kind() != "fake" {
					continue
				}
				if ran := after[name] > before[name]; ran != (again != reuse) {
					t.Errorf("%s: ran %v, plan %q", name, ran, again)
				}
			}
			rec, err := OpenState(StatePath(art)).Record()
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range tt.forgotten {
				if rec.Steps[name] != nil {
					t.Errorf("the record keeps %s, which the pipeline no longer has", name)
				}
			}
		})
	}
}

func TestPlanRetryBlame(t *testing.T) {
	// A diamond: c needs a (failed) and b (skipped itself); d needs c.
	ok := StepFunc(func(context.Context, *Env) error { return nil })
	p := pipeline(
		step("a", StepFunc(func(context.Context, *Env) error { return errors.New("boom") })),
		step("b", StepFunc(func(context.Context, *Env) error { return Skip("nothing to do") })),
		step("c", ok, "b", "a"),
		step("d", ok, "c"),
		step("e", ok, "b"),
		finalizer("f", ok, "d"),
	)
	art := t.TempDir()
	run(t, p, Options{Artifacts: art})
	rec, err := OpenState(StatePath(art)).Record()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"a": "failed@1", "b": "skipped@1", "c": "skipped@1 blocked by a", "d": "skipped@1 blocked by a",
		"e": "skipped@1", "f": "passed@1",
	}
	if d := cmp.Diff(want, outcomes(*rec)); d != "" {
		t.Errorf("record (-want +got):\n%s", d)
	}
	plan, err := PlanRetry(p, OpenState(StatePath(art)))
	if err != nil {
		t.Fatal(err)
	}
	var again []string
	for _, s := range plan.Steps {
		again = append(again, s.Name+": "+s.Again)
	}
	wantAgain := []string{
		"a: failed in the previous run",
		"b: skipped itself in the previous run (nothing to do)",
		"c: skipped in the previous run because a failed",
		"d: skipped in the previous run because a failed",
		"e: skipped itself in the previous run (needs b (skipped))",
		"f: a finalizer (always: true)",
	}
	if d := cmp.Diff(wantAgain, again); d != "" {
		t.Errorf("plan (-want +got):\n%s", d)
	}
}

func TestPlanRetryErrors(t *testing.T) {
	ok := StepFunc(func(context.Context, *Env) error { return nil })
	p := pipeline(step("a", ok), step("b", ok, "a"))
	tests := []struct {
		name    string
		prepare func(t *testing.T, art string)
		is      error
		want    string
	}{
		{
			name: "no state file",
			is:   ErrNoPreviousRun,
			want: "no previous run to retry: ART/e2e-state.json does not exist (run the pipeline first, or give --artifacts the directory of the run to retry)",
		},
		{
			name: "no record",
			prepare: func(t *testing.T, art string) {
				if err := OpenState(StatePath(art)).Set(StateBuildID, "1"); err != nil {
					t.Fatal(err)
				}
			},
			is:   ErrNoPreviousRun,
			want: "no previous run to retry: ART/e2e-state.json records no step results (written by `e2e step` or an older prowctl?): run the pipeline whole",
		},
		{
			name:    "nothing failed",
			prepare: func(t *testing.T, art string) { run(t, p, Options{Artifacts: art, Job: LocalJobSpec(LocalJob, "7")}) },
			is:      ErrNothingToRetry,
			want:    "nothing to retry: nothing failed in attempt 1 of build 7 (ART/e2e-state.json)",
		},
		{
			name: "aborted before anything failed",
			prepare: func(t *testing.T, art string) {
				err := OpenState(StatePath(art)).UpdateRecord(func(r *RunRecord) {
					*r = RunRecord{Build: "7", Attempt: 1, Steps: map[string]*StepRecord{
						"a": {Status: Passed, Attempt: 1, Spec: SpecHash(p, p.Steps[0])},
						"b": {Status: Skipped, Reason: abortedBeforeStart, Aborted: true, Attempt: 1},
					}}
				})
				if err != nil {
					t.Fatal(err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			art := t.TempDir()
			if tt.prepare != nil {
				tt.prepare(t, art)
			}
			plan, err := PlanRetry(p, OpenState(StatePath(art)))
			if tt.is == nil {
				if err != nil {
					t.Fatal(err)
				}
				if got := plan.Lookup("b").Again; got != "the previous run was aborted before it started" {
					t.Errorf("b: %q", got)
				}
				return
			}
			if !errors.Is(err, tt.is) {
				t.Fatalf("error %v, want %v", err, tt.is)
			}
			if got := strings.ReplaceAll(err.Error(), art, "ART"); got != tt.want {
				t.Errorf("error:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

// TestInvokeRetryNoStateRunsNothing: a retry without a previous run fails
// before it makes the artifacts directory.
func TestInvokeRetryNoStateRunsNothing(t *testing.T) {
	f := newFakeSteps()
	art := filepath.Join(t.TempDir(), "artifacts")
	var out bytes.Buffer
	inv := retryInvocation(t, f, art, &out)
	inv.FromFailed = true
	if _, err := Invoke(context.Background(), inv); !errors.Is(err, ErrNoPreviousRun) {
		t.Fatalf("error %v, want ErrNoPreviousRun", err)
	}
	if _, err := os.Stat(art); err == nil || len(f.ran()) != 0 || out.Len() != 0 {
		t.Errorf("a refused retry made %s (%v), ran %v, said %q", art, err, f.ran(), out.String())
	}
	inv.Only = []string{"test"}
	if _, err := Invoke(context.Background(), inv); err == nil || !strings.Contains(err.Error(), "takes no --only") {
		t.Errorf("--from-failed with --only: %v", err)
	}
}

// TestStepRecordsOutputsOfParallelSteps: steps running at once each get
// only what they set, and a key a step deletes is not its output.
func TestStepRecordsOutputsOfParallelSteps(t *testing.T) {
	setter := func(keys ...string) StepFunc {
		return func(ctx context.Context, env *Env) error {
			for _, k := range keys {
				time.Sleep(5 * time.Millisecond) // interleave with the other step
				if err := env.State.Set(k, env.Name); err != nil {
					return err
				}
			}
			return env.State.Delete("scratch")
		}
	}
	p := pipeline(step("x", setter("x1", "x2", "scratch")), step("y", setter("y1", "y2")))
	art := t.TempDir()
	run(t, p, Options{Artifacts: art})
	rec, err := OpenState(StatePath(art)).Record()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]string{}
	for name, s := range rec.Steps {
		got[name] = s.Outputs
	}
	want := map[string]map[string]string{"x": {"x1": "x", "x2": "x"}, "y": {"y1": "y", "y2": "y"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outputs (-want +got):\n%s", d)
	}
}

func TestStateFileKeepsValuesAndRecordApart(t *testing.T) {
	s := OpenState(StatePath(t.TempDir()))
	if err := s.Set("image", "r/op@sha256:1"); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRecord(func(r *RunRecord) {
		*r = RunRecord{Build: "7", Attempt: 1, Steps: map[string]*StepRecord{"a": {Status: Passed, Attempt: 1, Spec: "x"}}}
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("chart", "oci://r/op"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "chart": "oci://r/op",
  "image": "r/op@sha256:1",
  "e2e.run": {
    "build": "7",
    "attempt": 1,
    "steps": {
      "a": {
        "status": "passed",
        "attempt": 1,
        "spec": "x"
      }
    }
  }
}
`
	if d := cmp.Diff(want, string(b)); d != "" {
		t.Errorf("state file (-want +got):\n%s", d)
	}
	all, err := s.All()
	if err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(maps.Keys(all)); !cmp.Equal(keys, []string{"chart", "image"}) {
		t.Errorf("All() = %v, want the values only", all)
	}
	if err := s.Set(StateRunKey, "x"); err == nil {
		t.Error("a step could overwrite the run record")
	}
	if rec, err := s.Record(); err != nil || rec.Steps["a"].Status != Passed {
		t.Errorf("record after a refused write: %+v, %v", rec, err)
	}
}
