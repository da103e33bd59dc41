package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Cmd is one external program to run.
type Cmd struct {
	Name   string
	Args   []string
	Dir    string
	Env    []string // the whole environment; nil means the process's own
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// String returns the command line, for logs and recorded calls.
func (c Cmd) String() string { return strings.Join(append([]string{c.Name}, c.Args...), " ") }

// Runner runs external programs. Steps call programs only through it, so
// tests can record the exact command lines.
type Runner interface {
	Run(ctx context.Context, c Cmd) error
}

// ExecRunner runs programs with os/exec, each in its own process group. When
// ctx is done the group gets SIGTERM and, KillDelay later (default 10s),
// SIGKILL: children of a shell die with it and nothing outlives the step.
type ExecRunner struct {
	KillDelay time.Duration
}

// Run runs c and waits for it.
func (r ExecRunner) Run(ctx context.Context, c Cmd) error {
	cmd := exec.CommandContext(ctx, c.Name, c.Args...)
	cmd.Dir, cmd.Env = c.Dir, c.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	}
	cmd.WaitDelay = r.KillDelay
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 10 * time.Second
	}
	err := cmd.Run()
	if cmd.Process != nil {
		// Whatever the group left behind (a backgrounded child) goes too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%s: %w (%v)", c.Name, ctxErr, err)
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
		return fmt.Errorf("run %s: %w", c.Name, err)
	}
	return nil
}

// RecordingRunner records the commands it is asked to run and answers with
// Fn (nil Fn: every command succeeds and prints nothing). For tests.
type RecordingRunner struct {
	Fn func(ctx context.Context, c Cmd) error

	mu    sync.Mutex
	calls []Cmd
}

// Run records c and calls r.Fn.
func (r *RecordingRunner) Run(ctx context.Context, c Cmd) error {
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	if r.Fn != nil {
		return r.Fn(ctx, c)
	}
	return nil
}

// Calls returns the command lines run so far, in order.
func (r *RecordingRunner) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.calls))
	for i, c := range r.calls {
		out[i] = c.String()
	}
	return out
}

// Cmds returns the commands run so far, in order.
func (r *RecordingRunner) Cmds() []Cmd {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Cmd(nil), r.calls...)
}
