package prowctlbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSweepRemovesOnlyTheBinariesOfExitedTests(t *testing.T) {
	exited := exec.Command("true")
	if err := exited.Run(); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	names := []string{
		dirPrefix + strconv.Itoa(exited.Process.Pid), // its test process is gone
		dirPrefix + strconv.Itoa(os.Getpid()),        // this test process
		dirPrefix + "1",                              // init: running
		dirPrefix + "notapid",
		"other-dir",
	}
	for _, n := range names {
		if err := os.MkdirAll(filepath.Join(tmp, n), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sweep(tmp)
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := slices.Clone(names[1:])
	slices.Sort(want)
	if diff := cmp.Diff(want, left); diff != "" {
		t.Errorf("left after the sweep (-want +got):\n%s", diff)
	}
}

func TestPathPrefersTheEnvironment(t *testing.T) {
	t.Setenv(Env, "/the/prebuilt/prowctl")
	if got := Path(t); got != "/the/prebuilt/prowctl" {
		t.Errorf("Path = %q, want $%s", got, Env)
	}
}
