package junit

import (
	"encoding/xml"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMarshal(t *testing.T) {
	s := Suite{Name: "e2e", Time: "3.000"}
	s.Add(Case{Name: "build", Classname: "e2e.go"})
	s.Add(Case{Name: "test", Classname: "e2e.run", Failure: &Message{Message: "2 failed", Type: "run", Text: "2 failed\n<see log>"}})
	s.Add(Case{Name: "report", Classname: "e2e.run", Skipped: &Message{Message: "test failed"}})
	got, err := Marshal(Suites{Tests: 3, Failures: 1, Suites: []Suite{s}})
	if err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="3" failures="1">
  <testsuite name="e2e" tests="3" failures="1" skipped="1" time="3.000">
    <testcase name="build" classname="e2e.go"></testcase>
    <testcase name="test" classname="e2e.run">
      <failure message="2 failed" type="run">2 failed&#xA;&lt;see log&gt;</failure>
    </testcase>
    <testcase name="report" classname="e2e.run">
      <skipped message="test failed"></skipped>
    </testcase>
  </testsuite>
</testsuites>
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var back Suites
	if err := xml.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if back.Suites[0].Cases[1].Failure.Text != "2 failed\n<see log>" {
		t.Errorf("failure text does not round-trip: %q", back.Suites[0].Cases[1].Failure.Text)
	}
}
