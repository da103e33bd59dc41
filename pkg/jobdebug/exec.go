package jobdebug

import (
	"context"
	"errors"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	"k8s.io/client-go/util/exec"

	"github.com/prowctl/prowctl/pkg/prowjob"
)

// restExec runs commands through the apiserver's pods/exec, as kubectl
// exec does.
func restExec(c *prowjob.Client) Execer {
	return func(ctx context.Context, ns, pod, container string, cmd []string, s Streams) (int, error) {
		req := c.Kube.CoreV1().RESTClient().Post().Resource("pods").Namespace(ns).Name(pod).SubResource("exec").
			VersionedParams(&corev1.PodExecOptions{
				Container: container, Command: cmd,
				Stdin: s.In != nil, Stdout: true, Stderr: !s.TTY, TTY: s.TTY,
			}, scheme.ParameterCodec)
		ex, err := remotecommand.NewSPDYExecutor(c.Rest, "POST", req.URL())
		if err != nil {
			return 0, err
		}
		so := remotecommand.StreamOptions{Stdin: s.In, Stdout: s.Out, Tty: s.TTY}
		if !s.TTY {
			so.Stderr = s.Err
		}
		if s.TTY && s.Size != nil {
			so.TerminalSizeQueue = &onceSize{size: s.Size}
		}
		err = ex.StreamWithContext(ctx, so)
		var ee exec.CodeExitError
		if errors.As(err, &ee) {
			return ee.Code, nil
		}
		return 0, err
	}
}

// onceSize gives the terminal's size at the start; a resize later is not
// followed (no SIGWINCH handling: the shell keeps its first size).
type onceSize struct {
	size func() (width, height uint16, ok bool)
	done bool
}

func (q *onceSize) Next() *remotecommand.TerminalSize {
	if q.done {
		return nil
	}
	q.done = true
	w, h, ok := q.size()
	if !ok {
		return nil
	}
	return &remotecommand.TerminalSize{Width: w, Height: h}
}
