package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sweep ends what a real node leaves behind once its components are
// stopped: containerd's shims (they outlive containerd, in the cluster's
// mount namespace) and the pods' processes (in the cluster's cgroups), then
// removes the cgroups. mountNS is the namespace as /proc/PID/ns/mnt reads
// ("mnt:[4026532…]"); with it gone and the processes dead, the kernel drops
// the namespaces, their mounts and interfaces (bridge, veths) by itself.
func sweep(ctx context.Context, id, mountNS string) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		pids := clusterPIDs(id, mountNS)
		if len(pids) == 0 {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("processes of the cluster still run after SIGKILL: %v", pids)
		}
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return removeCgroups(ctx, id)
}

// clusterPIDs lists the processes in the cluster's mount namespace or in one
// of its cgroups, never prowctl itself.
func clusterPIDs(id, mountNS string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == self {
			continue
		}
		if mountNS != "" {
			if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/mnt", pid)); err == nil && l == mountNS {
				pids = append(pids, pid)
				continue
			}
		}
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid)); err == nil && inCgroup(string(b), id) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// inCgroup says whether a /proc/PID/cgroup text puts the process under /id.
func inCgroup(text, id string) bool {
	for _, l := range strings.Split(text, "\n") {
		// hierarchy-ID:controllers:path
		parts := strings.SplitN(l, ":", 3)
		if len(parts) == 3 && (parts[2] == "/"+id || strings.HasPrefix(parts[2], "/"+id+"/")) {
			return true
		}
	}
	return false
}

// ClusterCgroups lists the cgroup directories the cluster in dir owns that
// exist, deepest first.
func ClusterCgroups(dir string) []string {
	return cgroupDirs(ClusterID(dir))
}

func cgroupDirs(id string) []string {
	hs, err := cgroupHierarchies()
	if err != nil {
		return nil
	}
	var dirs []string
	for _, h := range hs {
		root := filepath.Join(h, id)
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
	}
	// Children before parents: rmdir takes empty cgroups only.
	slices.SortFunc(dirs, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	return dirs
}

// removeCgroups removes the cluster's cgroups; a cgroup whose last process
// just died may refuse for a moment (EBUSY).
func removeCgroups(ctx context.Context, id string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var errs []error
		for _, d := range cgroupDirs(id) {
			if err := syscall.Rmdir(d); err != nil && !errors.Is(err, syscall.ENOENT) {
				errs = append(errs, fmt.Errorf("remove cgroup %s: %w", d, err))
			}
		}
		if len(errs) == 0 {
			return nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return errors.Join(errs...)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
