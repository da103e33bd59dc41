package cluster

import (
	"context"
	_ "embed"
	"fmt"
	"os"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prowctl/prowctl/pkg/atomicfile"
)

// kwokStages is the simulated node's pod stages (see kwok_stages.yaml for
// what they do), embedded so prowctl needs no checkout at run time.
//
//go:embed kwok_stages.yaml
var kwokStages []byte

// SimulateResultLabel on a pod made by Prow makes the simulated node fail it
// with exit code 1 when its value is SimulateFailure. Plank copies a ProwJob's
// labels onto its pod, so a job config asks for a failure by carrying it.
const (
	SimulateResultLabel = "prowctl.dev/simulate-result"
	SimulateFailure     = "failure"
	// SimulateDurationAnnotation sets how long Prow's pods run before they
	// finish, as a Go duration ("30s"); one second when absent.
	SimulateDurationAnnotation = "prowctl.dev/simulate-duration"
)

// kwokNodeAnnotation marks the nodes kwok simulates; other nodes (a real
// kubelet, later) are left alone.
const kwokNodeAnnotation = "kwok.x-k8s.io/node"

func kwokComponent() Component {
	return Component{
		Name: KwokName, Tool: Kwok, Binary: "kwok",
		Needs: []string{APIServerName},
		Ports: []string{"server"},
		Setup: func(ctx context.Context, e *Env) error {
			if err := os.MkdirAll(e.Path(KwokName), 0o700); err != nil {
				return err
			}
			if err := atomicfile.Write(e.Path(KwokName, "stages.yaml"), kwokStages, 0o644); err != nil {
				return err
			}
			client, err := e.kube()
			if err != nil {
				return err
			}
			_, err = client.CoreV1().Nodes().Create(ctx, simulatedNode(), metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("create node %s: %w", NodeName, err)
			}
			return nil
		},
		Args: func(e *Env) []string {
			return []string{
				"--kubeconfig=" + e.Kubeconfig(),
				"--config=" + e.Path(KwokName, "stages.yaml"),
				"--manage-all-nodes=false",
				"--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=fake",
				"--server-address=" + e.Addr(KwokName, "server"),
				"--node-ip=127.0.0.1",
			}
		},
		Ready: func(ctx context.Context, e *Env) error {
			if _, err := readyGet(ctx, e.HTTPClient(false), "http://"+e.Addr(KwokName, "server")+"/healthz"); err != nil {
				return err
			}
			client, err := e.kube()
			if err != nil {
				return err
			}
			node, err := client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
			if err != nil {
				return err
			}
			return nodeSchedulable(node)
		},
		Endpoint: func(e *Env) string { return "http://" + e.Addr(KwokName, "server") + " (node " + NodeName + ")" },
	}
}

func simulatedNode() *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        NodeName,
			Annotations: map[string]string{kwokNodeAnnotation: "fake"},
			Labels: map[string]string{
				"kubernetes.io/hostname": NodeName,
				"kubernetes.io/os":       "linux",
				"kubernetes.io/arch":     "amd64",
				"type":                   "kwok",
			},
		},
		Status: corev1.NodeStatus{
			// Room for many test pods at once; nothing actually runs.
			Allocatable: simulatedCapacity(),
			Capacity:    simulatedCapacity(),
		},
	}
}

// nodeSchedulable is nil once the node is Ready and the controller manager
// has lifted the taints a new node starts with, so pods can land on it.
func nodeSchedulable(node *corev1.Node) error {
	ready := false
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	if !ready {
		return fmt.Errorf("node %s is not Ready", node.Name)
	}
	for _, t := range node.Spec.Taints {
		if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
			return fmt.Errorf("node %s has taint %s", node.Name, t.Key)
		}
	}
	return nil
}

func simulatedCapacity() corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("64"),
		corev1.ResourceMemory: resource.MustParse("256Gi"),
		corev1.ResourcePods:   resource.MustParse("250"),
	}
}
