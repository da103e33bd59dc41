package jobdebug

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/client/clientset/versioned/fake"
	"sigs.k8s.io/prow/pkg/kube"
	"sigs.k8s.io/prow/pkg/pod-utils/decorate"

	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

// failedPresubmit is the repository's tf-k8s presubmit as mkpj builds it,
// ended in failure.
func failedPresubmit(t *testing.T) *prowapi.ProwJob {
	t.Helper()
	res, err := mkpj.Build(context.Background(), mkpj.Options{
		ConfigPath: "../../config/prow/config.yaml", JobConfigPath: "../../config/jobs",
		Query: mkpj.Query{Name: "tf-k8s-presubmit"},
		Refs:  mkpj.Refs{BaseRef: "master", BaseSHA: strings.Repeat("1", 40), PullNumber: 4, PullSHA: strings.Repeat("2", 40), PullAuthor: "alice"},
	})
	if err != nil {
		t.Fatal(err)
	}
	pj := res.ProwJob
	pj.Name, pj.Namespace = "5e7c1d2a-failed", "prow"
	pj.Status = prowapi.ProwJobStatus{State: prowapi.FailureState, BuildID: "1234", PodName: "5e7c1d2a-failed"}
	return &pj
}

// The copy is the job's pod as Prow builds it, minus what acts on the
// job's record, its command a wait.
func TestPod(t *testing.T) {
	pj := failedPresubmit(t)
	want, err := decorate.ProwJobToPod(*pj)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Pod(pj, "debug-x")
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "debug-x" || got.Namespace != "test-pods" {
		t.Errorf("pod %s/%s", got.Namespace, got.Name)
	}
	if _, ok := got.Labels[kube.CreatedByProw]; ok || got.Labels[LabelOf] != pj.Name || got.Labels[kube.ProwJobAnnotation] != "tf-k8s-presubmit" {
		t.Errorf("labels %v", got.Labels)
	}
	var inits []string
	for _, c := range got.Spec.InitContainers {
		inits = append(inits, c.Name)
	}
	if diff := cmp.Diff([]string{"clonerefs"}, inits); diff != "" {
		t.Errorf("init containers (-want +got):\n%s", diff)
	}
	if len(got.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want the test container alone", len(got.Spec.Containers))
	}
	test, orig := got.Spec.Containers[0], want.Spec.Containers[0]
	if test.Name != "test" || test.Image != orig.Image || test.WorkingDir != orig.WorkingDir || !strings.HasSuffix(test.WorkingDir, "/src/github.com/tensorflow/k8s") {
		t.Errorf("test container %s, image %s, working dir %q", test.Name, test.Image, test.WorkingDir)
	}
	if diff := cmp.Diff(orig.Env, test.Env); diff != "" {
		t.Errorf("env (-job +copy):\n%s", diff)
	}
	if diff := cmp.Diff(orig.VolumeMounts, test.VolumeMounts); diff != "" {
		t.Errorf("volume mounts (-job +copy):\n%s", diff)
	}
	if diff := cmp.Diff(want.Spec.Volumes, got.Spec.Volumes); diff != "" {
		t.Errorf("volumes (-job +copy):\n%s", diff)
	}
	if !strings.Contains(strings.Join(test.Command, " "), "sleep 21600") || test.Args != nil {
		t.Errorf("command %q args %q", test.Command, test.Args)
	}
	if got.Spec.RestartPolicy != corev1.RestartPolicyNever || got.Spec.ActiveDeadlineSeconds == nil || *got.Spec.ActiveDeadlineSeconds != 21600 {
		t.Errorf("restart %s, deadline %v", got.Spec.RestartPolicy, got.Spec.ActiveDeadlineSeconds)
	}

	jenkins := pj.DeepCopy()
	jenkins.Spec.Agent = prowapi.JenkinsAgent
	if _, err := Pod(jenkins, "x"); err == nil {
		t.Error("a Jenkins job has a pod copy")
	}
}

// Run makes the copy, runs the command in it once it runs, and deletes it;
// a command's exit code comes back as an *ExitError.
func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name     string
		code     int
		keep     bool
		wantErr  string
		wantPods int
	}{
		{name: "success, deleted", code: 0},
		{name: "exit 3, deleted", code: 3, wantErr: "the command in the debug pod exited 3"},
		{name: "kept", keep: true, wantPods: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pj := failedPresubmit(t)
			kube := kubefake.NewSimpleClientset()
			c := &prowjob.Client{ProwJobs: fake.NewSimpleClientset(pj).ProwV1().ProwJobs("prow"), Kube: kube, Namespace: "prow"}
			// The copy runs once created.
			go kubelet(kube, func(p *corev1.Pod) {
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "test", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
			})
			var ran []string
			var errOut bytes.Buffer
			err := Run(context.Background(), c, pj.Name, Options{
				Command: []string{"cat", "go.mod"}, ErrOut: &errOut, Keep: tc.keep,
				Exec: func(_ context.Context, ns, pod, container string, cmd []string, s Streams) (int, error) {
					ran = append(ran, ns+"/"+pod+"/"+container+": "+strings.Join(cmd, " "))
					return tc.code, nil
				},
			})
			got := ""
			if err != nil {
				got = err.Error()
				var ee *ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != tc.code {
					t.Errorf("err %v is not the command's exit %d", err, tc.code)
				}
			}
			if got != tc.wantErr {
				t.Errorf("err %q, want %q", got, tc.wantErr)
			}
			if len(ran) != 1 || !strings.HasPrefix(ran[0], "test-pods/debug-5e7c1d2a-failed-") || !strings.HasSuffix(ran[0], "/test: cat go.mod") {
				t.Errorf("ran %q", ran)
			}
			l, _ := kube.CoreV1().Pods("test-pods").List(context.Background(), metav1.ListOptions{})
			if len(l.Items) != tc.wantPods {
				t.Errorf("%d pods left, want %d", len(l.Items), tc.wantPods)
			}
			if !strings.Contains(errOut.String(), "a copy of tf-k8s-presubmit's test container") {
				t.Errorf("progress: %s", errOut.String())
			}
		})
	}
}

// A copy that cannot start says why, and goes.
func TestRunCloneFails(t *testing.T) {
	pj := failedPresubmit(t)
	kube := kubefake.NewSimpleClientset()
	c := &prowjob.Client{ProwJobs: fake.NewSimpleClientset(pj).ProwV1().ProwJobs("prow"), Kube: kube, Namespace: "prow"}
	go kubelet(kube, func(p *corev1.Pod) {
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "clonerefs", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}
	})
	err := Run(context.Background(), c, pj.Name, Options{ErrOut: &bytes.Buffer{}, Exec: func(context.Context, string, string, string, []string, Streams) (int, error) {
		t.Error("exec in a pod that never started")
		return 0, nil
	}})
	if err == nil || !strings.Contains(err.Error(), "init container clonerefs (checking out the refs) exited 1") {
		t.Errorf("err %v", err)
	}
	l, _ := kube.CoreV1().Pods("test-pods").List(context.Background(), metav1.ListOptions{})
	if len(l.Items) != 0 {
		t.Errorf("%d pods left", len(l.Items))
	}
}

// kubelet plays the node for the one pod the test makes: once it exists,
// status sets what its status becomes.
func kubelet(kube *kubefake.Clientset, status func(*corev1.Pod)) {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		l, _ := kube.CoreV1().Pods("test-pods").List(context.Background(), metav1.ListOptions{})
		if len(l.Items) == 1 {
			p := l.Items[0]
			status(&p)
			kube.CoreV1().Pods("test-pods").UpdateStatus(context.Background(), &p, metav1.UpdateOptions{})
			return
		}
	}
}
