// Package process is the one way prowctl runs an external program: git, go,
// gcloud, kind, a test command, and the personal cluster's long-running
// binaries alike. Callers describe a program as a Cmd and hand it to a Runner;
// Exec runs it for real, Recorder records it for tests, so a test can assert
// the exact command line, environment and namespaces of anything prowctl
// would start without starting it.
package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// Cmd is one external program to run.
type Cmd struct {
	Name string
	Args []string
	Dir  string
	// Env is the whole environment; nil means the calling process's own.
	Env    []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Namespaces the program runs in; the zero value is the caller's own.
	Namespaces Namespaces
	// DieWithParent asks the kernel to kill the program when prowctl dies,
	// as tests want for the servers they start. Only for Start.
	DieWithParent bool
}

// Namespaces names Linux namespaces a program joins before it runs, each by
// the path of its namespace file (/proc/PID/ns/net, /run/netns/NAME). The
// personal cluster keeps its node, pods and servers in a network and mount
// namespace of its own; every program that must see them runs in it.
type Namespaces struct {
	Net   string `json:"net,omitempty"`
	Mount string `json:"mount,omitempty"`
}

// IsZero says whether n leaves the program in the caller's namespaces.
func (n Namespaces) IsZero() bool { return n == Namespaces{} }

// String returns the command line, for logs, errors and recorded calls.
func (c Cmd) String() string { return strings.Join(append([]string{c.Name}, c.Args...), " ") }

// Runner runs external programs.
type Runner interface {
	// Run runs c and waits for it. When ctx is done, c's process group gets
	// SIGTERM, then SIGKILL after a grace period.
	Run(ctx context.Context, c Cmd) error
	// Start starts c in a process group of its own and returns at once. The
	// program is not tied to any context: the personal cluster's servers
	// outlive the command that started them. Stopping it is the caller's
	// business (by pid, since it may be a later prowctl that stops it).
	Start(c Cmd) (Process, error)
}

// Process is a program Start started.
type Process interface {
	// PID is the program's process id (0 for one that never ran, such as a
	// recorded one).
	PID() int
	// Exited receives the result of waiting for the program, once.
	Exited() <-chan error
}

// Exec runs programs with os/exec.
type Exec struct {
	// KillDelay is how long Run waits after SIGTERM before SIGKILL; 10 s
	// when zero.
	KillDelay time.Duration
}

var _ Runner = Exec{}

// Run runs c in its own process group and waits for it. Whatever the group
// leaves behind (a backgrounded child of a shell) is killed when c exits, so
// nothing outlives the call.
func (r Exec) Run(ctx context.Context, c Cmd) error {
	cmd, err := r.command(ctx, c)
	if err != nil {
		return err
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = r.KillDelay
	if cmd.WaitDelay == 0 {
		cmd.WaitDelay = 10 * time.Second
	}
	drain, err := pipeOutput(cmd)
	if err != nil {
		return fmt.Errorf("run %s: %w", c.Name, err)
	}
	err = cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	drain()
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

// pipeOutput gives the program a pipe of its own for each output that is
// not a file, copied to the writer by a goroutine. exec.Cmd would make such a
// pipe itself, but then waits after the exit for every holder of it to close
// it: a server the program left in the background would hold Run for the
// whole WaitDelay and turn a success into exec.ErrWaitDelay. With our own
// pipe, Run returns at the exit; drain, called once the group is killed,
// waits briefly for the last output and then stops copying.
func pipeOutput(cmd *exec.Cmd) (drain func(), err error) {
	var readers []*os.File
	var writers []*os.File
	done := make(chan struct{})
	var copiers int
	pipeFor := func(w io.Writer) (*os.File, error) {
		r, pw, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		readers, writers = append(readers, r), append(writers, pw)
		copiers++
		go func() {
			_, _ = io.Copy(w, r)
			done <- struct{}{}
		}()
		return pw, nil
	}
	wrap := func(w io.Writer) (io.Writer, error) {
		if w == nil {
			return nil, nil
		}
		if _, isFile := w.(*os.File); isFile {
			return w, nil
		}
		return pipeFor(w)
	}
	same := cmd.Stdout != nil && cmd.Stdout == cmd.Stderr
	if cmd.Stdout, err = wrap(cmd.Stdout); err != nil {
		return nil, err
	}
	if same {
		cmd.Stderr = cmd.Stdout
	} else if cmd.Stderr, err = wrap(cmd.Stderr); err != nil {
		return nil, err
	}
	return func() {
		// The child has its copies; ours would keep the pipes open.
		for _, w := range writers {
			w.Close()
		}
		timer := time.NewTimer(time.Second)
		defer timer.Stop()
		for i := 0; i < copiers; i++ {
			select {
			case <-done:
			case <-timer.C:
				// Something outside the process group still holds a pipe:
				// closing our ends makes every copier return.
				for _, r := range readers {
					r.Close()
				}
				for ; i < copiers; i++ {
					<-done
				}
				return
			}
		}
		for _, r := range readers {
			r.Close()
		}
	}, nil
}

// Start starts c in its own process group and returns at once.
func (r Exec) Start(c Cmd) (Process, error) {
	cmd, err := r.command(nil, c)
	if err != nil {
		return nil, err
	}
	if c.DieWithParent {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", c.Name, err)
	}
	p := &execProcess{pid: cmd.Process.Pid, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	return p, nil
}

// command builds the exec.Cmd for c, tied to ctx unless ctx is nil. A Cmd with namespaces runs through
// nsenter(1), which joins them and then execs the program itself (no fork),
// so the pid prowctl records is the program's. The Go runtime cannot join a
// mount namespace from a multi-threaded process, and a re-exec of prowctl
// would be a second way of starting programs.
func (r Exec) command(ctx context.Context, c Cmd) (*exec.Cmd, error) {
	name, args := c.Name, c.Args
	if !c.Namespaces.IsZero() {
		nsenter, err := exec.LookPath("nsenter")
		if err != nil {
			return nil, fmt.Errorf("run %s in namespaces: nsenter (util-linux) not found: %w", c.Name, err)
		}
		name, args = nsenter, NsenterArgs(c)
	}
	var cmd *exec.Cmd
	if ctx != nil {
		cmd = exec.CommandContext(ctx, name, args...)
	} else {
		cmd = exec.Command(name, args...)
	}
	cmd.Dir, cmd.Env = c.Dir, c.Env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.Stdin, c.Stdout, c.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd, nil
}

// NsenterArgs is the nsenter command line that runs c in its namespaces.
func NsenterArgs(c Cmd) []string {
	var args []string
	if c.Namespaces.Net != "" {
		args = append(args, "--net="+c.Namespaces.Net)
	}
	if c.Namespaces.Mount != "" {
		args = append(args, "--mount="+c.Namespaces.Mount)
		// Joining a mount namespace resets the working directory to its
		// root; keep the one asked for.
		if c.Dir != "" {
			args = append(args, "--wd="+c.Dir)
		}
	}
	return append(append(args, "--", c.Name), c.Args...)
}

type execProcess struct {
	pid    int
	exited chan error
}

func (p *execProcess) PID() int             { return p.pid }
func (p *execProcess) Exited() <-chan error { return p.exited }

// Output runs c and returns its standard output with surrounding space
// trimmed. A failure's error carries the program's own message (the last
// lines of its standard error), which is what a reader needs from git.
func Output(ctx context.Context, r Runner, c Cmd) (string, error) {
	var stdout, stderr strings.Builder
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := r.Run(ctx, c); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return "", err
		}
		return "", &outputError{msg: c.String() + ": " + lastLines(msg, 5), err: err}
	}
	return strings.TrimSpace(stdout.String()), nil
}

// outputError says what the program said; it wraps the exit status or the
// context's error for errors.Is and errors.As, without printing it twice.
type outputError struct {
	msg string
	err error
}

func (e *outputError) Error() string { return e.msg }
func (e *outputError) Unwrap() error { return e.err }

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// LookPath finds a program in PATH, as Exec does when it runs one.
func LookPath(name string) (string, error) { return exec.LookPath(name) }
