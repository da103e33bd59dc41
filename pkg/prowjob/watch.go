package prowjob

import (
	"context"
	"errors"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
)

// Final says whether a job in state s has finished.
func Final(s prowapi.ProwJobState) bool {
	switch s {
	case prowapi.SuccessState, prowapi.FailureState, prowapi.AbortedState, prowapi.ErrorState:
		return true
	}
	return false
}

// TimeoutError says a watched job did not finish in time.
type TimeoutError struct {
	Name    string
	Timeout time.Duration
	State   prowapi.ProwJobState
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("ProwJob %s still %s after %s", e.Name, e.State, e.Timeout)
}

// ExitCode is 2: the job's result is unknown.
func (e *TimeoutError) ExitCode() int { return 2 }

// FailedError says a job ended in failure, aborted or error.
type FailedError struct {
	Name  string
	State prowapi.ProwJobState
}

func (e *FailedError) Error() string { return fmt.Sprintf("ProwJob %s ended in %s", e.Name, e.State) }

// ExitCode is 1.
func (e *FailedError) ExitCode() int { return 1 }

// Result is nil for a successful job and a *FailedError otherwise.
func Result(pj *prowapi.ProwJob) error {
	if pj.Status.State == prowapi.SuccessState {
		return nil
	}
	return &FailedError{Name: pj.Name, State: pj.Status.State}
}

// WatchOptions say how long to watch and whom to tell.
type WatchOptions struct {
	// Timeout ends the watch with a *TimeoutError; 0 means no limit.
	Timeout time.Duration
	// OnChange is called with the job when its state, pod or URL changes,
	// first with the job as the watch finds it.
	OnChange func(*prowapi.ProwJob)
	// OnRetry is called once when the apiserver cannot be reached and
	// OnReconnect once it can again.
	OnRetry     func(error)
	OnReconnect func()
	// MaxBackoff caps the wait between reconnection attempts; 0 means 5s.
	MaxBackoff time.Duration
}

// Watch follows the ProwJob called name with the watch API until it reaches
// a final state, and returns it. A watch the apiserver ends (expiry,
// "resourceVersion too old", a restart) is resumed from a fresh read.
func (c *Client) Watch(ctx context.Context, name string, o WatchOptions) (*prowapi.ProwJob, error) {
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	maxBackoff := o.MaxBackoff
	if maxBackoff <= 0 {
		maxBackoff = 5 * time.Second
	}
	w := &watcher{c: c, name: name, o: o, maxBackoff: maxBackoff}
	pj, err := w.run(ctx)
	if err != nil && ctx.Err() != nil && o.Timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		state := prowapi.ProwJobState("unknown")
		if w.last != nil {
			state = w.last.Status.State
		}
		return w.last, &TimeoutError{Name: name, Timeout: o.Timeout, State: state}
	}
	return pj, err
}

type watcher struct {
	c          *Client
	name       string
	o          WatchOptions
	maxBackoff time.Duration
	last       *prowapi.ProwJob
	down       bool
}

func (w *watcher) report(pj *prowapi.ProwJob) {
	setTypeMeta(pj)
	prev := w.last
	w.last = pj
	if prev != nil && prev.Status.State == pj.Status.State && prev.Status.PodName == pj.Status.PodName && prev.Status.URL == pj.Status.URL {
		return
	}
	if w.o.OnChange != nil {
		w.o.OnChange(pj)
	}
}

// lost records an outage and waits before the next attempt.
func (w *watcher) lost(ctx context.Context, err error, backoff *time.Duration) error {
	if !w.down {
		w.down = true
		if w.o.OnRetry != nil {
			w.o.OnRetry(err)
		}
	}
	if serr := sleep(ctx, *backoff); serr != nil {
		return fmt.Errorf("watch ProwJob %s: %w (last error: %v)", w.name, serr, err)
	}
	*backoff = min(*backoff*2, w.maxBackoff)
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (w *watcher) up() {
	if w.down {
		w.down = false
		if w.o.OnReconnect != nil {
			w.o.OnReconnect()
		}
	}
}

// fatal says whether err will not go away by trying again.
func fatal(err error) bool {
	return apierrors.IsNotFound(err) || apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) || apierrors.IsBadRequest(err)
}

func (w *watcher) run(ctx context.Context) (*prowapi.ProwJob, error) {
	backoff := 250 * time.Millisecond
	for {
		if err := ctx.Err(); err != nil {
			return w.last, fmt.Errorf("watch ProwJob %s: %w", w.name, err)
		}
		rctx, cancel := w.c.requestContext(ctx)
		pj, err := w.c.ProwJobs.Get(rctx, w.name, metav1.GetOptions{})
		cancel()
		if err != nil {
			if apierrors.IsNotFound(err) {
				return w.last, fmt.Errorf("no ProwJob %s in %s", w.name, w.c.where())
			}
			if fatal(err) {
				return w.last, fmt.Errorf("get ProwJob %s: %w", w.name, err)
			}
			if err := w.lost(ctx, err, &backoff); err != nil {
				return w.last, err
			}
			continue
		}
		w.up()
		backoff = 250 * time.Millisecond
		w.report(pj)
		if Final(pj.Status.State) {
			return pj, nil
		}
		wi, err := w.c.ProwJobs.Watch(ctx, metav1.ListOptions{
			FieldSelector:   fields.OneTermEqualSelector("metadata.name", w.name).String(),
			ResourceVersion: pj.ResourceVersion,
		})
		if err != nil {
			if fatal(err) {
				return w.last, fmt.Errorf("watch ProwJob %s: %w", w.name, err)
			}
			if err := w.lost(ctx, err, &backoff); err != nil {
				return w.last, err
			}
			continue
		}
		started := time.Now()
		done, err := w.consume(ctx, wi)
		wi.Stop()
		if done || err != nil {
			return w.last, err
		}
		// The apiserver ended the watch: read the job again and resume,
		// after a pause if watches keep ending at once.
		if time.Since(started) < time.Second {
			if err := sleep(ctx, backoff); err != nil {
				return w.last, fmt.Errorf("watch ProwJob %s: %w", w.name, err)
			}
			backoff = min(backoff*2, w.maxBackoff)
		}
	}
}

// consume reads events until the job is final (true), the job is deleted
// (an error) or the watch ends (false, nil).
func (w *watcher) consume(ctx context.Context, wi watch.Interface) (bool, error) {
	for {
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("watch ProwJob %s: %w", w.name, ctx.Err())
		case ev, ok := <-wi.ResultChan():
			if !ok {
				return false, nil
			}
			switch ev.Type {
			case watch.Added, watch.Modified:
				pj, ok := ev.Object.(*prowapi.ProwJob)
				if !ok || pj.Name != w.name {
					continue
				}
				w.report(pj)
				if Final(pj.Status.State) {
					return true, nil
				}
			case watch.Deleted:
				if pj, ok := ev.Object.(*prowapi.ProwJob); ok && pj.Name == w.name {
					return false, fmt.Errorf("ProwJob %s was deleted while %s", w.name, w.last.Status.State)
				}
			case watch.Error:
				// Expired ("resourceVersion too old") and other watch
				// errors end this watch; the caller reads and resumes.
				return false, nil
			}
		}
	}
}
