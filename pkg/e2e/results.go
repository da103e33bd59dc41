package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/GoogleCloudPlatform/testgrid/metadata"
	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"

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
	if rep.Attempt > 1 {
		// A retry: which whole run of the build this is, and the steps it
		// took from earlier ones (e2e-steps has them as passed, the build's
		// outcome for them).
		md["e2e-attempt"] = rep.Attempt
		var reused []string
		for _, r := range rep.Results {
			if r.Reused() {
				reused = append(reused, r.Name)
			}
		}
		if len(reused) > 0 {
			md["e2e-reused"] = reused
		}
	}
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

// JUnit renders the steps as one test suite, a test case per step, the way
// Spyglass's JUnit lens and TestGrid read it.
func JUnit(rep *Report) ([]byte, error) {
	s := junit.Suite{Name: "e2e", Time: seconds(rep.End.Sub(rep.Start))}
	for _, r := range rep.Results {
		c := junit.Case{Name: r.Name, Classname: "e2e." + r.Kind, Time: seconds(r.Duration)}
		switch {
		case r.Reused():
			// Skipped, not passed: the JUnit of an attempt says what that
			// attempt ran. Spyglass's JUnit lens and TestGrid show a
			// skipped case with its message, while a pass would count a
			// second time, in this attempt, a step that did not run in it
			// (and a property saying so is shown by neither).
			c.Skipped = &junit.Message{Message: "passed in the previous run", Text: fmt.Sprintf("passed in attempt %d of the build", r.ReusedFrom)}
			if r.Log != "" {
				c.Skipped.Text += "; log: " + logRef(r)
			}
			s.Add(c)
			continue
		}
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
