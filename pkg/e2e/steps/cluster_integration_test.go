package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/process"
)

// The test binary serves the real node's components that are prowctl itself
// (cluster.Options.Executable).
func TestMain(m *testing.M) {
	if code, ok := cluster.MainIfSelf(os.Args[1:], os.Stderr); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestLocalClusterDeployTestTeardown runs the steps one by one, as `prowctl
// e2e step` does, on a personal cluster with a real node that cluster-up
// starts: registry, build-image (the fixture operator, compiled for real),
// build-chart, cluster-up, deploy twice (install, then upgrade), test (the
// fixture's e2etest program: TFJobs really run, succeed, fail and are
// deleted), teardown without the cluster, cluster-down. Between them it
// checks the cluster itself: CRD established, operator Deployment available
// by its readiness probe with the image from the cluster's registry, then
// CRD, Deployment and namespace gone, then the cluster's processes gone.
func TestLocalClusterDeployTestTeardown(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: starts a personal cluster (needs `make tools`)")
	}
	kinds := BuiltinWith(Deps{LocalCluster: localCluster{stopWithParent: true}}) // nothing outlives a crashed test
	root, _ := filepath.Abs("../../..")
	// git through a fake (the revision), go and sh for real: the operator
	// runs on the node, and the test command.
	tools := fakeTools()
	runner := &process.Recorder{Fn: func(ctx context.Context, c process.Cmd) error {
		if c.Name == "sh" || c.Name == "go" {
			return process.Exec{}.Run(ctx, c)
		}
		return tools.Fn(ctx, c)
	}}
	env := newEnv(t, runner)
	env.Dir = root
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	step := func(kind, with string) {
		t.Helper()
		began := time.Now()
		if err := newStepOf(t, kinds, kind, with).Run(ctx, env.Env); err != nil {
			t.Fatalf("%s: %v\nlog:\n%s", kind, err, env.log)
		}
		t.Logf("%s: %.1fs", kind, time.Since(began).Seconds())
	}

	step("registry", "")
	step("build-image", "{package: ./testdata/operator, name: tf-operator}")
	step("build-chart", "{chart: testdata/chart/tf-operator, image: {name: tf-operator}}")
	dir := filepath.Join(t.TempDir(), "cluster")
	step("cluster-up", "local: {dir: "+dir+"}")
	st := state(t, env)
	if st[e2e.StateCreated] != "true" || st[e2e.StateKubeconfig] != filepath.Join(dir, "kubeconfig") {
		t.Fatalf("state after cluster-up: %v; want a cluster created by the run in %s", st, dir)
	}
	if !strings.HasPrefix(st[StateClusterRegistry], "127.0.0.1:") || !strings.HasPrefix(st[StateClusterRegistryPull], "10.") {
		t.Fatalf("state after cluster-up: %v; want the cluster's registry on the host's loopback and at the node's address", st)
	}
	kube, ext := clients(t, st[e2e.StateKubeconfig])

	step("deploy", "values: {interval: 2s}")
	step("deploy", "values: {interval: 2s}") // an upgrade: must not forget what the install made
	ns := namespaceName(env.Job.BuildID)
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
	if want := st[StateClusterRegistryPull] + "/tf-operator@" + st[StateImageDigest]; d.Spec.Template.Spec.Containers[0].Image != want {
		t.Errorf("operator image %q, want %q (the build, copied to the cluster's registry)", d.Spec.Template.Spec.Containers[0].Image, want)
	}
	if diff := cmp.Diff([]string{"-interval=2s"}, d.Spec.Template.Spec.Containers[0].Args); diff != "" {
		t.Errorf("operator args (-want +got):\n%s", diff)
	}
	st = state(t, env)
	for k, want := range map[string]string{e2e.StateRelease: "tf-operator", e2e.StateNamespace: ns, StateCRDs: "tfjobs.kubeflow.org", StateNamespaceMade: "true"} {
		if st[k] != want {
			t.Errorf("state %s = %q, want %q", k, st[k], want)
		}
	}

	step("test", "command: go run ./testdata/operator/e2etest")
	junit, err := os.ReadFile(filepath.Join(env.Artifacts, "junit_operator.xml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"OperatorAvailable", "TFJobSucceeds", "TFJobFailsWhenAReplicaFails", "DeletingATFJobDeletesItsPods", "RejectBadReplicaType"} {
		if !strings.Contains(string(junit), `name="`+name+`"`) || strings.Contains(string(junit), "<failure") {
			t.Errorf("junit_operator.xml lacks a passed %s:\n%s", name, junit)
		}
	}

	step("teardown", "cluster: false")
	if _, err := ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "tfjobs.kubeflow.org", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("CRD after teardown: %v, want not found", err)
	}
	if _, err := kube.AppsV1().Deployments(ns).Get(ctx, "tf-operator", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Deployment after teardown: %v, want not found", err)
	}
	if n, err := kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{}); err == nil && n.Status.Phase != corev1.NamespaceTerminating {
		t.Errorf("namespace %s after teardown: %s, want deleted", ns, n.Status.Phase)
	}

	cs, err := cluster.LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	step("cluster-down", "")
	for _, pid := range cs.PIDs() {
		if !gone(pid) {
			t.Errorf("cluster process %d runs after cluster-down", pid)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("cluster dir after cluster-down: %v, want removed", err)
	}
	if diff := cmp.Diff(map[string]string{}, withoutBuild(state(t, env))); diff != "" {
		t.Errorf("state after teardown (-want +got):\n%s", diff)
	}
	if err := newStepOf(t, kinds, "teardown", "").Run(ctx, env.Env); !errors.Is(err, e2e.ErrSkip) {
		t.Errorf("teardown again: %v, want a skip", err)
	}
}

// gone says whether pid has exited. The cluster's processes are this test's
// children (StopWithParent): an exited one may linger as a zombie until the
// goroutine waiting for it reaps it.
func gone(pid int) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			return true
		}
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		// pid (comm) STATE ...: Z is a zombie.
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			return true
		}
	}
	return false
}

func clients(t *testing.T, kubeconfig string) (kubernetes.Interface, apiextensions.Interface) {
	t.Helper()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ext, err := apiextensions.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return kube, ext
}

// withoutBuild drops what the build steps recorded.
func withoutBuild(m map[string]string) map[string]string {
	for _, k := range []string{e2e.StateRegistry, e2e.StateChart, StateChartPath, StateChartVersion, e2e.StateImage, e2e.StateImageTag, StateImageRepository, StateImageDigest} {
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
