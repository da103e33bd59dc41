package rehearse

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/prowjob"
	"github.com/prowctl/prowctl/pkg/redact"
)

// RunOptions say how to create and follow a plan's rehearsals.
type RunOptions struct {
	// Out gets a line per created rehearsal and, with Wait, the progress.
	Out io.Writer
	// Live redraws one line per job in place (a terminal); otherwise a
	// line is printed whenever a job's state changes.
	Live bool
	// Wait follows the rehearsals to their end.
	Wait bool
	// Timeout ends the wait with a *TimeoutError; 0 waits as long as
	// they run.
	Timeout time.Duration
	// Poll is how often the jobs are read; 0 means a second.
	Poll time.Duration
	// Prepare, when set, gets each ProwJob before it is created (the
	// personal cluster points its refs at a local checkout).
	Prepare func(context.Context, *prowapi.ProwJob) error
	Now     func() time.Time
}

func (o RunOptions) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// FailedError says rehearsals did not succeed.
type FailedError struct {
	// Jobs are the rehearsals' job names and how each ended.
	Jobs []string
	Of   int
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("%d of %d rehearsals did not succeed: %s", len(e.Jobs), e.Of, strings.Join(e.Jobs, ", "))
}

// ExitCode is 1.
func (e *FailedError) ExitCode() int { return 1 }

// TimeoutError says rehearsals were still running after the timeout.
type TimeoutError struct {
	Running []string
	Timeout time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%d rehearsals still running after %s: %s", len(e.Running), e.Timeout, strings.Join(e.Running, ", "))
}

// ExitCode is 2: their result is unknown.
func (e *TimeoutError) ExitCode() int { return 2 }

// Run creates the plan's rehearsals on c and, with o.Wait, follows them
// until all have ended: nil when all succeeded, a *FailedError when any
// did not, a *TimeoutError after o.Timeout. Every rehearsal is prepared
// before the first is created, so a failing Prepare creates nothing.
func Run(ctx context.Context, c *prowjob.Client, p *Plan, o RunOptions) ([]prowapi.ProwJob, error) {
	pjs := make([]prowapi.ProwJob, len(p.Rehearsals))
	for i := range p.Rehearsals {
		pjs[i] = *p.Rehearsals[i].ProwJob.DeepCopy()
		if o.Prepare != nil {
			if err := o.Prepare(ctx, &pjs[i]); err != nil {
				return nil, err
			}
		}
	}
	var created []prowapi.ProwJob
	for i := range pjs {
		// Planned earlier (images built since, maybe): a rehearsal starts
		// when it is created, as a job Prow triggers does.
		pjs[i].Status.StartTime = metav1.Time{}
		pj, _, err := c.CreateJob(ctx, &pjs[i], false, o.now())
		if err != nil {
			return created, fmt.Errorf("%w (%d of %d rehearsals were created before this)", err, len(created), len(pjs))
		}
		created = append(created, *pj)
		line := fmt.Sprintf("created %s  %s", pj.Spec.Job, pj.Name)
		if u := c.JobURL(pj); u != "" {
			line += "  " + redact.String(u)
		}
		fmt.Fprintln(o.Out, line)
	}
	if !o.Wait || len(created) == 0 {
		return created, nil
	}
	return follow(ctx, c, created, o)
}

// follow polls the rehearsals until all have ended, printing progress.
func follow(ctx context.Context, c *prowjob.Client, jobs []prowapi.ProwJob, o RunOptions) ([]prowapi.ProwJob, error) {
	poll := o.Poll
	if poll <= 0 {
		poll = time.Second
	}
	var deadline <-chan time.Time
	if o.Timeout > 0 {
		t := time.NewTimer(o.Timeout)
		defer t.Stop()
		deadline = t.C
	}
	width := 0
	for _, pj := range jobs {
		width = max(width, len(pj.Spec.Job))
	}
	printed := make([]string, len(jobs))
	drawn := false
	for {
		for i := range jobs {
			if prowjob.Final(jobs[i].Status.State) {
				continue
			}
			pj, err := c.Get(ctx, jobs[i].Name)
			if err != nil {
				if ctx.Err() != nil {
					return jobs, ctx.Err()
				}
				// A lost apiserver is retried at the next poll.
				continue
			}
			jobs[i] = *pj
		}
		lines := make([]string, len(jobs))
		for i := range jobs {
			lines[i] = progressLine(c, &jobs[i], width, o.now())
		}
		if o.Live {
			if drawn {
				fmt.Fprintf(o.Out, "\x1b[%dA", len(lines))
			}
			for _, l := range lines {
				fmt.Fprintf(o.Out, "\x1b[2K%s\n", l)
			}
			drawn = true
		} else {
			for i, l := range lines {
				// Durations tick every poll: print a job again only when
				// its state or URL changed.
				key := string(jobs[i].Status.State) + " " + jobs[i].Status.URL
				if printed[i] != key {
					printed[i] = key
					fmt.Fprintln(o.Out, l)
				}
			}
		}
		if allFinal(jobs) {
			return jobs, outcome(jobs)
		}
		select {
		case <-ctx.Done():
			return jobs, ctx.Err()
		case <-deadline:
			var running []string
			for _, pj := range jobs {
				if !prowjob.Final(pj.Status.State) {
					running = append(running, pj.Spec.Job)
				}
			}
			return jobs, &TimeoutError{Running: running, Timeout: o.Timeout}
		case <-time.After(poll):
		}
	}
}

// progressLine is one job's line: its name, state, how long it has run,
// and where it shows.
func progressLine(c *prowjob.Client, pj *prowapi.ProwJob, width int, now time.Time) string {
	end := now
	if pj.Status.CompletionTime != nil {
		end = pj.Status.CompletionTime.Time
	}
	d := end.Sub(pj.Status.StartTime.Time).Truncate(time.Second)
	if pj.Status.StartTime.IsZero() || d < 0 {
		d = 0
	}
	line := fmt.Sprintf("%-*s  %-9s  %6s", width, pj.Spec.Job, pj.Status.State, d)
	if u := c.JobURL(pj); u != "" {
		line += "  " + redact.String(u)
	}
	return line
}

func allFinal(jobs []prowapi.ProwJob) bool {
	for _, pj := range jobs {
		if !prowjob.Final(pj.Status.State) {
			return false
		}
	}
	return true
}

// outcome is nil when every job succeeded.
func outcome(jobs []prowapi.ProwJob) error {
	var failed []string
	for _, pj := range jobs {
		if pj.Status.State != prowapi.SuccessState {
			failed = append(failed, pj.Spec.Job+" ("+string(pj.Status.State)+")")
		}
	}
	if failed == nil {
		return nil
	}
	return &FailedError{Jobs: failed, Of: len(jobs)}
}
