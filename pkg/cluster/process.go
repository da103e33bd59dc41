package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prowctl/prowctl/pkg/process"
)

// A Process is one running component binary that this cluster started.
// Identity is the pid plus the kernel's start time of that pid, so a pid the
// kernel reused for another program is never signalled.
type Process struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"startTime"` // field 22 of /proc/PID/stat
	Binary    string `json:"binary"`
}

// startProcess starts c through r with its output appended to logPath.
// exited receives the result of waiting for it.
func startProcess(r process.Runner, c process.Cmd, logPath string) (*Process, <-chan error, error) {
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, nil, err
	}
	// The child has its own copy once started.
	defer logFile.Close()
	c.Stdout, c.Stderr = logFile, logFile
	p, err := r.Start(c)
	if err != nil {
		return nil, nil, err
	}
	proc := &Process{PID: p.PID(), Binary: c.Name}
	if proc.PID > 0 {
		// An error means it died before we could look: Exited has the
		// reason, and a zero start time matches any process of that pid
		// running the binary.
		proc.StartTime, _ = procStartTime(proc.PID)
	}
	return proc, p.Exited(), nil
}

// Command is the program Up starts for c from binary: c's flags, in c's
// directory under the cluster's, in c's namespaces, with a clean environment
// plus c.Environ. Clean because etcd, for one, dies when an ETCD_* variable
// repeats a flag, and Prow would take KUBERNETES_SERVICE_HOST for an
// in-cluster config.
func (c *Component) Command(e *Env, binary string) process.Cmd {
	dir := e.Path(c.Name)
	var environ []string
	if c.Environ != nil {
		environ = c.Environ(e)
	}
	cmd := process.Cmd{
		Name: binary,
		Dir:  dir,
		Env:  append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME=" + dir, "TMPDIR=" + os.TempDir()}, environ...),
	}
	if c.Args != nil {
		cmd.Args = c.Args(e)
	}
	if c.Namespaces != nil {
		cmd.Namespaces = c.Namespaces(e)
	}
	if c.Holder {
		// unshare execs the holder in the new namespaces, so its pid is the
		// holder's; private propagation keeps the cluster's mounts off the
		// host.
		cmd.Args = append([]string{"--net", "--mount", "--propagation", "private", "--", binary}, cmd.Args...)
		cmd.Name = "unshare"
	}
	return cmd
}

// procStartTime reads the start time of pid in clock ticks since boot.
func procStartTime(pid int) (uint64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	_, fields, err := statFields(b)
	if err != nil {
		return 0, err
	}
	// fields[0] is field 3 (state); the start time is field 22.
	return strconv.ParseUint(fields[19], 10, 64)
}

// statFields splits /proc/PID/stat after the command name, which may itself
// hold spaces and parentheses.
func statFields(b []byte) (comm string, fields []string, err error) {
	i := bytes.IndexByte(b, '(')
	j := bytes.LastIndexByte(b, ')')
	if i < 0 || j < i {
		return "", nil, errors.New("malformed /proc stat")
	}
	fields = strings.Fields(string(b[j+1:]))
	if len(fields) < 20 {
		return "", nil, errors.New("short /proc stat")
	}
	return string(b[i+1 : j]), fields, nil
}

// alive says whether p still runs as the same program: same pid, same start
// time, not a zombie, and its executable is the recorded binary.
func (p *Process) alive() bool {
	if p == nil || p.PID <= 0 {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID))
	if err != nil {
		return false
	}
	_, fields, err := statFields(b)
	if err != nil || fields[0] == "Z" || fields[0] == "X" {
		return false
	}
	if p.StartTime != 0 && fields[19] != strconv.FormatUint(p.StartTime, 10) {
		return false
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p.PID))
	if err != nil {
		return false
	}
	// A binary rebuilt while the process runs shows as "PATH (deleted)".
	exe = strings.TrimSuffix(exe, " (deleted)")
	want, err := filepath.EvalSymlinks(p.Binary)
	if err != nil {
		want = p.Binary
	}
	if exe == want || exe == p.Binary {
		return true
	}
	// A component started in the cluster's namespaces is nsenter until
	// nsenter has joined them and exec'd the component: with its start time
	// recorded, that pid is already the component.
	// The same holds for unshare, which starts the namespace holder.
	return p.StartTime != 0 && (filepath.Base(exe) == "nsenter" || filepath.Base(exe) == "unshare")
}

// stop ends p's process group: SIGTERM, then SIGKILL once grace has passed.
// It returns when the process is gone. A process that is not p any more (it
// exited and its pid was reused) is left alone.
func (p *Process) stop(ctx context.Context, grace time.Duration) error {
	if !p.alive() {
		return nil
	}
	// The component is its own group leader, so -pid reaches anything it
	// started as well.
	if err := syscall.Kill(-p.PID, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("signal pid %d: %w", p.PID, err)
	}
	if p.waitGone(ctx, grace) {
		return nil
	}
	if err := syscall.Kill(-p.PID, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("kill pid %d: %w", p.PID, err)
	}
	if p.waitGone(ctx, 10*time.Second) {
		return nil
	}
	return fmt.Errorf("pid %d (%s) still runs after SIGKILL", p.PID, filepath.Base(p.Binary))
}

func (p *Process) waitGone(ctx context.Context, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if !p.alive() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tail returns the last n lines of the file at path, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
