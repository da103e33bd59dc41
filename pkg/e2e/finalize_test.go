package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/GoogleCloudPlatform/testgrid/metadata"
	"github.com/google/go-cmp/cmp"
)

// recordReader is a ResultsStep that keeps what it was handed and what the
// artifacts held when it ran.
type recordReader struct {
	ran      bool
	got      *Report
	finished *metadata.Finished
	junit    string
}

func (*recordReader) UsesResults() {}

func (s *recordReader) Run(_ context.Context, env *Env) error {
	s.ran, s.got = true, env.Results
	if b, err := os.ReadFile(filepath.Join(env.Artifacts, "finished.json")); err == nil {
		s.finished = &metadata.Finished{}
		if err := json.Unmarshal(b, s.finished); err != nil {
			return err
		}
	}
	if b, err := os.ReadFile(filepath.Join(env.Artifacts, JUnitFile)); err == nil {
		s.junit = string(b)
	}
	return nil
}

// TestResultsStepIsHandedTheRecord: before a ResultsStep starts, the runner
// writes finished.json and the JUnit report, with the step itself counted as
// passed, and hands it the report it wrote; other steps get none.
func TestResultsStepIsHandedTheRecord(t *testing.T) {
	reader := &recordReader{}
	var plainSaw *Report
	plain := StepFunc(func(_ context.Context, env *Env) error { plainSaw = env.Results; return nil })
	p := pipeline(
		step("build", StepFunc(func(context.Context, *Env) error { return nil })),
		step("test", StepFunc(func(context.Context, *Env) error { return Skip("no cluster") }), "build"),
		finalizer("teardown", plain, "test"),
		finalizer("upload", reader, "teardown"),
	)
	rep := run(t, p, Options{Results: true, Job: periodicSpec()})
	if !reader.ran || reader.got == nil {
		t.Fatalf("upload ran %v with results %v", reader.ran, reader.got)
	}
	if plainSaw != nil {
		t.Errorf("a step that is no ResultsStep was handed results")
	}
	got := map[string]Status{}
	for _, r := range reader.got.Results {
		got[r.Name] = r.Status
	}
	want := map[string]Status{"build": Passed, "test": Skipped, "teardown": Passed, "upload": Passed}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("handed report (-want +got):\n%s", d)
	}
	if reader.got.Result() != "SUCCESS" || reader.got.End.IsZero() {
		t.Errorf("handed report: result %s, end %v", reader.got.Result(), reader.got.End)
	}
	// What was on disk when the step ran is that same report.
	if reader.finished == nil || reader.finished.Result != "SUCCESS" || reader.finished.Metadata["e2e-steps"].(map[string]any)["upload"] != "passed" {
		t.Errorf("finished.json when upload ran: %+v", reader.finished)
	}
	if !strings.Contains(reader.junit, `<testcase name="upload"`) {
		t.Errorf("JUnit when upload ran lacks it:\n%s", reader.junit)
	}
	// The run's own report is not the handed copy.
	if rep.Lookup("upload") == reader.got.Lookup("upload") {
		t.Error("the step was handed the runner's live results, not a copy")
	}
}

func TestResultsStepWithoutResults(t *testing.T) {
	reader := &recordReader{}
	rep := run(t, pipeline(finalizer("upload", reader)), Options{Job: periodicSpec()})
	if !rep.Passed() || !reader.ran || reader.got != nil || reader.finished != nil {
		t.Errorf("a run without results files: upload ran %v, handed %v, finished.json %v", reader.ran, reader.got, reader.finished)
	}
}

func TestResultsStepFailsWhenTheRecordCannotBeWritten(t *testing.T) {
	art := t.TempDir()
	// finished.json cannot replace a directory that holds something.
	if err := os.MkdirAll(filepath.Join(art, "finished.json", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	reader := &recordReader{}
	rep, err := Run(context.Background(), pipeline(finalizer("upload", reader)), Options{Artifacts: art, Results: true, Job: periodicSpec()})
	if err == nil || !strings.Contains(err.Error(), "finished.json") {
		t.Errorf("run error %v, want the final write's", err)
	}
	if reader.ran {
		t.Error("upload ran without its record")
	}
	if res := rep.Lookup("upload"); res.Status != Failed || !strings.Contains(res.Reason, "finished.json") {
		t.Errorf("upload: %s %q, want failed on finished.json", res.Status, res.Reason)
	}
}
