package main

import (
	"context"
	corev1 "k8s.io/api/core/v1"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/client/clientset/versioned/fake"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

var fakeNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// fakeCluster is a Factory whose cluster is a fake clientset: every run
// function runs as in production, without an apiserver. connected records
// the options each command connected with.
type fakeCluster struct {
	cs        *fake.Clientset
	kube      *kubefake.Clientset
	connected []prowjob.ConnectOptions
	// deck is the Deck the cluster's kubeconfig records.
	deck string
}

func newFakeCluster(objs ...runtime.Object) *fakeCluster {
	return &fakeCluster{cs: fake.NewSimpleClientset(objs...), kube: kubefake.NewSimpleClientset()}
}

func (fc *fakeCluster) factory(streams *iostreams.IOStreams) *Factory {
	return &Factory{
		IO:  streams,
		Now: func() time.Time { return fakeNow },
		Connect: func(_ context.Context, o prowjob.ConnectOptions) (*prowjob.Client, error) {
			fc.connected = append(fc.connected, o)
			ns := o.Namespace
			if ns == "" {
				ns = o.DefaultNamespace
			}
			return &prowjob.Client{ProwJobs: fc.cs.ProwV1().ProwJobs(ns), Kube: fc.kube, Namespace: ns, Context: "fake", DeckURL: fc.deck}, nil
		},
	}
}

func (fc *fakeCluster) run(t *testing.T, streams *iostreams.IOStreams, args ...string) int {
	t.Helper()
	root := newRootCmd(fc.factory(streams))
	root.SetArgs(args)
	return execute(context.Background(), root, nil, streams.ErrOut)
}

func (fc *fakeCluster) jobs(t *testing.T, ns string) map[string]prowapi.ProwJob {
	t.Helper()
	l, err := fc.cs.ProwV1().ProwJobs(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]prowapi.ProwJob{}
	for _, pj := range l.Items {
		m[pj.Name] = pj
	}
	return m
}

func fakePJ(name, job string, state prowapi.ProwJobState, start time.Time) *prowapi.ProwJob {
	return &prowapi.ProwJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "prow.k8s.io/v1", Kind: "ProwJob"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "test-pods", CreationTimestamp: metav1.NewTime(start)},
		Spec:       prowapi.ProwJobSpec{Job: job, Type: prowapi.PeriodicJob, Report: true},
		Status:     prowapi.ProwJobStatus{State: state, StartTime: metav1.NewTime(start)},
	}
}

func TestGetOnFakeCluster(t *testing.T) {
	fc := newFakeCluster(
		fakePJ("b-2", "ci-b", prowapi.PendingState, fakeNow.Add(-time.Minute)),
		fakePJ("a-1", "ci-a", prowapi.SuccessState, fakeNow.Add(-time.Hour)),
	)
	streams, _, out, errOut := iostreams.Test()
	if code := fc.run(t, streams, "get", "-n", "test-pods"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "NAME   JOB    TYPE       STATE     AGE   DURATION\n" +
		"a-1    ci-a   periodic   success   60m   60m\n" +
		"b-2    ci-b   periodic   pending   60s   60s\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("table (-want +got):\n%s", diff)
	}
	if got := fc.connected[0]; got.Namespace != "test-pods" {
		t.Errorf("connected with %+v", got)
	}

	streams, _, out, errOut = iostreams.Test()
	if code := fc.run(t, streams, "get", "a-1", "-n", "test-pods", "-o", "json"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out.String(), "{\n  \"kind\": \"ProwJob\",\n  \"apiVersion\": \"prow.k8s.io/v1\",") {
		t.Errorf("get -o json:\n%s", out)
	}

	streams, _, _, errOut = iostreams.Test()
	if code := fc.run(t, streams, "get", "nope", "-n", "test-pods"); code != 1 || errOut.String() != "prowctl: no ProwJob nope in namespace test-pods of context fake\n" {
		t.Errorf("get nope: exit %d, %s", code, errOut)
	}
}

func TestCreateAndRerunOnFakeCluster(t *testing.T) {
	fc := newFakeCluster(fakePJ("old-1", "ci-a", prowapi.FailureState, fakeNow.Add(-time.Hour)))
	file := filepath.Join(t.TempDir(), "pj.yaml")
	if err := os.WriteFile(file, []byte("apiVersion: prow.k8s.io/v1\nkind: ProwJob\nmetadata:\n  name: new-1\nspec:\n  job: ci-new\n  type: periodic\n  report: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	streams, _, out, errOut := iostreams.Test()
	if code := fc.run(t, streams, "create", "-f", file, "-n", "test-pods"); code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	got := fc.jobs(t, "test-pods")["new-1"]
	if got.Spec.Job != "ci-new" || got.Spec.Report || got.Status.State != prowapi.TriggeredState {
		t.Errorf("created %+v", got)
	}
	if diff := cmp.Diff("prowjob.prow.k8s.io/new-1 created in namespace test-pods of context fake (job ci-new)\nfollow it with: prowctl watch new-1 --context fake -n test-pods\n", out.String()); diff != "" {
		t.Errorf("create output (-want +got):\n%s", diff)
	}

	streams, _, out, errOut = iostreams.Test()
	if code := fc.run(t, streams, "rerun", "old-1", "-n", "test-pods"); code != 0 {
		t.Fatalf("rerun: exit %d: %s", code, errOut)
	}
	jobs := fc.jobs(t, "test-pods")
	if len(jobs) != 3 || jobs["old-1"].Status.State != prowapi.FailureState {
		t.Fatalf("after rerun: %d jobs, old-1 %s", len(jobs), jobs["old-1"].Status.State)
	}
	for name, pj := range jobs {
		if name != "old-1" && name != "new-1" && (pj.Spec.Job != "ci-a" || pj.Spec.Report || pj.Status.State != prowapi.TriggeredState) {
			t.Errorf("rerun made %s: job %s report %v state %s", name, pj.Spec.Job, pj.Spec.Report, pj.Status.State)
		}
	}
}

// watch follows a job to its end: exit 0 on success, 1 on failure.
func TestWatchOnFakeCluster(t *testing.T) {
	fc := newFakeCluster(
		fakePJ("ok-1", "ci-a", prowapi.SuccessState, fakeNow.Add(-time.Minute)),
		fakePJ("bad-1", "ci-b", prowapi.FailureState, fakeNow.Add(-time.Minute)),
	)
	for name, want := range map[string]int{"ok-1": 0, "bad-1": 1} {
		streams, _, out, errOut := iostreams.Test()
		code := fc.run(t, streams, "watch", name, "-n", "test-pods", "--timeout", "20s")
		if code != want || !strings.Contains(out.String(), string(fc.jobs(t, "test-pods")[name].Status.State)) {
			t.Errorf("watch %s: exit %d (want %d)\nstdout %s\nstderr %s", name, code, want, out, errOut)
		}
	}
}

// The command's flags reach the options the run function gets; the run
// function is replaced, so nothing connects.
func TestCmdsBuildOptions(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	f := newFakeCluster().factory(streams)
	var got *CreateOptions
	cmd := newCmdCreate(f, func(_ context.Context, o *CreateOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"-f", "x.yaml", "--wait", "--timeout", "1m", "--kubeconfig", "kc", "--context", "c", "-n", "ns"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.File != "x.yaml" || !got.Wait || got.Timeout != time.Minute || got.Cluster.Kubeconfig != "kc" || got.Cluster.Context != "c" || got.Cluster.Namespace != "ns" || got.Cluster.Connect == nil {
		t.Errorf("options %+v", got)
	}
}

// mkpj builds a job whose branches exclude --base-ref, as Prow's mkpj does,
// and says so on one line of standard error; --create creates it.
func TestMkpjOffBranchWarnsAndCreates(t *testing.T) {
	fc := newFakeCluster()
	streams, _, out, errOut := iostreams.Test()
	code := fc.run(t, streams, "mkpj", "--config-path", mkpjTestConfig, "--job-config-path", mkpjTestJobs,
		"--job", "post-repo-one-push", "--base-ref", "dev", "--base-sha", testSHA1, "--create", "-n", "test-pods")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "prowctl: warning: job post-repo-one-push does not run on branch dev (it is the postsubmit of org-a/repo-one (branches ^main$) in ") {
		t.Errorf("stderr:\n%s\nwant one warning line", errOut)
	}
	jobs := fc.jobs(t, "test-pods")
	if len(jobs) != 1 {
		t.Fatalf("%d jobs created, want 1\n%s", len(jobs), out)
	}
	for _, pj := range jobs {
		if pj.Spec.Job != "post-repo-one-push" || pj.Spec.Refs == nil || pj.Spec.Refs.BaseRef != "dev" || pj.Spec.Report {
			t.Errorf("created %+v", pj.Spec)
		}
	}
}

// logs prints the log of the test container of the job's pod (the fake
// clientset's log is "fake logs"), or says the job has no pod.
func TestLogs(t *testing.T) {
	withPod := fakePJ("with-pod", "hello", prowapi.PendingState, fakeNow)
	withPod.Spec.Namespace = "test-pods"
	withPod.Status.PodName = "pod-1"
	fc := newFakeCluster(withPod, fakePJ("no-pod", "hello", prowapi.TriggeredState, fakeNow))
	if _, err := fc.kube.CoreV1().Pods("test-pods").Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "pod-1", Namespace: "test-pods"},
		Status:     corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "test", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	streams, _, out, errOut := iostreams.Test()
	if code := fc.run(t, streams, "logs", "with-pod", "-n", "test-pods"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if out.String() != "fake logs" {
		t.Errorf("logs printed %q", out.String())
	}

	streams, _, _, errOut = iostreams.Test()
	if code := fc.run(t, streams, "logs", "no-pod", "-n", "test-pods"); code != 1 || !strings.Contains(errOut.String(), "ProwJob no-pod (triggered): no pod") {
		t.Errorf("logs of a job without a pod: exit %d, %q", code, errOut.String())
	}
}

// rerun JOB --last reruns the job's newest ProwJob.
func TestRerunLastOnFakeCluster(t *testing.T) {
	labelled := func(pj *prowapi.ProwJob, created time.Time) *prowapi.ProwJob {
		pj.Labels = map[string]string{"prow.k8s.io/job": pj.Spec.Job}
		pj.CreationTimestamp = metav1.NewTime(created)
		return pj
	}
	newest := labelled(fakePJ("a-new", "ci-a", prowapi.FailureState, fakeNow.Add(-time.Hour)), fakeNow.Add(-time.Hour))
	// What tells the runs apart: the rerun must carry it.
	newest.Spec.Context = "the-newest-run"
	fc := newFakeCluster(
		labelled(fakePJ("a-old", "ci-a", prowapi.SuccessState, fakeNow.Add(-2*time.Hour)), fakeNow.Add(-2*time.Hour)),
		newest,
		labelled(fakePJ("b-newest", "ci-b", prowapi.FailureState, fakeNow), fakeNow),
	)
	streams, _, _, errOut := iostreams.Test()
	if code := fc.run(t, streams, "rerun", "ci-a", "--last", "-n", "test-pods"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(errOut.String(), "the last run of ci-a: a-new (failure, created 2026-03-04T04:06:07Z)\n") {
		t.Errorf("stderr: %s", errOut)
	}
	var reruns []string
	for name, pj := range fc.jobs(t, "test-pods") {
		if name != "a-old" && name != "a-new" && name != "b-newest" {
			reruns = append(reruns, pj.Spec.Job+" "+pj.Spec.Context)
		}
	}
	if len(reruns) != 1 || reruns[0] != "ci-a the-newest-run" {
		t.Errorf("reruns %v, want one of a-new", reruns)
	}

	streams, _, _, errOut = iostreams.Test()
	if code := fc.run(t, streams, "rerun", "ci-none", "--last", "-n", "test-pods"); code != 1 || errOut.String() != "prowctl: job ci-none has no ProwJob in namespace test-pods\n" {
		t.Errorf("no run: exit %d: %s", code, errOut)
	}
	streams, _, _, errOut = iostreams.Test()
	if code := fc.run(t, streams, "rerun", "--last", "-f", "x.yaml"); code != 2 {
		t.Errorf("--last -f: exit %d: %s", code, errOut)
	}
}
