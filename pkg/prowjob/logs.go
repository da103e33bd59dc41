package prowjob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LogsOptions say which container's log Logs prints and whether it follows.
type LogsOptions struct {
	// Container is a container of the job's pod: "test" (the default), or
	// one of Prow's utilities (clonerefs, initupload, place-entrypoint,
	// sidecar).
	Container string
	// Follow streams the log until the container ends, waiting for the
	// pod and the container to start.
	Follow bool
}

// ErrNoPod says the job has no pod (yet, or any more).
var ErrNoPod = errors.New("no pod")

// Logs writes the log of a container of the ProwJob name's pod to w.
func Logs(ctx context.Context, c *Client, name string, w io.Writer, o LogsOptions) error {
	if c.Kube == nil {
		return errors.New("no Kubernetes client for the pods")
	}
	if o.Container == "" {
		o.Container = "test"
	}
	var pod, ns string
	for {
		pj, err := c.Get(ctx, name)
		if err != nil {
			return err
		}
		pod, ns = pj.Status.PodName, pj.Spec.Namespace
		if pod != "" && (!o.Follow || containerStarted(ctx, c, ns, pod, o.Container)) {
			break
		}
		if !o.Follow {
			return fmt.Errorf("ProwJob %s (%s): %w", name, pj.Status.State, ErrNoPod)
		}
		if pj.Complete() && pod == "" {
			return fmt.Errorf("ProwJob %s ended (%s) without a pod: %w", name, pj.Status.State, ErrNoPod)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	stream, err := c.Kube.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: o.Container, Follow: o.Follow}).Stream(ctx)
	if err != nil {
		return fmt.Errorf("log of container %s of pod %s/%s: %w", o.Container, ns, pod, err)
	}
	defer stream.Close()
	_, err = io.Copy(w, stream)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// containerStarted says whether the container of the pod runs or ran.
func containerStarted(ctx context.Context, c *Client, ns, pod, container string) bool {
	p, err := c.Kube.CoreV1().Pods(ns).Get(ctx, pod, metav1.GetOptions{})
	return err == nil && ContainerStarted(p, container)
}

// ContainerStarted says whether the container (init or not) of p runs or ran.
func ContainerStarted(p *corev1.Pod, container string) bool {
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if cs.Name == container {
			return cs.State.Running != nil || cs.State.Terminated != nil
		}
	}
	return false
}
