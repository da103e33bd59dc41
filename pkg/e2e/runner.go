package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"
)

// Status is where a step is in a run.
type Status string

const (
	Pending Status = "pending"
	Running Status = "running"
	Passed  Status = "passed"
	Failed  Status = "failed"
	Skipped Status = "skipped"
)

func (s Status) done() bool { return s == Passed || s == Failed || s == Skipped }

// Result is what happened to one step.
type Result struct {
	Name     string
	Kind     string
	Needs    []string
	Always   bool
	Status   Status
	Start    time.Time
	Duration time.Duration
	Attempts int
	// Reason says why the step failed or was skipped.
	Reason string
	// Log is the path of the step's own log file.
	Log string
}

// Report is the outcome of a run.
type Report struct {
	Job     *downwardapi.JobSpec
	Results []*Result // selected steps, in spec order
	Start   time.Time
	End     time.Time
	// Aborted is true when the run was cancelled (SIGINT/SIGTERM) before its
	// regular steps finished.
	Aborted bool
}

// Passed reports whether every step that was not skipped passed and the run
// was not aborted.
func (r *Report) Passed() bool {
	if r.Aborted {
		return false
	}
	for _, res := range r.Results {
		if res.Status != Passed && res.Status != Skipped {
			return false
		}
	}
	return true
}

// Result is Prow's word for the outcome: SUCCESS, FAILURE or ABORTED.
func (r *Report) Result() string {
	switch {
	case r.Aborted:
		return "ABORTED"
	case r.Passed():
		return "SUCCESS"
	default:
		return "FAILURE"
	}
}

// Lookup returns the result of the step called name.
func (r *Report) Lookup(name string) *Result {
	for _, res := range r.Results {
		if res.Name == name {
			return res
		}
	}
	return nil
}

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
	// Results writes started.json, finished.json, junit_e2e-steps.xml and
	// build-log.txt into Artifacts; off for a single step run by hand.
	Results bool
	// Out receives progress: a live view when TTY, timestamped lines (and the
	// steps' output) otherwise.
	Out io.Writer
	TTY bool
	// Runner runs external programs (default ExecRunner).
	Runner Runner
	// Environ is the base environment of steps (default os.Environ()).
	Environ []string
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// node is a step in a run.
type node struct {
	spec *StepSpec
	res  *Result
	deps []*node
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

	jobEnv []string // Prow's variables for the job spec, NAME=value

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
		opts.Runner = ExecRunner{}
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
	byName := map[string]*node{}
	for _, s := range p.Steps {
		if !selected[s.Name] {
			continue
		}
		n := &node{spec: s, res: &Result{
			Name: s.Name, Kind: s.Kind(), Needs: s.Needs, Always: s.Always, Status: Pending,
			Log: filepath.Join(opts.Artifacts, StepLogDir, s.Name+".log"),
		}}
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
	if o.Results {
		if err := r.writeStarted(); err != nil {
			return nil, err
		}
	}
	r.view.begin(r.snapshot())

	var main, final []*node
	for _, n := range r.nodes {
		if n.spec.Always {
			final = append(final, n)
		} else {
			main = append(main, n)
		}
	}
	r.schedule(ctx, main, false)
	if ctx.Err() != nil {
		// Said now, so what the upload finalizer writes says it too.
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
	if o.Results {
		if err := r.writeResults(); err != nil {
			return r.report, err
		}
	}
	return r.report, nil
}

// graceContext returns a context that is not cancelled with parent but
// gracePeriod after it.
func graceContext(parent context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	go func() {
		select {
		case <-parent.Done():
		case <-ctx.Done():
			return
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// schedule runs nodes in dependency order, at most Parallelism at a time.
// For regular steps a failed or skipped dependency skips the step; for
// finalizers any outcome of a dependency will do. Each node keeps a count of
// unfinished dependencies, so a step finishing costs O(its dependents), and
// the goroutine of a finishing step starts what it unblocked itself: no
// hand-off to a scheduler goroutine between one step and the next.
func (r *runner) schedule(ctx context.Context, nodes []*node, finalizers bool) {
	ph := &phase{r: r, ctx: ctx, nodes: nodes, finalizers: finalizers, allDone: make(chan struct{})}
	ph.mu.Lock()
	ph.init()
	ph.launch()
	ph.mu.Unlock()
	select {
	case <-ph.allDone:
	case <-ctx.Done():
		ph.mu.Lock()
		ph.aborted = true
		ph.mu.Unlock()
		<-ph.allDone
	}
	for _, n := range nodes {
		if r.status(n) == Pending {
			r.finish(n, Skipped, "aborted before it started", 0)
		}
	}
}

// phase is one scheduling pass: the regular steps, then the finalizers.
type phase struct {
	r          *runner
	ctx        context.Context
	nodes      []*node
	finalizers bool
	allDone    chan struct{} // closed when nothing runs and nothing more will

	mu         sync.Mutex
	waiting    []int    // unfinished dependencies in this phase
	blocker    []string // why a regular step will be skipped
	dependents [][]int  // reverse edges within this phase
	ready      []int    // sorted by spec order
	running    int
	aborted    bool
}

func (ph *phase) init() {
	index := make(map[*node]int, len(ph.nodes))
	for i, n := range ph.nodes {
		index[n] = i
	}
	ph.waiting = make([]int, len(ph.nodes))
	ph.blocker = make([]string, len(ph.nodes))
	ph.dependents = make([][]int, len(ph.nodes))
	for i, n := range ph.nodes {
		for _, d := range n.deps {
			if j, ok := index[d]; ok {
				ph.waiting[i]++
				ph.dependents[j] = append(ph.dependents[j], i)
			}
		}
	}
	for i := range ph.nodes {
		if ph.waiting[i] == 0 {
			ph.push(i)
		}
	}
}

func (ph *phase) push(i int) {
	at := sort.SearchInts(ph.ready, i)
	ph.ready = append(ph.ready, 0)
	copy(ph.ready[at+1:], ph.ready[at:])
	ph.ready[at] = i
}

// launch starts ready steps while there is room; with ph.mu held.
func (ph *phase) launch() {
	for len(ph.ready) > 0 && ph.running < ph.r.opts.Parallelism && !ph.aborted {
		i := ph.ready[0]
		ph.ready = ph.ready[1:]
		ph.running++
		ph.r.start(ph.ctx, ph.nodes[i], func() { ph.finished(i) })
	}
	if ph.running == 0 {
		close(ph.allDone)
	}
}

// finished is called by step i's goroutine once the step's result is in.
func (ph *phase) finished(i int) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	ph.running--
	ph.settle(i)
	ph.launch()
}

// settle counts step j's end against its dependents, skipping those it
// blocks (and theirs), queueing those now ready; with ph.mu held.
func (ph *phase) settle(j int) {
	st := ph.r.status(ph.nodes[j])
	for _, i := range ph.dependents[j] {
		if st != Passed && !ph.finalizers && ph.blocker[i] == "" {
			ph.blocker[i] = fmt.Sprintf("needs %s (%s)", ph.nodes[j].spec.Name, st)
		}
		ph.waiting[i]--
		if ph.waiting[i] > 0 {
			continue
		}
		if ph.blocker[i] != "" {
			ph.r.finish(ph.nodes[i], Skipped, ph.blocker[i], 0)
			ph.settle(i)
			continue
		}
		ph.push(i)
	}
}

func (r *runner) status(n *node) Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return n.res.Status
}

func (r *runner) finish(n *node, st Status, reason string, attempts int) {
	now := r.opts.Now()
	r.mu.Lock()
	n.res.Status = st
	n.res.Reason = reason
	n.res.Attempts = attempts
	if !n.res.Start.IsZero() {
		n.res.Duration = now.Sub(n.res.Start)
	}
	res := *n.res
	r.mu.Unlock()
	r.view.update(res)
}

// snapshot copies every result, for progress views.
func (r *runner) snapshot() []Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Result, len(r.nodes))
	for i, n := range r.nodes {
		out[i] = *n.res
	}
	return out
}

func (r *runner) start(ctx context.Context, n *node, done func()) {
	r.mu.Lock()
	n.res.Status = Running
	n.res.Start = r.opts.Now()
	res := *n.res
	r.mu.Unlock()
	go func() {
		// Reported from the step's goroutine: the scheduler only spawns, so
		// the last of many steps that become ready together starts as soon
		// as the first.
		r.view.update(res)
		st, reason, attempts := r.runStep(ctx, n)
		r.finish(n, st, reason, attempts)
		done()
	}()
}

// runStep runs one step with its timeout and retries, its output in its
// own log file and the combined log.
func (r *runner) runStep(ctx context.Context, n *node) (Status, string, int) {
	s := n.spec
	f := &lazyFile{path: n.res.Log}
	defer func() {
		if !f.close() {
			r.mu.Lock()
			n.res.Log = "" // the step wrote nothing
			r.mu.Unlock()
		}
	}()
	out := &prefixWriter{prefix: "[" + s.Name + "] ", sink: r.logs}
	defer out.Flush()
	log := io.MultiWriter(f, out)
	env := r.env(n, log)

	attempts := 0
	var stepErr error
	for {
		attempts++
		if attempts > 1 {
			fmt.Fprintf(log, "--- attempt %d of %d (previous: %v)\n", attempts, s.Retries+1, stepErr)
		}
		sctx, cancel := ctx, context.CancelFunc(func() {})
		if s.Timeout > 0 {
			sctx, cancel = context.WithTimeout(ctx, s.Timeout)
		}
		stepErr = safeRun(sctx, s.Step, env)
		timedOut := stepErr != nil && errors.Is(sctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		cancel()
		if timedOut {
			stepErr = fmt.Errorf("timed out after %s: %w", s.Timeout, stepErr)
		}
		if stepErr == nil || errors.Is(stepErr, ErrSkip) || ctx.Err() != nil || attempts > s.Retries {
			break
		}
	}
	switch {
	case stepErr == nil:
		return Passed, "", attempts
	case errors.Is(stepErr, ErrSkip):
		reason := strings.TrimSuffix(stepErr.Error(), ": "+ErrSkip.Error())
		fmt.Fprintf(f, "skipped: %s\n", reason) // the progress line says it in the build log
		return Skipped, reason, attempts
	case ctx.Err() != nil:
		fmt.Fprintf(f, "aborted: %v\n", stepErr)
		return Failed, "aborted: " + stepErr.Error(), attempts
	default:
		fmt.Fprintf(f, "failed: %v\n", stepErr)
		return Failed, stepErr.Error(), attempts
	}
}

func safeRun(ctx context.Context, s Step, env *Env) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return s.Run(ctx, env)
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
	env := &Env{
		Name:      n.spec.Name,
		Artifacts: o.Artifacts,
		Dir:       o.Dir,
		Log:       log,
		State:     r.state,
		Job:       o.Job,
		Runner:    o.Runner,
		Environ:   environ,
		Upload:    o.Upload,
		exits:     r.exits,
	}
	if o.Results {
		env.results = r
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

// lazyFile creates its file on the first write: a step that prints nothing
// leaves no empty log (and costs no file creation, which is slow on some
// disks).
type lazyFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
	err  error
}

func (l *lazyFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil && l.err == nil {
		l.f, l.err = os.Create(l.path)
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.f.Write(p)
}

// close closes the file and says whether there was one.
func (l *lazyFile) close() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return false
	}
	l.f.Close()
	return true
}
