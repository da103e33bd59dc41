package which

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prowctl/prowctl/pkg/mkpj"
)

var update = flag.Bool("update", false, "rewrite testdata/which.golden")

// TestEvaluate checks every job of a config exercising each trigger rule
// for several pull requests: the decision against Prow's own
// Presubmit.ShouldRun (as trigger calls it for a new pull request), the
// reasons against a golden file.
func TestEvaluate(t *testing.T) {
	c, err := mkpj.LoadAll("testdata/config.yaml", "testdata/jobs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	for _, pr := range []struct {
		branch  string
		changed []string
	}{
		{"main", []string{"docs/index.md"}},
		{"main", []string{"README.md", "CHANGES.md"}},
		{"main", []string{"cmd/app/main.go", "README.md"}},
		{"release-1.2", []string{"cmd/app/main.go"}},
		{"legacy", nil},
	} {
		res, err := Evaluate(c, "example/app", pr.branch, pr.changed)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&got, "%s %v\n", pr.branch, pr.changed)
		for _, j := range res.Jobs {
			fmt.Fprintf(&got, "  %-5v %-12s optional=%-5v %s\n", j.Runs, j.Name, j.Optional, j.Reason)
		}
		for _, p := range c.PresubmitsStatic["example/app"] {
			want, err := p.ShouldRun(pr.branch, func() ([]string, error) { return pr.changed, nil }, false, false)
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range res.Jobs {
				if j.Name == p.Name && j.Runs != want {
					t.Errorf("%s %v: %s runs=%v, Prow's ShouldRun says %v", pr.branch, pr.changed, p.Name, j.Runs, want)
				}
			}
		}
	}
	if *update {
		if err := os.WriteFile("testdata/which.golden", []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/which.golden")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("testdata/which.golden differs (-want +got); go test -update refreshes it:\n%s", diff)
	}
}

func TestEvaluateUnknownRepo(t *testing.T) {
	c, err := mkpj.LoadAll("testdata/config.yaml", "testdata/jobs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Evaluate(c, "example/nope", "main", nil); err == nil || !strings.Contains(err.Error(), "no presubmits for example/nope (repositories with presubmits: example/app)") {
		t.Fatalf("err = %v", err)
	}
}
