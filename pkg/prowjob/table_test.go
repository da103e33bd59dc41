package prowjob

import (
	"bytes"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
)

func TestPrintTable(t *testing.T) {
	now := time.Date(2026, 1, 2, 4, 0, 0, 0, time.UTC)
	done := newPJ("b2c", prowapi.SuccessState)
	end := metav1.NewTime(done.Status.StartTime.Add(95 * time.Second))
	done.Status.CompletionTime = &end
	running := newPJ("a1b", prowapi.PendingState)
	running.Spec.Job = "ci-nightly"
	running.Spec.Type = prowapi.PeriodicJob
	running.CreationTimestamp = metav1.NewTime(now.Add(-3 * time.Minute))
	running.Status.StartTime = running.CreationTimestamp
	var out bytes.Buffer
	if err := PrintTable(&out, []prowapi.ProwJob{*done, *running}, now); err != nil {
		t.Fatal(err)
	}
	want := `NAME   JOB          TYPE        STATE     AGE   DURATION
b2c    pull-unit    presubmit   success   55m   95s
a1b    ci-nightly   periodic    pending   3m    3m
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestStateLine(t *testing.T) {
	pj := newPJ("a", prowapi.FailureState)
	end := metav1.NewTime(time.Date(2026, 1, 2, 3, 9, 0, 0, time.Local))
	pj.Status.CompletionTime = &end
	pj.Status.PodName = "a"
	pj.Status.URL = "https://prow.example/view/gs/b/a"
	pj.Status.Description = "Job failed."
	want := "03:09:00  failure    pod a  https://prow.example/view/gs/b/a  (Job failed.)"
	if got := StateLine(pj, time.Now()); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}
