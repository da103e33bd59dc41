package cluster

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A mount on the volumes' directory is found by its mount point, the fifth
// field, not by a root or a source that names the path.
func TestMountedIn(t *testing.T) {
	for _, tc := range []struct {
		name, mountinfo string
		want            bool
	}{
		{"bound", "65 45 254:0 /tmp/c/storage/volumes /tmp/hostpath_pv rw,relatime - ext4 /dev/vda rw\n", true},
		{"deeper", "66 65 0:50 / /tmp/hostpath_pv/x rw - tmpfs tmpfs rw\n", false},
		{"root only", "67 45 254:0 /tmp/hostpath_pv /mnt rw - ext4 /dev/vda rw\n", false},
		{"none", "1 0 254:0 / / rw - ext4 /dev/vda rw\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "mountinfo")
			if err := os.WriteFile(f, []byte(tc.mountinfo), 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := mountedIn(f, hostPathVolumes)
			if err != nil || got != tc.want {
				t.Errorf("mountedIn = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

// Only a real node's kube-controller-manager provisions volumes: on a kwok
// cluster it runs on the host, and would write to the host's /tmp.
func TestHostPathProvisionerOnRealNodeOnly(t *testing.T) {
	e := &Env{Dir: t.TempDir()}
	for _, tc := range []struct {
		name       string
		components []Component
		want       bool
	}{
		{"kwok", DefaultComponents(), false},
		{"real", RealNodeComponents(), true},
	} {
		i := slices.IndexFunc(tc.components, func(c Component) bool { return c.Name == ControllerManagerName })
		if i < 0 {
			t.Fatalf("%s: no %s", tc.name, ControllerManagerName)
		}
		if got := slices.Contains(tc.components[i].Args(e), "--enable-hostpath-provisioner"); got != tc.want {
			t.Errorf("%s: --enable-hostpath-provisioner %v, want %v", tc.name, got, tc.want)
		}
		if got := slices.ContainsFunc(tc.components, func(c Component) bool { return c.Name == StorageName }); got != tc.want {
			t.Errorf("%s: component %s %v, want %v", tc.name, StorageName, got, tc.want)
		}
	}
}
