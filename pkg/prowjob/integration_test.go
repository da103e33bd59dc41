package prowjob

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/internal/prowctlbin"
	"github.com/prowctl/prowctl/internal/testcluster"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

type result struct {
	code           int
	stdout, stderr string
}

// run runs prowctl against the personal cluster with its Prow config and the
// test jobs.
func run(t *testing.T, c *testcluster.Cluster, args ...string) result {
	t.Helper()
	args = append(args, "--kubeconfig", c.Kubeconfig, "--context", c.Context, "--config-path", c.ProwConfig)
	cmd := exec.Command(prowctlbin.Path(t), args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		t.Fatalf("prowctl %v: %v", args, err)
	}
	t.Logf("$ prowctl %s\n%s%s(exit %d)", strings.Join(args, " "), r.stdout, r.stderr, r.code)
	return r
}

var createdRE = regexp.MustCompile(`prowjob\.prow\.k8s\.io/(\S+) created in namespace (\S+)`)

func createdName(t *testing.T, r result) string {
	t.Helper()
	m := createdRE.FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no created line in:\n%s", r.stdout)
	}
	return m[1]
}

const (
	jobsDir = "testdata/jobs"
	sha2    = "2222222222222222222222222222222222222222"
)

func get(t *testing.T, c *testcluster.Cluster, name string) *prowapi.ProwJob {
	t.Helper()
	pj, err := c.ProwJobs(t).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pj
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestIntegrationMkpjCreateWaitSucceeds(t *testing.T) {
	c := testcluster.Get(t)
	r := run(t, c, "mkpj", "--job-config-path", jobsDir, "--job", "ci-prowctl-pass", "--create", "--wait", "--timeout", "3m")
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	name := createdName(t, r)
	if !strings.Contains(r.stdout, "created in namespace "+c.ProwJobNamespace) {
		t.Errorf("not created in the Prow config's prowjob_namespace %s", c.ProwJobNamespace)
	}
	if last := lastLine(r.stdout); !strings.Contains(last, "success") || !strings.Contains(last, "pod "+name) {
		t.Errorf("last line %q, want success and the pod", last)
	}
	pj := get(t, c, name)
	if pj.Status.State != prowapi.SuccessState || pj.Spec.Report {
		t.Errorf("on the server: state %s, report %v; want success, false", pj.Status.State, pj.Spec.Report)
	}
}

func TestIntegrationFailingJobExits1(t *testing.T) {
	c := testcluster.Get(t)
	r := run(t, c, "mkpj", "--job-config-path", jobsDir, "--job", "pull-prowctl-fail", "--base-ref", "main", "--base-sha", sha1,
		"--pull-number", "1", "--pull-sha", sha2, "--pull-author", "alice", "--create", "--wait", "--timeout", "3m")
	if r.code != 1 {
		t.Fatalf("exit %d, want 1", r.code)
	}
	name := createdName(t, r)
	if want := "prowctl: ProwJob " + name + " ended in failure\n"; r.stderr != want {
		t.Errorf("stderr %q, want %q", r.stderr, want)
	}
	if pj := get(t, c, name); pj.Status.State != prowapi.FailureState {
		t.Errorf("state %s", pj.Status.State)
	}
}

// A rerun of a finished job is a new job that runs to its own result; the
// old job is untouched.
func TestIntegrationRerun(t *testing.T) {
	c := testcluster.Get(t)
	r := run(t, c, "mkpj", "--job-config-path", jobsDir, "--job", "pull-prowctl-fail", "--base-ref", "main", "--base-sha", sha1,
		"--pull-number", "2", "--pull-sha", sha2, "--pull-author", "alice", "--create")
	if r.code != 0 || !strings.Contains(r.stdout, "follow it with: prowctl watch ") {
		t.Fatalf("exit %d", r.code)
	}
	oldName := createdName(t, r)
	if r := run(t, c, "watch", oldName, "--timeout", "3m"); r.code != 1 || !strings.Contains(lastLine(r.stdout), "failure") {
		t.Fatalf("watch: exit %d, want 1 and a failure line", r.code)
	}
	old := get(t, c, oldName)

	// The rerun of a job labelled to fail fails too, under its own name.
	r = run(t, c, "rerun", oldName, "--wait", "--timeout", "3m")
	if r.code != 1 {
		t.Fatalf("rerun: exit %d, want 1", r.code)
	}
	newName := createdName(t, r)
	if newName == oldName {
		t.Fatal("rerun reused the name")
	}
	rerun := get(t, c, newName)
	if rerun.Status.State != prowapi.FailureState || rerun.Spec.Job != old.Spec.Job || rerun.Spec.Refs.Pulls[0].Number != 2 {
		t.Errorf("rerun: state %s job %s", rerun.Status.State, rerun.Spec.Job)
	}
	if !rerun.Status.StartTime.After(old.Status.CompletionTime.Time) && !rerun.Status.StartTime.Equal(old.Status.CompletionTime) {
		t.Errorf("rerun started %s, before the old job ended %s", rerun.Status.StartTime, old.Status.CompletionTime)
	}
	// Plank labels each job with its own id and build id; a rerun must not
	// carry the old run's.
	if rerun.Labels["prow.k8s.io/id"] != newName || rerun.Labels["prow.k8s.io/build-id"] == old.Labels["prow.k8s.io/build-id"] {
		t.Errorf("rerun labels id %q build-id %q; old build-id %q", rerun.Labels["prow.k8s.io/id"], rerun.Labels["prow.k8s.io/build-id"], old.Labels["prow.k8s.io/build-id"])
	}
	if after := get(t, c, oldName); after.ResourceVersion != old.ResourceVersion {
		t.Errorf("old job changed: resourceVersion %s -> %s", old.ResourceVersion, after.ResourceVersion)
	}

	// --latest rebuilds the spec from the job config; a passing job passes.
	r = run(t, c, "mkpj", "--job-config-path", jobsDir, "--job", "ci-prowctl-pass", "--create", "--wait", "--timeout", "3m")
	passName := createdName(t, r)
	r = run(t, c, "rerun", passName, "--latest", "--job-config-path", jobsDir, "--wait", "--timeout", "3m")
	if r.code != 0 {
		t.Fatalf("rerun --latest: exit %d", r.code)
	}
	if pj := get(t, c, createdName(t, r)); pj.Status.State != prowapi.SuccessState {
		t.Errorf("rerun --latest: state %s", pj.Status.State)
	}

	// get lists them; get NAME -o yaml is the object.
	r = run(t, c, "get")
	for _, n := range []string{oldName, newName, passName} {
		if !regexp.MustCompile(`(?m)^` + n + `\s+\S+\s+(presubmit|periodic)\s+(success|failure)\s`).MatchString(r.stdout) {
			t.Errorf("get: no row for %s", n)
		}
	}
	r = run(t, c, "get", newName, "-o", "yaml")
	var pj prowapi.ProwJob
	if err := yaml.UnmarshalStrict([]byte(r.stdout), &pj); err != nil || pj.Name != newName || pj.Kind != "ProwJob" || pj.ManagedFields != nil {
		t.Errorf("get -o yaml: %v, %s %s, managedFields %v", err, pj.Kind, pj.Name, pj.ManagedFields)
	}
}

func TestIntegrationCreateFromFile(t *testing.T) {
	c := testcluster.Get(t)
	r := run(t, c, "mkpj", "--job-config-path", jobsDir, "--job", "ci-prowctl-pass")
	file := filepath.Join(t.TempDir(), "pj.yaml")
	if err := os.WriteFile(file, []byte(r.stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	r = run(t, c, "create", "-f", file, "--wait", "--timeout", "3m")
	if r.code != 0 {
		t.Fatalf("create: exit %d", r.code)
	}
	name := createdName(t, r)
	r = run(t, c, "create", "-f", file)
	want := "prowctl: ProwJob " + name + " already exists in namespace " + c.ProwJobNamespace + " of context " + c.Context + ": `prowctl rerun " + name + "` runs it again under a new name\n"
	if r.code != 1 || r.stderr != want {
		t.Errorf("second create: exit %d, stderr %q, want %q", r.code, r.stderr, want)
	}
	r = run(t, c, "rerun", "-f", file, "--wait", "--timeout", "3m")
	if r.code != 0 || createdName(t, r) == name {
		t.Errorf("rerun -f: exit %d", r.code)
	}
}

func TestIntegrationWatchTimeoutExits2(t *testing.T) {
	c := testcluster.Get(t)
	r := run(t, c, "mkpj", "--job-config-path", jobsDir, "--job", "ci-prowctl-slow", "--create")
	name := createdName(t, r)
	r = run(t, c, "get", "-w", name, "--timeout", "3s")
	if r.code != 2 || !strings.HasPrefix(r.stderr, "prowctl: ProwJob "+name+" still ") {
		t.Errorf("exit %d, stderr %q; want 2 and still running", r.code, r.stderr)
	}
}

func TestIntegrationUnknownProwJob(t *testing.T) {
	c := testcluster.Get(t)
	r := run(t, c, "get", "nope")
	if r.code != 1 || r.stderr != "prowctl: no ProwJob nope in namespace "+c.ProwJobNamespace+" of context "+c.Context+"\n" {
		t.Errorf("exit %d, stderr %q", r.code, r.stderr)
	}
}
