package jobs

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/prow/pkg/config"
)

// TestPlanRefusesWhatProwRejects: values only Prow's own validation
// catches are errors at the spec's line naming the field, and nothing is
// written.
func TestPlanRefusesWhatProwRejects(t *testing.T) {
	r := strings.NewReplacer
	for _, tc := range []struct {
		name, spec string
		want       []string // file:line:col: field
	}{
		{"cron out of range", r("  interval: 8h\n", "  cron: \"61 25 * * * *\"\n").Replace(validSpec),
			[]string{"s.yaml:12:9: jobs[1].cron"}},
		{"cron in words", r("  interval: 8h\n", "  cron: every day at noon\n").Replace(validSpec),
			[]string{"s.yaml:12:9: jobs[1].cron"}},
		{"cpu in words", r("jobs:\n", "resources:\n  requests:\n    cpu: two cores\njobs:\n").Replace(validSpec),
			[]string{"s.yaml:8:10: resources.requests.cpu"}},
		{"branch regex", r("branches: [master]", "branches: ['release-(']").Replace(validSpec),
			[]string{"s.yaml:2:12: branches[0]"}},
		{"job branch regex and a bad cron", r("  always_run: true\n", "  always_run: true\n  branches: ['release-(']\n", "  interval: 8h\n", "  cron: \"* * *\"\n").Replace(validSpec),
			[]string{"s.yaml:10:14: jobs[0].branches[0]", "s.yaml:13:9: jobs[1].cron"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseSpec("s.yaml", []byte(tc.spec))
			if err != nil {
				t.Fatalf("the spec's own checks should pass, Prow's should not: %v", err)
			}
			out := filepath.Join(t.TempDir(), "jobs.yaml")
			_, err = Plan(s, Target{Path: out})
			var got []string
			for _, line := range strings.Split(errString(err), "\n") {
				if !strings.Contains(line, "Prow rejects the generated job") {
					t.Errorf("message does not say Prow rejects it: %q", line)
				}
				parts := strings.SplitN(line, ": ", 3)
				got = append(got, strings.Join(parts[:min(2, len(parts))], ": "))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s\n%v", diff, err)
			}
			if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a file was written (%v)", err)
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestGeneratedConfigLoadsWithTheRepositorysProwConfig: the check's own
// Prow config is not what makes the repository's spec pass.
func TestGeneratedConfigLoadsWithTheRepositorysProwConfig(t *testing.T) {
	s, err := LoadSpec("../../config/tf-k8s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CheckWithProw(); err != nil {
		t.Fatal(err)
	}
	loadWithRepoProwConfig(t, s)
}

// loadWithRepoProwConfig loads what s generates with the repository's
// config/prow/config.yaml, as the cluster's Prow would.
func loadWithRepoProwConfig(t *testing.T, s *Spec) {
	t.Helper()
	data, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	jobs := filepath.Join(t.TempDir(), "jobs.yaml")
	if err := os.WriteFile(jobs, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load("../../config/prow/config.yaml", jobs, nil, ""); err != nil {
		t.Fatalf("Prow rejects a spec the generator accepted: %v\n%s", err, data)
	}
}
