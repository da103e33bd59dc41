package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

const (
	lintFixtureConfig = "../../pkg/jobs/lint/testdata/fixture/config.yaml"
	lintFixtureJobs   = "../../pkg/jobs/lint/testdata/fixture/jobs"
)

// runLint runs `prowctl jobs lint args...` and returns stdout, stderr and the
// exit code main would use.
func runLint(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	streams, _, out, errOut := iostreams.Test()
	root := newRootCmd(newFactory(streams))
	root.SetArgs(append([]string{"jobs", "lint"}, args...))
	code := execute(context.Background(), root, nil, streams.ErrOut)
	return out.String(), errOut.String(), code
}

// fixtureSpec writes the repository's spec with lint rule overrides.
func fixtureSpec(t *testing.T, rules string) string {
	t.Helper()
	data, err := os.ReadFile("../../config/tf-k8s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(data), "  rules: {}", "  rules: "+rules, 1)
	if s == string(data) && rules != "{}" {
		t.Fatal("config/tf-k8s.yaml no longer has 'rules: {}' to replace")
	}
	p := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestJobsLintRepoConfig: the repository's own config lints clean.
func TestJobsLintRepoConfig(t *testing.T) {
	out, errOut, code := runLint(t, "--config-path", "../../config/prow/config.yaml", "--job-config-path", "../../config/jobs", "--spec", "../../config/tf-k8s.yaml", "--warnings-as-errors")
	if code != 0 || !strings.Contains(out, "0 error(s), 0 warning(s) in 3 job(s), 1 file(s)") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	// And with policy on every job.
	if out, _, code := runLint(t, "--config-path", "../../config/prow/config.yaml", "--job-config-path", "../../config/jobs", "--spec", "../../config/tf-k8s.yaml", "--policy-scope", "all"); code != 0 {
		t.Fatalf("--policy-scope all: exit %d\n%s", code, out)
	}
}

func TestJobsLintExitCodes(t *testing.T) {
	cleanDir := t.TempDir()
	data, err := os.ReadFile("../../config/jobs/tensorflow/k8s/tf-k8s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	warnOnly := filepath.Join(cleanDir, "warn.yaml")
	// An unknown field in a job the spec does not own is only a warning.
	if err := os.WriteFile(warnOnly, []byte(strings.ReplaceAll(strings.Replace(string(data), "    decorate: true\n", "    decorate: true\n    skip_reprot: true\n", 1), "tensorflow/k8s", "other/repo")), 0o644); err != nil {
		t.Fatal(err)
	}
	notYAML := filepath.Join(cleanDir, "config.yaml")
	if err := os.WriteFile(notYAML, []byte("a: [b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := fixtureSpec(t, "{}")
	tests := []struct {
		name       string
		args       []string
		want       int
		wantOut    string
		wantErrOut string
	}{
		{"findings", []string{"--config-path", lintFixtureConfig, "--job-config-path", lintFixtureJobs, "--spec", spec}, 1, "5 error(s), 1 warning(s) in 3 job(s), 2 file(s)", ""},
		{"warnings only", []string{"--config-path", "../../config/prow/config.yaml", "--job-config-path", warnOnly, "--spec", spec}, 0, "0 error(s), 1 warning(s)", ""},
		{"warnings as errors", []string{"--config-path", "../../config/prow/config.yaml", "--job-config-path", warnOnly, "--spec", spec, "--warnings-as-errors"}, 1, "0 error(s), 1 warning(s)", ""},
		{"missing job config", []string{"--config-path", lintFixtureConfig, "--job-config-path", filepath.Join(cleanDir, "nope"), "--spec", spec}, 2, "", "cannot lint: " + filepath.Join(cleanDir, "nope") + ": no such file or directory"},
		{"Prow config not YAML", []string{"--config-path", notYAML, "--job-config-path", warnOnly, "--spec", spec}, 2, "", "not YAML: did not find expected ',' or ']'"},
		{"explicit spec missing", []string{"--config-path", lintFixtureConfig, "--job-config-path", warnOnly, "--spec", filepath.Join(cleanDir, "nospec.yaml")}, 2, "", "nospec.yaml: no such file or directory"},
		{"bad output format", []string{"-o", "xml"}, 2, "", "-o xml: want one of text, json, junit"},
		{"bad policy scope", []string{"--policy-scope", "mine"}, 2, "", "--policy-scope mine: want owned or all"},
		{"path as an argument", []string{"config/jobs"}, 2, "", "unexpected argument config/jobs: lint takes paths as --job-config-path and --config-path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := runLint(t, tt.args...)
			if code != tt.want || !strings.Contains(out, tt.wantOut) || !strings.Contains(errOut, tt.wantErrOut) {
				t.Errorf("exit %d (want %d)\nstdout:\n%s\nstderr:\n%s\nwant stdout containing %q, stderr containing %q", code, tt.want, out, errOut, tt.wantOut, tt.wantErrOut)
			}
		})
	}
}

// TestJobsLintSpecControlsPolicy: the spec names the owned jobs and lowers
// or turns off rules; --policy-scope all extends policy to every job.
func TestJobsLintSpecControlsPolicy(t *testing.T) {
	base := []string{"--config-path", lintFixtureConfig, "--job-config-path", lintFixtureJobs, "-o", "json"}
	tests := []struct {
		name  string
		rules string
		extra []string
		want  []string // substrings of stdout
		not   []string
	}{
		{"defaults", "{}", nil,
			[]string{`"rule":"image-tag","message":"image \"gcr.io/mlkube-testing/builder:latest\"`, `"severity":"error","rule":"resource-requests"`},
			[]string{`"image \"golang\"`}},
		{"lowered and off", "{image-tag: warning, resource-requests: off}", nil,
			[]string{`"severity":"warning","rule":"image-tag"`},
			[]string{`"rule":"resource-requests"`}},
		{"all jobs", "{}", []string{"--policy-scope", "all"},
			[]string{`image \"golang\" has no tag`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, _ := runLint(t, append(append(base, "--spec", fixtureSpec(t, tt.rules)), tt.extra...)...)
			for _, w := range tt.want {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %s\nstdout:\n%s\nstderr:\n%s", w, out, errOut)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("stdout has %s\nstdout:\n%s", n, out)
				}
			}
		})
	}
}

// TestJobsLintInvalidSpecIsAFinding: an invalid spec fails lint like any
// other finding, in the chosen format, so -o junit and -o json show it too.
func TestJobsLintInvalidSpecIsAFinding(t *testing.T) {
	data, err := os.ReadFile("../../config/tf-k8s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(data), "  always_run: true", "  alway_run: true", 1)
	lines := strings.Split(bad, "\n")
	line := 0
	for i, l := range lines {
		if strings.Contains(l, "alway_run") {
			line = i + 1
		}
	}
	spec := filepath.Join(t.TempDir(), "spec.yaml")
	if err := os.WriteFile(spec, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config-path", "../../config/prow/config.yaml", "--job-config-path", "../../config/jobs", "--spec", spec}
	for _, format := range []string{"text", "json", "junit"} {
		out, errOut, code := runLint(t, append(args, "-o", format)...)
		if code != 1 {
			t.Errorf("-o %s: exit %d, want 1\nstderr:\n%s", format, code, errOut)
		}
		want := spec + ":" + strconv.Itoa(line) + ":3"
		if format == "json" {
			want = `"file":"` + spec + `","line":` + strconv.Itoa(line) + `,"column":3`
		}
		if !strings.Contains(out, want) || !strings.Contains(out, "alway_run") {
			t.Errorf("-o %s: stdout does not report %s (alway_run):\n%s\nstderr:\n%s", format, want, out, errOut)
		}
	}
}

// TestJobsLintJUnitWarningsAsErrors: with --warnings-as-errors a warning
// fails the run, so the JUnit file must show it as a failure too (else
// Spyglass shows a failed job with every case passing).
func TestJobsLintJUnitWarningsAsErrors(t *testing.T) {
	data, err := os.ReadFile("../../config/jobs/tensorflow/k8s/tf-k8s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	warnOnly := filepath.Join(t.TempDir(), "warn.yaml")
	if err := os.WriteFile(warnOnly, []byte(strings.ReplaceAll(strings.Replace(string(data), "    decorate: true\n", "    decorate: true\n    skip_reprot: true\n", 1), "tensorflow/k8s", "other/repo")), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--config-path", "../../config/prow/config.yaml", "--job-config-path", warnOnly, "--spec", fixtureSpec(t, "{}"), "-o", "junit"}
	out, errOut, code := runLint(t, args...)
	if code != 0 || !strings.Contains(out, `<testsuites tests="1">`) || strings.Contains(out, "<failure") {
		t.Errorf("without --warnings-as-errors: exit %d, want 0 and no failure\n%s%s", code, out, errOut)
	}
	out, errOut, code = runLint(t, append(args, "--warnings-as-errors")...)
	if code != 1 || !strings.Contains(out, `<testsuites tests="1" failures="1">`) || !strings.Contains(out, "skip_reprot") {
		t.Errorf("with --warnings-as-errors: exit %d, want 1 and the warning as a failure\n%s%s", code, out, errOut)
	}
}
