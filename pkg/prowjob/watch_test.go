package prowjob

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	clienttesting "k8s.io/client-go/testing"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/client/clientset/versioned/fake"
)

func newPJ(name string, state prowapi.ProwJobState) *prowapi.ProwJob {
	return &prowapi.ProwJob{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "prow"},
		Spec:       prowapi.ProwJobSpec{Job: "pull-unit", Type: prowapi.PresubmitJob},
		Status:     prowapi.ProwJobStatus{State: state, StartTime: metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))},
	}
}

// fakeClient returns a client on a fake clientset and a channel that gets a
// value each time a watch starts, so tests change the job only once the
// watch would see it.
func fakeClient(objs ...runtime.Object) (*Client, *fake.Clientset, chan struct{}) {
	cs := fake.NewSimpleClientset(objs...)
	started := make(chan struct{}, 10)
	cs.PrependWatchReactor("prowjobs", func(clienttesting.Action) (bool, watch.Interface, error) {
		started <- struct{}{}
		return false, nil, nil
	})
	return &Client{ProwJobs: cs.ProwV1().ProwJobs("prow"), Namespace: "prow", Context: "test"}, cs, started
}

func setState(t *testing.T, c *Client, name string, state prowapi.ProwJobState, pod string) {
	t.Helper()
	pj, err := c.ProwJobs.Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Error(err)
		return
	}
	pj.Status.State = state
	pj.Status.PodName = pod
	if Final(state) {
		now := metav1.Now()
		pj.Status.CompletionTime = &now
	}
	if _, err := c.ProwJobs.Update(context.Background(), pj, metav1.UpdateOptions{}); err != nil {
		t.Error(err)
	}
}

type recorder struct {
	mu     sync.Mutex
	states []string
}

func (r *recorder) onChange(pj *prowapi.ProwJob) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.states = append(r.states, string(pj.Status.State)+"/"+pj.Status.PodName)
}

func (r *recorder) get() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.states...)
}

func TestWatchToSuccess(t *testing.T) {
	c, _, started := fakeClient(newPJ("a", prowapi.TriggeredState))
	rec := &recorder{}
	go func() {
		<-started
		setState(t, c, "a", prowapi.PendingState, "a-pod")
		setState(t, c, "a", prowapi.PendingState, "a-pod") // no change: not reported
		setState(t, c, "a", prowapi.SuccessState, "a-pod")
	}()
	pj, err := c.Watch(context.Background(), "a", WatchOptions{OnChange: rec.onChange, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if pj.Status.State != prowapi.SuccessState || Result(pj) != nil {
		t.Fatalf("final state %s, result %v", pj.Status.State, Result(pj))
	}
	if diff := cmp.Diff([]string{"triggered/", "pending/a-pod", "success/a-pod"}, rec.get()); diff != "" {
		t.Errorf("reported states (-want +got):\n%s", diff)
	}
}

func TestWatchFailureIsExitCode1(t *testing.T) {
	c, _, started := fakeClient(newPJ("a", prowapi.PendingState))
	go func() {
		<-started
		setState(t, c, "a", prowapi.FailureState, "a-pod")
	}()
	pj, err := c.Watch(context.Background(), "a", WatchOptions{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var fe *FailedError
	if err := Result(pj); !errors.As(err, &fe) || fe.ExitCode() != 1 || err.Error() != "ProwJob a ended in failure" {
		t.Fatalf("Result = %v", err)
	}
}

func TestWatchAlreadyFinished(t *testing.T) {
	c, _, _ := fakeClient(newPJ("a", prowapi.AbortedState))
	pj, err := c.Watch(context.Background(), "a", WatchOptions{})
	if err != nil || pj.Status.State != prowapi.AbortedState {
		t.Fatalf("Watch = %v, %v", pj, err)
	}
}

func TestWatchTimeoutIsExitCode2(t *testing.T) {
	c, _, _ := fakeClient(newPJ("a", prowapi.PendingState))
	start := time.Now()
	_, err := c.Watch(context.Background(), "a", WatchOptions{Timeout: 200 * time.Millisecond})
	var te *TimeoutError
	if !errors.As(err, &te) || te.ExitCode() != 2 {
		t.Fatalf("error = %v, want TimeoutError", err)
	}
	if want := "ProwJob a still pending after 200ms"; err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %s", d)
	}
}

func TestWatchNotFound(t *testing.T) {
	c, _, _ := fakeClient()
	_, err := c.Watch(context.Background(), "nope", WatchOptions{Timeout: 5 * time.Second})
	if err == nil || err.Error() != "no ProwJob nope in namespace prow of context test" {
		t.Fatalf("error = %v", err)
	}
}

func TestWatchDeleted(t *testing.T) {
	c, _, started := fakeClient(newPJ("a", prowapi.PendingState))
	go func() {
		<-started
		_ = c.ProwJobs.Delete(context.Background(), "a", metav1.DeleteOptions{})
	}()
	_, err := c.Watch(context.Background(), "a", WatchOptions{Timeout: 5 * time.Second})
	if err == nil || !strings.Contains(err.Error(), "ProwJob a was deleted while pending") {
		t.Fatalf("error = %v", err)
	}
}

// An expired watch ("resourceVersion too old") and an apiserver that cannot
// be reached for a while are both survived.
func TestWatchSurvivesExpiryAndOutage(t *testing.T) {
	c, cs, _ := fakeClient(newPJ("a", prowapi.PendingState))
	var watches, failedGets atomic.Int32
	cs.PrependWatchReactor("prowjobs", func(clienttesting.Action) (bool, watch.Interface, error) {
		if watches.Add(1) == 1 {
			fw := watch.NewFakeWithChanSize(1, false)
			fw.Error(&apierrors.NewResourceExpired("too old resource version: 1 (5)").ErrStatus)
			return true, fw, nil
		}
		// The second watch: the job finishes while the apiserver is down.
		// The fake holds its lock here, so go through its tracker.
		gvr := prowapi.SchemeGroupVersion.WithResource("prowjobs")
		obj, err := cs.Tracker().Get(gvr, "prow", "a")
		if err != nil {
			t.Error(err)
		} else {
			pj := obj.(*prowapi.ProwJob)
			pj.Status.State, pj.Status.PodName = prowapi.SuccessState, "a-pod"
			if err := cs.Tracker().Update(gvr, pj, "prow"); err != nil {
				t.Error(err)
			}
		}
		return true, nil, errors.New("connection refused")
	})
	cs.PrependReactor("get", "prowjobs", func(clienttesting.Action) (bool, runtime.Object, error) {
		if watches.Load() == 2 && failedGets.Add(1) <= 2 {
			return true, nil, apierrors.NewServiceUnavailable("apiserver restarting")
		}
		return false, nil, nil
	})
	rec := &recorder{}
	var retries, reconnects atomic.Int32
	pj, err := c.Watch(context.Background(), "a", WatchOptions{
		Timeout:     20 * time.Second,
		OnChange:    rec.onChange,
		OnRetry:     func(error) { retries.Add(1) },
		OnReconnect: func() { reconnects.Add(1) },
		MaxBackoff:  100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if pj.Status.State != prowapi.SuccessState {
		t.Fatalf("state %s", pj.Status.State)
	}
	if diff := cmp.Diff([]string{"pending/", "success/a-pod"}, rec.get()); diff != "" {
		t.Errorf("states (-want +got):\n%s", diff)
	}
	if retries.Load() != 1 || reconnects.Load() != 1 {
		t.Errorf("retries %d, reconnects %d, want 1 and 1", retries.Load(), reconnects.Load())
	}
	if watches.Load() != 2 {
		t.Errorf("%d watches, want 2", watches.Load())
	}
}

func TestWatchForbiddenIsNotRetried(t *testing.T) {
	c, cs, _ := fakeClient(newPJ("a", prowapi.PendingState))
	cs.PrependReactor("get", "prowjobs", func(clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "prow.k8s.io", Resource: "prowjobs"}, "a", errors.New("no"))
	})
	_, err := c.Watch(context.Background(), "a", WatchOptions{Timeout: 5 * time.Second})
	if err == nil || !apierrors.IsForbidden(errors.Unwrap(err)) {
		t.Fatalf("error = %v, want forbidden", err)
	}
}
