package lint

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowctl/prowctl/hack/bench/corpus"
	"github.com/prowctl/prowctl/internal/filetree"
)

// prowPseudoVersion is the Prow the module pins; `make tools` builds its
// checkconfig under this name.
const prowPseudoVersion = "20240619181241-cfb8754e0459"

// checkconfigBinary returns Prow's own checkconfig built by `make tools`.
// The verdict tests are about agreeing with that binary, so they fail (not
// skip) without it, except under -short.
func checkconfigBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("runs Prow's checkconfig binary; not under -short")
	}
	tools := os.Getenv("PROWCTL_TOOLS")
	if tools == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		tools = filepath.Join(home, ".cache", "prowctl", "tools")
	}
	bin := filepath.Join(tools, "prow-"+prowPseudoVersion, "checkconfig")
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("Prow's checkconfig is missing (%v): run `make tools`", err)
	}
	return bin
}

// runCheckconfig runs checkconfig as a config repository's presubmit does
// (no --strict) and returns its exit code and output.
func runCheckconfig(t *testing.T, bin, config, jobConfig string) (int, string) {
	t.Helper()
	cmd := exec.Command(bin, "--config-path", config, "--job-config-path", jobConfig)
	cmd.Dir = t.TempDir() // it reads supplemental config relative to its directory
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	}
	t.Fatalf("run checkconfig: %v", err)
	return 0, ""
}

// lintExit is `jobs lint`'s exit code for a result without
// --warnings-as-errors: 1 on any error.
func lintExit(res *Result) int {
	if errs, _ := res.Count(); errs > 0 {
		return 1
	}
	return 0
}

// TestExitCodeIsCheckconfigs: with no spec (nothing owned, no policy),
// `jobs lint` fails exactly when Prow's checkconfig does, for each class of
// checkconfig warning and error.
func TestExitCodeIsCheckconfigs(t *testing.T) {
	bin := checkconfigBinary(t)
	r := strings.NewReplacer
	other := strings.ReplaceAll(goodJob, "tensorflow/k8s", "example/other")
	otherPeriodic := strings.ReplaceAll(goodPeriodic, "tf-k8s-", "other-")
	long := strings.Repeat("x", 60)
	cases := []struct {
		name   string
		config string // Prow's config.yaml; prowConfigYAML when empty
		jobs   map[string]string
		want   int // checkconfig's exit code, asserted too so a case cannot drift
	}{
		{name: "clean", jobs: map[string]string{"a.yaml": other, "b.yaml": otherPeriodic}, want: 0},
		{name: "long presubmit name warns", jobs: map[string]string{"a.yaml": r("name: tf-k8s-presubmit", "name: other-"+long).Replace(other)}, want: 0},
		{name: "long periodic name warns", jobs: map[string]string{"a.yaml": r("name: other-periodic", "name: other-"+long).Replace(otherPeriodic)}, want: 0},
		{name: "periodic clone_depth warns", jobs: map[string]string{"a.yaml": r("  interval: 8h\n", "  interval: 8h\n  clone_depth: 1\n").Replace(otherPeriodic)}, want: 0},
		{name: "periodic clone_uri warns", jobs: map[string]string{"a.yaml": r("  interval: 8h\n", "  interval: 8h\n  clone_uri: https://example.com/x.git\n").Replace(otherPeriodic)}, want: 0},
		{name: "periodic path_alias warns", jobs: map[string]string{"a.yaml": r("  interval: 8h\n", "  interval: 8h\n  path_alias: example.com/x\n").Replace(otherPeriodic)}, want: 0},
		{name: "undecorated kubernetes job warns", jobs: map[string]string{"a.yaml": r("    decorate: true\n", "    decorate: false\n").Replace(other)}, want: 0},
		{name: "extra_refs repeating the job's repo warns", jobs: map[string]string{"a.yaml": r("    decorate: true\n", "    decorate: true\n    extra_refs:\n    - org: example\n      repo: other\n      base_ref: master\n").Replace(other)}, want: 0},
		{name: "unknown field in a job is accepted", jobs: map[string]string{"a.yaml": r("    decorate: true\n", "    decorate: true\n    alway_run: true\n").Replace(other)}, want: 0},
		{name: "unknown field in config.yaml warns", config: r("pod_namespace:", "pod_namspace: x\npod_namespace:").Replace(prowConfigYAML), jobs: map[string]string{"a.yaml": other}, want: 0},
		{name: "unknown top-level key is accepted", jobs: map[string]string{"a.yaml": other + "periodic:\n- name: x\n"}, want: 0},
		{name: "duplicate key is accepted", jobs: map[string]string{"a.yaml": otherPeriodic + "  interval: 2h\n"}, want: 0},
		{name: "empty file is accepted", jobs: map[string]string{"a.yaml": other, "b.yaml": "# nothing yet\n"}, want: 0},
		{name: "second document is ignored", jobs: map[string]string{"a.yaml": otherPeriodic + "---\nperiodics:\n- name: hidden\n"}, want: 0},
		{name: "duplicate presubmit names fail", jobs: map[string]string{"a.yaml": other, "b.yaml": other}, want: 1},
		{name: "duplicate periodic names fail", jobs: map[string]string{"a.yaml": otherPeriodic, "b.yaml": otherPeriodic}, want: 1},
		{name: "invalid run_if_changed regex fails", jobs: map[string]string{"a.yaml": r("    always_run: true\n", "    run_if_changed: '^(pkg/'\n").Replace(other)}, want: 1},
		{name: "invalid branch regex fails", jobs: map[string]string{"a.yaml": r("    - master\n", "    - release-(\n").Replace(other)}, want: 1},
		{name: "bad decoration timeout fails", jobs: map[string]string{"a.yaml": r("  decorate: true\n", "  decorate: true\n  decoration_config:\n    timeout: soon\n").Replace(otherPeriodic)}, want: 1},
		{name: "decorated job without utility images fails", config: "prowjob_namespace: prow\npod_namespace: test-pods\n", jobs: map[string]string{"a.yaml": otherPeriodic}, want: 1},
		{name: "bad cron fails", jobs: map[string]string{"a.yaml": r("  interval: 8h\n", "  cron: \"61 25 * * *\"\n").Replace(otherPeriodic)}, want: 1},
		{name: "cron and interval fail", jobs: map[string]string{"a.yaml": r("  interval: 8h\n", "  interval: 8h\n  cron: \"0 * * * *\"\n").Replace(otherPeriodic)}, want: 1},
		{name: "invalid job name fails", jobs: map[string]string{"a.yaml": r("name: tf-k8s-presubmit", "name: other presubmit!").Replace(other)}, want: 1},
		{name: "type error fails", jobs: map[string]string{"a.yaml": r("  decorate: true\n", "  decorate: true\n  labels:\n    preset-service-account: true\n").Replace(otherPeriodic)}, want: 1},
		{name: "YAML syntax error fails", jobs: map[string]string{"a.yaml": "periodics:\n- name: [x\n  interval: 1h\n"}, want: 1},
		{name: "job config that is a list fails", jobs: map[string]string{"a.yaml": "- name: x\n"}, want: 1},
		{name: "duplicate basename fails", jobs: map[string]string{"x/a.yaml": otherPeriodic, "y/a.yaml": r("other-periodic", "other-second").Replace(otherPeriodic)}, want: 1},
		{name: "preset clash fails", jobs: map[string]string{"a.yaml": "presets:\n- labels:\n    preset-service-account: \"true\"\n"}, want: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.config
			if cfg == "" {
				cfg = prowConfigYAML
			}
			files := map[string]string{"config.yaml": cfg}
			for name, c := range tc.jobs {
				files[filepath.Join("jobs", name)] = c
			}
			dir := filetree.Temp(t, files)
			configPath, jobsPath := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs")
			theirs, out := runCheckconfig(t, bin, configPath, jobsPath)
			if theirs != tc.want {
				t.Errorf("checkconfig exits %d, the case expects %d:\n%s", theirs, tc.want, out)
			}
			res, err := Lint(context.Background(), Options{ConfigPath: configPath, JobConfigPath: jobsPath})
			if err != nil {
				t.Fatalf("Lint: %v", err)
			}
			if ours := lintExit(res); ours != theirs {
				t.Errorf("jobs lint exits %d, checkconfig %d\ncheckconfig:\n%s\nlint:\n%s", ours, theirs, out, strings.Join(brief(res.Findings), "\n"))
			}
		})
	}
}

// TestBenchCorpusMatchesCheckconfig: on the generated config `make bench`
// times, lint raises no error checkconfig does not, and every warning it
// raises from checkconfig's checks is one checkconfig prints for that job.
func TestBenchCorpusMatchesCheckconfig(t *testing.T) {
	bin := checkconfigBinary(t)
	dir := t.TempDir()
	if _, err := corpus.Generate(dir, 600, 1); err != nil {
		t.Fatal(err)
	}
	configPath, jobsPath := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs")
	theirs, out := runCheckconfig(t, bin, configPath, jobsPath)
	res, err := Lint(context.Background(), Options{ConfigPath: configPath, JobConfigPath: jobsPath})
	if err != nil {
		t.Fatal(err)
	}
	if ours := lintExit(res); ours != theirs {
		t.Fatalf("jobs lint exits %d, checkconfig %d\n%s", ours, theirs, out)
	}
	for _, f := range res.Findings {
		r, _ := ruleInfo(f.Rule)
		switch {
		case f.Severity == SeverityError && theirs == 0:
			t.Errorf("error checkconfig does not raise: %s", f)
		case f.Severity == SeverityWarning && r.Class != ClassProwWarning:
			t.Errorf("warning of a class checkconfig does not raise: %s", f)
		case r.Class == ClassProwWarning && f.Job != "" && !strings.Contains(out, f.Job):
			t.Errorf("checkconfig prints no warning about job %s: %s", f.Job, f)
		}
	}
}
