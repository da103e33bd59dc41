package prowjob

import (
	"bytes"
	"context"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"
)

// Rerun reads the old job from the cluster, creates a copy under a new name
// and leaves the old one as it was; with a file's job it reads nothing.
func TestRerunOnFakeCluster(t *testing.T) {
	old := newPJ("old-1", prowapi.FailureState)
	old.Spec.Report = true
	old.Labels = map[string]string{"keep": "yes", "prow.k8s.io/build-id": "123"}
	c, cs, _ := fakeClient(old)
	var out bytes.Buffer
	created, err := Rerun(context.Background(), c, RerunRequest{Name: "old-1", Follow: FollowOptions{Out: &out}})
	if err != nil {
		t.Fatal(err)
	}
	if created.Name == "old-1" || created.Spec.Job != "pull-unit" || created.Spec.Report || created.Status.State != prowapi.TriggeredState {
		t.Errorf("created %s job %s report %v state %s", created.Name, created.Spec.Job, created.Spec.Report, created.Status.State)
	}
	if created.Labels["keep"] != "yes" || created.Labels["prow.k8s.io/build-id"] != "" {
		t.Errorf("labels %v: want the old job's, without the old run's build id", created.Labels)
	}
	l, err := cs.ProwV1().ProwJobs("prow").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(l.Items) != 2 {
		t.Fatalf("%d jobs on the cluster, %v; want the old and the new", len(l.Items), err)
	}
	got, _ := c.Get(context.Background(), "old-1")
	if got.Status.State != prowapi.FailureState || !got.Spec.Report {
		t.Errorf("the old job changed: %+v", got.Status)
	}
	if !strings.HasPrefix(out.String(), "prowjob.prow.k8s.io/"+created.Name+" created in namespace prow of context test (job pull-unit)\n") {
		t.Errorf("output:\n%s", out.String())
	}

	// From a file: the cluster is not read, so a name it lacks is fine.
	fromFile := newPJ("not-on-cluster", prowapi.SuccessState)
	fromFile.Spec.Job = "from-file"
	if created, err = Rerun(context.Background(), c, RerunRequest{Old: fromFile, Follow: FollowOptions{Out: &out}}); err != nil || created.Spec.Job != "from-file" {
		t.Fatalf("rerun from a file: %v, %+v", err, created)
	}

	// --latest asks for the job's config by the old job's name.
	var asked string
	_, err = Rerun(context.Background(), c, RerunRequest{
		Name: "old-1", RerunOptions: RerunOptions{Latest: true},
		JobConfig: func(job string) (*config.Config, error) { asked = job; return &config.Config{}, nil },
		Follow:    FollowOptions{Out: &out},
	})
	if asked != "pull-unit" || err == nil || !strings.Contains(err.Error(), "presubmit job has no refs") {
		t.Errorf("latest: asked for %q, err %v", asked, err)
	}

	if _, err := Rerun(context.Background(), c, RerunRequest{Name: "missing"}); err == nil || err.Error() != "no ProwJob missing in namespace prow of context test" {
		t.Errorf("missing job: %v", err)
	}
}
