package rehearse

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/client/clientset/versioned/fake"

	"github.com/prowctl/prowctl/pkg/prowjob"
)

// fakeClient is a prowjob.Client on a fake clientset, in namespace prow.
func fakeClient() (*prowjob.Client, *fake.Clientset) {
	cs := fake.NewSimpleClientset()
	return &prowjob.Client{ProwJobs: cs.ProwV1().ProwJobs("prow"), Kube: kubefake.NewSimpleClientset(), Namespace: "prow"}, cs
}

// finish plays plank: once n rehearsals exist, each ends in the state
// end gives its job (pending first, so that a state change is seen).
func finish(t *testing.T, cs *fake.Clientset, n int, end map[string]prowapi.ProwJobState) {
	t.Helper()
	ctx := context.Background()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		l, err := cs.ProwV1().ProwJobs("prow").List(ctx, metav1.ListOptions{})
		if err != nil || len(l.Items) < n {
			continue
		}
		for _, pj := range l.Items {
			pj.Status.State = end[pj.Labels[LabelOf]]
			pj.Status.CompletionTime = &metav1.Time{Time: pj.Status.StartTime.Add(90 * time.Second)}
			if _, err := cs.ProwV1().ProwJobs("prow").Update(ctx, &pj, metav1.UpdateOptions{}); err != nil {
				t.Error(err)
			}
		}
		return
	}
	t.Error("the rehearsals were never created")
}

func TestRun(t *testing.T) {
	base, head := load(t, "v1", "test", ""), load(t, "v2", "test", "")
	start := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		end     map[string]prowapi.ProwJobState
		wait    bool
		timeout time.Duration
		// wantErr is the error's type and ExitCode, "" for none.
		wantErr  string
		wantCode int
		// wantOut are lines the output must hold.
		wantOut []string
	}{{
		name:    "all succeed",
		end:     map[string]prowapi.ProwJobState{"pull-unit": prowapi.SuccessState, "post-build": prowapi.SuccessState, "ci-nightly": prowapi.SuccessState},
		wait:    true,
		wantOut: []string{"created rehearse-7-pull-unit", "rehearse-7-pull-unit  success     1m30s"},
	}, {
		name:     "one fails",
		end:      map[string]prowapi.ProwJobState{"pull-unit": prowapi.SuccessState, "post-build": prowapi.FailureState, "ci-nightly": prowapi.AbortedState},
		wait:     true,
		wantErr:  "2 of 3 rehearsals did not succeed: rehearse-ci-nightly (aborted), rehearse-post-build (failure)",
		wantCode: 1,
		wantOut:  []string{"rehearse-post-build   failure     1m30s"},
	}, {
		name:     "still running at the timeout",
		end:      map[string]prowapi.ProwJobState{"pull-unit": prowapi.PendingState, "post-build": prowapi.SuccessState, "ci-nightly": prowapi.PendingState},
		wait:     true,
		timeout:  300 * time.Millisecond,
		wantErr:  "2 rehearsals still running after 300ms: rehearse-ci-nightly, rehearse-7-pull-unit",
		wantCode: 2,
	}, {
		name:    "without wait, created and left",
		wantOut: []string{"created rehearse-ci-nightly", "created rehearse-post-build", "created rehearse-7-pull-unit"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := plan(t, base, head, Options{Refs: pr})
			if err != nil {
				t.Fatal(err)
			}
			c, cs := fakeClient()
			done := make(chan struct{})
			if tc.end != nil {
				go func() { defer close(done); finish(t, cs, len(p.Rehearsals), tc.end) }()
			} else {
				close(done)
			}
			var out bytes.Buffer
			created, err := Run(context.Background(), c, p, RunOptions{
				Out: &out, Wait: tc.wait, Timeout: tc.timeout, Poll: 10 * time.Millisecond,
				Now: func() time.Time { return start },
			})
			<-done
			if len(created) != 3 {
				t.Errorf("created %d rehearsals, want 3", len(created))
			}
			got, code := "", 0
			if err != nil {
				got = err.Error()
				var ec interface{ ExitCode() int }
				if !errors.As(err, &ec) {
					t.Fatalf("%v has no exit code", err)
				}
				code = ec.ExitCode()
			}
			if got != tc.wantErr || code != tc.wantCode {
				t.Errorf("error %q (exit %d), want %q (exit %d)", got, code, tc.wantErr, tc.wantCode)
			}
			for _, l := range tc.wantOut {
				if !strings.Contains(out.String(), l) {
					t.Errorf("output lacks %q:\n%s", l, out.String())
				}
			}
			// Every rehearsal on the cluster is one the plan made, under
			// its own name and never reporting.
			l, err := cs.ProwV1().ProwJobs("prow").List(context.Background(), metav1.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var jobs []string
			for _, pj := range l.Items {
				if pj.Spec.Report || pj.Labels[LabelRehearsal] != "true" {
					t.Errorf("%s: report %v, labels %v", pj.Name, pj.Spec.Report, pj.Labels)
				}
				jobs = append(jobs, pj.Spec.Job)
			}
			if diff := cmp.Diff([]string{"rehearse-7-pull-unit", "rehearse-ci-nightly", "rehearse-post-build"}, slices.Sorted(slices.Values(jobs))); diff != "" {
				t.Errorf("jobs on the cluster (-want +got):\n%s", diff)
			}
		})
	}
}

// A Prepare that fails creates nothing at all.
func TestRunPrepareFails(t *testing.T) {
	p, err := plan(t, load(t, "v1", "test", ""), load(t, "v2", "test", ""), Options{Refs: pr})
	if err != nil {
		t.Fatal(err)
	}
	c, cs := fakeClient()
	calls := 0
	_, err = Run(context.Background(), c, p, RunOptions{Out: &bytes.Buffer{}, Prepare: func(context.Context, *prowapi.ProwJob) error {
		calls++
		if calls == 2 {
			return errors.New("git server down")
		}
		return nil
	}})
	if err == nil || err.Error() != "git server down" {
		t.Fatalf("err = %v, want git server down", err)
	}
	l, _ := cs.ProwV1().ProwJobs("prow").List(context.Background(), metav1.ListOptions{})
	if len(l.Items) != 0 {
		t.Errorf("%d ProwJobs created, want none", len(l.Items))
	}
}

// Live output redraws the same lines in place.
func TestFollowLive(t *testing.T) {
	p, err := plan(t, load(t, "v1", "test", ""), load(t, "v2", "test", ""), Options{Refs: pr})
	if err != nil {
		t.Fatal(err)
	}
	c, cs := fakeClient()
	out := &drawn{first: make(chan struct{})}
	go func() {
		// The jobs end only once they were drawn running: a redraw must
		// follow.
		<-out.first
		finish(t, cs, len(p.Rehearsals), map[string]prowapi.ProwJobState{"pull-unit": prowapi.SuccessState, "post-build": prowapi.SuccessState, "ci-nightly": prowapi.SuccessState})
	}()
	if _, err := Run(context.Background(), c, p, RunOptions{Out: out, Wait: true, Live: true, Poll: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if !strings.Contains(out.b.String(), "\x1b[3A") || !strings.Contains(out.b.String(), "\x1b[2Krehearse-post-build   success") {
		t.Errorf("no redraw of the 3 lines in:\n%q", out.b.String())
	}
}

// drawn is Run's output, closing first at the first line drawn in place.
type drawn struct {
	mu    sync.Mutex
	b     bytes.Buffer
	first chan struct{}
	once  sync.Once
}

func (d *drawn) Write(p []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if bytes.HasPrefix(p, []byte("\x1b[2K")) {
		d.once.Do(func() { close(d.first) })
	}
	return d.b.Write(p)
}
