package argo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/internal/testcluster"
	"github.com/prowctl/prowctl/pkg/cluster"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// Every exported Workflow (the golden files) is accepted by an apiserver
// that serves Argo's full CRD, as it validates a Workflow on create (dry
// run: nothing runs), and a broken one is refused.
func TestAcceptedByTheWorkflowCRD(t *testing.T) {
	c := testcluster.Get(t)
	ctx := context.Background()
	if err := cluster.InstallArgoCRDs(ctx, c.Config(), cluster.DefaultToolsDir(), cluster.ArgoFullCRDs, "workflows"); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	ns := c.Namespace(t)
	workflows := dyn.Resource(schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}).Namespace(ns)
	create := func(wf *unstructured.Unstructured) error {
		wf.SetNamespace(ns)
		_, err := workflows.Create(ctx, wf, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return err
	}
	files, err := filepath.Glob(filepath.Join("testdata", "*.golden"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden Workflows: %v", err)
	}
	var parallel *unstructured.Unstructured
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		wf := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(b, &wf.Object); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := create(wf.DeepCopy()); err != nil {
			t.Errorf("%s refused: %v", f, err)
		}
		if filepath.Base(f) == "parallel.golden" {
			parallel = wf
		}
	}
	if parallel == nil {
		t.Fatal("no parallel.golden")
	}
	broken := parallel.DeepCopy()
	if err := unstructured.SetNestedField(broken.Object, "many", "spec", "parallelism"); err != nil {
		t.Fatal(err)
	}
	if err := create(broken); err == nil || !strings.Contains(err.Error(), "spec.parallelism") {
		t.Errorf("a Workflow whose spec.parallelism is a string: %v, want it refused naming the field", err)
	}
}
