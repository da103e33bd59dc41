package steps

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/process"
)

// TestPipelineOnGKE runs the built-in kinds through the runner: a failing
// test step skips nothing that is always, teardown deletes the GKE cluster
// the run created, and every gcloud command line is as recorded.
func TestPipelineOnGKE(t *testing.T) {
	chartDir, _ := filepath.Abs("../../../testdata/chart/tf-operator")
	work := t.TempDir()
	spec := `steps:
  - name: registry
    uses: registry
  - name: build-image
    uses: build-image
    needs: [registry]
    with: {package: ./testdata/operator, name: tf-operator}
  - name: build-chart
    uses: build-chart
    needs: [registry]
    with: {chart: ` + chartDir + `}
  - name: cluster-up
    uses: cluster-up
    with:
      provider: gke
      dir: ` + work + `
      gke: {project: prowctl-e2e, zone: us-central1-a, numNodes: 1}
  - name: test
    uses: test
    needs: [build-image, build-chart, cluster-up]
    with: {command: 'test -n "$KUBECONFIG" && exit 1'}
  - name: teardown
    uses: teardown
    always: true
`
	p, err := e2e.ParsePipeline("e2e.yaml", []byte(spec), Builtin())
	if err != nil {
		t.Fatal(err)
	}
	tools := fakeTools()
	runner := &process.Recorder{Fn: func(ctx context.Context, c process.Cmd) error {
		if c.Name == "sh" {
			return process.Exec{}.Run(ctx, c)
		}
		return tools.Fn(ctx, c)
	}}
	art := t.TempDir()
	rep, err := e2e.Run(context.Background(), p, e2e.Options{
		Artifacts: art,
		Dir:       t.TempDir(),
		Job:       e2e.LocalJobSpec("tf-k8s-e2e-gke", "77"),
		Runner:    runner,
		Out:       io.Discard,
		Environ:   append(os.Environ(), "HOME="+t.TempDir()),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]e2e.Status{}
	for _, r := range rep.Results {
		got[r.Name] = r.Status
	}
	want := map[string]e2e.Status{"registry": e2e.Passed, "build-image": e2e.Passed, "build-chart": e2e.Passed, "cluster-up": e2e.Passed, "test": e2e.Failed, "teardown": e2e.Passed}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	var gcloud []string
	for _, c := range runner.Calls() {
		if strings.HasPrefix(c, "gcloud ") {
			gcloud = append(gcloud, c)
		}
	}
	wantGcloud := []string{
		"gcloud container clusters create e2e-tf-k8s-e2e-gke-77 --project=prowctl-e2e --zone=us-central1-a --num-nodes=1 --labels=created-by=prowctl,job=tf-k8s-e2e-gke,build=77 --quiet",
		"gcloud container clusters get-credentials e2e-tf-k8s-e2e-gke-77 --project=prowctl-e2e --zone=us-central1-a",
		"gcloud container clusters delete e2e-tf-k8s-e2e-gke-77 --project=prowctl-e2e --zone=us-central1-a --quiet",
	}
	if diff := cmp.Diff(wantGcloud, gcloud); diff != "" {
		t.Errorf("gcloud calls (-want +got):\n%s", diff)
	}
	st, err := e2e.OpenState(e2e.StatePath(art)).All()
	if err != nil {
		t.Fatal(err)
	}
	if st[e2e.StateCluster] != "" || st[e2e.StateImage] == "" || !strings.HasPrefix(st[e2e.StateChart], "oci://127.0.0.1:") {
		t.Errorf("state after the run: %v; want the cluster forgotten, image and chart recorded", st)
	}
}
