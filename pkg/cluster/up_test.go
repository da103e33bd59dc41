package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests start real components from `make tools`; -short skips them.

func integration(t testing.TB) Options {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts cluster components; runs without -short")
	}
	return Options{
		Dir:            filepath.Join(t.TempDir(), "cluster"),
		ToolsDir:       DefaultToolsDir(),
		ProwConfig:     filepath.Join("..", "..", "config", "prow", "config.yaml"),
		StopWithParent: true,
		StopGrace:      5 * time.Second,
		Progress:       logWriter{t},
	}
}

// logWriter sends Up's progress lines to the test log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func components(names ...string) []Component {
	var out []Component
	for _, c := range DefaultComponents() {
		for _, n := range names {
			if c.Name == n {
				out = append(out, c)
			}
		}
	}
	return out
}

func down(t testing.TB, dir string) {
	t.Helper()
	if _, err := Down(context.Background(), dir, DownOptions{StopGrace: 5 * time.Second}); err != nil && !errors.Is(err, ErrNoCluster) {
		t.Errorf("down: %v", err)
	}
}

// assertGone fails for each pid that still runs.
func assertGone(t testing.TB, s *State) {
	t.Helper()
	for _, c := range s.Components {
		if c.Process == nil {
			continue
		}
		if c.Process.alive() {
			t.Errorf("%s (pid %d) still runs", c.Name, c.Process.PID)
		}
		if err := syscall.Kill(c.Process.PID, 0); err == nil && c.Process.alive() {
			t.Errorf("pid %d still exists", c.Process.PID)
		}
	}
}

// The full cluster comes up, reports healthy, is left alone by a second Up,
// and Down stops every process it started and removes its files.
func TestUpStatusDown(t *testing.T) {
	opts := integration(t)
	ctx := context.Background()
	state, running, err := Up(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { down(t, opts.Dir) })
	if running {
		t.Error("Up of a fresh directory reported a running cluster")
	}
	t.Logf("ready in %s", state.Ready.Sub(state.Started))

	_, statuses, err := Status(ctx, opts.Dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range statuses {
		names = append(names, s.Name)
		if !s.Healthy || !s.Running {
			t.Errorf("%s: running %v, health %q", s.Name, s.Running, s.Health)
		}
	}
	if got, want := strings.Join(names, " "), "etcd kube-apiserver kube-controller-manager kube-scheduler kwok prowjob-crd plank"; got != want {
		t.Errorf("components %q, want %q", got, want)
	}
	if len(state.PIDs()) != 6 {
		t.Errorf("pids %v, want 6 processes", state.PIDs())
	}

	again, running, err := Up(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !running {
		t.Error("Up of a running cluster did not report it running")
	}
	if got, want := again.PIDs(), state.PIDs(); !equalInts(got, want) {
		t.Errorf("second Up changed the pids: %v, was %v", got, want)
	}

	if _, err := Down(ctx, opts.Dir, DownOptions{StopGrace: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	assertGone(t, state)
	if _, err := os.Stat(opts.Dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Down left %s: %v", opts.Dir, err)
	}
	if _, _, err := Status(ctx, opts.Dir, nil); !errors.Is(err, ErrNoCluster) {
		t.Errorf("Status after Down: %v, want ErrNoCluster", err)
	}
}

// A state directory from a crashed run (one component killed) is detected:
// the survivors are stopped and a fresh cluster starts.
func TestUpAfterCrash(t *testing.T) {
	opts := integration(t)
	opts.Components = components(EtcdName, APIServerName)
	ctx := context.Background()
	first, _, err := Up(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { down(t, opts.Dir) })
	api := first.Components[1].Process
	if err := syscall.Kill(api.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return !api.alive() })

	second, running, err := Up(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if running {
		t.Error("Up reported the crashed cluster as running")
	}
	assertGone(t, first)
	for i, c := range second.Components {
		if c.Process.PID == first.Components[i].Process.PID || !c.Process.alive() {
			t.Errorf("%s: pid %d after the restart (was %d), alive %v", c.Name, c.Process.PID, first.Components[i].Process.PID, c.Process.alive())
		}
	}
}

// A port taken by someone else by the time etcd binds it: etcd starts again
// on fresh ports and the cluster comes up.
func TestUpPortInUse(t *testing.T) {
	opts := integration(t)
	opts.Components = components(EtcdName)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	opts.pickPort = pickFirst(taken)
	var out syncBuffer
	opts.Progress = io.MultiWriter(opts.Progress, &out)

	state, _, err := Up(context.Background(), opts)
	if err != nil {
		t.Fatalf("Up with etcd's first port taken: %v", err)
	}
	t.Cleanup(func() { down(t, opts.Dir) })
	if ports := state.Components[0].Ports; ports["client"] == taken || ports["peer"] == taken {
		t.Errorf("etcd's ports %v include the taken port %d", ports, taken)
	}
	if !strings.Contains(out.String(), "etcd") || !strings.Contains(out.String(), "starting again on fresh ports") {
		t.Errorf("progress does not say etcd started again:\n%s", out.String())
	}
}

// A component that exits at start fails Up with its name, its log and the
// log's end; what started before it is stopped.
func TestUpComponentExits(t *testing.T) {
	opts := integration(t)
	broken := etcdComponent()
	broken.Name = "broken-etcd"
	broken.Needs = []string{EtcdName}
	// A data directory under a regular file: etcd exits at once.
	broken.Setup = func(ctx context.Context, e *Env) error {
		return os.WriteFile(e.Path("blocker"), nil, 0o644)
	}
	broken.Args = func(e *Env) []string {
		client, peer := "http://"+e.Addr("broken-etcd", "client"), "http://"+e.Addr("broken-etcd", "peer")
		return []string{"--data-dir=" + e.Path("blocker", "data"), "--listen-client-urls=" + client,
			"--advertise-client-urls=" + client, "--listen-peer-urls=" + peer}
	}
	broken.Ready = func(ctx context.Context, e *Env) error {
		_, err := httpGet(ctx, http.DefaultClient, "http://"+e.Addr("broken-etcd", "client")+"/health")
		return err
	}
	opts.Components = []Component{etcdComponent(), broken}

	_, _, err := Up(context.Background(), opts)
	var ce *ComponentError
	if !errors.As(err, &ce) || ce.Component != "broken-etcd" {
		t.Fatalf("Up: %v, want a ComponentError of broken-etcd", err)
	}
	wantLog := filepath.Join(opts.Dir, "logs", "broken-etcd.log")
	for _, want := range []string{"broken-etcd: exited at start", wantLog, "not a directory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	// The good etcd started first and must be gone; the failed Up removed
	// the state file, so look for it in /proc by its data directory.
	if pids := pidsWithArg(t, "--data-dir="+filepath.Join(opts.Dir, EtcdName, "data")); len(pids) > 0 {
		t.Errorf("etcd still runs after the failed Up: pids %v", pids)
	}
}

// pidsWithArg lists the processes whose command line has arg.
func pidsWithArg(t testing.TB, arg string) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		for _, a := range strings.Split(string(b), "\x00") {
			if a == arg {
				pids = append(pids, e.Name())
			}
		}
	}
	return pids
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// BenchmarkClusterUp measures `cluster up` of the full cluster, from nothing
// to ready with the ProwJob CRD established (target: 20 s), and Down.
func BenchmarkClusterUp(b *testing.B) {
	opts := integration(b)
	var total time.Duration
	var cpu float64
	for i := 0; i < b.N; i++ {
		opts.Dir = filepath.Join(b.TempDir(), "cluster")
		start := time.Now()
		state, _, err := Up(context.Background(), opts)
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		cpu += cpuSeconds(b, state)
		if _, err := Down(context.Background(), opts.Dir, DownOptions{StopGrace: 5 * time.Second}); err != nil {
			b.Fatal(err)
		}
		assertGone(b, state)
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s-to-ready/op")
	// The CPU the components used until ready says how much of the wall time
	// is waiting for a busy machine: on 2 free cores, up takes about half of
	// it plus the start-up waits.
	b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
}

// cpuSeconds sums the user and system time of the cluster's processes.
func cpuSeconds(t testing.TB, s *State) float64 {
	t.Helper()
	var ticks uint64
	for _, c := range s.Components {
		if c.Process == nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.Process.PID))
		if err != nil {
			t.Fatal(err)
		}
		_, fields, err := statFields(b)
		if err != nil {
			t.Fatal(err)
		}
		// Fields 14 and 15: utime and stime, in USER_HZ (100 on Linux).
		for _, f := range fields[11:13] {
			n, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			ticks += n
		}
	}
	return float64(ticks) / 100
}

// The API server's port is taken: it starts again on fresh ports with a new
// kubeconfig, and clients of the cluster reach it there.
func TestUpAPIServerPortInUse(t *testing.T) {
	opts := integration(t)
	opts.Components = components(EtcdName, APIServerName)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	taken := l.Addr().(*net.TCPAddr).Port
	calls := 0
	// etcd picks two ports first; the API server's is the third.
	opts.pickPort = func() (int, error) {
		calls++
		if calls == 3 {
			return taken, nil
		}
		return freePort()
	}
	var out syncBuffer
	opts.Progress = io.MultiWriter(opts.Progress, &out)

	state, _, err := Up(context.Background(), opts)
	if err != nil {
		t.Fatalf("Up with the API server's first port taken: %v", err)
	}
	t.Cleanup(func() { down(t, opts.Dir) })
	port := state.Components[1].Ports["secure"]
	if port == taken || !strings.Contains(out.String(), "kube-apiserver") || !strings.Contains(out.String(), "starting again on fresh ports") {
		t.Fatalf("API server on port %d (taken: %d); progress:\n%s", port, taken, out.String())
	}
	cfg, err := loadRestConfig(state.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if want := "https://127.0.0.1:" + strconv.Itoa(port); cfg.Host != want {
		t.Errorf("kubeconfig server %s, want %s", cfg.Host, want)
	}
	_, statuses, err := Status(context.Background(), opts.Dir, opts.Components)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range statuses {
		if !s.Healthy {
			t.Errorf("%s: %s", s.Name, s.Health)
		}
	}
}
