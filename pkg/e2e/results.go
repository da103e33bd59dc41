package e2e

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/GoogleCloudPlatform/testgrid/metadata"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"

	"github.com/prowctl/prowctl/pkg/atomicfile"
	"github.com/prowctl/prowctl/pkg/junit"
)

// JUnitFile is the JUnit report of the steps in the artifacts directory.
const JUnitFile = "junit_e2e-steps.xml"

// Started returns started.json for a run of spec that began at start,
// as Prow's initupload writes it.
func Started(spec *downwardapi.JobSpec, start time.Time) metadata.Started {
	s := downwardapi.SpecToStarted(spec, nil)
	s.Timestamp = start.Unix()
	return s
}

// Finished returns finished.json for the report, as Prow's sidecar writes it,
// with each step's result and what the steps handed on (image, chart) in
// the metadata.
func Finished(rep *Report, state map[string]string) metadata.Finished {
	ts := rep.End.Unix()
	passed := rep.Passed()
	steps := metadata.Metadata{}
	for _, r := range rep.Results {
		steps[r.Name] = string(r.Status)
	}
	md := metadata.Metadata{"e2e-steps": steps}
	for _, k := range []string{StateImage, StateChart, StateCluster} {
		if v, ok := state[k]; ok {
			md[k] = v
		}
	}
	return metadata.Finished{
		Timestamp:          &ts,
		Passed:             &passed,
		Result:             rep.Result(),
		Metadata:           md,
		DeprecatedRevision: downwardapi.GetRevisionFromSpec(rep.Job),
	}
}

func (r *runner) writeStarted() error {
	b, err := json.MarshalIndent(Started(r.opts.Job, r.report.Start), "", "  ")
	if err != nil {
		return fmt.Errorf("started.json: %w", err)
	}
	return atomicfile.Write(filepath.Join(r.opts.Artifacts, prowapi.StartedStatusFile), append(b, '\n'), 0o644)
}

// writeResults writes finished.json and the JUnit report for the steps as
// they stand: at the end of the run, and when the upload step asks, before
// it copies them.
func (r *runner) writeResults() error {
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
	// The step asking (upload) is still running; count it as passed here, it
	// cannot report on itself in what it uploads.
	for _, res := range rep.Results {
		if res.Status == Running {
			res.Status = Passed
			res.Duration = rep.End.Sub(res.Start)
		}
	}
	state, _ := r.state.All()
	b, err := json.MarshalIndent(Finished(&rep, state), "", "  ")
	if err != nil {
		return fmt.Errorf("finished.json: %w", err)
	}
	if err := atomicfile.Write(filepath.Join(r.opts.Artifacts, prowapi.FinishedStatusFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	x, err := JUnit(&rep)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(r.opts.Artifacts, JUnitFile), x, 0o644)
}

// JUnit renders the steps as one test suite, a test case per step, the way
// Spyglass's JUnit lens and TestGrid read it.
func JUnit(rep *Report) ([]byte, error) {
	s := junit.Suite{Name: "e2e", Time: seconds(rep.End.Sub(rep.Start))}
	for _, r := range rep.Results {
		c := junit.Case{Name: r.Name, Classname: "e2e." + r.Kind, Time: seconds(r.Duration)}
		switch r.Status {
		case Failed:
			c.Failure = &junit.Message{Message: firstLine(r.Reason), Text: r.Reason}
			if r.Log != "" {
				c.Failure.Text += "\nlog: " + logRef(r)
			}
		case Skipped:
			c.Skipped = &junit.Message{Message: r.Reason}
		case Pending, Running:
			// Only seen when results are written before the end.
			c.Skipped = &junit.Message{Message: string(r.Status)}
		}
		s.Add(c)
	}
	return junit.Marshal(junit.Suites{Suites: []junit.Suite{s}})
}

// logRef names a step's log relative to the artifacts directory, which is
// where it is found once uploaded.
func logRef(r *Result) string {
	return filepath.ToSlash(filepath.Join(StepLogDir, filepath.Base(r.Log)))
}

func seconds(d time.Duration) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.3f", d.Seconds()), "0"), ".")
}
