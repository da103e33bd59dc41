package cluster

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prowctl/prowctl/pkg/process"
	corev1 "k8s.io/api/core/v1"
)

func TestCheckGraph(t *testing.T) {
	tests := []struct {
		name       string
		components []Component
		wantErr    string
	}{
		{"default", DefaultComponents(), ""},
		{"real node", WithArgo(RealNodeComponents()), ""},
		{"unknown", []Component{{Name: "a", Needs: []string{"b"}}}, "component a needs unknown component b"},
		{"later", []Component{{Name: "a", Needs: []string{"b"}}, {Name: "b"}}, "component a needs b, listed after it"},
		{"self", []Component{{Name: "a", Needs: []string{"a"}}}, "component a needs a, listed after it"},
		{"twice", []Component{{Name: "a"}, {Name: "a"}}, "component a listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkGraph(tt.components)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.wantErr, got); diff != "" {
				t.Errorf("checkGraph (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadProwNamespaces(t *testing.T) {
	got, err := ReadProwNamespaces(filepath.Join("..", "..", "config", "prow", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ProwNamespaces{ProwJobs: "prow", Pods: "test-pods"}, got); diff != "" {
		t.Errorf("namespaces of config/prow/config.yaml (-want +got):\n%s", diff)
	}

	empty := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(empty, []byte("log_level: info\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = ReadProwNamespaces(empty)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ProwNamespaces{ProwJobs: "default", Pods: "default"}, got); diff != "" {
		t.Errorf("Prow's defaults (-want +got):\n%s", diff)
	}
}

func TestNodeSchedulable(t *testing.T) {
	ready := corev1.NodeCondition{Type: corev1.NodeReady, Status: corev1.ConditionTrue}
	tests := []struct {
		name    string
		node    corev1.Node
		wantErr bool
	}{
		{"ready", corev1.Node{Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{ready}}}, false},
		{"not ready", corev1.Node{}, true},
		{"tainted", corev1.Node{
			Spec:   corev1.NodeSpec{Taints: []corev1.Taint{{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoSchedule}}},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{ready}},
		}, true},
		{"prefer no schedule", corev1.Node{
			Spec:   corev1.NodeSpec{Taints: []corev1.Taint{{Key: "x", Effect: corev1.TaintEffectPreferNoSchedule}}},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{ready}},
		}, false},
	}
	for _, tt := range tests {
		if err := nodeSchedulable(&tt.node); (err != nil) != tt.wantErr {
			t.Errorf("%s: nodeSchedulable = %v, want error %v", tt.name, err, tt.wantErr)
		}
	}
}

func TestStatFields(t *testing.T) {
	comm, fields, err := statFields([]byte("42 (a (weird) name) S 1 42 42 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 777 0 0\n"))
	if err != nil {
		t.Fatal(err)
	}
	if comm != "a (weird) name" || fields[0] != "S" || fields[19] != "777" {
		t.Errorf("statFields = %q, state %q, start %q; want the name with parentheses, S, 777", comm, fields[0], fields[19])
	}
	if _, _, err := statFields([]byte("42 (x) S 1")); err == nil {
		t.Error("statFields of a short line: want an error")
	}
}

// A process is stopped by pid, and only while the pid is still that binary.
func TestProcessStop(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, exited, err := startProcess(process.Exec{}, process.Cmd{Name: sleep, Args: []string{"600"}, Dir: dir, DieWithParent: true}, filepath.Join(dir, "sleep.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !p.alive() {
		t.Fatal("sleep is not alive after start")
	}

	other := *p
	other.Binary = "/bin/true-but-not-sleep"
	if other.alive() {
		t.Error("a process record naming another binary matches the running sleep")
	}
	other = *p
	other.StartTime++
	if other.alive() {
		t.Error("a process record with another start time matches the running sleep")
	}
	if err := other.stop(context.Background(), time.Second); err != nil {
		t.Fatal(err)
	}
	if !p.alive() {
		t.Fatal("stop of a record that is not the process killed it")
	}

	if err := p.stop(context.Background(), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(5 * time.Second):
		t.Fatal("sleep did not exit")
	}
	if p.alive() {
		t.Error("sleep alive after stop")
	}
}

// A process that ignores SIGTERM gets SIGKILL after the grace period.
func TestProcessStopKillsAfterGrace(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, _, err := startProcess(process.Exec{}, process.Cmd{Name: sh, Args: []string{"-c", "trap '' TERM; echo trapped; while :; do sleep 0.1; done"}, Dir: dir, DieWithParent: true}, filepath.Join(dir, "sh.log"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		b, _ := os.ReadFile(filepath.Join(dir, "sh.log"))
		return strings.Contains(string(b), "trapped")
	})
	start := time.Now()
	if err := p.stop(context.Background(), 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("stopped after %s, before the grace period: the TERM trap did not hold", d)
	}
	if p.alive() {
		t.Error("alive after SIGKILL")
	}
}

func TestUpMissingBinary(t *testing.T) {
	tools := t.TempDir()
	dir := filepath.Join(t.TempDir(), "cluster")
	_, _, err := Up(context.Background(), Options{Dir: dir, ToolsDir: tools, ProwConfig: "x"})
	var missing *MissingToolError
	if !errors.As(err, &missing) {
		t.Fatalf("Up without tools: got %v, want a *MissingToolError", err)
	}
	if !strings.HasPrefix(err.Error(), "etcd: etcd v3.5.21 not found at "+filepath.Join(tools, "etcd-v3.5.21", "etcd")) || !strings.Contains(err.Error(), "make tools") {
		t.Errorf("error %q should name the component, the path and `make tools`", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Up without tools created %s: %v", dir, err)
	}
}

func TestProbePort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := probePort(l.Addr().(*net.TCPAddr).Port); err == nil {
		t.Error("probePort of a port in use: want an error")
	}
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := probePort(p); err != nil {
		t.Errorf("probePort(freePort()) = %v", err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Picked ports stay out of the range outgoing connections take their local
// ports from, so nothing can take one between picking and binding.
func TestFreePortBelowEphemeralRange(t *testing.T) {
	lo, hi := ephemeralPortRange()
	if lo <= 0 || hi < lo {
		t.Fatalf("ephemeralPortRange() = %d, %d", lo, hi)
	}
	for range 50 {
		p, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if p < minPickedPort || p >= lo {
			t.Fatalf("freePort() = %d, want within [%d, %d)", p, minPickedPort, lo)
		}
	}
}
