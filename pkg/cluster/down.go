package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// stopAll stops the components of s in the reverse order of their start.
func stopAll(ctx context.Context, s *State, grace time.Duration) error {
	var errs []error
	for i := len(s.Components) - 1; i >= 0; i-- {
		c := s.Components[i]
		if c.Process == nil {
			continue
		}
		if err := c.Process.stop(ctx, grace); err != nil {
			errs = append(errs, fmt.Errorf("stop %s: %w", c.Name, err))
		}
	}
	return errors.Join(errs...)
}

// removeOwned deletes what a previous cluster left in dir, and nothing else:
// dir may be a directory the user also keeps other files in.
func removeOwned(dir string, components []Component) error {
	paths := []string{stateFile, "kubeconfig", "logs"}
	for _, c := range components {
		paths = append(paths, c.Name)
	}
	for _, p := range paths {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			return err
		}
	}
	return nil
}

// DownOptions configure Down.
type DownOptions struct {
	// Keep leaves the state directory (logs, etcd data) in place.
	Keep bool
	// StopGrace as in Options.
	StopGrace time.Duration
	// Components whose files Down removes; those of the cluster's node
	// kind when nil.
	Components []Component
}

// ErrNoCluster is returned by Down and Status when dir holds no cluster.
var ErrNoCluster = errors.New("no cluster")

// Down stops exactly the processes recorded in dir's state file: SIGTERM,
// then SIGKILL after the grace period. Unless opts.Keep, it then removes the
// cluster's files. It returns the state it stopped.
func Down(ctx context.Context, dir string, opts DownOptions) (*State, error) {
	if opts.StopGrace == 0 {
		opts.StopGrace = 10 * time.Second
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, stateFile)); errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", ErrNoCluster, dir)
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()
	s, err := LoadState(dir)
	if err != nil {
		return nil, err
	}
	ns := s.holdNamespace()
	defer ns.release()
	if err := stopAll(ctx, s, opts.StopGrace); err != nil {
		return s, err
	}
	if err := s.sweep(ctx, ns); err != nil {
		return s, err
	}
	if opts.Components == nil {
		if opts.Components, err = s.components(); err != nil {
			return s, err
		}
	}
	if opts.Keep {
		return s, nil
	}
	if err := removeOwned(dir, opts.Components); err != nil {
		return s, err
	}
	os.Remove(filepath.Join(dir, lockFile))
	// Only removes dir if the cluster was all it held.
	os.Remove(dir)
	return s, nil
}

// sweep ends the processes a real node leaves behind and removes its
// cgroups (see the function sweep), and the host's directory its volumes
// were bound on if no other cluster binds its own there
// (releaseVolumesMountPoint); a kwok cluster leaves nothing. ns is the hold
// taken before anything was stopped (holdNamespace).
func (s *State) sweep(ctx context.Context, ns *nsHold) error {
	if s.Node != NodeReal {
		return nil
	}
	if err := sweep(ctx, ClusterID(s.Dir), ns.mountNS()); err != nil {
		return err
	}
	return releaseVolumesMountPoint()
}

// An nsHold keeps the cluster's mount namespace alive, by an open file of
// it, from before its components are stopped until the sweep is over. Once
// every process of a namespace is gone the kernel frees it and may give its
// number to a new one (another cluster's container, being made by runc): a
// sweep matching processes by that number would then kill them. Holding
// the namespace open keeps its number its own.
type nsHold struct {
	f  *os.File
	ns string
}

// holdNamespace holds the cluster's mount namespace if its holder still
// runs; otherwise the recorded number may already be another namespace's,
// and the hold holds nothing (the sweep then goes by cgroups alone).
func (s *State) holdNamespace() *nsHold {
	h := &nsHold{}
	if s.MountNS == "" {
		return h
	}
	for _, c := range s.Components {
		if c.Name != NamespaceName || !c.Process.alive() {
			continue
		}
		f, err := os.Open(fmt.Sprintf("/proc/%d/ns/mnt", c.Process.PID))
		if err != nil {
			return h
		}
		// Still the holder (not a new process with its pid), and still
		// the recorded namespace, now that the file is open.
		ns, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
		if err != nil || ns != s.MountNS || !c.Process.alive() {
			f.Close()
			return h
		}
		h.f, h.ns = f, ns
	}
	return h
}

func (h *nsHold) mountNS() string { return h.ns }

func (h *nsHold) release() {
	if h.f != nil {
		h.f.Close()
	}
}
