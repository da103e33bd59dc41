package cluster

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// A hold on the cluster's mount namespace is taken only while the holder
// runs and the namespace is the recorded one, and it keeps the namespace
// (and so its number) alive after the holder is gone.
func TestHoldNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root to make a mount namespace")
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	holder := exec.Command("unshare", "--mount", sleep, "600")
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	defer holder.Process.Kill()
	pid := holder.Process.Pid
	nsPath := fmt.Sprintf("/proc/%d/ns/mnt", pid)
	self, _ := os.Readlink("/proc/self/ns/mnt")
	var ns string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		// Until unshare has exec'd sleep it is in ours.
		if ns, _ = os.Readlink(nsPath); ns != "" && ns != self {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare never entered a mount namespace of its own")
		}
	}
	start, err := procStartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	state := func(mountNS string) *State {
		return &State{MountNS: mountNS, Components: []ComponentState{{Name: NamespaceName, Process: &Process{PID: pid, StartTime: start, Binary: sleep}}}}
	}

	if got := state(self).holdNamespace(); got.mountNS() != "" {
		got.release()
		t.Errorf("a recorded namespace that is not the holder's was held: %q", got.mountNS())
	}
	h := state(ns).holdNamespace()
	defer h.release()
	if h.mountNS() != ns {
		t.Fatalf("hold: %q, want %q", h.mountNS(), ns)
	}
	holder.Process.Kill()
	holder.Wait()
	if got := state(ns).holdNamespace(); got.mountNS() != "" {
		got.release()
		t.Errorf("held a namespace whose holder is gone: %q", got.mountNS())
	}
	// No process is in it any more, but the hold keeps it.
	if got, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", h.f.Fd())); err != nil || got != ns {
		t.Errorf("held namespace reads %q (%v), want %q", got, err, ns)
	}
}

// The served config points job URLs at the local Deck and adds lenses only
// where the config has none.
func TestServeConfig(t *testing.T) {
	in := []byte("prowjob_namespace: prow\nplank:\n  job_url_prefix_config:\n    '*': https://prow.example/view/\n")
	out, err := serveConfig(in, 31000)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"prowjob_namespace: prow", "'*': http://127.0.0.1:31000/view/", "name: buildlog", "name: junit"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("served config lacks %q:\n%s", want, out)
		}
	}
	own := []byte("deck:\n  spyglass:\n    lenses:\n    - lens: {name: html}\n      required_files: ['^x$']\n")
	out, err = serveConfig(own, 0)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "buildlog") || strings.Contains(string(out), "job_url_prefix_config") {
		t.Errorf("served config changed the config's own lenses or URLs:\n%s", out)
	}
	if _, err := serveConfig([]byte("plank: [1]\n"), 1); err == nil {
		t.Error("a plank that is not a mapping: no error")
	}
}
