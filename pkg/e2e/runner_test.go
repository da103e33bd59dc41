package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// events records when fake steps start and end.
type events struct {
	mu    sync.Mutex
	start map[string]time.Time
	end   map[string]time.Time
	order []string
}

func newEvents() *events {
	return &events{start: map[string]time.Time{}, end: map[string]time.Time{}}
}

func (e *events) sleep(d time.Duration) StepFunc {
	return func(ctx context.Context, env *Env) error {
		e.mu.Lock()
		e.start[env.Name] = time.Now()
		e.order = append(e.order, env.Name)
		e.mu.Unlock()
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return ctx.Err()
		}
		e.mu.Lock()
		e.end[env.Name] = time.Now()
		e.mu.Unlock()
		return nil
	}
}

func step(name string, s Step, needs ...string) *StepSpec {
	return &StepSpec{Name: name, Uses: "fake", Needs: needs, Step: s}
}

func finalizer(name string, s Step, needs ...string) *StepSpec {
	st := step(name, s, needs...)
	st.Always = true
	return st
}

func pipeline(steps ...*StepSpec) *Pipeline { return &Pipeline{File: "test.yaml", Steps: steps} }

func statuses(rep *Report) map[string]string {
	out := map[string]string{}
	for _, r := range rep.Results {
		out[r.Name] = string(r.Status)
		if r.Reason != "" {
			out[r.Name] += ": " + firstLine(r.Reason)
		}
	}
	return out
}

func run(t *testing.T, p *Pipeline, opts Options) *Report {
	t.Helper()
	if opts.Artifacts == "" {
		opts.Artifacts = t.TempDir()
	}
	if opts.Parallelism == 0 {
		opts.Parallelism = 8
	}
	rep, err := Run(context.Background(), p, opts)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestRunDiamondRunsBranchesInParallel(t *testing.T) {
	ev := newEvents()
	p := pipeline(
		step("a", ev.sleep(20*time.Millisecond)),
		step("b", ev.sleep(100*time.Millisecond), "a"),
		step("c", ev.sleep(100*time.Millisecond), "a"),
		step("d", ev.sleep(10*time.Millisecond), "b", "c"),
	)
	rep := run(t, p, Options{})
	if !rep.Passed() {
		t.Fatalf("run failed: %v", statuses(rep))
	}
	for _, x := range []string{"b", "c"} {
		if ev.start[x].Before(ev.end["a"]) {
			t.Errorf("%s started before its need a ended", x)
		}
		if ev.start["d"].Before(ev.end[x]) {
			t.Errorf("d started before its need %s ended", x)
		}
	}
	// b and c overlap: each started before the other ended.
	if !ev.start["b"].Before(ev.end["c"]) || !ev.start["c"].Before(ev.end["b"]) {
		t.Errorf("b and c did not run in parallel: b %v-%v, c %v-%v", ev.start["b"], ev.end["b"], ev.start["c"], ev.end["c"])
	}
}

func TestRunParallelismBound(t *testing.T) {
	var running, peak atomic.Int32
	busy := StepFunc(func(ctx context.Context, env *Env) error {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		// Long enough that every step allowed to run at once does, even on
		// a loaded machine.
		time.Sleep(150 * time.Millisecond)
		running.Add(-1)
		return nil
	})
	var steps []*StepSpec
	for i := 0; i < 6; i++ {
		steps = append(steps, step(fmt.Sprint("s", i), busy))
	}
	for _, par := range []int{1, 2, 6} {
		peak.Store(0)
		rep := run(t, pipeline(steps...), Options{Parallelism: par})
		if !rep.Passed() {
			t.Fatalf("run failed: %v", statuses(rep))
		}
		if got := int(peak.Load()); got != par {
			t.Errorf("parallelism %d: peak of %d steps at once", par, got)
		}
	}
}

func TestRunFailureSkipsDependentsAndFinalizersRun(t *testing.T) {
	ev := newEvents()
	boom := StepFunc(func(context.Context, *Env) error { return errors.New("boom") })
	p := pipeline(
		step("build", boom),
		step("cluster-up", ev.sleep(0)),
		step("deploy", ev.sleep(0), "build", "cluster-up"),
		step("test", ev.sleep(0), "deploy"),
		finalizer("teardown", ev.sleep(0), "test"),
		finalizer("upload", ev.sleep(0), "teardown"),
	)
	rep := run(t, p, Options{})
	want := map[string]string{
		"build":      "failed: boom",
		"cluster-up": "passed",
		"deploy":     "skipped: needs build (failed)",
		"test":       "skipped: needs deploy (skipped)",
		"teardown":   "passed",
		"upload":     "passed",
	}
	if d := cmp.Diff(want, statuses(rep)); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	if rep.Passed() || rep.Result() != "FAILURE" {
		t.Errorf("Passed() = %v, Result() = %s; want false, FAILURE", rep.Passed(), rep.Result())
	}
	if ev.start["upload"].Before(ev.end["teardown"]) {
		t.Error("upload started before teardown, which it needs, ended")
	}
}

func TestRunFinalizersRunLast(t *testing.T) {
	ev := newEvents()
	p := pipeline(
		finalizer("teardown", ev.sleep(0)),
		step("slow", ev.sleep(80*time.Millisecond)),
	)
	run(t, p, Options{})
	if ev.start["teardown"].Before(ev.end["slow"]) {
		t.Error("finalizer started before the regular steps finished")
	}
}

func TestRunSkipResultSkipsDependents(t *testing.T) {
	p := pipeline(
		step("optional", StepFunc(func(context.Context, *Env) error { return Skip("nothing to do") })),
		step("after", StepFunc(func(context.Context, *Env) error { return nil }), "optional"),
	)
	rep := run(t, p, Options{})
	want := map[string]string{"optional": "skipped: nothing to do", "after": "skipped: needs optional (skipped)"}
	if d := cmp.Diff(want, statuses(rep)); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	if !rep.Passed() {
		t.Error("a run of skipped steps should pass")
	}
}

func TestRunRetries(t *testing.T) {
	for _, tt := range []struct {
		retries      int
		wantStatus   Status
		wantAttempts int
	}{
		{retries: 2, wantStatus: Passed, wantAttempts: 3},
		{retries: 1, wantStatus: Failed, wantAttempts: 2},
	} {
		t.Run(fmt.Sprint(tt.retries), func(t *testing.T) {
			calls := 0
			flaky := StepFunc(func(context.Context, *Env) error {
				calls++
				if calls < 3 {
					return fmt.Errorf("flake %d", calls)
				}
				return nil
			})
			s := step("flaky", flaky)
			s.Retries = tt.retries
			dir := t.TempDir()
			rep := run(t, pipeline(s), Options{Artifacts: dir})
			got := rep.Lookup("flaky")
			if got.Status != tt.wantStatus || got.Attempts != tt.wantAttempts {
				t.Errorf("status %s after %d attempts, want %s after %d", got.Status, got.Attempts, tt.wantStatus, tt.wantAttempts)
			}
			log, err := os.ReadFile(filepath.Join(dir, "steps", "flaky.log"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(log), "--- attempt 2 of") {
				t.Errorf("step log does not mention the retry:\n%s", log)
			}
		})
	}
}

func TestRunTimeout(t *testing.T) {
	hang := StepFunc(func(ctx context.Context, env *Env) error {
		<-ctx.Done()
		return ctx.Err()
	})
	s := step("hang", hang)
	s.Timeout = 50 * time.Millisecond
	after := step("after", StepFunc(func(context.Context, *Env) error { return nil }), "hang")
	start := time.Now()
	rep := run(t, pipeline(s, after), Options{})
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("timed-out step held the run for %s", took)
	}
	want := map[string]string{
		"hang":  "failed: timed out after 50ms: context deadline exceeded",
		"after": "skipped: needs hang (failed)",
	}
	if d := cmp.Diff(want, statuses(rep)); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
}

func TestRunOnlySkip(t *testing.T) {
	ok := StepFunc(func(context.Context, *Env) error { return nil })
	p := pipeline(step("a", ok), step("b", ok, "a"), step("c", ok, "b"), finalizer("f", ok, "c"))
	tests := []struct {
		only, skip []string
		want       []string
		wantErr    string
	}{
		{want: []string{"a", "b", "c", "f"}},
		{only: []string{"b", "c"}, want: []string{"b", "c"}},
		{skip: []string{"a"}, want: []string{"b", "c", "f"}},
		{only: []string{"a", "b"}, skip: []string{"b"}, want: []string{"a"}},
		{only: []string{"x"}, wantErr: `test.yaml: no step "x" (steps: a, b, c, f)`},
	}
	for _, tt := range tests {
		rep, err := Run(context.Background(), p, Options{Artifacts: t.TempDir(), Only: tt.only, Skip: tt.skip})
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("only %v skip %v: error %v, want %q", tt.only, tt.skip, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range rep.Results {
			if r.Status != Passed {
				t.Errorf("only %v skip %v: %s %s, want passed (edges to left-out steps are dropped)", tt.only, tt.skip, r.Name, r.Status)
			}
			got = append(got, r.Name)
		}
		if d := cmp.Diff(tt.want, got); d != "" {
			t.Errorf("only %v skip %v: steps (-want +got):\n%s", tt.only, tt.skip, d)
		}
	}
}

func TestRunAbortRunsFinalizersWithinGrace(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	long := StepFunc(func(ctx context.Context, env *Env) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	var teardownCtxErr error
	teardown := StepFunc(func(ctx context.Context, env *Env) error {
		teardownCtxErr = ctx.Err()
		return nil
	})
	// A finalizer that never ends on its own is cut off at the grace period.
	stuck := StepFunc(func(ctx context.Context, env *Env) error {
		<-ctx.Done()
		return ctx.Err()
	})
	p := pipeline(
		step("test", long),
		step("after-test", StepFunc(func(context.Context, *Env) error { return nil }), "test"),
		finalizer("teardown", teardown, "test"),
		finalizer("stuck", stuck, "teardown"),
	)
	go func() { <-started; cancel() }()
	begin := time.Now()
	rep, err := Run(ctx, p, Options{Artifacts: t.TempDir(), GracePeriod: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > 3*time.Second {
		t.Errorf("abort took %s, want about the grace period", took)
	}
	want := map[string]string{
		"test":       "failed: aborted: context canceled",
		"after-test": "skipped: needs test (failed)",
		"teardown":   "passed",
		"stuck":      "failed: aborted: context canceled",
	}
	if d := cmp.Diff(want, statuses(rep)); d != "" {
		t.Errorf("statuses (-want +got):\n%s", d)
	}
	if teardownCtxErr != nil {
		t.Errorf("teardown ran with a done context: %v", teardownCtxErr)
	}
	if !rep.Aborted || rep.Result() != "ABORTED" {
		t.Errorf("Aborted = %v, Result = %s; want true, ABORTED", rep.Aborted, rep.Result())
	}
}

func TestRunPanicFailsStep(t *testing.T) {
	p := pipeline(step("p", StepFunc(func(context.Context, *Env) error { panic("oops") })))
	rep := run(t, p, Options{})
	if got := rep.Lookup("p"); got.Status != Failed || !strings.HasPrefix(got.Reason, "panic: oops") {
		t.Errorf("got %s %q, want failed with the panic", got.Status, got.Reason)
	}
}

func TestRunStepSeesStateAndEnv(t *testing.T) {
	dir := t.TempDir()
	var got []string
	p := pipeline(
		step("producer", StepFunc(func(ctx context.Context, env *Env) error {
			return env.State.Set(StateImage, "127.0.0.1:5000/op@sha256:abc")
		})),
		step("consumer", StepFunc(func(ctx context.Context, env *Env) error {
			got = []string{env.Getenv("E2E_IMAGE"), env.Getenv("ARTIFACTS"), env.Getenv("JOB_NAME"), env.Getenv("GLOBAL"), env.Getenv("MINE")}
			return nil
		}), "producer"),
	)
	p.Env = []EnvVar{{"GLOBAL", "g"}, {"MINE", "global"}}
	p.Steps[1].Env = []EnvVar{{"MINE", "step"}}
	run(t, p, Options{Artifacts: dir, Job: LocalJobSpec("my-job", "7")})
	want := []string{"127.0.0.1:5000/op@sha256:abc", dir, "my-job", "g", "step"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("env (-want +got):\n%s", d)
	}
}

func TestRunStepRealCommand(t *testing.T) {
	dir, work := t.TempDir(), t.TempDir()
	if err := os.Mkdir(filepath.Join(work, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	s := &StepSpec{Name: "hello", Run: `echo "in $(basename "$PWD") as $WHO"; echo oops >&2; exit 3`, Dir: "sub",
		Env: []EnvVar{{"WHO", "e2e"}}}
	s.Step = &RunStep{Command: s.Run, Dir: s.Dir}
	rep := run(t, pipeline(s), Options{Artifacts: dir, Dir: work, Results: true})
	res := rep.Lookup("hello")
	if res.Status != Failed || res.Reason != "sh: exit status 3" {
		t.Errorf("got %s %q, want failed with exit status 3", res.Status, res.Reason)
	}
	log, _ := os.ReadFile(filepath.Join(dir, "steps", "hello.log"))
	if want := "in sub as e2e\noops\nfailed: sh: exit status 3\n"; string(log) != want {
		t.Errorf("step log = %q, want %q", log, want)
	}
	build, _ := os.ReadFile(filepath.Join(dir, BuildLogFile))
	if !strings.Contains(string(build), "[hello] in sub as e2e\n[hello] oops\n") {
		t.Errorf("build-log.txt lacks the step's prefixed output:\n%s", build)
	}
}
