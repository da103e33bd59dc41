package prowjob

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
)

func TestSubmit(t *testing.T) {
	c, _, _ := fakeClient()
	pj := newPJ("a", "")
	pj.Status.StartTime = metav1.Time{}
	pj.Spec.Report = true
	pj.ResourceVersion, pj.UID = "7", "uid"
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var out bytes.Buffer
	created, err := Submit(context.Background(), c, pj, SubmitOptions{FollowOptions: FollowOptions{Out: &out, Now: func() time.Time { return now }}})
	if err != nil {
		t.Fatal(err)
	}
	if created.Spec.Report || created.Status.State != prowapi.TriggeredState || !created.Status.StartTime.Time.Equal(now) || created.UID == "uid" {
		t.Errorf("created %+v", created)
	}
	if pj.Spec.Report != true {
		t.Error("Submit changed its argument")
	}
	want := "prowjob.prow.k8s.io/a created in namespace prow of context test (job pull-unit)\nfollow it with: prowctl watch a --context test -n prow\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}

	pj = newPJ("b", prowapi.TriggeredState)
	pj.Spec.Report = true
	created, err = Submit(context.Background(), c, pj, SubmitOptions{Report: true, FollowOptions: FollowOptions{Out: &out}})
	if err != nil || !created.Spec.Report {
		t.Errorf("with Report: %v, %v", created.Spec.Report, err)
	}
}

func TestSubmitWaitFailure(t *testing.T) {
	c, _, started := fakeClient()
	go func() {
		<-started
		setState(t, c, "a", prowapi.ErrorState, "")
	}()
	var out bytes.Buffer
	_, err := Submit(context.Background(), c, newPJ("a", prowapi.TriggeredState), SubmitOptions{Wait: true, FollowOptions: FollowOptions{Out: &out, ErrOut: &out, Timeout: 10 * time.Second}})
	if err == nil || err.Error() != "ProwJob a ended in error" {
		t.Fatalf("error = %v", err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "triggered") || !strings.Contains(lines[2], "error") {
		t.Errorf("output:\n%s", out.String())
	}
}
