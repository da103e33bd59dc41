package e2e

import (
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
	// ReusedFrom is, when a retry reused the step rather than ran it, the
	// earlier attempt of the build the step passed in (its log is the one
	// that attempt wrote); 0 when the step was run.
	ReusedFrom int
	// Again says why a retry runs the step again; "" outside retries.
	Again string
}

// Reused reports whether a retry took the step's pass from an earlier
// attempt instead of running it.
func (r *Result) Reused() bool { return r.ReusedFrom > 0 }

// Report is the outcome of a run.
type Report struct {
	Job     *downwardapi.JobSpec
	Results []*Result // selected steps, in spec order
	Start   time.Time
	End     time.Time
	// Aborted is true when the run was cancelled (SIGINT/SIGTERM) before its
	// regular steps finished.
	Aborted bool
	// Attempt counts the build's whole runs: 1, then one more per retry.
	Attempt int
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
