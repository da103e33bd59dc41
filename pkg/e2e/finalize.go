package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"

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
