package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// argoWorkflow has a DAG (b and c after a) whose c fails, and an exit
// handler: Argo's own semantics, on real pods.
const argoWorkflow = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: prowctl-test-
spec:
  entrypoint: main
  onExit: exit
  serviceAccountName: %s
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: say, arguments: {parameters: [{name: what, value: a}]}}
      - {name: b, template: say, dependencies: [a], arguments: {parameters: [{name: what, value: b}]}}
      - {name: c, template: fail, dependencies: [a]}
  - name: say
    inputs: {parameters: [{name: what}]}
    container:
      image: %s
      command: [/bin/sh, -c, 'echo "step {{inputs.parameters.what}}"']
  - name: fail
    container:
      image: %s
      command: [/bin/sh, -c, 'echo failing; exit 3']
  - name: exit
    container:
      image: %s
      command: [/bin/sh, -c, 'echo "exit handler sees {{workflow.status}}"']
`

var workflowsGVR = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}

// Argo's controller runs a Workflow on the real node: the DAG's order, a
// failing step failing the Workflow, and the exit handler run after it.
func testArgo(t *testing.T, state *State, kube kubernetes.Interface) {
	ctx := context.Background()
	dyn, ns := argoClient(t, state)
	var wf unstructured.Unstructured
	img := DebianImage()
	if err := yaml.Unmarshal([]byte(fmt.Sprintf(argoWorkflow, ArgoServiceAccount, img, img, img)), &wf.Object); err != nil {
		t.Fatal(err)
	}
	created, err := dyn.Resource(workflowsGVR).Namespace(ns.Pods).Create(ctx, &wf, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := created.GetName()
	var phase string
	var got *unstructured.Unstructured
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		if got, err = dyn.Resource(workflowsGVR).Namespace(ns.Pods).Get(ctx, name, metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
		phase, _, _ = unstructured.NestedString(got.Object, "status", "phase")
		if phase == "Succeeded" || phase == "Failed" || phase == "Error" {
			break
		}
	}
	if phase != "Failed" {
		b, _ := yaml.Marshal(got.Object["status"])
		t.Fatalf("workflow %s: phase %q, want Failed (c exits 3)\n%s", name, phase, b)
	}
	nodes, _, _ := unstructured.NestedMap(got.Object, "status", "nodes")
	byTask := map[string]string{}
	for _, n := range nodes {
		m := n.(map[string]any)
		if m["type"] == "Pod" {
			byTask[m["displayName"].(string)] = m["phase"].(string)
		}
	}
	for task, want := range map[string]string{"a": "Succeeded", "b": "Succeeded", "c": "Failed", name + ".onExit": "Succeeded"} {
		if byTask[task] != want {
			t.Errorf("task %s: %q, want %s (all: %v)", task, byTask[task], want, byTask)
		}
	}
	// The exit handler ran after the failure, and saw it.
	pods, err := kube.CoreV1().Pods(ns.Pods).List(ctx, metav1.ListOptions{LabelSelector: "workflows.argoproj.io/workflow=" + name})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range pods.Items {
		if !strings.Contains(p.Name, "exit") {
			continue
		}
		b, err := kube.CoreV1().Pods(ns.Pods).GetLogs(p.Name, &corev1.PodLogOptions{Container: "main"}).DoRaw(ctx)
		if err != nil {
			t.Fatal(err)
		}
		found = true
		if !strings.Contains(string(b), "exit handler sees Failed") {
			t.Errorf("the exit handler's log: %q", b)
		}
	}
	if !found {
		t.Errorf("no exit handler pod among %d", len(pods.Items))
	}
}

// argoVolumeWorkflow hands a file from step a to step b on a volume claim
// template with no storage class, as `e2e export --argo` hands on
// $ARTIFACTS, run as the jobs' service account.
const argoVolumeWorkflow = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: prowctl-volume-
spec:
  entrypoint: main
  serviceAccountName: %[1]s
  volumeClaimTemplates:
  - metadata: {name: work}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Mi}}
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: write}
      - {name: b, template: read, dependencies: [a]}
  - name: write
    container:
      image: %[2]s
      command: [/bin/sh, -c, 'echo "handed on by a" > /work/file']
      volumeMounts: [{name: work, mountPath: /work}]
  - name: read
    container:
      image: %[2]s
      command: [/bin/sh, -c, 'cat /work/file; test "$(cat /work/file)" = "handed on by a"']
      volumeMounts: [{name: work, mountPath: /work}]
`

// A Workflow's volume claim template gets a volume from the real node's
// default class (the hostpath provisioner), in the cluster's directory and
// not in the host's /tmp; step b reads what step a wrote, as the jobs'
// service account; Argo deletes the claim at the end, the reclaim policy
// the volume and the provisioner its directory.
func testArgoVolume(t *testing.T, state *State, kube kubernetes.Interface) {
	ctx := context.Background()
	dyn, ns := argoClient(t, state)
	// The volume's directory is looked at as soon as it exists: it goes
	// with the claim at the end.
	pvs, err := kube.CoreV1().PersistentVolumes().Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pvs.Stop()
	var wf unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(fmt.Sprintf(argoVolumeWorkflow, E2ERoleName, DebianImage())), &wf.Object); err != nil {
		t.Fatal(err)
	}
	created, err := dyn.Resource(workflowsGVR).Namespace(ns.Pods).Create(ctx, &wf, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	name := created.GetName()
	claim := name + "-work"
	began := time.Now()
	var (
		pv, dir string
		phase   string
		got     *unstructured.Unstructured
	)
	events := pvs.ResultChan()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for deadline := time.After(3 * time.Minute); phase != "Succeeded" && phase != "Failed" && phase != "Error"; {
		select {
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			v, isPV := ev.Object.(*corev1.PersistentVolume)
			if !isPV || pv != "" || v.Spec.ClaimRef == nil || v.Spec.ClaimRef.Namespace != ns.Pods || v.Spec.ClaimRef.Name != claim {
				continue
			}
			pv = v.Name
			if v.Spec.StorageClassName != HostPathStorageClass || v.Spec.HostPath == nil || filepath.Dir(v.Spec.HostPath.Path) != hostPathVolumes {
				t.Fatalf("the claim's volume %s: class %q, %+v; want class %s, a hostPath under %s", v.Name, v.Spec.StorageClassName, v.Spec.PersistentVolumeSource, HostPathStorageClass, hostPathVolumes)
			}
			dir = state.Env().Path(StorageName, "volumes", filepath.Base(v.Spec.HostPath.Path))
			if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
				t.Errorf("the volume %s is not in the cluster's directory: %v", v.Spec.HostPath.Path, err)
			}
			if _, err := os.Stat(v.Spec.HostPath.Path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the volume %s is in the host's /tmp (stat: %v)", v.Spec.HostPath.Path, err)
			}
		case <-tick.C:
			if got, err = dyn.Resource(workflowsGVR).Namespace(ns.Pods).Get(ctx, name, metav1.GetOptions{}); err != nil {
				t.Fatal(err)
			}
			phase, _, _ = unstructured.NestedString(got.Object, "status", "phase")
		case <-deadline:
			var status any
			if got != nil {
				status = got.Object["status"]
			}
			b, _ := yaml.Marshal(status)
			t.Fatalf("workflow %s still %q after 3m\n%s", name, phase, b)
		}
	}
	t.Logf("workflow %s: %s in %.1fs", name, phase, time.Since(began).Seconds())
	if phase != "Succeeded" {
		b, _ := yaml.Marshal(got.Object["status"])
		t.Fatalf("workflow %s: phase %q, want Succeeded\n%s", name, phase, b)
	}
	pods, err := kube.CoreV1().Pods(ns.Pods).List(ctx, metav1.ListOptions{LabelSelector: "workflows.argoproj.io/workflow=" + name})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) != 2 {
		t.Errorf("%d pods, want a's and b's", len(pods.Items))
	}
	for _, p := range pods.Items {
		if p.Spec.ServiceAccountName != E2ERoleName {
			t.Errorf("pod %s runs as %q, want %s", p.Name, p.Spec.ServiceAccountName, E2ERoleName)
		}
	}
	if pv == "" {
		t.Fatalf("no volume was provisioned for the claim %s", claim)
	}

	// Gone in order: the claim (Argo), the volume (its reclaim policy),
	// and with it its directory.
	for deadline := time.Now().Add(2 * time.Minute); ; time.Sleep(500 * time.Millisecond) {
		_, claimErr := kube.CoreV1().PersistentVolumeClaims(ns.Pods).Get(ctx, claim, metav1.GetOptions{})
		v, pvErr := kube.CoreV1().PersistentVolumes().Get(ctx, pv, metav1.GetOptions{})
		if apierrors.IsNotFound(claimErr) && apierrors.IsNotFound(pvErr) {
			break
		}
		if time.Now().After(deadline) {
			var status any
			if pvErr == nil {
				status = v.Status
			}
			t.Fatalf("after 2m: claim %s: %v; volume %s: %v %+v", claim, claimErr, pv, pvErr, status)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the deleted volume's directory %s remains (stat: %v)", dir, err)
	}
	t.Logf("claim, volume and directory gone %.1fs after the start", time.Since(began).Seconds())
}

// argoClient is a client of the cluster's Workflows (and every other
// resource), and the Prow config's namespaces, which Workflows run in.
func argoClient(t *testing.T, state *State) (dynamic.Interface, ProwNamespaces) {
	t.Helper()
	cfg, err := state.Env().Rest()
	if err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := ReadProwNamespaces(state.ProwConfig)
	if err != nil {
		t.Fatal(err)
	}
	return dyn, ns
}
