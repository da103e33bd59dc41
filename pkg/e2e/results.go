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
