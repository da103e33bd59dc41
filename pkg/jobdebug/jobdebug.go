// Package jobdebug opens a shell where a job failed: a copy of the job's
// test container (same image, env, volumes, working directory) in a pod of
// its own, with the job's refs checked out again by Prow's clonerefs, its
// command replaced by a wait; the shell (or a given command) runs in it by
// exec, and the pod is deleted when it ends. Prow keeps no failed pod
// around to look into; this is Dagger's "shell at the failure" for Prow
// jobs.
//
// The copy is built from the ProwJob with Prow's own decorate.ProwJobToPod,
// so it holds exactly what the job's pod held, even once that pod is gone,
// minus what would act on the job's record: initupload and the sidecar
// (they write the job's artifacts) and the created-by-prow label (plank and
// sinker select their pods by it).
package jobdebug

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/kube"
	"sigs.k8s.io/prow/pkg/pod-utils/decorate"

	"github.com/prowctl/prowctl/pkg/prowjob"
)

// LabelOf marks a debug copy with the ProwJob it copies.
const LabelOf = "prowctl.dev/debug-of"

// maxLifetime bounds a copy whose prowctl died without deleting it.
const maxLifetime = 6 * time.Hour

// Options say what to run in the copy and how.
type Options struct {
	// Command runs instead of an interactive Shell.
	Command []string
	// Shell is the interactive shell; "" means /bin/sh.
	Shell string
	In    io.Reader
	Out   io.Writer
	// ErrOut gets progress and, without a TTY, the command's stderr.
	ErrOut io.Writer
	// TTY attaches In and Out as a terminal (an interactive shell), of
	// Size.
	TTY  bool
	Size func() (width, height uint16, ok bool)
	// Raw, for a TTY, puts the terminal in raw mode just before the shell
	// starts (progress lines before it need the terminal's newlines) and
	// returns how to restore it.
	Raw func() (restore func())
	// Exec runs a command in the copy; the client's exec through the
	// apiserver when nil.
	Exec Execer
	// Keep leaves the copy running when the shell ends.
	Keep bool
	// StartTimeout bounds the wait for the copy to start (image, clone).
	StartTimeout time.Duration
	Now          func() time.Time
}

// Execer runs cmd in container of pod ns/name and returns its exit code.
type Execer func(ctx context.Context, ns, pod, container string, cmd []string, s Streams) (int, error)

// Streams are an exec's standard streams.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
	TTY      bool
	// Size is the terminal's size, for a TTY.
	Size func() (width, height uint16, ok bool)
}

// ExitError is the exit code of the command run in the copy.
type ExitError struct{ Code int }

func (e *ExitError) Error() string {
	return fmt.Sprintf("the command in the debug pod exited %d", e.Code)
}

// ExitCode is the command's.
func (e *ExitError) ExitCode() int { return e.Code }

// Pod builds the copy of pj's pod, named name.
func Pod(pj *prowapi.ProwJob, name string) (*corev1.Pod, error) {
	if pj.Spec.Agent != prowapi.KubernetesAgent || pj.Spec.PodSpec == nil {
		return nil, fmt.Errorf("ProwJob %s runs on agent %s: no pod to copy", pj.Name, pj.Spec.Agent)
	}
	pod, err := decorate.ProwJobToPod(*pj)
	if err != nil {
		return nil, fmt.Errorf("ProwJob %s: the pod Prow would run: %w", pj.Name, err)
	}
	pod.Name, pod.Namespace = name, pj.Spec.Namespace
	delete(pod.Labels, kube.CreatedByProw)
	pod.Labels[LabelOf] = pj.Name
	var inits []corev1.Container
	for _, c := range pod.Spec.InitContainers {
		// clonerefs checks the refs out again; place-entrypoint and
		// initupload are for the job's own run and record.
		if c.Name == "clonerefs" {
			inits = append(inits, c)
		}
	}
	pod.Spec.InitContainers = inits
	test := pod.Spec.Containers[0]
	// sleep as a child so that TERM (pod deletion) ends it at once.
	test.Command = []string{"/bin/sh", "-c", fmt.Sprintf("trap 'exit 0' TERM; sleep %d & wait", int(maxLifetime.Seconds()))}
	test.Args = nil
	test.LivenessProbe, test.ReadinessProbe, test.StartupProbe = nil, nil, nil
	pod.Spec.Containers = []corev1.Container{test}
	pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	deadline := int64(maxLifetime.Seconds())
	pod.Spec.ActiveDeadlineSeconds = &deadline
	grace := int64(1)
	pod.Spec.TerminationGracePeriodSeconds = &grace
	return pod, nil
}

// Run makes the copy of ProwJob name's pod, runs the shell or command in
// it, and deletes it (unless Keep): an *ExitError carries a command's
// non-zero exit.
func Run(ctx context.Context, c *prowjob.Client, name string, o Options) error {
	pj, err := c.Get(ctx, name)
	if err != nil {
		return err
	}
	return RunFor(ctx, c, pj, o)
}

// RunFor is Run for a ProwJob already read.
func RunFor(ctx context.Context, c *prowjob.Client, pj *prowapi.ProwJob, o Options) error {
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	podName := "debug-" + strings.TrimRight(truncate(pj.Name, 63-len("debug-")-7), "-.") + "-" + hex.EncodeToString(suffix)
	pod, err := Pod(pj, podName)
	if err != nil {
		return err
	}
	exec := o.Exec
	if exec == nil {
		if c.Rest == nil {
			return errors.New("no cluster configuration to exec with")
		}
		exec = restExec(c)
	}
	pods := c.Kube.CoreV1().Pods(pod.Namespace)
	if _, err := pods.Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create the debug pod: %w", err)
	}
	fmt.Fprintf(o.ErrOut, "debug pod %s/%s: a copy of %s's test container (%s)\n", pod.Namespace, podName, pj.Spec.Job, pod.Spec.Containers[0].Image)
	defer func() {
		if o.Keep {
			fmt.Fprintf(o.ErrOut, "kept the debug pod %s/%s: delete it with kubectl delete pod -n %s %s\n", pod.Namespace, podName, pod.Namespace, podName)
			return
		}
		// Deleted even after Ctrl-C: a new context, bounded.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := pods.Delete(dctx, podName, metav1.DeleteOptions{}); err != nil {
			fmt.Fprintf(o.ErrOut, "delete the debug pod %s/%s: %v\n", pod.Namespace, podName, err)
		}
	}()
	if err := waitRunning(ctx, c, pod.Namespace, podName, o); err != nil {
		return err
	}
	cmd := o.Command
	if len(cmd) == 0 {
		shell := o.Shell
		if shell == "" {
			shell = "/bin/sh"
		}
		cmd = []string{shell}
		fmt.Fprintf(o.ErrOut, "in %s; exit the shell to delete the pod\n", orDefault(pod.Spec.Containers[0].WorkingDir, "the image's working directory"))
	}
	if o.TTY && o.Raw != nil {
		defer o.Raw()()
	}
	code, err := exec(ctx, pod.Namespace, podName, pod.Spec.Containers[0].Name, cmd, Streams{In: o.In, Out: o.Out, Err: o.ErrOut, TTY: o.TTY, Size: o.Size})
	if err != nil {
		return fmt.Errorf("exec in the debug pod: %w", err)
	}
	if code != 0 {
		return &ExitError{Code: code}
	}
	return nil
}

// waitRunning waits for the copy's container to run, and says why not
// when it never will.
func waitRunning(ctx context.Context, c *prowjob.Client, ns, name string, o Options) error {
	timeout := o.StartTimeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		p, err := c.Kube.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			if why := notStarting(p); why != "" {
				return fmt.Errorf("the debug pod %s/%s will not start: %s", ns, name, why)
			}
			for _, s := range p.Status.ContainerStatuses {
				if s.State.Running != nil {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			if ctx.Err() == context.DeadlineExceeded {
				return fmt.Errorf("the debug pod %s/%s did not start in %s", ns, name, timeout)
			}
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// notStarting says why a pod can never start: a failed clone, an image
// that cannot be pulled, a pod that ended.
func notStarting(p *corev1.Pod) string {
	for _, s := range p.Status.InitContainerStatuses {
		if t := s.State.Terminated; t != nil && t.ExitCode != 0 {
			return fmt.Sprintf("init container %s (checking out the refs) exited %d: see kubectl logs -n %s %s -c %s", s.Name, t.ExitCode, p.Namespace, p.Name, s.Name)
		}
	}
	for _, s := range append(append([]corev1.ContainerStatus(nil), p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if w := s.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff" || w.Reason == "InvalidImageName") {
			return fmt.Sprintf("container %s: %s: %s", s.Name, w.Reason, w.Message)
		}
	}
	if p.Status.Phase == corev1.PodFailed || p.Status.Phase == corev1.PodSucceeded {
		return fmt.Sprintf("it ended (%s) %s", p.Status.Phase, p.Status.Message)
	}
	return ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}
