package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prowctl/prowctl/internal/prowctlbin"
)

// prowctlCommand returns a command that runs prowctl with args: the binary
// of this checkout (prowctlbin), or with -short this test binary running run()
// (the same code path, without the build's cost).
func prowctlCommand(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	if testing.Short() {
		enc, _ := json.Marshal(args)
		cmd := exec.Command(os.Args[0], "-test.run=^TestE2EChildProcess$")
		cmd.Env = append(os.Environ(), "PROWCTL_E2E_CHILD="+string(enc))
		return cmd
	}
	return exec.Command(prowctlbin.Path(t), args...)
}

// children lists the processes whose parent is pid.
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so split after ")".
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z"
}

func mkfifo(t *testing.T, path string) string {
	t.Helper()
	if err := syscall.Mkfifo(path, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStopsOnSignal: every command whose read blocks (an API server that
// accepts and never answers, an idle pipe on standard input) stops within a
// second of SIGINT or SIGTERM, with the
// shell's code for the signal, no child left and no file written. Prow's
// interrupts package swallows both signals in any binary that links its
// config loader; only the root's handler makes them work.
func TestStopsOnSignal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) (args []string)
		stdin bool // an idle pipe on standard input
	}{
		{name: "get, an API server that never answers", setup: func(t *testing.T, dir string) []string {
			return []string{"get", "--kubeconfig", silentServer(t, dir)}
		}},
		{name: "watch, an API server that never answers", setup: func(t *testing.T, dir string) []string {
			return []string{"watch", "some-job", "--kubeconfig", silentServer(t, dir)}
		}},
		{name: "create -f -, idle pipe", stdin: true, setup: func(*testing.T, string) []string {
			return []string{"create", "-f", "-"}
		}},
	} {
		for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
			t.Run(tc.name+"/"+sig.String(), func(t *testing.T) {
				dir := t.TempDir()
				cmd := prowctlCommand(t, tc.setup(t, dir)...)
				cmd.Dir = dir
				var stdout, stderr bytes.Buffer
				cmd.Stdout, cmd.Stderr = &stdout, &stderr
				if tc.stdin {
					r, w, err := os.Pipe()
					if err != nil {
						t.Fatal(err)
					}
					defer w.Close() // open, and silent, until the end
					defer r.Close()
					cmd.Stdin = r
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				select {
				case err := <-done:
					t.Fatalf("ended before the signal (%v):\n%s", err, stderr.String())
				case <-time.After(700 * time.Millisecond): // blocked in its read
				}
				kids := children(cmd.Process.Pid)
				before := entries(t, dir)
				sent := time.Now()
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
				var err error
				select {
				case err = <-done:
				case <-time.After(10 * time.Second):
					cmd.Process.Kill()
					t.Fatalf("still running 10s after %s:\n%s", sig, stderr.String())
				}
				took := time.Since(sent)
				want := 128 + int(sig)
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != want {
					t.Errorf("exit %v, want %d\n%s", err, want, stderr.String())
				}
				if took > time.Second {
					t.Errorf("stopped %s after %s, want within 1s", took.Round(time.Millisecond), sig)
				}
				name := map[syscall.Signal]string{syscall.SIGINT: "SIGINT", syscall.SIGTERM: "SIGTERM"}[sig]
				if !strings.Contains(stderr.String(), "prowctl: interrupted by "+name) && !strings.Contains(stderr.String(), "prowctl: "+name+": stopped after") {
					t.Errorf("stderr does not say it was interrupted:\n%s", stderr.String())
				}
				for _, k := range kids {
					if alive(k) {
						t.Errorf("child process %d left running", k)
					}
				}
				if after := entries(t, dir); strings.Join(after, " ") != strings.Join(before, " ") {
					t.Errorf("files changed: %v, then %v", before, after)
				}
				t.Logf("%s: exit %d after %s", sig, want, took.Round(time.Millisecond))
			})
		}
	}
}

// silentServer listens on loopback, accepts connections and never answers
// them, and returns a kubeconfig that points at it: a client blocks until
// its own timeout.
func silentServer(t *testing.T, dir string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: silent
  cluster:
    server: https://%s
    insecure-skip-tls-verify: true
users:
- name: u
  user:
    token: t
contexts:
- name: silent
  context: {cluster: silent, user: u}
current-context: silent
`, l.Addr())
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestSpecialFilesRefused: a named pipe where a file is expected (the spec,
// a file in the job config directory, the Prow config) is refused at once
// with a one-line error, where opening it would block until a writer came.
func TestSpecialFilesRefused(t *testing.T) {
	abs := func(p string) string {
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string) (args []string)
	}{
		{name: "jobs generate, FIFO spec", setup: func(t *testing.T, dir string) []string {
			return []string{"jobs", "generate", "--spec", mkfifo(t, filepath.Join(dir, "spec.yaml")), "--out", filepath.Join(dir, "out.yaml")}
		}},
		{name: "jobs lint, FIFO in the job config", setup: func(t *testing.T, dir string) []string {
			jobs := filepath.Join(dir, "jobs")
			if err := os.Mkdir(jobs, 0o755); err != nil {
				t.Fatal(err)
			}
			mkfifo(t, filepath.Join(jobs, "jobs.yaml"))
			return []string{"jobs", "lint", "--config-path", abs("../../config/prow/config.yaml"), "--job-config-path", jobs}
		}},
		{name: "mkpj, FIFO Prow config", setup: func(t *testing.T, dir string) []string {
			return []string{"mkpj", "--job", "ci-cleanup", "--config-path", mkfifo(t, filepath.Join(dir, "config.yaml")), "--job-config-path", abs(mkpjTestJobs)}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cmd := prowctlCommand(t, tc.setup(t, dir)...)
			cmd.Dir = dir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("exit %v, want a failure; stderr:\n%s", err, stderr.String())
			}
			msg := strings.TrimSuffix(stderr.String(), "\n")
			if !strings.Contains(msg, "named pipe") || strings.Contains(msg, "\n") {
				t.Errorf("want one line naming the named pipe, got:\n%s", stderr.String())
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s", took)
			}
		})
	}
}

// entries lists the files under dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Inputs that never end are refused, not read forever: a device as -f up
// front, an endless standard input at the size limit.
func TestEndlessInputsRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		args  []string
		stdin string
		code  int
		want  string
	}{
		{"create -f /dev/zero", []string{"create", "-f", "/dev/zero"}, "", 2,
			"prowctl: -f /dev/zero: not a regular file (a character device): give a ProwJob file, or - for standard input\n"},
		{"create -f - < /dev/zero", []string{"create", "-f", "-"}, "/dev/zero", 1,
			"prowctl: read standard input: larger than 3 MiB: a ProwJob is at most 1.5 MiB\n"},
		{"rerun -f a directory", []string{"rerun", "-f", "/"}, "", 2,
			"prowctl: -f /: not a regular file (a directory): give a ProwJob file, or - for standard input\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := prowctlCommand(t, tc.args...)
			cmd.Dir = t.TempDir()
			if tc.stdin != "" {
				f, err := os.Open(tc.stdin)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				cmd.Stdin = f
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			start := time.Now()
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != tc.code || stderr.String() != tc.want {
				t.Errorf("exit %v, stderr:\n%s\nwant exit %d and:\n%s", err, stderr.String(), tc.code, tc.want)
			}
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("took %s", took)
			}
		})
	}
}
