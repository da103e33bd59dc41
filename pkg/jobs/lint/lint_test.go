package lint

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/internal/filetree"
)

var update = flag.Bool("update", false, "rewrite golden files")

// prowConfigYAML is a minimal Prow config that decorated jobs load against.
const prowConfigYAML = `prowjob_namespace: prow
pod_namespace: test-pods
plank:
  default_decoration_config_entries:
  - config:
      timeout: 2h
      utility_images:
        clonerefs: example.com/clonerefs:v1
        initupload: example.com/initupload:v1
        entrypoint: example.com/entrypoint:v1
        sidecar: example.com/sidecar:v1
      gcs_configuration:
        bucket: test-bucket
        path_strategy: explicit
      gcs_credentials_secret: gcs-credentials
presets:
- labels:
    preset-service-account: "true"
  volumes:
  - name: service
    secret:
      secretName: service-account
  volumeMounts:
  - name: service
    mountPath: /etc/service-account
`

// owner owns tensorflow/k8s and periodics named tf-k8s-*.
type owner struct{}

func (owner) OwnsRepo(r string) bool { return r == "tensorflow/k8s" }
func (owner) OwnsPeriodic(name string, repos []string) bool {
	if strings.HasPrefix(name, "tf-k8s-") {
		return true
	}
	for _, r := range repos {
		if r == "tensorflow/k8s" {
			return true
		}
	}
	return false
}

// run lints jobs (file name under jobs/ -> content) with the test Prow
// config and returns the findings with paths relative to the temp dir.
func run(t *testing.T, jobs map[string]string, o Options) ([]Finding, string) {
	t.Helper()
	files := map[string]string{"config.yaml": prowConfigYAML}
	for name, c := range jobs {
		files[filepath.Join("jobs", name)] = c
	}
	dir := filetree.Temp(t, files)
	o.ConfigPath = filepath.Join(dir, "config.yaml")
	o.JobConfigPath = filepath.Join(dir, "jobs")
	if o.Owner == nil {
		o.Owner = owner{}
	}
	res, err := Lint(context.Background(), o)
	if err != nil {
		t.Fatalf("Lint: %v", err)
	}
	for i := range res.Findings {
		res.Findings[i].File, _ = filepath.Rel(dir, res.Findings[i].File)
	}
	return res.Findings, dir
}

func brief(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.String())
	}
	return out
}

// ruleSet returns "rule@line:col" for each finding.
func ruleSet(fs []Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Rule+"@"+strconv.Itoa(f.Line)+":"+strconv.Itoa(f.Column)+":"+string(f.Severity))
	}
	return out
}

// goodJob is an owned presubmit that passes every rule; cases edit it.
const goodJob = `presubmits:
  tensorflow/k8s:
  - name: tf-k8s-presubmit
    always_run: true
    decorate: true
    branches:
    - master
    annotations:
      testgrid-dashboards: sig-big-data
      testgrid-tab-name: tf-k8s-presubmit
    spec:
      containers:
      - image: gcr.io/x/builder:v1
        command: [run]
        resources:
          requests:
            cpu: "1"
            memory: 1Gi
`

const goodPeriodic = `periodics:
- name: tf-k8s-periodic
  interval: 8h
  decorate: true
  annotations:
    testgrid-dashboards: sig-big-data
    testgrid-tab-name: tf-k8s-periodic
  spec:
    containers:
    - image: gcr.io/x/builder:v1
      command: [run]
      resources:
        requests:
          cpu: "1"
          memory: 1Gi
`

func TestCleanJobsPass(t *testing.T) {
	got, _ := run(t, map[string]string{"a.yaml": goodJob, "b.yaml": goodPeriodic}, Options{})
	if len(got) != 0 {
		t.Fatalf("want no findings, got:\n%s", strings.Join(brief(got), "\n"))
	}
}

// TestPolicyRules checks each rule fires (with its position) on a job that
// breaks it, and only there.
func TestPolicyRules(t *testing.T) {
	r := strings.NewReplacer
	tests := []struct {
		name string
		job  string
		want []string // rule@line:col:severity
	}{
		{"image latest", r("builder:v1", "builder:latest").Replace(goodJob), []string{"image-tag@13:9:error"}},
		{"image untagged", r("builder:v1", "builder").Replace(goodJob), []string{"image-tag@13:9:error"}},
		{"image digest ok", r("builder:v1", "builder@sha256:"+strings.Repeat("a", 64)).Replace(goodJob), nil},
		{"pull policy always on pinned", r("        command: [run]", "        command: [run]\n        imagePullPolicy: Always").Replace(goodJob), []string{"image-pull-policy@15:9:error"}},
		{"rerun not matched by trigger", r("    decorate: true\n", "    decorate: true\n    trigger: '(?m)^/test foo$'\n    rerun_command: /test bar\n").Replace(goodJob),
			// Prow rejects it too; the policy finding at the same place is dropped.
			[]string{"prow-load@7:5:error"}},
		{"rerun triggers another job (/test tf-k8s-.* matches tf-k8s-presubmit)", goodJob + `  - name: tf-k8s-other
    always_run: true
    decorate: true
    branches: [master]
    trigger: '(?m)^/test( all| tf-k8s-.*)$'
    rerun_command: /test tf-k8s-other
    annotations: {testgrid-dashboards: d, testgrid-tab-name: t}
    spec:
      containers:
      - image: gcr.io/x/builder:v1
        command: [run]
        resources: {requests: {cpu: "1", memory: 1Gi}}
`, []string{"rerun-command@3:5:error"}},
		{"regex does not compile", r("    always_run: true\n", "    run_if_changed: '^(pkg/'\n").Replace(goodJob), []string{"prow-load@4:5:error"}},
		{"always_run with run_if_changed", r("    always_run: true\n", "    always_run: true\n    run_if_changed: '^pkg/'\n").Replace(goodJob), []string{"prow-load@5:5:error"}},
		{"secret mounted read-write from preset", r("    decorate: true\n", "    decorate: true\n    labels:\n      preset-service-account: \"true\"\n").Replace(goodJob), []string{"secret-readonly@6:5:error"}},
		{"secret mounted read-write", r("        command: [run]\n", "        command: [run]\n        volumeMounts:\n        - name: s\n          mountPath: /s\n").Replace(goodJob) + "      volumes:\n      - name: s\n        secret:\n          secretName: s\n", []string{"secret-readonly@16:11:error"}},
		{"secret mounted read-only", r("        command: [run]\n", "        command: [run]\n        volumeMounts:\n        - name: s\n          mountPath: /s\n          readOnly: true\n").Replace(goodJob) + "      volumes:\n      - name: s\n        secret:\n          secretName: s\n", nil},
		{"testgrid missing", r("      testgrid-tab-name: tf-k8s-presubmit\n", "").Replace(goodJob), []string{"testgrid-annotations@8:5:error"}},
		{"long name", r("tf-k8s-presubmit\n    always", "tf-k8s-"+strings.Repeat("x", 60)+"\n    always").Replace(goodJob), []string{"checkconfig@3:5:warning", "job-name-length@3:5:error"}},
		{"no branches", r("    branches:\n    - master\n", "").Replace(goodJob), []string{"presubmit-branches@3:5:error"}},
		{"not decorated", r("    decorate: true\n", "    decorate: false\n").Replace(goodJob), []string{"checkconfig@5:5:warning", "decorate@5:5:error"}},
		{"no requests", r("        resources:\n          requests:\n            cpu: \"1\"\n            memory: 1Gi\n", "").Replace(goodJob), []string{"resource-requests@13:9:error"}},
		{"cpu only", r("            memory: 1Gi\n", "").Replace(goodJob), []string{"resource-requests@15:9:error"}},
		{"host path", goodJob + "      volumes:\n      - name: h\n        hostPath:\n          path: /var/run\n", []string{"host-path@21:9:error"}},
		{"privileged", r("        command: [run]\n", "        command: [run]\n        securityContext:\n          privileged: true\n").Replace(goodJob), []string{"privileged@16:11:error"}},
		{"privileged with reason", r("        command: [run]\n", "        command: [run]\n        securityContext:\n          privileged: true\n").Replace(r("      testgrid-tab-name: tf-k8s-presubmit\n", "      testgrid-tab-name: tf-k8s-presubmit\n      prowctl/privileged-reason: docker in docker\n").Replace(goodJob)), nil},
		{"periodic without schedule", r("  interval: 8h\n", "").Replace(goodPeriodic), []string{"prow-load@2:3:error"}},
		{"periodic interval not a duration", r("  interval: 8h\n", "  interval: eight\n").Replace(goodPeriodic), []string{"prow-load@3:3:error"}},
		{"periodic overlapping its own runs", r("  interval: 8h\n", "  interval: 1h\n").Replace(goodPeriodic), []string{"max-concurrency@3:3:error"}},
		{"periodic overlapping but capped", r("  interval: 8h\n", "  interval: 1h\n  max_concurrency: 1\n").Replace(goodPeriodic), nil},
		{"periodic with cron", r("  interval: 8h\n", "  cron: \"0 * * * *\"\n").Replace(goodPeriodic), nil},
		{"presubmit and postsubmit share a context", goodJob + `postsubmits:
  tensorflow/k8s:
  - name: tf-k8s-postsubmit
    context: tf-k8s-presubmit
    decorate: true
    branches: [master]
    annotations: {testgrid-dashboards: d, testgrid-tab-name: t}
    spec:
      containers:
      - image: gcr.io/x/builder:v1
        command: [run]
        resources: {requests: {cpu: "1", memory: 1Gi}}
`, []string{"unique-context@3:5:error", "unique-context@22:5:error"}},
		{"distinct contexts on disjoint branches", goodJob + `postsubmits:
  tensorflow/k8s:
  - name: tf-k8s-postsubmit
    context: tf-k8s-presubmit
    decorate: true
    branches: [release]
    annotations: {testgrid-dashboards: d, testgrid-tab-name: t}
    spec:
      containers:
      - image: gcr.io/x/builder:v1
        command: [run]
        resources: {requests: {cpu: "1", memory: 1Gi}}
`, nil},
		{"unknown field owned", r("    always_run: true\n", "    alway_run: true\n").Replace(goodJob), []string{"unknown-field@4:5:error"}},
		{"unknown field in container", r("        command: [run]\n", "        comand: [run]\n").Replace(goodJob), []string{"prow-load@12:7:error", "unknown-field@14:9:error"}},
		{"unknown field not owned is a warning", r("tensorflow/k8s", "other/repo").Replace(r("    always_run: true\n", "    alway_run: true\n").Replace(goodJob)), []string{"unknown-field@4:5:warning"}},
		{"policy skips jobs not owned", r("tensorflow/k8s", "other/repo").Replace(r("builder:v1", "builder:latest").Replace(goodJob)), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := run(t, map[string]string{"a.yaml": tt.job}, Options{})
			if diff := cmp.Diff(tt.want, ruleSet(got)); diff != "" {
				t.Errorf("findings (-want +got):\n%s\nall:\n%s", diff, strings.Join(brief(got), "\n"))
			}
		})
	}
}

// TestBadInput checks each kind of bad input gets one clear finding at its
// place, and that whenever Prow's own loader rejects the config, so do we.
func TestBadInput(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string // file:line:col: severity: rule
	}{
		{"malformed YAML", map[string]string{"a.yaml": "periodics:\n- name: [x\n  interval: 1h\n"},
			[]string{"jobs/a.yaml:2:9: error: yaml-syntax"}},
		{"tab in indentation", map[string]string{"a.yaml": "periodics:\n- name: x\n\tinterval: 1h\n"},
			[]string{"jobs/a.yaml:3:1: error: yaml-syntax"}},
		{"duplicate key", map[string]string{"a.yaml": goodPeriodic + "  interval: 2h\n"},
			[]string{"jobs/a.yaml:16:3: error: duplicate-key"}},
		{"duplicate periodic across files", map[string]string{"a.yaml": goodPeriodic, "b.yaml": goodPeriodic},
			[]string{"jobs/a.yaml:2:3: error: job-name-unique", "jobs/b.yaml:2:3: error: prow-load"}},
		{"duplicate presubmit across files", map[string]string{"a.yaml": goodJob, "b.yaml": goodJob},
			[]string{"jobs/b.yaml:3:5: error: prow-load"}},
		{"bool label value", map[string]string{"a.yaml": strings.Replace(goodPeriodic, "  decorate: true\n", "  decorate: true\n  labels:\n    preset-service-account: true\n", 1)},
			[]string{"jobs/a.yaml:6:29: error: prow-load"}},
		{"number for a string", map[string]string{"a.yaml": strings.Replace(goodPeriodic, "builder:v1", "builder:v1\n      workingDir: 12", 1)},
			[]string{"jobs/a.yaml:11:19: error: prow-load"}},
		{"list for a mapping", map[string]string{"a.yaml": strings.Replace(goodPeriodic, "  annotations:\n", "  annotations: [a]\n  x_annotations:\n", 1)},
			[]string{"jobs/a.yaml:5:16: error: prow-load", "jobs/a.yaml:6:3: error: unknown-field"}},
		{"unknown job type", map[string]string{"a.yaml": "periodic:\n- name: x\n"},
			[]string{"jobs/a.yaml:1:1: warning: unknown-job-type"}},
		{"unknown job type beside an owned job", map[string]string{"a.yaml": goodPeriodic + "periodic:\n- name: x\n"},
			[]string{"jobs/a.yaml:16:1: error: unknown-job-type"}},
		{"duplicate key in a job the spec does not own", map[string]string{"a.yaml": strings.ReplaceAll(goodPeriodic, "tf-k8s-", "other-") + "  interval: 2h\n"},
			[]string{"jobs/a.yaml:16:3: warning: duplicate-key"}},
		{"second YAML document", map[string]string{"a.yaml": goodPeriodic + "---\nperiodics:\n- name: tf-k8s-hidden\n"},
			[]string{"jobs/a.yaml:16:1: error: multi-document"}},
		{"document start marker only", map[string]string{"a.yaml": "---\n" + goodPeriodic}, nil},
		{"trailing empty document", map[string]string{"a.yaml": goodPeriodic + "---\n# end\n"}, nil},
		{"empty file", map[string]string{"a.yaml": "# nothing yet\n"},
			[]string{"jobs/a.yaml:1:1: warning: empty-file"}},
		{"not a mapping", map[string]string{"a.yaml": "- name: x\n"},
			[]string{"jobs/a.yaml:1:1: error: yaml-type"}},
		{"non-YAML files are ignored, as Prow does", map[string]string{"a.yaml": goodPeriodic, "README.md": "# jobs\n\tnot: [yaml", "x.json": "{", "OWNERS": "approvers: [a]"}, nil},
		{".prowignore is honoured", map[string]string{"a.yaml": goodPeriodic, ".prowignore": "wip/\n", "wip/b.yaml": "not: [yaml"}, nil},
		{"duplicate basename", map[string]string{"x/a.yaml": goodPeriodic, "y/a.yaml": strings.ReplaceAll(goodPeriodic, "tf-k8s-periodic", "tf-k8s-other")},
			[]string{"jobs/y/a.yaml:1:1: error: prow-load"}},
		{"preset clash across files", map[string]string{"a.yaml": "presets:\n- labels:\n    preset-service-account: \"true\"\n"},
			[]string{"jobs/a.yaml:3:5: error: prow-load"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, dir := run(t, tt.files, Options{})
			var short []string
			for _, f := range got {
				short = append(short, f.File+":"+strconv.Itoa(f.Line)+":"+strconv.Itoa(f.Column)+": "+string(f.Severity)+": "+f.Rule)
			}
			if diff := cmp.Diff(tt.want, short); diff != "" {
				t.Errorf("findings (-want +got):\n%s\nall:\n%s", diff, strings.Join(brief(got), "\n"))
			}
			// Never more lenient than Prow.
			if _, err := config.Load(filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs"), nil, ""); err != nil {
				hasErr := false
				for _, f := range got {
					hasErr = hasErr || f.Severity == SeverityError
				}
				if !hasErr {
					t.Errorf("Prow rejects the config (%v) but lint found no error", err)
				}
			}
		})
	}
}

func TestUnreadableInput(t *testing.T) {
	dir := filetree.Temp(t, map[string]string{"config.yaml": prowConfigYAML, "jobs/a.yaml": goodPeriodic, "bad/config.yaml": "a: [b\n", "docs/README.md": "# jobs\n", "docs/a.json": "{}"})
	if err := os.Symlink(filepath.Join(dir, "missing.yaml"), filepath.Join(dir, "jobs", "dangling.yaml")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		config, jobs  string
		wantPathInErr string
	}{
		{"missing config", filepath.Join(dir, "nope.yaml"), filepath.Join(dir, "jobs", "a.yaml"), "nope.yaml"},
		{"missing job config", filepath.Join(dir, "config.yaml"), filepath.Join(dir, "nojobs"), "nojobs"},
		{"config is a directory", filepath.Join(dir, "jobs"), "", "jobs"},
		{"config is not YAML", filepath.Join(dir, "bad", "config.yaml"), filepath.Join(dir, "jobs", "a.yaml"), "bad/config.yaml"},
		{"unreadable file in the job directory", filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs"), "dangling.yaml"},
		{"job directory without job files", filepath.Join(dir, "config.yaml"), filepath.Join(dir, "docs"), "no job config files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Lint(context.Background(), Options{ConfigPath: tt.config, JobConfigPath: tt.jobs})
			var ie *InputError
			if !errors.As(err, &ie) {
				t.Fatalf("want an *InputError, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.wantPathInErr) {
				t.Errorf("error %q does not name %s", err, tt.wantPathInErr)
			}
		})
	}
}

func TestPolicyScopeAndOverrides(t *testing.T) {
	notOwned := strings.ReplaceAll(strings.Replace(goodJob, "builder:v1", "builder:latest", 1), "tensorflow/k8s", "other/repo")
	notOwned = strings.ReplaceAll(notOwned, "tf-k8s-presubmit", "other-presubmit")
	owned := strings.Replace(strings.Replace(goodJob, "builder:v1", "builder:latest", 1), "    branches:\n    - master\n", "", 1)
	tests := []struct {
		name string
		opts Options
		want []string
	}{
		{"owned only by default", Options{}, []string{"jobs/b.yaml:3:5: error: presubmit-branches", "jobs/b.yaml:11:9: error: image-tag"}},
		{"all jobs", Options{AllJobs: true}, []string{"jobs/a.yaml:13:9: error: image-tag", "jobs/b.yaml:3:5: error: presubmit-branches", "jobs/b.yaml:11:9: error: image-tag"}},
		{"lowered and off", Options{Rules: map[string]string{"image-tag": "warning", "presubmit-branches": "off"}}, []string{"jobs/b.yaml:11:9: warning: image-tag"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _ := run(t, map[string]string{"a.yaml": notOwned, "b.yaml": owned}, tt.opts)
			var short []string
			for _, f := range got {
				short = append(short, f.File+":"+strconv.Itoa(f.Line)+":"+strconv.Itoa(f.Column)+": "+string(f.Severity)+": "+f.Rule)
			}
			if diff := cmp.Diff(tt.want, short); diff != "" {
				t.Errorf("findings (-want +got):\n%s\nall:\n%s", diff, strings.Join(brief(got), "\n"))
			}
		})
	}
}

func TestRuleOverridesAreChecked(t *testing.T) {
	spec := filetree.Temp(t, map[string]string{"spec.yaml": "repo: tensorflow/k8s\nlint:\n  rules:\n    image-tags: off\n    prow-load: warning\n    decorate: loud\n"})
	_, got := parseOverrides(map[string]string{"image-tags": "off", "prow-load": "warning", "decorate": "loud"}, filepath.Join(spec, "spec.yaml"))
	var msgs []string
	for _, f := range got {
		msgs = append(msgs, strconv.Itoa(f.Line)+":"+strconv.Itoa(f.Column)+": "+f.Message)
	}
	want := []string{
		`6:5: lint.rules: decorate: severity must be error, warning or off, not "loud"`,
		`4:5: lint.rules: unknown rule "image-tags"; did you mean image-tag?`,
		`5:5: lint.rules: rule "prow-load" comes from Prow and cannot be changed`,
	}
	if diff := cmp.Diff(want, msgs); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestProwConfigProblems: problems in config.yaml itself are placed in it;
// when Prow rejects it, the jobs still get every check that needs no
// defaulting (policy on the decoded jobs, regexes compiled by us).
func TestProwConfigProblems(t *testing.T) {
	badRegex := strings.Replace(goodJob, "    always_run: true\n", "    run_if_changed: '^(pkg/'\n", 1)
	tests := []struct {
		name   string
		config string
		want   []string
	}{
		{"unknown field (checkconfig's unknown-fields)", strings.Replace(prowConfigYAML, "pod_namespace:", "pod_namspace: x\npod_namespace:", 1), []string{
			"config.yaml:2:1: warning: unknown-field",
			"jobs/a.yaml:4:5: error: prow-load",
		}},
		{"type error", strings.Replace(prowConfigYAML, "      timeout: 2h\n", "      timeout: [2h]\n", 1), []string{
			"config.yaml:6:16: error: prow-load",
			"jobs/a.yaml:4:5: error: regex",
		}},
		{"jobs in config.yaml are loaded by Prow itself", prowConfigYAML + strings.Replace(goodPeriodic, "tf-k8s-periodic", "tf-k8s-old", -1), []string{
			"jobs/a.yaml:4:5: error: prow-load",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filetree.Temp(t, map[string]string{"config.yaml": tt.config, "jobs/a.yaml": badRegex})
			res, err := Lint(context.Background(), Options{ConfigPath: filepath.Join(dir, "config.yaml"), JobConfigPath: filepath.Join(dir, "jobs"), Owner: owner{}})
			if err != nil {
				t.Fatal(err)
			}
			var short []string
			for _, f := range res.Findings {
				rel, _ := filepath.Rel(dir, f.File)
				short = append(short, rel+":"+strconv.Itoa(f.Line)+":"+strconv.Itoa(f.Column)+": "+string(f.Severity)+": "+f.Rule)
			}
			if diff := cmp.Diff(tt.want, short); diff != "" {
				t.Errorf("findings (-want +got):\n%s\nall:\n%s", diff, strings.Join(brief(res.Findings), "\n"))
			}
		})
	}
}

// TestEveryTypeErrorOfAKind: Prow stops at its first type error; lint
// reports each value Prow would reject for the same reason, in every job
// section. The input is shaped like the 2018 tf-k8s entries.
func TestEveryTypeErrorOfAKind(t *testing.T) {
	old := `presubmits:
  tensorflow/k8s:
  - name: tf-k8s-presubmit
    labels:
      preset-service-account: true
    spec:
      containers:
      - image: gcr.io/mlkube-testing/builder:v1
postsubmits:
  tensorflow/k8s:
  - name: tf-k8s-postsubmit
    labels:
      preset-service-account: yes
periodics:
- name: tf-k8s-periodic
  interval: 8h
  labels:
    preset-service-account: true
    other: "true"
`
	got, _ := run(t, map[string]string{"old.yaml": old}, Options{})
	want := []string{"prow-load@5:31:error", "prow-load@13:31:error", "prow-load@18:29:error"}
	if diff := cmp.Diff(want, ruleSet(got)); diff != "" {
		t.Errorf("(-want +got):\n%s\n%s", diff, strings.Join(brief(got), "\n"))
	}
}

// TestSameVerdictAsProw: for configs Prow's loader rejects, lint reports an
// error on the job Prow names (placed inside that job's lines).
func TestSameVerdictAsProw(t *testing.T) {
	r := strings.NewReplacer
	cases := []struct{ name, job string }{
		{"bad cron", r("  interval: 8h\n", "  cron: \"every day\"\n").Replace(goodPeriodic)},
		{"cron and interval", r("  interval: 8h\n", "  interval: 8h\n  cron: \"0 * * * *\"\n").Replace(goodPeriodic)},
		{"trigger without rerun_command", r("    decorate: true\n", "    decorate: true\n    trigger: '/test x'\n").Replace(goodJob)},
		{"invalid job name", r("name: tf-k8s-presubmit", "name: tf k8s presubmit!").Replace(goodJob)},
		{"env clashes with a preset", r("        command: [run]\n", "        command: [run]\n        volumeMounts:\n        - name: service\n          mountPath: /x\n").Replace(r("    decorate: true\n", "    decorate: true\n    labels:\n      preset-service-account: \"true\"\n").Replace(goodJob))},
		{"two unnamed containers", goodPeriodic + "    - image: gcr.io/x/other:v1\n      command: [run]\n"},
		{"no containers", r("    containers:\n", "    containers: []\n    x:\n").Replace(goodPeriodic)},
		{"bad timeout", r("  decorate: true\n", "  decorate: true\n  decoration_config:\n    timeout: soon\n").Replace(goodPeriodic)},
		{"max_concurrency negative", r("  decorate: true\n", "  decorate: true\n  max_concurrency: -1\n").Replace(goodPeriodic)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, dir := run(t, map[string]string{"a.yaml": tc.job}, Options{})
			_, loadErr := config.Load(filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs"), nil, "")
			if loadErr == nil {
				t.Fatalf("case is not invalid for Prow; findings:\n%s", strings.Join(brief(got), "\n"))
			}
			lines := strings.Count(tc.job, "\n")
			var ok bool
			for _, f := range got {
				if f.Severity == SeverityError && f.File == "jobs/a.yaml" && f.Line >= 2 && f.Line <= lines {
					ok = true
				}
			}
			if !ok {
				t.Errorf("Prow: %v\nlint found no error inside the job:\n%s", loadErr, strings.Join(brief(got), "\n"))
			}
		})
	}
}

// TestAnchorsAndMergeKeys: jobs built from anchors and "<<" merges are
// decoded as Prow decodes them, and findings inherited through an alias
// point at the anchored line and name the job.
func TestAnchorsAndMergeKeys(t *testing.T) {
	data, err := os.ReadFile("testdata/anchors.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := run(t, map[string]string{"a.yaml": string(data)}, Options{})
	want := []string{
		`jobs/a.yaml:14:9: error: image-tag: image "gcr.io/mlkube-testing/builder:latest" uses :latest; pin a tag or digest (in job tf-k8s-periodic, through an alias) (policy: the spec owns this job)`,
		`jobs/a.yaml:14:9: error: image-tag: image "gcr.io/mlkube-testing/builder:latest" uses :latest; pin a tag or digest (in job tf-k8s-presubmit-2, through an alias) (policy: the spec owns this job)`,
		`jobs/a.yaml:14:9: error: image-tag: image "gcr.io/mlkube-testing/builder:latest" uses :latest; pin a tag or digest (policy: the spec owns this job)`,
	}
	if diff := cmp.Diff(want, brief(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	checkSameAsProw(t, data)
}

// TestTypeErrorNamesItsOwnSection: Prow's message names the one section
// whose value it met first; a finding in another section must not quote it
// (it would send the reader to the wrong job).
func TestTypeErrorNamesItsOwnSection(t *testing.T) {
	old := `presubmits:
  tensorflow/k8s:
  - name: tf-k8s-presubmit
    labels:
      preset-service-account: true
postsubmits:
  tensorflow/k8s:
  - name: tf-k8s-postsubmit
    labels:
      preset-service-account: true
periodics:
- name: tf-k8s-periodic
  interval: 8h
  labels:
    preset-service-account: true
`
	got, _ := run(t, map[string]string{"old.yaml": old}, Options{})
	sectionAt := map[int]string{5: "presubmits", 10: "postsubmits", 15: "periodics"}
	sections := []string{"presubmits", "postsubmits", "periodics"}
	if len(got) != len(sectionAt) {
		t.Fatalf("want %d findings, got:\n%s", len(sectionAt), strings.Join(brief(got), "\n"))
	}
	for _, f := range got {
		own, ok := sectionAt[f.Line]
		if !ok {
			t.Errorf("unexpected finding %s", f)
			continue
		}
		for _, s := range sections {
			if s != own && strings.Contains(f.Message, "."+s+".") {
				t.Errorf("finding in %s names %s: %s", own, s, f)
			}
		}
	}
}

// TestDuplicateJobNamesTheOtherDefinition: Prow says only that a name is
// duplicated; the finding at the second definition names the first.
func TestDuplicateJobNamesTheOtherDefinition(t *testing.T) {
	got, _ := run(t, map[string]string{"a.yaml": goodJob, "b.yaml": goodJob}, Options{})
	if len(got) != 1 {
		t.Fatalf("want one finding, got:\n%s", strings.Join(brief(got), "\n"))
	}
	if f := got[0]; f.File != filepath.Join("jobs", "b.yaml") || !strings.Contains(f.Message, filepath.Join("jobs", "a.yaml")+":3") {
		t.Errorf("finding does not name the first definition (jobs/a.yaml:3): %s", f)
	}
}
