package lint

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOutputFormats pins the three formats on a fixture with errors and
// warnings in two files. Refresh with: go test ./pkg/jobs/lint -update
func TestOutputFormats(t *testing.T) {
	res, err := Lint(context.Background(), Options{
		ConfigPath:    "testdata/fixture/config.yaml",
		JobConfigPath: "testdata/fixture/jobs",
		Owner:         owner{},
		Rules:         map[string]string{RuleResourceRequests: "warning"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range Formats {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, format, res); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "golden", "fixture."+format)
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), buf.String()); diff != "" {
				t.Errorf("%s output (-want +got):\n%s", format, diff)
			}
		})
	}
}

func TestJUnitCleanRunHasOnePassingCase(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "junit", &Result{Files: 2, Jobs: 3}); err != nil {
		t.Fatal(err)
	}
	want := `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="1">
  <testsuite name="prowctl-jobs-lint" tests="1" failures="0" skipped="0">
    <testcase name="3 job(s) in 2 file(s) pass" classname="lint"></testcase>
  </testsuite>
</testsuites>
`
	if diff := cmp.Diff(want, buf.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
