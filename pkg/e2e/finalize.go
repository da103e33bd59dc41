package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/atomicfile"
)

func (r *runner) writeStarted() error {
	b, err := json.MarshalIndent(Started(r.opts.Job, r.report.Start), "", "  ")
	if err != nil {
		return fmt.Errorf("started.json: %w", err)
	}
	return atomicfile.Write(filepath.Join(r.opts.Artifacts, prowapi.StartedStatusFile), append(b, '\n'), 0o644)
}

// writeResults writes the run's record as it stands and returns the report
// it wrote: at the end of the run, and before a ResultsStep (upload) starts,
// which is handed that report.
func (r *runner) writeResults() (*Report, error) {
	r.mu.Lock()
	rep := *r.report
	if rep.End.IsZero() {
		rep.End = r.opts.Now()
	}
	rep.Results = make([]*Result, len(r.report.Results))
	for i, res := range r.report.Results {
		c := *res
		rep.Results[i] = &c
	}
	r.mu.Unlock()
	// The step about to get this record (upload) is running; count it as
	// passed here, it cannot report on itself in what it uploads.
	for _, res := range rep.Results {
		if res.Status == Running {
			res.Status = Passed
			res.Duration = rep.End.Sub(res.Start)
		}
	}
	state, _ := r.state.All()
	if err := WriteResults(r.opts.Artifacts, &rep, state); err != nil {
		return nil, err
	}
	return &rep, nil
}

// WriteResults writes finished.json and the JUnit report of rep into the
// artifacts directory, where Prow's sidecar, Spyglass and TestGrid read
// them; state supplies what the steps handed on (image, chart, cluster).
func WriteResults(artifacts string, rep *Report, state map[string]string) error {
	b, err := json.MarshalIndent(Finished(rep, state), "", "  ")
	if err != nil {
		return fmt.Errorf("finished.json: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(artifacts, prowapi.FinishedStatusFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	x, err := JUnit(rep)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(artifacts, JUnitFile), x, 0o644)
}

// resultsFromRecord writes and returns the run's results for self, a
// ResultsStep run alone (StepResults): each step as the record in the
// state file has it, written there by the step's own process; a step with
// no record of this build did not run (the driver skipped it, or was
// stopped before it), said the way a whole run says it. self counts as
// passed, as writeResults has it.
func (r *runner) resultsFromRecord(self *node) (*Report, error) {
	rec, err := r.state.Record()
	if err != nil {
		return nil, err
	}
	if rec == nil || rec.Build != r.opts.Job.BuildID {
		rec = &RunRecord{}
	}
	r.mu.Lock()
	selfStart := self.res.Start
	r.mu.Unlock()
	now := r.opts.Now()
	rep := &Report{Job: r.opts.Job, Attempt: max(rec.Attempt, 1), Start: selfStart, End: now}
	byName := map[string]*Result{}
	for _, s := range r.p.Steps {
		res := &Result{Name: s.Name, Kind: s.Kind(), Needs: s.Needs, Always: s.Always}
		if log := filepath.Join(r.opts.Artifacts, StepLogDir, s.Name+".log"); fileExists(log) {
			res.Log = log
		}
		sr := rec.Steps[s.Name]
		switch {
		case s.Name == self.spec.Name:
			res.Status, res.Start, res.Duration, res.Attempts = Passed, selfStart, now.Sub(selfStart), 1
		case sr != nil:
			res.Status, res.Reason, res.Start, res.Duration, res.Attempts = sr.Status, sr.Reason, sr.Start, sr.Duration, sr.Attempts
			rep.Aborted = rep.Aborted || sr.Aborted
			if sr.Reused {
				res.ReusedFrom = sr.Attempt
			}
		}
		if !res.Start.IsZero() && res.Start.Before(rep.Start) {
			rep.Start = res.Start
		}
		byName[s.Name] = res
		rep.Results = append(rep.Results, res)
	}
	var why func(res *Result, seen map[string]bool) string
	why = func(res *Result, seen map[string]bool) string {
		if res.Status != "" {
			return string(res.Status)
		}
		seen[res.Name] = true
		res.Status, res.Reason = Skipped, "did not run"
		if !res.Always {
			for _, need := range res.Needs {
				if d := byName[need]; d != nil && !seen[need] {
					if st := why(d, seen); st != string(Passed) {
						res.Reason = fmt.Sprintf("needs %s (%s)", need, st)
						break
					}
				}
			}
		}
		return string(res.Status)
	}
	for _, res := range rep.Results {
		why(res, map[string]bool{})
	}
	state, _ := r.state.All()
	if err := writeStepsBuildLog(r.opts.Artifacts, rep); err != nil {
		return nil, err
	}
	if err := WriteResults(r.opts.Artifacts, rep, state); err != nil {
		return nil, err
	}
	return rep, nil
}

// writeStepsBuildLog writes build-log.txt, which Spyglass shows first, for
// a run whose steps each ran in a process of their own: each step's log in
// the order they started, its lines prefixed with the step's name as a
// whole run's combined log has them, and how it ended.
func writeStepsBuildLog(artifacts string, rep *Report) error {
	results := slices.Clone(rep.Results)
	// Steps that never started come last, in the pipeline's order.
	slices.SortStableFunc(results, func(a, b *Result) int {
		if a.Start.IsZero() != b.Start.IsZero() {
			if a.Start.IsZero() {
				return 1
			}
			return -1
		}
		return a.Start.Compare(b.Start)
	})
	var b bytes.Buffer
	for _, res := range results {
		if res.Log != "" {
			log, err := os.ReadFile(res.Log)
			if err != nil {
				return fmt.Errorf("build log: %w", err)
			}
			for _, line := range strings.SplitAfter(string(log), "\n") {
				if line != "" {
					b.WriteString("[" + res.Name + "] " + line)
				}
			}
			if len(log) > 0 && log[len(log)-1] != '\n' {
				b.WriteByte('\n')
			}
		}
		end := string(res.Status)
		if res.Reason != "" {
			end += ": " + firstLine(res.Reason)
		}
		fmt.Fprintf(&b, "%s: %s\n", res.Name, end)
	}
	return atomicfile.Write(filepath.Join(artifacts, BuildLogFile), b.Bytes(), 0o644)
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
