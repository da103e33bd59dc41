// Package e2e runs the end-to-end pipeline of a Prow job: a DAG of steps read
// from a spec (config/e2e.yaml), run in parallel where the edges allow, with
// finalizers that always run, results in Prow's artifact layout and an
// optional upload to where Spyglass looks.
//
// The loader is given the table of step kinds a pipeline may use (Kinds);
// pkg/e2e defines run and upload (CoreKinds), pkg/e2e/steps the rest
// (steps.Builtin). The runner only knows the Step interface.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"

	"github.com/prowctl/prowctl/pkg/process"
)

// Step is one unit of work of a pipeline. Run returns nil when the step
// passed, an error wrapping ErrSkip when it decided not to run (a distinct,
// reported outcome), any other error when it failed. Run must return soon
// after ctx is done: the runner cancels ctx on timeout and on SIGTERM.
type Step interface {
	Run(ctx context.Context, env *Env) error
}

// ErrSkip marks a step's result as skipped rather than failed.
var ErrSkip = errors.New("skipped")

// Skip returns an error that reports the step as skipped, with reason.
func Skip(reason string) error { return fmt.Errorf("%s: %w", reason, ErrSkip) }

// StepFunc adapts a function to Step.
type StepFunc func(ctx context.Context, env *Env) error

// Run calls f.
func (f StepFunc) Run(ctx context.Context, env *Env) error { return f(ctx, env) }

// Kind builds steps of one kind from their `with:` settings. New decodes
// settings strictly (DecodeSettings does) and checks them, so a bad spec is
// rejected before anything runs. settings is nil when the step has no `with:`.
type Kind interface {
	New(settings *yaml.Node) (Step, error)
}

// KindFunc adapts a function to Kind.
type KindFunc func(settings *yaml.Node) (Step, error)

// New calls f.
func (f KindFunc) New(settings *yaml.Node) (Step, error) { return f(settings) }

// Kinds is the table of step kinds a pipeline may use, by the name `uses:`
// gives. The loader is handed one: there is no registry, so what a pipeline
// may use is whatever its caller says (steps.Builtin() for prowctl's own, a
// copy with more entries for a program that adds its own). The `run:`
// shorthand is the kind "run" of the table.
type Kinds map[string]Kind

// Names returns the kinds' names, sorted.
func (k Kinds) Names() []string { return slices.Sorted(maps.Keys(k)) }

// CoreKinds returns the kinds pkg/e2e defines itself: run (a shell command,
// also written `run: CMD`) and upload (the run's results to where Spyglass
// reads them). A new table each call, so callers may add to it.
func CoreKinds() Kinds {
	return Kinds{
		RunKindName:    KindFunc(newRunStep),
		UploadKindName: KindFunc(newUploadStep),
	}
}

// ResultsStep is implemented by steps that act on the run's record, such as
// upload. Before such a step runs, the runner writes finished.json and the
// JUnit report as they stand and hands the step the Report it wrote in
// Env.Results; the step itself counts as passed there, since it cannot
// report on itself in what it uploads. A driver that runs each step in a
// process of its own (a pod per step) builds the Report from its own record
// instead, writes it with WriteResults and sets Env.Results the same way.
type ResultsStep interface {
	Step
	UsesResults()
}

// Env is what a step sees of the run.
type Env struct {
	// Name is the step's name in the pipeline.
	Name string
	// Artifacts is the run's artifacts directory ($ARTIFACTS). Files a step
	// writes here (JUnit files named junit_*.xml, logs) are uploaded with the
	// run. Steps that collect JUnit put it at the top of this directory.
	Artifacts string
	// Dir is the directory relative paths in settings resolve against (the
	// directory the run was started in, normally the repository root).
	Dir string
	// Log receives the step's output; it goes to the step's own log file and
	// to the combined build log.
	Log io.Writer
	// State holds what steps hand on to each other (image digest, chart ref,
	// kubeconfig, ...) in a file of the artifacts directory, so steps can run
	// one by one in separate processes.
	State *State
	// Job is the Prow job spec of the run (from JOB_SPEC, or a local default).
	Job *downwardapi.JobSpec
	// Runner runs external programs; tests inject a process.Recorder.
	Runner process.Runner
	// Environ is the environment for commands the step runs: the process's
	// environment, the job's Prow variables and the step's `env:`.
	Environ []string
	// Upload is where the run uploads its results ("" for none): a
	// gs://bucket[/prefix], s3://bucket[/prefix] or local directory.
	Upload string
	// Store is where gs:// destinations go and which Deck shows them.
	Store Store
	// Results is, for a ResultsStep, the run's report as written to
	// finished.json and the JUnit report just before the step started; nil
	// for other steps and when the run writes no results (one step run by
	// hand), in which case the artifacts are taken as they are.
	Results *Report

	exits *exitList
}

// exitList collects AtExit functions; one list is shared by all steps of a run.
type exitList struct {
	mu  sync.Mutex
	fns []func(context.Context) error
}

func (l *exitList) add(fn func(context.Context) error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fns = append(l.fns, fn)
}

// run calls the functions in reverse order of registration, once.
func (l *exitList) run(ctx context.Context) error {
	l.mu.Lock()
	fns := l.fns
	l.fns = nil
	l.mu.Unlock()
	var errs []error
	for i := len(fns) - 1; i >= 0; i-- {
		if err := fns[i](ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Getenv returns the value of key in e.Environ.
func (e *Env) Getenv(key string) string {
	for i := len(e.Environ) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(e.Environ[i], "="); ok && k == key {
			return v
		}
	}
	return ""
}

// AtExit registers fn to run when the whole run ends, after the finalizers:
// for things a step starts that later steps of the same process use (a
// registry on loopback). fn gets a context bounded by the grace period. With
// `e2e step NAME`, the run is that one step.
func (e *Env) AtExit(fn func(context.Context) error) {
	if e.exits == nil {
		e.exits = &exitList{}
	}
	e.exits.add(fn)
}

// NewTestEnv returns an Env for exercising one step in a test: artifacts and
// state in dir, output to log, commands through runner (nil for process.Exec),
// a periodic local job spec. The returned function runs what the step
// registered with AtExit.
func NewTestEnv(dir string, log io.Writer, runner process.Runner) (*Env, func(context.Context) error) {
	if runner == nil {
		runner = process.Exec{}
	}
	env := &Env{
		Name:      "test",
		Artifacts: dir,
		Dir:       dir,
		Log:       log,
		State:     OpenState(StatePath(dir)),
		Job:       LocalJobSpec("local-e2e", "1"),
		Runner:    runner,
		Environ:   os.Environ(),
		exits:     &exitList{},
	}
	return env, env.exits.run
}
