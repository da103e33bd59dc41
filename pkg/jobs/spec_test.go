package jobs

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadSpecRepoConfig(t *testing.T) {
	s, err := LoadSpec("../../config/tf-k8s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Repo != "tensorflow/k8s" || s.PeriodicPrefix != "tf-k8s-" || !*s.Decorate || s.Lint.Scope != ScopeOwned {
		t.Errorf("unexpected spec: %+v", s)
	}
	if diff := cmp.Diff([]string{"tf-k8s-presubmit"}, s.JobNames(TypePresubmit)); diff != "" {
		t.Errorf("presubmits (-want +got):\n%s", diff)
	}
	if !s.OwnsPeriodic("tf-k8s-other", nil) || !s.OwnsPeriodic("nightly", []string{"tensorflow/k8s"}) || s.OwnsPeriodic("nightly", []string{"kubeflow/kubeflow"}) {
		t.Error("OwnsPeriodic disagrees with prefix/extra_refs ownership")
	}
}

const validSpec = `repo: tensorflow/k8s
branches: [master]
periodic_prefix: tf-k8s-
image: gcr.io/mlkube-testing/builder:v1
command: [prowctl, e2e, run]
jobs:
- name: tf-k8s-presubmit
  type: presubmit
  always_run: true
- name: tf-k8s-periodic
  type: periodic
  interval: 8h
`

func TestParseSpecErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want string
	}{
		{"empty file", "", "s.yaml:1:1: spec is empty; it needs at least repo, image, command and jobs"},
		{"only comments", "# nothing\n", "s.yaml:1:1: spec is empty; it needs at least repo, image, command and jobs"},
		{"unknown field", strings.Replace(validSpec, "always_run", "alway_run", 1), `s.yaml:9:3: jobs[0]: unknown field "alway_run"; did you mean "always_run"?`},
		{"duplicate key", validSpec + "repo: other/repo\n", `s.yaml:13:1: repo: duplicate key (first at line 1)`},
		{"tab", strings.Replace(validSpec, "  type: presubmit", "\ttype: presubmit", 1), "s.yaml:8:1: tab character in indentation; indent YAML with spaces"},
		{"no jobs", strings.Split(validSpec, "jobs:")[0] + "jobs: []\n", "s.yaml:6:7: jobs: the spec names no jobs; add at least one under jobs:"},
		{"no jobs key", strings.Split(validSpec, "jobs:")[0], "s.yaml:1:1: jobs: the spec names no jobs; add at least one under jobs:"},
		{"bad type", strings.Replace(validSpec, "type: presubmit", "type: presubmitt", 1), `s.yaml:8:9: jobs[0].type: "presubmitt" is not one of presubmit, postsubmit, periodic`},
		{"bad interval", strings.Replace(validSpec, "8h", "8 hours", 1), `s.yaml:12:13: jobs[1].interval: "8 hours" is not a positive duration like 8h or 30m`},
		{"no interval", strings.Replace(validSpec, "  interval: 8h\n", "", 1), `s.yaml:10:3: jobs[1].interval: a periodic needs an interval (e.g. 8h) or a cron`},
		{"duplicate job", strings.Replace(validSpec, "tf-k8s-periodic", "tf-k8s-presubmit", 1), `s.yaml:10:9: jobs[1].name: duplicate job name "tf-k8s-presubmit" (also jobs[0])`},
		{"wrong type", strings.Replace(validSpec, "always_run: true", "always_run: yes please", 1), `s.yaml:9:15: jobs[0].always_run: expected true or false, got string "yes please"`},
		{"latest image", strings.Replace(validSpec, ":v1", ":latest", 1), `s.yaml:4:8: image: "gcr.io/mlkube-testing/builder:latest" uses :latest; pin it by tag or digest`},
		{"bad yaml", "repo: [\n", "s.yaml:1:7: invalid YAML: did not find expected node content"},
		{"bad severity", validSpec + "lint:\n  rules:\n    image-pinned: fatal\n", `s.yaml:15:19: lint.rules.image-pinned: "fatal" is not one of error, warning, off`},
		{"unowned periodic", strings.Replace(validSpec, "name: tf-k8s-periodic", "name: nightly", 1), `s.yaml:10:9: jobs[1].name: periodic "nightly" neither starts with periodic_prefix "tf-k8s-" nor clones tensorflow/k8s; the spec could not find it again in a shared config`},
		{"runner and command", strings.Replace(validSpec, "jobs:\n", "runner: argo\njobs:\n", 1), "s.yaml:6:9: runner: give runner or command, not both: the runner makes the command"},
		{"unknown runner", strings.Replace(validSpec, "command: [prowctl, e2e, run]", "runner: tekton", 1), `s.yaml:5:9: runner: "tekton" is not one of e2e, argo`},
		{"neither", strings.Replace(validSpec, "command: [prowctl, e2e, run]\n", "", 1), "s.yaml:1:1: command: required: what every job's container runs, or runner: e2e or argo to run the e2e pipeline"},
		{"pipeline without runner", strings.Replace(validSpec, "jobs:\n", "pipeline: ci.yaml\njobs:\n", 1), "s.yaml:6:11: pipeline: only with runner: command says what the jobs run"},
		{"two documents", validSpec + "---\nrepo: x/y\n", "s.yaml:13:1: a second YAML document starts here; this file holds one document: remove the \"---\" or move the rest to a file of its own"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseSpec("s.yaml", []byte(tc.in))
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// A runner makes the jobs' command: e2e runs the pipeline in the job's
// pod, argo submits it as a Workflow and waits for its result.
func TestRunnerCommand(t *testing.T) {
	for _, tc := range []struct {
		lines string
		want  []string
	}{
		{"command: [make, e2e]", []string{"make", "e2e"}},
		{"runner: e2e", []string{"prowctl", "e2e", "run", "--pipeline", "config/e2e.yaml"}},
		{"runner: argo\npipeline: ci/e2e.yaml", []string{"prowctl", "e2e", "submit", "--argo", "--wait", "--pipeline", "ci/e2e.yaml"}},
	} {
		s, err := ParseSpec("s.yaml", []byte(strings.Replace(validSpec, "command: [prowctl, e2e, run]", tc.lines, 1)))
		if err != nil {
			t.Fatalf("%s: %v", tc.lines, err)
		}
		if d := cmp.Diff(tc.want, s.JobCommand()); d != "" {
			t.Errorf("%s: command (-want +got):\n%s", tc.lines, d)
		}
	}
}
