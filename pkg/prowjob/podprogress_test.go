package prowjob

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

func TestPodLine(t *testing.T) {
	run := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	wait := func(r string) corev1.ContainerState {
		return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: r}}
	}
	done := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{}}
	for _, tc := range []struct {
		name       string
		phase      corev1.PodPhase
		init, main []corev1.ContainerStatus
		want       string
	}{
		{"scheduled", corev1.PodPending, nil, nil, "pod pending"},
		{"cloning", corev1.PodPending,
			[]corev1.ContainerStatus{{Name: "clonerefs", State: run}, {Name: "initupload", State: wait("PodInitializing")}},
			[]corev1.ContainerStatus{{Name: "test", State: wait("PodInitializing")}},
			"pod pending, running clonerefs"},
		{"testing", corev1.PodRunning,
			[]corev1.ContainerStatus{{Name: "clonerefs", State: done}},
			[]corev1.ContainerStatus{{Name: "test", State: run}, {Name: "sidecar", State: run}},
			"pod running, running test, sidecar"},
		{"no image", corev1.PodPending, nil,
			[]corev1.ContainerStatus{{Name: "test", State: wait("ErrImagePull")}},
			"pod pending, waiting: test ErrImagePull"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{Status: corev1.PodStatus{Phase: tc.phase, InitContainerStatuses: tc.init, ContainerStatuses: tc.main}}
			if diff := cmp.Diff(tc.want, PodLine(pod)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// Once the job's final line is out, the pod poller prints nothing more:
// "failure" stays the last line of a watch (it raced with "pod failed").
func TestPodProgressQuietAfterTheEnd(t *testing.T) {
	for _, ended := range []bool{false, true} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "test-pods"}, Status: corev1.PodStatus{Phase: corev1.PodFailed}}
		var out bytes.Buffer
		var mu sync.Mutex
		p := &podProgress{c: &Client{Kube: kubefake.NewSimpleClientset(pod)}, out: &out, now: time.Now, mu: &mu, ended: ended}
		p.setPod("test-pods", "p")
		ctx, cancel := context.WithTimeout(context.Background(), 1200*time.Millisecond)
		p.run(ctx)
		cancel()
		mu.Lock()
		got := out.String()
		mu.Unlock()
		if printed := strings.Contains(got, "pod failed"); printed == ended {
			t.Errorf("ended %v: printed %q", ended, got)
		}
	}
}
