package cluster

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prowctl/prowctl/pkg/process"
)

// Volumes for PersistentVolumeClaims on a real node (an Argo Workflow's
// volumeClaimTemplates, shared by its steps' pods): Kubernetes' own hostpath
// provisioner, in kube-controller-manager (--enable-hostpath-provisioner),
// serves the default StorageClass HostPathStorageClass. It makes each
// claim's volume a directory /tmp/hostpath_pv/<uuid> (the path is fixed in
// Kubernetes) and removes it once the volume is released (reclaim policy
// Delete); the kubelet hands it to the pods as a hostPath. Both run in the
// cluster's mount namespace, where DIR/storage/volumes is bound on
// /tmp/hostpath_pv: the volumes live in the cluster's directory, go with
// it, and never land in the host's /tmp.
//
// The bind needs a directory /tmp/hostpath_pv on the host to mount on, and
// every real-node cluster on the machine binds its own volumes on that same
// directory. The last cluster down removes it: removing it while another
// cluster's namespace still has its volumes bound there would unmount them
// (the kernel detaches mounts of a removed directory in every namespace), so
// a down removes it only when no process's namespace has a mount on it, and
// up and down take turns on it by an flock of the directory itself.
const (
	StorageName = "storage"
	// HostPathStorageClass is the real node's default StorageClass.
	HostPathStorageClass = "prowctl-hostpath"
	// hostPathProvisioner is the in-tree hostPath plugin's name, the
	// provisioner kube-controller-manager serves the class with.
	hostPathProvisioner = "kubernetes.io/host-path"
	// hostPathVolumes is where the provisioner makes its directories
	// (k8s.io/kubernetes/pkg/volume/hostpath, basePath "hostpath_pv").
	hostPathVolumes = "/tmp/hostpath_pv"
)

// withHostPathProvisioner turns on kube-controller-manager's hostpath
// provisioner: on a real node only, where it runs in the cluster's mount
// namespace (on a kwok cluster it would write to the host's /tmp, and no
// pod would read it).
func withHostPathProvisioner(c Component) Component {
	args := c.Args
	c.Args = func(e *Env) []string { return append(args(e), "--enable-hostpath-provisioner") }
	return c
}

func storageComponent() Component {
	return Component{
		Name:  StorageName,
		Needs: []string{NodeNetworkName, APIServerName},
		Setup: func(ctx context.Context, e *Env) error {
			if err := os.MkdirAll(e.Path(StorageName, "volumes"), 0o755); err != nil {
				return err
			}
			if err := bindVolumes(ctx, e); err != nil {
				return err
			}
			kube, err := e.kube()
			if err != nil {
				return err
			}
			_, err = kube.StorageV1().StorageClasses().Create(ctx, hostPathClass(), metav1.CreateOptions{})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				return fmt.Errorf("create storageclass %s: %w", HostPathStorageClass, err)
			}
			return nil
		},
		Ready: func(ctx context.Context, e *Env) error {
			kube, err := e.kube()
			if err != nil {
				return err
			}
			_, err = kube.StorageV1().StorageClasses().Get(ctx, HostPathStorageClass, metav1.GetOptions{})
			return err
		},
		Endpoint: func(e *Env) string {
			return "storageclass " + HostPathStorageClass + " (default): " + hostPathVolumes + " is " + e.Path(StorageName, "volumes") + " (namespace)"
		},
	}
}

func hostPathClass() *storagev1.StorageClass {
	reclaim := corev1.PersistentVolumeReclaimDelete
	// Immediate: the in-tree provisioner takes no node, and there is one.
	binding := storagev1.VolumeBindingImmediate
	return &storagev1.StorageClass{
		ObjectMeta: metav1.ObjectMeta{
			Name:        HostPathStorageClass,
			Annotations: map[string]string{"storageclass.kubernetes.io/is-default-class": "true"},
		},
		Provisioner:       hostPathProvisioner,
		ReclaimPolicy:     &reclaim,
		VolumeBindingMode: &binding,
	}
}

// bindVolumes binds the cluster's volumes directory on hostPathVolumes in
// the cluster's mount namespace, making the host's directory to mount on if
// need be.
func bindVolumes(ctx context.Context, e *Env) error {
	mp, err := lockVolumesMountPoint(true)
	if err != nil {
		return err
	}
	defer mp.Close()
	var out strings.Builder
	cmd := process.Cmd{Name: "mount", Args: []string{"--bind", e.Path(StorageName, "volumes"), hostPathVolumes}, Namespaces: e.NS, Stdout: &out, Stderr: &out}
	if err := e.Runner.Run(ctx, cmd); err != nil {
		return fmt.Errorf("mount --bind %s %s: %w: %s", e.Path(StorageName, "volumes"), hostPathVolumes, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// releaseVolumesMountPoint removes the host's hostPathVolumes once no
// cluster binds its volumes there any more. A directory holding files is
// not one a cluster made (a cluster's volumes are in its own directory):
// it stays.
func releaseVolumesMountPoint() error {
	mp, err := lockVolumesMountPoint(false)
	if err != nil || mp == nil {
		return err
	}
	defer mp.Close()
	if inUse, err := volumesMounted(); err != nil || inUse {
		return err
	}
	if err := syscall.Rmdir(hostPathVolumes); err != nil && !errors.Is(err, syscall.ENOENT) && !errors.Is(err, syscall.ENOTEMPTY) {
		return fmt.Errorf("remove %s: %w", hostPathVolumes, err)
	}
	return nil
}

// lockVolumesMountPoint opens hostPathVolumes (making it first if create)
// and locks it; closing the file unlocks it. Without create, a missing
// directory is (nil, nil). /tmp is everyone's: the directory must be root's
// (which the sticky bit then keeps in place), or a user could have the
// bind land where they chose.
func lockVolumesMountPoint(create bool) (*os.File, error) {
	for {
		if create {
			if err := os.Mkdir(hostPathVolumes, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return nil, err
			}
		}
		f, err := os.Open(hostPathVolumes)
		if errors.Is(err, fs.ErrNotExist) {
			if !create {
				return nil, nil
			}
			// Removed by a down since the Mkdir.
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", hostPathVolumes, err)
		}
		held, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		now, err := os.Lstat(hostPathVolumes)
		if err == nil && os.SameFile(held, now) {
			if st, ok := now.Sys().(*syscall.Stat_t); !now.IsDir() || !ok || st.Uid != 0 {
				f.Close()
				return nil, fmt.Errorf("%s is not a directory of root's, which the cluster's volumes are bound on: remove it", hostPathVolumes)
			}
			return f, nil
		}
		// A down removed it while we waited for the lock.
		f.Close()
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if !create && err != nil {
			return nil, nil
		}
	}
}

// volumesMounted says whether some process's mount namespace has a mount
// on hostPathVolumes: a running real-node cluster's.
func volumesMounted() (bool, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return false, err
	}
	seen := map[string]bool{}
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid))
		if err != nil || seen[ns] {
			continue
		}
		mounted, err := mountedIn(fmt.Sprintf("/proc/%d/mountinfo", pid), hostPathVolumes)
		if err != nil {
			// Gone meanwhile: another process may show its namespace.
			continue
		}
		if mounted {
			return true, nil
		}
		seen[ns] = true
	}
	return false, nil
}

// mountedIn says whether the mountinfo file lists a mount on path.
func mountedIn(mountinfo, path string) (bool, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return false, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		// ID parent major:minor root mount-point options ...
		if fields := strings.Fields(s.Text()); len(fields) > 4 && fields[4] == path {
			return true, nil
		}
	}
	return false, s.Err()
}
