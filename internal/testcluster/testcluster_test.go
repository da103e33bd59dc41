package testcluster_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"
	"sigs.k8s.io/prow/pkg/kube"
	"sigs.k8s.io/prow/pkg/pjutil"

	"github.com/prowctl/prowctl/internal/testcluster"
	"github.com/prowctl/prowctl/pkg/cluster"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

const jobConfig = `periodics:
- name: prowctl-harness-pass
  interval: 24h
  decorate: true
  spec:
    containers:
    - image: registry.example/test:latest
      command: [make, test]
- name: prowctl-harness-fail
  interval: 24h
  decorate: true
  labels:
    ` + cluster.SimulateResultLabel + `: ` + cluster.SimulateFailure + `
  spec:
    containers:
    - image: registry.example/test:latest
      command: [make, test]
- name: prowctl-harness-slow
  interval: 24h
  decorate: true
  annotations:
    ` + cluster.SimulateDurationAnnotation + `: 4s
  spec:
    containers:
    - image: registry.example/test:latest
      command: [make, test]
`

// periodic loads the project's Prow config with a small job config, as plank
// and mkpj do, and returns the named periodic.
func periodic(t *testing.T, c *testcluster.Cluster, name string) config.Periodic {
	t.Helper()
	path := filepath.Join(t.TempDir(), "jobs.yaml")
	if err := os.WriteFile(path, []byte(jobConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(c.ProwConfig, path, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cfg.AllPeriodics() {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("no periodic %s", name)
	return config.Periodic{}
}

// run creates a ProwJob for the periodic and returns the states it went
// through until it finished, and the ProwJob as it ended.
func run(t *testing.T, c *testcluster.Cluster, job config.Periodic) ([]prowapi.ProwJobState, *prowapi.ProwJob) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pj := pjutil.NewProwJob(pjutil.PeriodicSpec(job), job.Labels, job.Annotations)
	pjs := c.ProwJobs(t)
	w, err := pjs.Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", pj.Name).String()})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	if _, err := pjs.Create(ctx, &pj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var states []prowapi.ProwJobState
	for ev := range w.ResultChan() {
		got, ok := ev.Object.(*prowapi.ProwJob)
		if !ok {
			t.Fatalf("watch event %s: %v", ev.Type, ev.Object)
		}
		if len(states) == 0 || states[len(states)-1] != got.Status.State {
			states = append(states, got.Status.State)
		}
		if got.Complete() {
			return states, got
		}
	}
	t.Fatalf("ProwJob %s did not finish in time; states so far %v", pj.Name, states)
	return nil, nil
}

// A periodic made with Prow's pjutil runs through the real plank, scheduler
// and simulated node: triggered, pending, success. The pod plank made carries
// Prow's decoration.
func TestProwJobSucceeds(t *testing.T) {
	c := testcluster.Get(t)
	t.Parallel()
	job := periodic(t, c, "prowctl-harness-pass")
	states, pj := run(t, c, job)
	want := []prowapi.ProwJobState{prowapi.TriggeredState, prowapi.PendingState, prowapi.SuccessState}
	if diff := cmp.Diff(want, states); diff != "" {
		t.Errorf("ProwJob states (-want +got):\n%s", diff)
	}

	pod, err := c.Kube(t).CoreV1().Pods(c.PodNamespace).Get(context.Background(), pj.Status.PodName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Labels[kube.CreatedByProw] != "true" || pod.Spec.NodeName == "" {
		t.Errorf("pod %s: created-by-prow %q, node %q; want a Prow pod the scheduler bound", pod.Name, pod.Labels[kube.CreatedByProw], pod.Spec.NodeName)
	}
	var names []string
	for _, ic := range pod.Spec.InitContainers {
		names = append(names, ic.Name)
	}
	for _, ct := range pod.Spec.Containers {
		names = append(names, ct.Name)
	}
	if got := strings.Join(names, " "); !strings.Contains(got, "place-entrypoint") || !strings.Contains(got, "sidecar") {
		t.Errorf("pod containers %q: want Prow's decoration (place-entrypoint, sidecar)", got)
	}
}

// A job labelled to fail ends in failure.
func TestProwJobFails(t *testing.T) {
	c := testcluster.Get(t)
	t.Parallel()
	job := periodic(t, c, "prowctl-harness-fail")
	if job.Labels[cluster.SimulateResultLabel] != cluster.SimulateFailure {
		t.Fatalf("job labels %v lack %s", job.Labels, cluster.SimulateResultLabel)
	}
	states, pj := run(t, c, job)
	if got := states[len(states)-1]; got != prowapi.FailureState {
		t.Errorf("ProwJob %s ended %s (states %v), want failure", pj.Name, got, states)
	}
	// Plank copied the job's label onto the pod, where kwok's stage saw it.
	pod, err := c.Kube(t).CoreV1().Pods(c.PodNamespace).Get(context.Background(), pj.Status.PodName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if pod.Labels[cluster.SimulateResultLabel] != cluster.SimulateFailure || pod.Status.Phase != corev1.PodFailed {
		t.Errorf("pod %s: label %s=%q, phase %s; want %s and Failed", pod.Name, cluster.SimulateResultLabel, pod.Labels[cluster.SimulateResultLabel], pod.Status.Phase, cluster.SimulateFailure)
	}
}

// A job's pod runs as long as its duration annotation says.
func TestProwJobDuration(t *testing.T) {
	c := testcluster.Get(t)
	t.Parallel()
	states, pj := run(t, c, periodic(t, c, "prowctl-harness-slow"))
	if got := states[len(states)-1]; got != prowapi.SuccessState {
		t.Fatalf("ProwJob %s ended %s, want success", pj.Name, got)
	}
	pod, err := c.Kube(t).CoreV1().Pods(c.PodNamespace).Get(context.Background(), pj.Status.PodName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var running, finished time.Time
	for _, cs := range pod.Status.ContainerStatuses {
		if term := cs.State.Terminated; term != nil {
			finished = term.FinishedAt.Time
		}
	}
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodInitialized {
			running = cond.LastTransitionTime.Time
		}
	}
	// Timestamps have a resolution of one second.
	if d := finished.Sub(running); d < 3*time.Second {
		t.Errorf("pod ran %s (from %s to %s), want about 4s", d, running, finished)
	}
}

// The ProwJob CRD validates: a ProwJob of an unknown type is refused.
func TestProwJobSchema(t *testing.T) {
	c := testcluster.Get(t)
	pj := pjutil.NewProwJob(pjutil.PeriodicSpec(periodic(t, c, "prowctl-harness-pass")), nil, nil)
	pj.Spec.Type = "nightly"
	_, err := c.ProwJobs(t).Create(context.Background(), &pj, metav1.CreateOptions{})
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.type") {
		t.Errorf("create a ProwJob of type nightly: %v, want Invalid naming spec.type", err)
	}
}

// Namespace gives each test its own namespace and deletes it afterwards.
func TestNamespace(t *testing.T) {
	c := testcluster.Get(t)
	var name string
	t.Run("inner", func(t *testing.T) {
		name = c.Namespace(t)
		if !strings.HasPrefix(name, "t-testnamespace-inner-") {
			t.Errorf("namespace %q does not name the test", name)
		}
		if _, err := c.Kube(t).CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	ns, err := c.Kube(t).CoreV1().Namespaces().Get(context.Background(), name, metav1.GetOptions{})
	if err == nil && ns.DeletionTimestamp == nil {
		t.Errorf("namespace %s still there and not being deleted after its test", name)
	}
	if c.Context != "prowctl-local" || c.ProwJobNamespace != "prow" || c.PodNamespace != "test-pods" {
		t.Errorf("context %q, namespaces %q %q", c.Context, c.ProwJobNamespace, c.PodNamespace)
	}
}
