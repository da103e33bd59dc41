package rehearse_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/internal/prowctlbin"
	"github.com/prowctl/prowctl/internal/testcluster"
	"github.com/prowctl/prowctl/pkg/rehearse"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// configRepo is a config repo in a checkout of its own: the personal
// cluster's Prow config with one preset more, and jobs of this test (names
// ending in the test's own suffix, so that tests sharing the cluster's
// ProwJob namespace never see each other's rehearsals).
type configRepo struct {
	t      *testing.T
	c      *testcluster.Cluster
	dir    string
	suffix string
}

const presetValue = "REHEARSE_PRESET_VALUE"

func newConfigRepo(t *testing.T, c *testcluster.Cluster, suffix string) *configRepo {
	t.Helper()
	r := &configRepo{t: t, c: c, dir: t.TempDir(), suffix: suffix}
	b, err := os.ReadFile(c.ProwConfig)
	if err != nil {
		t.Fatal(err)
	}
	// The preset goes first in the list, selected by a label of this
	// test's own.
	prowConfig := strings.Replace(string(b), "\npresets:\n", fmt.Sprintf(`
presets:
- labels: {preset-rehearse-%s: "true"}
  env:
  - {name: REHEARSE_PRESET, value: %s}
`, suffix, presetValue), 1)
	if prowConfig == string(b) {
		t.Fatal("the cluster's Prow config has no presets list")
	}
	r.write("config/prow/config.yaml", prowConfig)
	r.write("config/jobs/a.yaml", r.jobs("a", "b", "fail"))
	r.write("config/jobs/c.yaml", r.jobs("c"))
	r.git("init", "-q", "-b", "main")
	r.git("add", ".")
	r.git("commit", "-q", "-m", "base")
	return r
}

// jobs is a job config of periodics: a and b use the test's preset, fail
// fails on the simulated node; a presubmit comes with a.
func (r *configRepo) jobs(names ...string) string {
	var b strings.Builder
	b.WriteString("periodics:\n")
	for _, n := range names {
		labels := ""
		switch n {
		case "a", "b":
			labels = fmt.Sprintf("preset-rehearse-%s: \"true\"", r.suffix)
		case "fail":
			labels = "prowctl.dev/simulate-result: failure"
		}
		fmt.Fprintf(&b, `- name: %s
  interval: 24h
  decorate: true
  labels: {%s}
  extra_refs:
  - {org: tf-k8s, repo: tf-k8s, base_ref: main}
  spec:
    containers:
    - image: alpine:3.19
      command: [/bin/true]
`, r.job(n), labels)
	}
	if slices.Contains(names, "a") {
		fmt.Fprintf(&b, `presubmits:
  tf-k8s/tf-k8s:
  - name: %s
    always_run: true
    decorate: true
    spec:
      containers:
      - image: alpine:3.19
        command: [/bin/true]
`, r.job("pull"))
	}
	return b.String()
}

func (r *configRepo) job(n string) string { return "ci-" + n + "-" + r.suffix }

func (r *configRepo) write(name, content string) {
	r.t.Helper()
	p := filepath.Join(r.dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *configRepo) edit(name, old, new string) {
	r.t.Helper()
	b, err := os.ReadFile(filepath.Join(r.dir, name))
	if err != nil {
		r.t.Fatal(err)
	}
	changed := strings.Replace(string(b), old, new, 1)
	if changed == string(b) {
		r.t.Fatalf("%s has no %q", name, old)
	}
	r.write(name, changed)
}

func (r *configRepo) git(args ...string) {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir}, args...)...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + r.dir, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
	if out, err := cmd.CombinedOutput(); err != nil {
		r.t.Fatalf("git %v: %v: %s", args, err, out)
	}
}

type result struct {
	code           int
	stdout, stderr string
}

// rehearse runs `prowctl rehearse` on the config repo's change, against the
// personal cluster (its state directory, the default target), for a pull
// request numbered 3.
func (r *configRepo) rehearse(args ...string) result {
	r.t.Helper()
	args = append([]string{"rehearse", "--repo-dir", r.dir,
		"--config-path", filepath.Join(r.dir, "config/prow/config.yaml"), "--job-config-path", filepath.Join(r.dir, "config/jobs"),
		"--dir", r.c.Dir, "--base-ref", "main", "--base-sha", strings.Repeat("1", 40),
		"--pull-number", "3", "--pull-sha", strings.Repeat("2", 40), "--pull-author", "alice",
	}, args...)
	cmd := exec.Command(prowctlbin.Path(r.t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		r.t.Fatalf("prowctl %v: %v", args, err)
	}
	r.t.Logf("$ prowctl %s\n%s%s(exit %d)", strings.Join(args, " "), res.stdout, res.stderr, res.code)
	return res
}

// rehearsals are the ProwJobs on the cluster that rehearse this test's jobs,
// by the job they rehearse.
func (r *configRepo) rehearsals() map[string]prowapi.ProwJob {
	r.t.Helper()
	l, err := r.c.ProwJobs(r.t).List(context.Background(), metav1.ListOptions{LabelSelector: rehearse.LabelRehearsal + "=true"})
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[string]prowapi.ProwJob{}
	for _, pj := range l.Items {
		if of := pj.Labels[rehearse.LabelOf]; strings.HasSuffix(of, "-"+r.suffix) {
			if _, dup := out[of]; dup {
				r.t.Errorf("%s rehearsed twice", of)
			}
			out[of] = pj
		}
	}
	return out
}

func keys(m map[string]prowapi.ProwJob) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// wantRehearsed checks that exactly jobs were rehearsed, each to success.
func (r *configRepo) wantRehearsed(jobs ...string) {
	r.t.Helper()
	got := r.rehearsals()
	var want []string
	for _, j := range jobs {
		want = append(want, r.job(j))
	}
	slices.Sort(want)
	if !slices.Equal(keys(got), want) {
		r.t.Fatalf("rehearsed %v, want %v", keys(got), want)
	}
	for job, pj := range got {
		if pj.Status.State != prowapi.SuccessState || pj.Spec.Report || pj.Spec.Context != "rehearse/"+job || !strings.HasPrefix(pj.Spec.Job, rehearse.Prefix) {
			r.t.Errorf("%s: state %s, report %v, context %q, job %q", job, pj.Status.State, pj.Spec.Report, pj.Spec.Context, pj.Spec.Job)
		}
	}
}

// A change to one job's command rehearses that job alone, on the personal
// cluster, to success; a presubmit gets the pull request's refs.
func TestIntegrationOneJob(t *testing.T) {
	c := testcluster.Get(t)
	r := newConfigRepo(t, c, "one")
	r.edit("config/jobs/a.yaml", "command: [/bin/true]\n", "command: [/bin/true, one]\n")
	r.edit("config/jobs/a.yaml", "    - image: alpine:3.19\n        command: [/bin/true]", "    - image: alpine:3.19\n        command: [/bin/true, pr]")
	res := r.rehearse("--wait", "--timeout", "3m")
	if res.code != 0 {
		t.Fatalf("exit %d", res.code)
	}
	r.wantRehearsed("a", "pull")
	pull := r.rehearsals()[r.job("pull")]
	if pull.Spec.Job != "rehearse-3-"+r.job("pull") || pull.Spec.Refs == nil || len(pull.Spec.Refs.Pulls) != 1 || pull.Spec.Refs.Pulls[0].Number != 3 {
		t.Errorf("the presubmit's rehearsal: job %q refs %+v", pull.Spec.Job, pull.Spec.Refs)
	}
	if !strings.Contains(res.stdout, "all 2 rehearsals succeeded") {
		t.Errorf("stdout lacks the verdict")
	}
}

// A preset change rehearses every job using it and no other.
func TestIntegrationPreset(t *testing.T) {
	c := testcluster.Get(t)
	r := newConfigRepo(t, c, "preset")
	r.edit("config/prow/config.yaml", "value: "+presetValue, "value: changed")
	if res := r.rehearse("--wait", "--timeout", "3m"); res.code != 0 {
		t.Fatalf("exit %d", res.code)
	}
	r.wantRehearsed("a", "b")
	for job, pj := range r.rehearsals() {
		env := pj.Spec.PodSpec.Containers[0].Env
		if !slices.ContainsFunc(env, func(e corev1.EnvVar) bool { return e.Name == "REHEARSE_PRESET" && e.Value == "changed" }) {
			t.Errorf("%s: the head's preset is not applied: %v", job, env)
		}
	}
}

// Moving a job to another file, reformatted, touches nothing: nothing is
// created and the exit is 0.
func TestIntegrationMove(t *testing.T) {
	c := testcluster.Get(t)
	r := newConfigRepo(t, c, "move")
	r.write("config/jobs/c.yaml", "periodics: []\n")
	// JSON is YAML too: the same job, not one line of it the same.
	moved, err := yaml.YAMLToJSON([]byte(r.jobs("c")))
	if err != nil {
		t.Fatal(err)
	}
	r.write("config/jobs/moved/d.yaml", string(moved))
	res := r.rehearse("--wait")
	if res.code != 0 || !strings.Contains(res.stderr, "no job touched") {
		t.Fatalf("exit %d, stderr %q", res.code, res.stderr)
	}
	r.wantRehearsed()
}

// A removed job is reported, not run.
func TestIntegrationRemoved(t *testing.T) {
	c := testcluster.Get(t)
	r := newConfigRepo(t, c, "removed")
	r.write("config/jobs/c.yaml", "periodics: []\n")
	r.edit("config/jobs/a.yaml", "command: [/bin/true]\n", "command: [/bin/true, one]\n")
	res := r.rehearse("--wait", "--timeout", "3m")
	if res.code != 0 {
		t.Fatalf("exit %d", res.code)
	}
	if !strings.Contains(res.stdout, "removed   removed  periodic   - "+r.job("c")+": not run") {
		t.Errorf("stdout does not report %s removed", r.job("c"))
	}
	r.wantRehearsed("a")
}

// A rehearsal of a job that fails exits 1, and the job's own ProwJobs are
// left as they were.
func TestIntegrationFailing(t *testing.T) {
	c := testcluster.Get(t)
	r := newConfigRepo(t, c, "failing")
	ctx := context.Background()
	// The real job's history: one ProwJob of it, ended (of an agent plank
	// leaves alone, so nothing but a rehearsal could change it).
	original, err := c.ProwJobs(t).Create(ctx, &prowapi.ProwJob{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "orig-", Labels: map[string]string{"prow.k8s.io/job": r.job("fail")}},
		Spec:       prowapi.ProwJobSpec{Job: r.job("fail"), Type: prowapi.PeriodicJob, Agent: prowapi.JenkinsAgent, Report: true},
		Status:     prowapi.ProwJobStatus{State: prowapi.SuccessState, StartTime: metav1.Now(), CompletionTime: &metav1.Time{Time: metav1.Now().Time}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r.edit("config/jobs/a.yaml", "prowctl.dev/simulate-result: failure}\n  extra_refs:\n  - {org: tf-k8s, repo: tf-k8s, base_ref: main}\n  spec:\n    containers:\n    - image: alpine:3.19\n      command: [/bin/true]",
		"prowctl.dev/simulate-result: failure}\n  extra_refs:\n  - {org: tf-k8s, repo: tf-k8s, base_ref: main}\n  spec:\n    containers:\n    - image: alpine:3.19\n      command: [/bin/false]")
	res := r.rehearse("--wait", "--timeout", "3m")
	if res.code != 1 || !strings.Contains(res.stderr, "1 of 1 rehearsals did not succeed: rehearse-"+r.job("fail")+" (failure)") {
		t.Fatalf("exit %d, want 1 and the failed rehearsal named", res.code)
	}
	if pj := r.rehearsals()[r.job("fail")]; pj.Status.State != prowapi.FailureState {
		t.Errorf("the rehearsal ended %s, want failure", pj.Status.State)
	}
	l, err := c.ProwJobs(t).List(ctx, metav1.ListOptions{LabelSelector: "prow.k8s.io/job=" + r.job("fail")})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || l.Items[0].Name != original.Name || l.Items[0].ResourceVersion != original.ResourceVersion {
		t.Errorf("the job's own ProwJobs changed: %d of them, want %s at version %s alone", len(l.Items), original.Name, original.ResourceVersion)
	}
}
