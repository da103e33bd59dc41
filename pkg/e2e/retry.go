package e2e

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNoPreviousRun is returned by PlanRetry when there is no record of a
// run to retry: no state file, or one that records no step.
var ErrNoPreviousRun = errors.New("no previous run to retry")

// ErrNothingToRetry is returned by PlanRetry when nothing failed in the
// previous run: no step failed, none was skipped because of a failure, and
// the run was not aborted.
var ErrNothingToRetry = errors.New("nothing to retry")

// RetryPlan is what a retry of a build runs and what it reuses.
type RetryPlan struct {
	// Build is the build id of the record, Attempt the retry's own attempt
	// (the recorded one plus one).
	Build   string
	Attempt int
	// Steps has every step of the pipeline, in spec order.
	Steps []PlannedStep
	// Forgotten names the steps of the record the pipeline no longer has:
	// there is nothing to run for them, so the retry drops their records
	// (the values they set stay in the state; later steps may use them).
	Forgotten []string
}

// PlannedStep is one step of a retry.
type PlannedStep struct {
	Name string
	// Reuse is the step's record when the retry reuses it instead of
	// running it; nil when it runs again.
	Reuse *StepRecord
	// Again says why the step runs again ("failed in the previous run").
	Again string
	// Attempt is the attempt the step's record comes from (0: none), where
	// the log it has now was written.
	Attempt int
}

// Lookup returns the plan of the step called name.
func (p *RetryPlan) Lookup(name string) *PlannedStep {
	for i := range p.Steps {
		if p.Steps[i].Name == name {
			return &p.Steps[i]
		}
	}
	return nil
}

// PlanRetry works out, from the run record and the values in state, what a
// retry of the pipeline p runs again:
//   - the steps that failed, that were skipped because a step they need
//     failed (at any distance), or that an abort cut short or never started;
//   - the finalizers (always: true), which run whatever happened;
//   - when there is any of those, also the steps that skipped themselves
//     (only running them again tells whether their dependents should run);
//   - steps the record does not have (new, or renamed), steps whose
//     definition changed since they ran (SpecHash), and steps that passed
//     but whose outputs are gone from the state (a finalizer deleted the
//     cluster, a registry of the run stopped when the run ended): what they
//     made has to be made again;
//   - every step that needs a step that runs again, since what it was given
//     changes.
//
// Every other step passed, and the retry reuses it: it is not run, and what
// it handed on stays in the state for the steps that run.
func PlanRetry(p *Pipeline, state *State) (*RetryPlan, error) {
	if _, err := os.Stat(state.Path()); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist (run the pipeline first, or give --artifacts the directory of the run to retry)", ErrNoPreviousRun, state.Path())
	}
	rec, err := state.Record()
	if err != nil {
		return nil, err
	}
	if rec == nil || len(rec.Steps) == 0 {
		return nil, fmt.Errorf("%w: %s records no step results (written by `e2e step` or an older prowctl?): run the pipeline whole", ErrNoPreviousRun, state.Path())
	}
	values, err := state.All()
	if err != nil {
		return nil, err
	}
	plan := &RetryPlan{Build: rec.Build, Attempt: rec.Attempt + 1}
	for name := range rec.Steps {
		if p.Lookup(name) == nil {
			plan.Forgotten = append(plan.Forgotten, name)
		}
	}
	slices.Sort(plan.Forgotten)
	failed := false
	for _, s := range p.Steps {
		if prev := rec.Steps[s.Name]; prev != nil && prev.unfinished() {
			failed = true
		}
	}
	if !failed {
		return nil, fmt.Errorf("%w: nothing failed in attempt %d of build %s (%s)", ErrNothingToRetry, rec.Attempt, rec.Build, state.Path())
	}

	why := map[string]string{}
	var again func(s *StepSpec) string
	again = func(s *StepSpec) string {
		if w, ok := why[s.Name]; ok {
			return w
		}
		prev := rec.Steps[s.Name]
		w := ""
		switch {
		case prev == nil:
			w = "not in the previous run"
		case prev.Status == Failed && prev.Aborted:
			w = "aborted in the previous run"
		case prev.Status == Failed:
			w = "failed in the previous run"
		case s.Always:
			w = "a finalizer (always: true)"
		case prev.Status == Skipped && prev.BlockedBy != "":
			w = fmt.Sprintf("skipped in the previous run because %s failed", prev.BlockedBy)
		case prev.Status == Skipped && prev.Aborted:
			w = "the previous run was aborted before it started"
		case prev.Status == Skipped:
			w = "skipped itself in the previous run (" + firstLine(prev.Reason) + ")"
		case prev.Status != Passed:
			w = fmt.Sprintf("%s when the previous run ended", prev.Status)
		case prev.Spec != SpecHash(p, s):
			w = "its definition changed since the previous run"
		default:
			var gone []string
			for k := range prev.Outputs {
				if _, ok := values[k]; !ok {
					gone = append(gone, k)
				}
			}
			if len(gone) > 0 {
				slices.Sort(gone)
				w = "what it handed on is gone from the state (" + strings.Join(gone, ", ") + ")"
				break
			}
			for _, need := range s.Needs {
				if dep := p.Lookup(need); dep != nil && again(dep) != "" {
					w = "needs " + need + ", which runs again"
					break
				}
			}
		}
		why[s.Name] = w
		return w
	}
	for _, s := range p.Steps {
		ps := PlannedStep{Name: s.Name, Again: again(s)}
		if prev := rec.Steps[s.Name]; prev != nil {
			ps.Attempt = prev.Attempt
		}
		if ps.Again == "" {
			prev := *rec.Steps[s.Name]
			ps.Reuse = &prev
		}
		plan.Steps = append(plan.Steps, ps)
	}
	return plan, nil
}

// AttemptDir is the directory of the artifacts a retry moves the previous
// attempt's record into: attempt-N.
func AttemptDir(artifacts string, attempt int) string {
	return filepath.Join(artifacts, fmt.Sprintf("attempt-%d", attempt))
}

// keepAttempt moves what the previous attempt wrote at the top of the
// artifacts (build log, started/finished.json, every junit_*.xml) and the
// logs of the steps that run again into AttemptDir, before a retry writes
// its own: Spyglass and TestGrid then read the retry's results as the
// build's (the JUnit lens reads junit files at the top of artifacts/, so
// the earlier failures are not counted twice), and the failure the retry
// answers stays there to read. The logs of reused steps stay where they
// are: they are this build's record of those steps.
func keepAttempt(artifacts string, plan *RetryPlan) error {
	last := plan.Attempt - 1
	files := map[string]int{BuildLogFile: last, "started.json": last, "finished.json": last}
	junits, _ := filepath.Glob(filepath.Join(artifacts, "junit_*.xml"))
	for _, j := range junits {
		files[filepath.Base(j)] = last
	}
	for _, s := range plan.Steps {
		if s.Reuse == nil && s.Attempt > 0 {
			// A step reused by one retry and run again by the next has
			// the log of the attempt it last ran in.
			files[filepath.Join(StepLogDir, s.Name+".log")] = s.Attempt
		}
	}
	for _, f := range slices.Sorted(maps.Keys(files)) {
		from, to := filepath.Join(artifacts, f), filepath.Join(AttemptDir(artifacts, files[f]), f)
		if _, err := os.Lstat(from); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
			return fmt.Errorf("keep attempt %d: %w", plan.Attempt-1, err)
		}
		if err := os.Rename(from, to); err != nil {
			return fmt.Errorf("keep attempt %d: %w", plan.Attempt-1, err)
		}
	}
	return nil
}
