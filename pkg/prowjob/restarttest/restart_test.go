// Package restarttest checks that watching a ProwJob survives a restart of
// the apiserver. It has a package (so a cluster) of its own: while the
// apiserver is down, plank loses its leader lease and exits, which would
// break the cluster other tests share.
package restarttest

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	prowv1 "sigs.k8s.io/prow/pkg/client/clientset/versioned/typed/prowjobs/v1"

	"github.com/prowctl/prowctl/internal/testcluster"
	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/process"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// syncBuffer is a buffer Follow writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// restartAPIServer stops the cluster's kube-apiserver and starts it again
// with the same binary and flags, and waits until it is ready. It returns a
// function that stops the new process.
//
// testcluster has no restart of its own yet; this uses what pkg/cluster
// exports: the recorded process, the component's command and readiness
// check.
func restartAPIServer(t *testing.T, c *testcluster.Cluster) (stop func()) {
	t.Helper()
	var comp *cluster.Component
	for _, cc := range cluster.DefaultComponents() {
		if cc.Name == cluster.APIServerName {
			comp = &cc
		}
	}
	var proc *cluster.Process
	for _, cs := range c.State.Components {
		if cs.Name == cluster.APIServerName {
			proc = cs.Process
		}
	}
	if comp == nil || proc == nil {
		t.Fatal("no kube-apiserver in the cluster's state")
	}
	env := c.State.Env()
	// SIGTERM, then SIGKILL: a draining apiserver can take a minute to
	// end its watches, and a crash is a restart too.
	if err := syscall.Kill(proc.PID, syscall.SIGTERM); err != nil {
		t.Fatalf("stop kube-apiserver (pid %d): %v", proc.PID, err)
	}
	for i, deadline := 0, time.Now().Add(40*time.Second); running(proc.PID); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("kube-apiserver (pid %d) still running after SIGKILL", proc.PID)
		}
		if i == 100 {
			_ = syscall.Kill(proc.PID, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	log, err := os.OpenFile(env.LogPath(cluster.APIServerName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	// The same command Up started, through the same runner.
	cmd := comp.Command(env, proc.Binary)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.DieWithParent = true
	p, err := process.Exec{}.Start(cmd)
	if err != nil {
		t.Fatalf("start kube-apiserver: %v", err)
	}
	exited := make(chan struct{})
	go func() { <-p.Exited(); close(exited) }()
	stop = func() {
		_ = syscall.Kill(p.PID(), syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(p.PID(), syscall.SIGKILL)
			<-exited
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		if err := comp.Ready(ctx, env); err == nil {
			return stop
		}
		select {
		case <-exited:
			t.Fatalf("restarted kube-apiserver exited; see %s", env.LogPath(cluster.APIServerName))
		case <-ctx.Done():
			t.Fatal("restarted kube-apiserver not ready after 2m")
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// running says whether pid is alive: a zombie (exited, not yet reaped by
// pkg/cluster's Wait) is not.
func running(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

// countingProwJobs counts the watches started through it.
type countingProwJobs struct {
	prowv1.ProwJobInterface
	watches atomic.Int32
}

func (c *countingProwJobs) Watch(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	c.watches.Add(1)
	return c.ProwJobInterface.Watch(ctx, opts)
}

func TestWatchSurvivesAPIServerRestart(t *testing.T) {
	c := testcluster.Get(t)
	// Registered first so it runs last, after the namespace is deleted.
	var stopAPIServer func()
	t.Cleanup(func() {
		if stopAPIServer != nil {
			stopAPIServer()
		}
	})
	// A namespace plank does not look at: the test moves the job through
	// its states itself, so plank losing its lease does not matter.
	ns := c.Namespace(t)
	client, err := prowjob.Connect(context.Background(), prowjob.ConnectOptions{Kubeconfig: c.Kubeconfig, Context: c.Context, Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	counting := &countingProwJobs{ProwJobInterface: client.ProwJobs}
	client.ProwJobs = counting
	pj := &prowapi.ProwJob{
		ObjectMeta: metav1.ObjectMeta{Name: "restart-watch"},
		Spec:       prowapi.ProwJobSpec{Job: "ci-restart", Type: prowapi.PeriodicJob, Agent: prowapi.KubernetesAgent},
		Status:     prowapi.ProwJobStatus{State: prowapi.TriggeredState, StartTime: metav1.Now()},
	}
	if _, err := client.Create(context.Background(), pj); err != nil {
		t.Fatal(err)
	}
	setState := func(state prowapi.ProwJobState) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cur, err := client.ProwJobs.Get(ctx, pj.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cur.Status.State = state
		cur.Status.PodName = "restart-watch-pod"
		now := metav1.Now()
		if prowjob.Final(state) {
			cur.Status.CompletionTime = &now
		} else {
			cur.Status.PendingTime = &now
		}
		if _, err := client.ProwJobs.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	var out, errOut syncBuffer
	type result struct {
		pj  *prowapi.ProwJob
		err error
	}
	done := make(chan result, 1)
	go func() {
		pj, err := prowjob.Follow(context.Background(), client, pj.Name, prowjob.FollowOptions{Out: &out, ErrOut: &errOut, Timeout: 3 * time.Minute})
		done <- result{pj, err}
	}()
	waitFor := func(s string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for !strings.Contains(out.String(), s) {
			if time.Now().After(deadline) {
				t.Fatalf("no %q in the watch's output:\n%s", s, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitFor("triggered")
	setState(prowapi.PendingState)
	waitFor("pending")

	stopAPIServer = restartAPIServer(t, c)
	// The job ends only once the watch has resumed on the new apiserver,
	// so the end can only be seen through the resumed watch.
	for deadline := time.Now().Add(time.Minute); counting.watches.Load() < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("no new watch a minute after the restart (%d watches)\nstdout:\n%s\nstderr:\n%s", counting.watches.Load(), out.String(), errOut.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	setState(prowapi.SuccessState)

	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("Follow: %v\nstdout:\n%s\nstderr:\n%s", r.err, out.String(), errOut.String())
		}
		if r.pj.Status.State != prowapi.SuccessState {
			t.Errorf("final state %s", r.pj.Status.State)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("watch did not end 2m after the restart:\n%s\n%s", out.String(), errOut.String())
	}
	t.Logf("stdout:\n%s\nstderr:\n%s", out.String(), errOut.String())
	var states []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		states = append(states, strings.Fields(line)[1])
	}
	if got := strings.Join(states, " "); got != "triggered pending success" {
		t.Errorf("states %q, want each once: triggered pending success", got)
	}
	t.Logf("%d watches", counting.watches.Load())
}
