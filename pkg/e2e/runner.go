package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"

	"github.com/prowctl/prowctl/pkg/process"
)

// Options configure a run. Zero values take the defaults noted.
type Options struct {
	// Artifacts is the artifacts directory (required).
	Artifacts string
	// Dir is where relative paths resolve and run: steps start (default: the
	// current directory).
	Dir string
	// Job is the job spec of the run (default: a local periodic spec).
	Job *downwardapi.JobSpec
	// Only runs just these steps; Skip leaves these out. Edges to steps left
	// out are dropped: what they would have handed on must be in the state.
	Only, Skip []string
	// Parallelism bounds how many steps run at once (default: NumCPU).
	Parallelism int
	// GracePeriod bounds the finalizers once ctx is cancelled (default 30s).
	GracePeriod time.Duration
	// Upload is the destination the upload kind uses ("" for its own).
	Upload string
	// Store is where gs:// destinations go and which Deck shows them.
	Store Store
	// Results writes started.json, finished.json, junit_e2e-steps.xml and
	// build-log.txt into Artifacts; off for a single step run by hand.
	Results bool
	// StepResults is for runs of some steps of a pipeline whose steps each
	// run in a process of their own (a pod per step: `e2e step --results`,
	// as the Argo export runs them): started.json is written when there is
	// none, and a ResultsStep (upload) is handed the results built from the
	// record the earlier steps' processes left in the state file, written
	// as a whole run writes them (resultsFromRecord).
	StepResults bool
	// Out receives progress: a live view when TTY, timestamped lines (and the
	// steps' output) otherwise.
	Out io.Writer
	TTY bool
	// Runner runs external programs (default process.Exec).
	Runner process.Runner
	// Environ is the base environment of steps (default os.Environ()).
	Environ []string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Retry, from PlanRetry, makes the run a retry of the build's previous
	// attempt: the steps it reuses are not run (what they handed on is in
	// the state) and are reported as passed in the previous run; the rest
	// run as usual. Only and Skip do not apply.
	Retry *RetryPlan
}

// node is a step in a run.
type node struct {
	spec *StepSpec
	res  *Result
	deps []*node
	// outputs are the state values the step set (guarded by runner.mu).
	outputs map[string]string
	// reused is the record of an earlier attempt a retry reuses instead of
	// running the step.
	reused *StepRecord
}

type runner struct {
	p      *Pipeline
	opts   Options
	nodes  []*node
	report *Report
	exits  *exitList
	state  *State
	logs   *logSink
	view   progress

	jobEnv  []string // Prow's variables for the job spec, NAME=value
	attempt int      // of the build, as the run record counts them

	mu sync.Mutex // guards every Result
}

// Run runs the pipeline and reports what happened. The error is about the
// run itself (bad options, artifacts not writable); failing steps show in the
// report. Cancelling ctx aborts: running steps are cancelled, pending ones
// skipped, and the finalizers still run, bounded by opts.GracePeriod.
func Run(ctx context.Context, p *Pipeline, opts Options) (*Report, error) {
	r, err := newRunner(p, opts)
	if err != nil {
		return nil, err
	}
	return r.run(ctx)
}

func newRunner(p *Pipeline, opts Options) (*runner, error) {
	if opts.Artifacts == "" {
		return nil, errors.New("run: no artifacts directory")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = runtime.NumCPU()
	}
	if opts.GracePeriod <= 0 {
		opts.GracePeriod = 30 * time.Second
	}
	if opts.Runner == nil {
		opts.Runner = process.Exec{}
	}
	if opts.Environ == nil {
		opts.Environ = os.Environ()
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("run: %w", err)
		}
		opts.Dir = wd
	}
	if opts.Job == nil {
		opts.Job = LocalJobSpec(LocalJob, LocalBuildID(opts.Now()))
	}
	if opts.Retry != nil && (len(opts.Only) > 0 || len(opts.Skip) > 0) {
		return nil, errors.New("run: a retry runs what failed; it takes no Only or Skip")
	}
	selected, err := selectSteps(p, opts.Only, opts.Skip)
	if err != nil {
		return nil, err
	}
	r := &runner{
		p:      p,
		opts:   opts,
		report: &Report{Job: opts.Job},
		exits:  &exitList{},
		state:  OpenState(StatePath(opts.Artifacts)),
	}
	jobEnv, err := downwardapi.EnvForSpec(*opts.Job)
	if err != nil {
		return nil, fmt.Errorf("job spec: %w", err)
	}
	for k, v := range jobEnv {
		r.jobEnv = append(r.jobEnv, k+"="+v)
	}
	sort.Strings(r.jobEnv)
	r.attempt = 1
	if opts.Retry != nil {
		r.attempt = opts.Retry.Attempt
	} else if rec, err := r.state.Record(); err == nil && rec != nil && rec.Build == opts.Job.BuildID && rec.Attempt > 0 {
		// Some steps of the build, run again: they belong to its attempt.
		r.attempt = rec.Attempt
	}
	r.report.Attempt = r.attempt
	byName := map[string]*node{}
	for _, s := range p.Steps {
		if !selected[s.Name] {
			continue
		}
		n := &node{spec: s, res: &Result{
			Name: s.Name, Kind: s.Kind(), Needs: s.Needs, Always: s.Always, Status: Pending,
			Log: filepath.Join(opts.Artifacts, StepLogDir, s.Name+".log"),
		}}
		if opts.Retry != nil {
			if ps := opts.Retry.Lookup(s.Name); ps != nil && ps.Reuse != nil {
				n.reused = ps.Reuse
				n.outputs = ps.Reuse.Outputs
				n.res.Status, n.res.ReusedFrom = ps.Reuse.Status, ps.Reuse.Attempt
				if _, err := os.Stat(n.res.Log); err != nil {
					n.res.Log = "" // it wrote nothing, or its attempt's artifacts are gone
				}
			} else if ps != nil {
				n.res.Again = ps.Again
			}
		}
		byName[s.Name] = n
		r.nodes = append(r.nodes, n)
		r.report.Results = append(r.report.Results, n.res)
	}
	for _, n := range r.nodes {
		for _, need := range n.spec.Needs {
			if dep, ok := byName[need]; ok {
				n.deps = append(n.deps, dep)
			}
		}
	}
	return r, nil
}

// StepLogDir is the directory of the artifacts holding one log per step.
const StepLogDir = "steps"

// selectSteps applies --only and --skip, checking every name exists.
func selectSteps(p *Pipeline, only, skip []string) (map[string]bool, error) {
	sel := map[string]bool{}
	for _, s := range p.Steps {
		sel[s.Name] = len(only) == 0
	}
	for _, list := range [][]string{only, skip} {
		for _, name := range list {
			if p.Lookup(name) == nil {
				names := make([]string, len(p.Steps))
				for i, s := range p.Steps {
					names[i] = s.Name
				}
				return nil, fmt.Errorf("%s: no step %q (steps: %s)", p.File, name, strings.Join(names, ", "))
			}
		}
	}
	for _, name := range only {
		sel[name] = true
	}
	for _, name := range skip {
		sel[name] = false
	}
	return sel, nil
}

func (r *runner) run(ctx context.Context) (*Report, error) {
	o := r.opts
	if err := os.MkdirAll(filepath.Join(o.Artifacts, StepLogDir), 0o755); err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	var sinks []io.Writer
	if o.Results {
		f, err := os.Create(filepath.Join(o.Artifacts, BuildLogFile))
		if err != nil {
			return nil, fmt.Errorf("run: %w", err)
		}
		defer f.Close()
		sinks = append(sinks, f)
	}
	if !o.TTY {
		sinks = append(sinks, o.Out)
	}
	r.logs = &logSink{w: io.MultiWriter(sinks...)}
	lines := &lineView{logs: r.logs, now: o.Now}
	if o.TTY {
		live := newLiveView(o.Out, o.Now, r.snapshot)
		r.view = multiView{lines, live}
	} else {
		r.view = lines
	}

	r.report.Start = o.Now()
	if o.Results || o.StepResults && !fileExists(filepath.Join(o.Artifacts, prowapi.StartedStatusFile)) {
		if err := r.writeStarted(); err != nil {
			return nil, err
		}
	}
	r.view.begin(r.intro(), r.snapshot())

	// Reused steps are not scheduled: edges to them drop out as edges to
	// steps left out by --only do, and what they handed on is in the state.
	var main, final []*node
	for _, n := range r.nodes {
		switch {
		case n.reused != nil:
		case n.spec.Always:
			final = append(final, n)
		default:
			main = append(main, n)
		}
	}
	r.schedule(ctx, main, false)
	if ctx.Err() != nil {
		// Said now, so the record a ResultsStep finalizer (upload) is
		// handed says it too.
		r.mu.Lock()
		r.report.Aborted = true
		r.mu.Unlock()
	}

	// Finalizers run whatever happened, on a context that outlives ctx by
	// the grace period: Prow sends SIGTERM, waits its grace period, then
	// SIGKILL.
	finCtx, cancel := graceContext(ctx, o.GracePeriod)
	r.schedule(finCtx, final, true)
	if err := r.exits.run(finCtx); err != nil {
		r.logs.printf("%s cleanup: %v\n", stamp(o.Now()), err)
	}
	cancel()

	r.mu.Lock()
	r.report.End = o.Now()
	r.report.Aborted = r.report.Aborted || ctx.Err() != nil
	r.mu.Unlock()
	r.view.end(r.report, r.snapshot())
	if err := r.writeRecord(); err != nil {
		return r.report, err
	}
	if o.Results {
		if _, err := r.writeResults(); err != nil {
			return r.report, err
		}
	}
	return r.report, nil
}

// intro is what the views say before the steps start: for a retry, what it
// reuses and why the rest runs again.
func (r *runner) intro() []string {
	plan := r.opts.Retry
	if plan == nil {
		return nil
	}
	reused := 0
	for _, n := range r.nodes {
		if n.reused != nil {
			reused++
		}
	}
	lines := []string{fmt.Sprintf("e2e: retry of build %s, attempt %d: %s to run again, %d reused",
		r.opts.Job.BuildID, r.attempt, plural(len(r.nodes)-reused, "step"), reused)}
	for _, name := range plan.Forgotten {
		lines = append(lines, fmt.Sprintf("%s: in the previous run, no longer in the pipeline (its record is dropped)", name))
	}
	for _, n := range r.nodes {
		if n.reused != nil {
			lines = append(lines, describeResult(*n.res))
		} else {
			lines = append(lines, fmt.Sprintf("%s: runs again: %s", n.spec.Name, n.res.Again))
		}
	}
	return lines
}

// env builds the Env of one step.
func (r *runner) env(n *node, log io.Writer) *Env {
	o := r.opts
	environ := append([]string(nil), o.Environ...)
	environ = append(environ, r.jobEnv...)
	environ = append(environ, "ARTIFACTS="+o.Artifacts, "E2E_STATE="+r.state.Path(), "E2E_STEP="+n.spec.Name)
	// What earlier steps handed on, for run: steps: image -> E2E_IMAGE.
	if st, err := r.state.All(); err == nil {
		keys := make([]string, 0, len(st))
		for k := range st {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			environ = append(environ, "E2E_"+envName(k)+"="+st[k])
		}
	}
	for _, v := range r.pipelineEnv() {
		environ = append(environ, v.Name+"="+v.Value)
	}
	for _, v := range n.spec.Env {
		environ = append(environ, v.Name+"="+v.Value)
	}
	outputs := func(set map[string]string, deleted []string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if n.res.Status != Running {
			// An AtExit function of the step (a registry of the run that
			// stops): not an output, and what it deletes is gone for a
			// retry, so the record must keep it.
			return
		}
		if n.outputs == nil {
			n.outputs = map[string]string{}
		}
		for k, v := range set {
			n.outputs[k] = v
		}
		for _, k := range deleted {
			delete(n.outputs, k)
		}
	}
	env := &Env{
		Name:      n.spec.Name,
		Artifacts: o.Artifacts,
		Dir:       o.Dir,
		Log:       log,
		State:     r.state.observe(outputs),
		Job:       o.Job,
		Runner:    o.Runner,
		Environ:   environ,
		Upload:    o.Upload,
		Store:     o.Store,
		exits:     r.exits,
	}
	return env
}

func (r *runner) pipelineEnv() []EnvVar { return r.p.Env }

func envName(key string) string {
	return strings.Map(func(c rune) rune {
		switch {
		case c >= 'a' && c <= 'z':
			return c - 'a' + 'A'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			return c
		}
		return '_'
	}, key)
}

// stamp formats a time for progress lines.
func stamp(t time.Time) string { return t.Format("15:04:05") }
