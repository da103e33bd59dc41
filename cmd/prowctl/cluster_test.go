package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/iostreams"
)

func TestClusterFlags(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	var up *ClusterUpOptions
	cmd := newCmdClusterUp(streams, func(o *ClusterUpOptions) error { up = o; return nil })
	cmd.SetArgs([]string{"--dir", "d", "--prow-config", "p.yaml", "--tools", "tl", "--timeout", "5s"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	// A real node unless --node kwok.
	if diff := cmp.Diff(ClusterUpOptions{Dir: "d", ProwConfig: "p.yaml", ToolsDir: "tl", Timeout: 5 * time.Second, Node: cluster.NodeReal},
		*up, cmpopts.IgnoreFields(ClusterUpOptions{}, "IO")); diff != "" {
		t.Errorf("up options (-want +got):\n%s", diff)
	}

	var down *ClusterDownOptions
	cmd = newCmdClusterDown(streams, func(o *ClusterDownOptions) error { down = o; return nil })
	cmd.SetArgs([]string{"--dir", "d", "--keep"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ClusterDownOptions{Dir: "d", Keep: true, Grace: 10 * time.Second}, *down, cmpopts.IgnoreFields(ClusterDownOptions{}, "IO")); diff != "" {
		t.Errorf("down options (-want +got):\n%s", diff)
	}

	cmd = newCmdClusterStatus(streams, func(o *ClusterStatusOptions) error { return nil })
	cmd.SetArgs([]string{"-o", "yaml"})
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "want table or kubeconfig") {
		t.Errorf("status -o yaml: %v, want an error naming the choices", err)
	}
}

// A state directory whose processes are gone shows them not running, and
// status exits 1.
func TestClusterStatusOfDeadCluster(t *testing.T) {
	dir := t.TempDir()
	state := `{"dir": "` + dir + `", "kubeconfig": "` + filepath.Join(dir, "kubeconfig") + `", "context": "prowctl-local",
  "components": [{"name": "etcd", "version": "v3.5.21", "process": {"pid": 999999999, "startTime": 1, "binary": "/x/etcd"},
  "endpoint": "http://127.0.0.1:1"}]}`
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte(state), 0o644); err != nil {
		t.Fatal(err)
	}
	streams, _, out, _ := iostreams.Test()
	err := clusterStatusRun(context.Background(), &ClusterStatusOptions{IO: streams, Dir: dir, Output: "table"})
	if exitCode(err) != 1 {
		t.Errorf("exit code %d (%v), want 1", exitCode(err), err)
	}
	want := `COMPONENT  PID        HEALTH       ENDPOINT            VERSION
etcd       999999999  not running  http://127.0.0.1:1  v3.5.21

node: kwok
kubeconfig: ` + filepath.Join(dir, "kubeconfig") + ` (context prowctl-local)
`
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("status output (-want +got):\n%s", diff)
	}
}

func TestClusterDownWithoutCluster(t *testing.T) {
	streams, _, out, _ := iostreams.Test()
	dir := t.TempDir()
	if err := clusterDownRun(context.Background(), &ClusterDownOptions{IO: streams, Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "No cluster in "+dir+".\n"; got != want {
		t.Errorf("down output %q, want %q", got, want)
	}
	err := clusterStatusRun(context.Background(), &ClusterStatusOptions{IO: streams, Dir: dir, Output: "table"})
	if !errors.Is(err, cluster.ErrNoCluster) || !strings.Contains(err.Error(), "prowctl cluster up --dir "+dir) {
		t.Errorf("status without a cluster: %v", err)
	}
}

func TestClusterUpWithoutProwConfig(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	err := clusterUpRun(context.Background(), &ClusterUpOptions{IO: streams, Dir: t.TempDir(), ProwConfig: "no/such/config.yaml"})
	if err == nil || !strings.Contains(err.Error(), "no/such/config.yaml") || !strings.Contains(err.Error(), "--prow-config") {
		t.Errorf("up without a Prow config: %v", err)
	}
}
