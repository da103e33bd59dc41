package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// RunRecord is what the state file keeps of a build's runs (under
// StateRunKey): which attempt the last whole run was and how each step
// ended, with what it handed on. A retry (`e2e run --from-failed`) reads it
// to know what to run again and what to reuse.
type RunRecord struct {
	// Build is the build id the record belongs to.
	Build string `json:"build"`
	// Attempt counts the build's whole runs: 1, then one more per retry.
	// Runs of some steps (--only, --skip, `e2e step`) record their steps
	// under the attempt they continue.
	Attempt int `json:"attempt"`
	// Steps holds the last outcome of each step, by name.
	Steps map[string]*StepRecord `json:"steps"`
}

// StepRecord is the last outcome of one step.
type StepRecord struct {
	Status Status `json:"status"`
	// Reason says why it failed or was skipped.
	Reason string `json:"reason,omitempty"`
	// BlockedBy names, for a step skipped because of a failure, the failed
	// step it waited on, through any chain of skipped steps. A step that
	// skipped itself (nothing to do) has none.
	BlockedBy string `json:"blocked_by,omitempty"`
	// Aborted is set when the run was cancelled under the step, or before
	// it started.
	Aborted bool `json:"aborted,omitempty"`
	// Attempt is the attempt of the build the outcome comes from.
	Attempt int `json:"attempt"`
	// Reused is set when the last attempt, a retry, did not run the step
	// but took this outcome (and the outputs) from Attempt.
	Reused bool `json:"reused,omitempty"`
	// Spec is SpecHash of the step's definition when it ran.
	Spec string `json:"spec"`
	// Outputs are the state values the step set, as it set them.
	Outputs map[string]string `json:"outputs,omitempty"`
	// Start, Duration and Attempts are the run's, for results built from
	// the record (StepResults): a pod per step has no other.
	Start    time.Time     `json:"start,omitzero"`
	Duration time.Duration `json:"duration,omitzero"`
	Attempts int           `json:"attempts,omitzero"`
}

// unfinished reports whether the outcome leaves something for a retry.
func (s *StepRecord) unfinished() bool {
	switch s.Status {
	case Passed:
		return false
	case Skipped:
		return s.BlockedBy != "" || s.Aborted
	}
	return true // failed, or still pending or running when the record was written
}

// abortedBeforeStart is the reason of the steps an abort left unstarted.
const abortedBeforeStart = "aborted before it started"

// SpecHash is a digest of what a step does: its kind and settings (comments
// and layout aside), run: and dir:, needs, env (its own and the
// pipeline's) and always. Timeout and retries are left out: they bound a
// step, they do not change what it makes, so raising the timeout of a step
// that timed out does not throw away the steps that passed.
func SpecHash(p *Pipeline, s *StepSpec) string {
	var with any
	if s.With != nil {
		_ = s.With.Decode(&with) // decoded once already when the pipeline was loaded
	}
	settings, _ := yaml.Marshal(with) // sorted keys, no comments
	var pipelineEnv []EnvVar
	if p != nil {
		pipelineEnv = p.Env
	}
	b, _ := json.Marshal(struct {
		Kind        string
		With        string
		Run, Dir    string
		Needs       []string
		Env         []EnvVar
		PipelineEnv []EnvVar
		Always      bool
	}{s.Kind(), string(settings), s.Run, s.Dir, slices.Sorted(slices.Values(s.Needs)), s.Env, pipelineEnv, s.Always})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// blame works out, for each result that did not pass, the failed step it
// waited on (BlockedBy) and whether an abort is the cause: what a retry
// needs to tell a skip caused by a failure from a step that skipped itself.
func blame(results []Result) map[string]StepRecord {
	byName := make(map[string]*Result, len(results))
	for i := range results {
		byName[results[i].Name] = &results[i]
	}
	out := map[string]StepRecord{}
	var visit func(r *Result) StepRecord
	visit = func(r *Result) StepRecord {
		if c, ok := out[r.Name]; ok {
			return c
		}
		var c StepRecord
		switch {
		case r.Status == Failed:
			c.Aborted = strings.HasPrefix(r.Reason, "aborted: ")
		case r.Status == Skipped && r.Reason == abortedBeforeStart:
			c.Aborted = true
		case r.Status == Skipped && !r.Always:
			// Finalizers are never skipped for their needs; a regular
			// step is, by the first need that did not pass.
			for _, need := range r.Needs {
				dep, ok := byName[need]
				if !ok {
					continue
				}
				if dep.Status == Failed {
					c.BlockedBy = need
					c.Aborted = visit(dep).Aborted
					break
				}
				if d := visit(dep); d.BlockedBy != "" || d.Aborted {
					c.BlockedBy, c.Aborted = d.BlockedBy, d.Aborted
					break
				}
			}
		}
		out[r.Name] = c
		return c
	}
	for i := range results {
		visit(&results[i])
	}
	return out
}

// writeRecord records the run's results in the state file: each step's
// outcome, the attempt, what each step handed on. Steps of the pipeline the
// run left out keep their earlier records.
func (r *runner) writeRecord() error {
	all := r.snapshot()
	causes := blame(all)
	r.mu.Lock()
	outputs := make([]map[string]string, len(r.nodes))
	for i, n := range r.nodes {
		if len(n.outputs) > 0 {
			outputs[i] = maps.Clone(n.outputs)
		}
	}
	r.mu.Unlock()
	return r.state.UpdateRecord(func(rec *RunRecord) {
		if rec.Build != r.opts.Job.BuildID && r.opts.Retry == nil {
			// Another build's record: a retry could only mix the two.
			*rec = RunRecord{}
		}
		rec.Build, rec.Attempt = r.opts.Job.BuildID, r.attempt
		if rec.Steps == nil {
			rec.Steps = map[string]*StepRecord{}
		}
		for i, res := range all {
			n := r.nodes[i]
			if n.reused != nil {
				kept := *n.reused
				kept.Reused = true
				rec.Steps[res.Name] = &kept
				continue
			}
			c := causes[res.Name]
			rec.Steps[res.Name] = &StepRecord{
				Status: res.Status, Reason: res.Reason, BlockedBy: c.BlockedBy, Aborted: c.Aborted,
				Attempt: r.attempt, Spec: SpecHash(r.p, n.spec), Outputs: outputs[i],
				Start: res.Start, Duration: res.Duration, Attempts: res.Attempts,
			}
		}
		if r.opts.Retry != nil {
			for _, name := range r.opts.Retry.Forgotten {
				delete(rec.Steps, name)
			}
		}
	})
}
