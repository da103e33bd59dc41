package cluster

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
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
