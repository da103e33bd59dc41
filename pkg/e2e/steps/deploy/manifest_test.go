package deploy

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/chart/loader"
)

func TestCRDNames(t *testing.T) {
	ch, err := loader.Load("../../../../testdata/chart/tf-operator")
	if err != nil {
		t.Fatal(err)
	}
	got, err := crdNames(ch)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"tfjobs.kubeflow.org"}, got); diff != "" {
		t.Errorf("crdNames (-want +got):\n%s", diff)
	}
}

func TestDeploymentNames(t *testing.T) {
	manifest := `---
# Source: x/templates/sa.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: op
---
# Source: x/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: op-b
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: op-a
`
	got, err := deploymentNames(manifest)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"op-a", "op-b"}, got); diff != "" {
		t.Errorf("deploymentNames (-want +got):\n%s", diff)
	}
}
