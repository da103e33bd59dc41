package steps

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prowctl/prowctl/internal/testcluster"
	"github.com/prowctl/prowctl/pkg/e2e"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// TestDeployTeardown runs registry, build-chart, cluster-up (the personal
// cluster, already running, so not the run's), deploy twice and teardown
// twice against the personal cluster.
func TestDeployTeardown(t *testing.T) {
	c := testcluster.Get(t)
	kube := c.Kube(t)
	ext, err := apiextensions.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	env := newEnv(t, fakeTools())
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	run(t, env, newStep(t, "registry", ""))
	chartDir, _ := filepath.Abs("../../../testdata/chart/tf-operator")
	run(t, env, newStep(t, "build-chart", "chart: "+chartDir))
	// The local provider on the cluster the tests run: pkg/cluster finds it
	// running, so it is not the run's and teardown leaves it alone.
	run(t, env, newStep(t, "cluster-up", "local: {dir: "+c.Dir+", prowConfig: "+c.ProwConfig+"}"))
	st := state(t, env)
	if st[e2e.StateKubeconfig] != c.Kubeconfig || st[e2e.StateCreated] != "false" || st[e2e.StateProvider] != "local" {
		t.Fatalf("state after cluster-up: %v", st)
	}

	ns := "e2e-deploy-" + strings.ToLower(time.Now().Format("150405"))
	deployStep := newStep(t, "deploy", "namespace: "+ns+"\nvalues: {interval: 5s}")
	began := time.Now()
	if err := deployStep.Run(ctx, env.Env); err != nil {
		t.Fatalf("deploy: %v\nlog:\n%s", err, env.log)
	}
	t.Logf("deploy took %.1fs", time.Since(began).Seconds())
	// Deploying again upgrades and must not forget what the first made.
	if err := deployStep.Run(ctx, env.Env); err != nil {
		t.Fatalf("second deploy: %v\nlog:\n%s", err, env.log)
	}

	crd, err := ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "tfjobs.kubeflow.org", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("CRD after deploy: %v", err)
	}
	if !established(crd) {
		t.Errorf("CRD not established: %+v", crd.Status.Conditions)
	}
	d, err := kube.AppsV1().Deployments(ns).Get(ctx, "tf-operator", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("operator Deployment: %v", err)
	}
	if !available(d) {
		t.Errorf("Deployment not available: %+v", d.Status.Conditions)
	}
	wantImage := st[e2e.StateRegistry] + "/tf-operator:" + sha
	if got := d.Spec.Template.Spec.Containers[0].Image; got != wantImage {
		t.Errorf("operator image %q, want %q (stamped by build-chart)", got, wantImage)
	}
	if diff := cmp.Diff([]string{"-interval=5s"}, d.Spec.Template.Spec.Containers[0].Args); diff != "" {
		t.Errorf("operator args (-want +got):\n%s", diff)
	}
	st = state(t, env)
	for k, want := range map[string]string{e2e.StateRelease: "tf-operator", e2e.StateNamespace: ns, StateCRDs: "tfjobs.kubeflow.org", StateNamespaceMade: "true"} {
		if st[k] != want {
			t.Errorf("state %s = %q, want %q", k, st[k], want)
		}
	}

	run(t, env, newStep(t, "teardown", ""))
	if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "tfjobs.kubeflow.org", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("CRD after teardown: %v, want not found", err)
	}
	if _, err := kube.AppsV1().Deployments(ns).Get(ctx, "tf-operator", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Deployment after teardown: %v, want not found", err)
	}
	if n, err := kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil && n.Status.Phase != corev1.NamespaceTerminating {
		t.Errorf("namespace %s after teardown: %s, want deleted", ns, n.Status.Phase)
	}
	if diff := cmp.Diff(map[string]string{}, withoutBuild(state(t, env))); diff != "" {
		t.Errorf("state after teardown (-want +got):\n%s", diff)
	}
	// The personal cluster was not the run's: still up.
	if _, err := kube.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{}); err != nil {
		t.Errorf("cluster after teardown: %v", err)
	}
	err = newStep(t, "teardown", "").Run(ctx, env.Env)
	if !errors.Is(err, e2e.ErrSkip) {
		t.Errorf("second teardown: %v, want a skip", err)
	}
	t.Logf("log:\n%s", env.log)
}

// withoutBuild drops what the build steps recorded.
func withoutBuild(m map[string]string) map[string]string {
	for _, k := range []string{e2e.StateRegistry, e2e.StateChart, StateChartPath, StateChartVersion} {
		delete(m, k)
	}
	return m
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

func available(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
