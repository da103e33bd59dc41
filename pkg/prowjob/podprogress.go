package prowjob

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// podProgress prints a line whenever the job's pod changes phase or the
// containers that run in it change (clonerefs, initupload, place-entrypoint,
// then test and sidecar), so a watch shows where a job is, not only that it
// is pending. It polls: pods have no place in the ProwJob's watch.
type podProgress struct {
	c   *Client
	out io.Writer
	now func() time.Time
	mu  *sync.Mutex // shared with the ProwJob lines
	// ended, under mu, says the job's final line is out: print no more.
	ended bool

	pod, ns string
	podMu   sync.Mutex
	last    string
}

// setPod tells which pod to follow, from the latest ProwJob.
func (p *podProgress) setPod(ns, name string) {
	p.podMu.Lock()
	defer p.podMu.Unlock()
	p.ns, p.pod = ns, name
}

func (p *podProgress) run(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p.podMu.Lock()
		ns, name := p.ns, p.pod
		p.podMu.Unlock()
		if name == "" {
			continue
		}
		pod, err := p.c.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		line := PodLine(pod)
		if line == p.last {
			continue
		}
		p.last = line
		p.mu.Lock()
		if !p.ended {
			fmt.Fprintf(p.out, "%s  %s\n", p.now().Format("15:04:05"), line)
		}
		p.mu.Unlock()
	}
}

// PodLine says what a job's pod is doing: its phase and the containers
// running in it, or the reason they wait.
func PodLine(pod *corev1.Pod) string {
	var running, waiting []string
	for _, cs := range append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		switch {
		case cs.State.Running != nil:
			running = append(running, cs.Name)
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != "PodInitializing":
			waiting = append(waiting, cs.Name+" "+cs.State.Waiting.Reason)
		}
	}
	line := "pod " + strings.ToLower(string(pod.Status.Phase))
	if len(running) > 0 {
		line += ", running " + strings.Join(running, ", ")
	}
	if len(waiting) > 0 {
		line += ", waiting: " + strings.Join(waiting, ", ")
	}
	return line
}
