package prowjob

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/mkpj"
)

const sha1 = "1111111111111111111111111111111111111111"

// finished returns a presubmit of the mkpj testdata config as plank leaves
// it after a failed run.
func finished(t *testing.T) (*prowapi.ProwJob, *config.Config) {
	t.Helper()
	res, err := mkpj.Build(context.Background(), mkpj.Options{
		ConfigPath:    "../mkpj/testdata/compare/config.yaml",
		JobConfigPath: "../mkpj/testdata/compare/jobs",
		Query:         mkpj.Query{Name: "pull-repo-one-unit"},
		Refs:          mkpj.Refs{BaseRef: "main", BaseSHA: sha1, PullNumber: 3, PullSHA: sha1, PullAuthor: "alice"},
	})
	if err != nil {
		t.Fatal(err)
	}
	old := res.ProwJob
	old.Labels["prow.k8s.io/build-id"] = "123"
	old.Labels["event-GUID"] = "guid-1"
	old.Labels["custom"] = "kept"
	old.Annotations["kubectl.kubernetes.io/last-applied-configuration"] = "{}"
	old.ResourceVersion = "42"
	old.UID = "uid-1"
	old.CreationTimestamp = metav1.NewTime(time.Now().Add(-time.Hour))
	done := metav1.NewTime(time.Now().Add(-50 * time.Minute))
	old.Status = prowapi.ProwJobStatus{
		StartTime: metav1.NewTime(time.Now().Add(-time.Hour)), PendingTime: &done, CompletionTime: &done,
		State: prowapi.FailureState, Description: "Job failed.", URL: "https://prow.example/view/x", PodName: old.Name, BuildID: "123",
	}
	return &old, res.Config
}

func TestNewRerun(t *testing.T) {
	old, cfg := finished(t)
	before := old.DeepCopy()
	pj, err := NewRerun(old, RerunOptions{Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, old); diff != "" {
		t.Fatalf("NewRerun changed the old job:\n%s", diff)
	}
	if pj.Name == old.Name || pj.Name == "" {
		t.Errorf("name %q, want a new one", pj.Name)
	}
	if pj.ResourceVersion != "" || pj.UID != "" || !pj.CreationTimestamp.IsZero() {
		t.Errorf("object meta not reset: %+v", pj.ObjectMeta)
	}
	if pj.Status.State != prowapi.TriggeredState || pj.Status.CompletionTime != nil || pj.Status.PendingTime != nil ||
		pj.Status.PodName != "" || pj.Status.BuildID != "" || pj.Status.URL != "" || pj.Status.Description != "" {
		t.Errorf("status not reset: %+v", pj.Status)
	}
	if time.Since(pj.Status.StartTime.Time) > time.Minute {
		t.Errorf("start time %s, want now", pj.Status.StartTime)
	}
	if _, ok := pj.Labels["prow.k8s.io/build-id"]; ok {
		t.Error("kept the controller's build-id label")
	}
	if _, ok := pj.Annotations["kubectl.kubernetes.io/last-applied-configuration"]; ok {
		t.Error("kept kubectl's annotation")
	}
	for k, want := range map[string]string{"custom": "kept", "event-GUID": "guid-1", "prow.k8s.io/job": "pull-repo-one-unit", "preset-service-account": "true"} {
		if pj.Labels[k] != want {
			t.Errorf("label %s = %q, want %q", k, pj.Labels[k], want)
		}
	}
	if pj.Spec.Report {
		t.Error("spec.report is true without --report")
	}
	wantSpec := old.Spec
	wantSpec.Report = false
	if diff := cmp.Diff(wantSpec, pj.Spec); diff != "" {
		t.Errorf("spec (-want +got):\n%s", diff)
	}

	pj, err = NewRerun(old, RerunOptions{Config: cfg, Report: true})
	if err != nil || !pj.Spec.Report {
		t.Errorf("with Report: report %v, err %v", pj.Spec.Report, err)
	}
}

func TestNewRerunScheduling(t *testing.T) {
	old, cfg := finished(t)
	c := *cfg
	c.Scheduler.Enabled = true
	pj, err := NewRerun(old, RerunOptions{Config: &c})
	if err != nil || pj.Status.State != prowapi.SchedulingState {
		t.Fatalf("state %s, err %v; want scheduling", pj.Status.State, err)
	}
}

func TestNewRerunLatest(t *testing.T) {
	old, _ := finished(t)
	cfg, err := mkpj.LoadAll("../mkpj/testdata/compare/config.yaml", "../mkpj/testdata/compare/jobs")
	if err != nil {
		t.Fatal(err)
	}
	// The job has changed in the config since old ran.
	old.Spec.PodSpec.Containers[0].Image = "golang:1.0"
	old.Labels["stale"] = "yes"
	pj, err := NewRerun(old, RerunOptions{Config: cfg, Latest: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := pj.Spec.PodSpec.Containers[0].Image; got != "golang:1.22" {
		t.Errorf("image %s, want the config's golang:1.22", got)
	}
	if diff := cmp.Diff(old.Spec.Refs, pj.Spec.Refs); diff != "" {
		t.Errorf("refs (-old +new):\n%s", diff)
	}
	if pj.Labels["stale"] != "" || pj.Labels["event-GUID"] != "guid-1" {
		t.Errorf("labels %v: want the config's plus event-GUID", pj.Labels)
	}
	if m := mkpj.Matches(cfg, "pull-repo-one-unit"); m[0].Base().Labels["event-GUID"] != "" {
		t.Error("NewRerun wrote into the config's labels")
	}

	old.Spec.Refs.BaseRef = "release-1.0"
	old.Spec.Job = "pull-repo-one-e2e"
	if _, err := NewRerun(old, RerunOptions{Config: cfg, Latest: true}); err == nil || !strings.Contains(err.Error(), "does not run on branch release-1.0") {
		t.Errorf("error = %v, want the branch filter to apply", err)
	}
	old.Spec.Job = "pull-gone"
	if _, err := NewRerun(old, RerunOptions{Config: cfg, Latest: true}); err == nil || !strings.Contains(err.Error(), "no job pull-gone") {
		t.Errorf("error = %v, want no job", err)
	}
}

func TestCreateCollision(t *testing.T) {
	c, _, _ := fakeClient(newPJ("a", prowapi.SuccessState))
	_, err := c.Create(context.Background(), newPJ("a", prowapi.TriggeredState))
	want := "ProwJob a already exists in namespace prow of context test: `prowctl rerun a` runs it again under a new name"
	if err == nil || err.Error() != want {
		t.Fatalf("error = %v, want %q", err, want)
	}
	created, err := c.Create(context.Background(), newPJ("b", prowapi.TriggeredState))
	if err != nil || created.Kind != "ProwJob" || created.APIVersion != "prow.k8s.io/v1" {
		t.Fatalf("Create = %+v, %v", created, err)
	}
}
