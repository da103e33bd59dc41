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
	nsValid := s.namespaceHeld()
	if err := stopAll(ctx, s, opts.StopGrace); err != nil {
		return s, err
	}
	if err := s.sweep(ctx, nsValid); err != nil {
		return s, err
	}
	if opts.Components == nil {
		if opts.Components, err = Components(s.Node); err != nil {
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

// sweep ends what a real node leaves after its components stopped (see
// sweep); a kwok cluster leaves nothing. nsValid says the recorded mount
// namespace is still the cluster's (see namespaceHeld).
func (s *State) sweep(ctx context.Context, nsValid bool) error {
	if s.Node != NodeReal {
		return nil
	}
	mountNS := s.MountNS
	if !nsValid {
		mountNS = ""
	}
	return sweep(ctx, ClusterID(s.Dir), mountNS)
}

// namespaceHeld says whether the cluster's namespace holder still runs, so
// its recorded mount namespace is the cluster's: once every process of a
// namespace is gone, the kernel may give its number to a new one (another
// cluster's), which a sweep must not touch. Called before anything is
// stopped; the namespace then lives on as long as a process is in it.
func (s *State) namespaceHeld() bool {
	for _, c := range s.Components {
		if c.Name == NamespaceName {
			return c.Process.alive()
		}
	}
	return false
}
