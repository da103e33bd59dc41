package prowjob

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/jobpreset"
	"github.com/prowctl/prowctl/pkg/redact"
)

// FollowOptions say where Follow and Submit print and how long they wait.
type FollowOptions struct {
	Out, ErrOut io.Writer
	// Timeout ends the wait with a *TimeoutError (exit code 2); 0 waits
	// for as long as the job runs.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

func (o FollowOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Follow watches the job called name and prints a line for each change of
// its state, pod or URL, until it ends. The error is nil when the job
// succeeded, a *FailedError when it failed, aborted or errored, and a
// *TimeoutError when it was still running after o.Timeout.
func Follow(ctx context.Context, c *Client, name string, o FollowOptions) (*prowapi.ProwJob, error) {
	var mu sync.Mutex // one line at a time on o.Out
	var pods *podProgress
	if c.Kube != nil {
		pods = &podProgress{c: c, out: o.Out, now: o.now, mu: &mu}
		pctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); pods.run(pctx) }()
		defer func() { stop(); <-done }()
	}
	pj, err := c.Watch(ctx, name, WatchOptions{
		Timeout: o.Timeout,
		OnChange: func(pj *prowapi.ProwJob) {
			mu.Lock()
			if pods != nil && pj.Complete() {
				// The job's end is the last line: a pod line the poller
				// got meanwhile is old news.
				pods.ended = true
			}
			fmt.Fprintln(o.Out, StateLine(pj, o.now()))
			mu.Unlock()
			if pods != nil && !pj.Complete() {
				pods.setPod(pj.Spec.Namespace, pj.Status.PodName)
			}
		},
		OnRetry: func(err error) {
			fmt.Fprintf(o.ErrOut, "%s  lost the apiserver of context %s (%v); reconnecting\n", o.now().Format("15:04:05"), c.Context, err)
		},
		OnReconnect: func() {
			fmt.Fprintf(o.ErrOut, "%s  reconnected\n", o.now().Format("15:04:05"))
		},
	})
	if err != nil {
		return pj, err
	}
	return pj, Result(pj)
}

// SubmitOptions say how to create a job.
type SubmitOptions struct {
	FollowOptions
	// Report keeps spec.report; otherwise it is set to false so a test job
	// posts nothing to GitHub.
	Report bool
	// Wait follows the job to its end (see Follow).
	Wait bool
}

// Submit creates pj, prints its name and how to follow it, and with o.Wait
// follows it to its end.
func Submit(ctx context.Context, c *Client, pj *prowapi.ProwJob, o SubmitOptions) (*prowapi.ProwJob, error) {
	created, added, err := c.CreateJob(ctx, pj, o.Report, o.now())
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(o.Out, "prowjob.prow.k8s.io/%s created in %s (job %s)\n", created.Name, c.where(), created.Spec.Job)
	if added != "" {
		fmt.Fprintf(o.Out, "the cluster's job preset (kube-public/%s) added: %s\n", jobpreset.Name, added)
	}
	if u := c.JobURL(created); u != "" {
		fmt.Fprintf(o.Out, "Deck: %s\n", redact.String(u))
	}
	if !o.Wait {
		fmt.Fprintf(o.Out, "follow it with: prowctl watch %s%s\n", created.Name, c.flags())
		return created, nil
	}
	return Follow(ctx, c, created.Name, o.FollowOptions)
}

// CreateJob creates a copy of pj as a new job: the server's bookkeeping of
// an old object dropped, spec.report false unless report, the state
// triggered and the start time now when unset, and the cluster's job preset
// applied. added says what the preset added ("" for nothing).
func (c *Client) CreateJob(ctx context.Context, pj *prowapi.ProwJob, report bool, now time.Time) (created *prowapi.ProwJob, added string, err error) {
	pj = pj.DeepCopy()
	// What `get -o yaml` printed can be created again: the server's
	// bookkeeping of the old object goes.
	pj.ResourceVersion, pj.UID, pj.Generation = "", "", 0
	pj.CreationTimestamp, pj.ManagedFields = metav1.Time{}, nil
	if !report {
		pj.Spec.Report = false
	}
	if pj.Status.State == "" {
		pj.Status.State = prowapi.TriggeredState
	}
	if pj.Status.StartTime.IsZero() {
		pj.Status.StartTime.Time = now
	}
	if added, err = c.addClusterPreset(ctx, pj); err != nil {
		return nil, "", err
	}
	created, err = c.Create(ctx, pj)
	return created, added, err
}

// flags are the command line flags that reach the client's namespace.
func (c *Client) flags() string {
	s := ""
	if c.Kubeconfig != "" {
		s += " --kubeconfig " + c.Kubeconfig
	}
	if c.Context != "" {
		s += " --context " + c.Context
	}
	return s + " -n " + c.Namespace
}
