package process

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestExecRun(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	err := Exec{}.Run(context.Background(), Cmd{
		Name: "sh", Args: []string{"-c", `pwd; echo "$GREETING"; cat`},
		Dir: dir, Env: []string{"GREETING=hello", "PATH=" + os.Getenv("PATH")},
		Stdin: strings.NewReader("from stdin\n"), Stdout: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	want := dir + "\nhello\nfrom stdin\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

func TestExecRunExitCode(t *testing.T) {
	err := Exec{}.Run(context.Background(), Cmd{Name: "sh", Args: []string{"-c", "exit 3"}})
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("got %v, want exit status 3", err)
	}
	if err := (Exec{}).Run(context.Background(), Cmd{Name: "/does/not/exist"}); err == nil || !strings.Contains(err.Error(), "/does/not/exist") {
		t.Fatalf("missing program: got %v", err)
	}
}

// A cancelled Run ends the whole process group, a child the shell put in the
// background included, and returns within the kill delay.
func TestExecRunCancelKillsGroup(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Exec{KillDelay: time.Second}.Run(ctx, Cmd{
			Name: "sh", Args: []string{"-c", "sleep 600 & echo $! > " + pidFile + "; wait"},
		})
	}()
	child := waitPID(t, pidFile)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	waitGone(t, child)
}

func TestExecStart(t *testing.T) {
	p, err := Exec{}.Start(Cmd{Name: "sh", Args: []string{"-c", "exit 4"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.PID() <= 0 {
		t.Errorf("pid %d", p.PID())
	}
	select {
	case err := <-p.Exited():
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 4 {
			t.Errorf("got %v, want exit status 4", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no exit")
	}
	// Its own process group, so a stop by -pid reaches its children.
	p, err = Exec{}.Start(Cmd{Name: "sleep", Args: []string{"600"}})
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-p.PID(), syscall.SIGKILL)
	pgid, err := syscall.Getpgid(p.PID())
	if err != nil || pgid != p.PID() {
		t.Errorf("pgid %d (%v), want %d", pgid, err, p.PID())
	}
}

func TestOutput(t *testing.T) {
	got, err := Output(context.Background(), Exec{}, Cmd{Name: "sh", Args: []string{"-c", "echo '  out  '; echo err >&2"}})
	if err != nil || got != "out" {
		t.Errorf("got %q, %v", got, err)
	}
	_, err = Output(context.Background(), Exec{}, Cmd{Name: "sh", Args: []string{"-c", "echo fatal: not a git repository >&2; exit 128"}})
	if err == nil || !strings.Contains(err.Error(), "fatal: not a git repository") || !strings.HasPrefix(err.Error(), "sh -c") {
		t.Errorf("error %v does not name the command and its message", err)
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 128 {
		t.Errorf("error %v does not wrap the exit status", err)
	}
}

func TestNsenterArgs(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  Cmd
		want []string
	}{
		{"net", Cmd{Name: "kubelet", Args: []string{"--v=2"}, Namespaces: Namespaces{Net: "/proc/7/ns/net"}},
			[]string{"--net=/proc/7/ns/net", "--", "kubelet", "--v=2"}},
		{"net and mount keep the working directory", Cmd{Name: "containerd", Dir: "/c", Namespaces: Namespaces{Net: "/n", Mount: "/m"}},
			[]string{"--net=/n", "--mount=/m", "--wd=/c", "--", "containerd"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, NsenterArgs(tc.cmd)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A program given a network namespace sees that namespace's interfaces, not
// the caller's. Needs root (unshare, setns), as the personal cluster does.
func TestExecInNetworkNamespace(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a network namespace")
	}
	if os.Geteuid() != 0 {
		t.Fatal("needs root to make a network namespace (as `prowctl cluster up` does)")
	}
	// The holder keeps a fresh namespace alive while the test joins it.
	holder, err := Exec{}.Start(Cmd{Name: "unshare", Args: []string{"--net", "sleep", "600"}, DieWithParent: true})
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(-holder.PID(), syscall.SIGKILL)
	ns := "/proc/" + strconv.Itoa(holder.PID()) + "/ns/net"
	self, _ := os.Readlink("/proc/self/ns/net")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if l, err := os.Readlink(ns); err == nil && l != self {
			break // unshare has exec'd sleep inside the new namespace
		}
		if time.Now().After(deadline) {
			t.Fatal("the holder never entered a namespace of its own")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var out bytes.Buffer
	// /proc/self/net/dev lists the interfaces of the reader's namespace.
	err = Exec{}.Run(context.Background(), Cmd{Name: "cat", Args: []string{"/proc/self/net/dev"}, Namespaces: Namespaces{Net: ns}, Stdout: &out})
	if err != nil {
		t.Fatal(err)
	}
	var ifaces []string
	for _, line := range strings.Split(out.String(), "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok {
			ifaces = append(ifaces, strings.TrimSpace(name))
		}
	}
	if diff := cmp.Diff([]string{"lo"}, ifaces); diff != "" {
		t.Errorf("interfaces in the namespace (-want +got):\n%s", diff)
	}
}

func TestRecorder(t *testing.T) {
	r := &Recorder{Fn: func(ctx context.Context, c Cmd) error {
		if c.Name == "git" {
			_, err := c.Stdout.Write([]byte("abc\n"))
			return err
		}
		return nil
	}}
	sha, err := Output(context.Background(), r, Cmd{Name: "git", Args: []string{"rev-parse", "HEAD"}, Dir: "/repo"})
	if err != nil || sha != "abc" {
		t.Fatalf("got %q, %v", sha, err)
	}
	p, err := r.Start(Cmd{Name: "etcd", Env: []string{"A=1"}, Namespaces: Namespaces{Net: "/n"}})
	if err != nil || p.PID() != 0 {
		t.Fatalf("got %v, %v", p, err)
	}
	calls := r.Cmds()
	got := []Call{{Cmd: Cmd{Name: calls[0].Name, Args: calls[0].Args, Dir: calls[0].Dir}}, calls[1]}
	want := []Call{
		{Cmd: Cmd{Name: "git", Args: []string{"rev-parse", "HEAD"}, Dir: "/repo"}},
		{Cmd: Cmd{Name: "etcd", Env: []string{"A=1"}, Namespaces: Namespaces{Net: "/n"}}, Started: true},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"git rev-parse HEAD", "etcd"}, r.Calls()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func waitPID(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return pid
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("child never wrote its pid")
	return 0
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil || strings.Contains(string(b), ") Z ") {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("pid %d still runs", pid)
}

// A program that leaves a child in the background holding its output returns
// at its own exit, with its output and its status, and the child is killed.
func TestExecRunBackgroundChildHoldsOutput(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child.pid")
	var out bytes.Buffer
	start := time.Now()
	err := Exec{}.Run(context.Background(), Cmd{
		Name: "sh", Args: []string{"-c", "sleep 600 & echo $! > " + pidFile + "; echo done"},
		Stdout: &out, Stderr: &out,
	})
	if err != nil {
		t.Fatalf("got %v, want success", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Run took %s: it waited for the background child", took)
	}
	if out.String() != "done\n" {
		t.Errorf("output %q", out.String())
	}
	waitGone(t, waitPID(t, pidFile))
}
