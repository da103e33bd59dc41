package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/prowctl/prowctl/pkg/atomicfile"
)

// Keys steps use in the State to hand things on. A kind may add its own keys;
// these are the ones more than one kind reads.
const (
	StateRegistry   = "registry"   // host:port of the OCI registry images and charts go to
	StateImage      = "image"      // pushed image reference, by digest (repo@sha256:...)
	StateImageTag   = "image.tag"  // tag the image was pushed with
	StateChart      = "chart"      // pushed chart reference (oci://...) or .tgz path
	StateKubeconfig = "kubeconfig" // path of the kubeconfig of the test cluster
	StateCluster    = "cluster"    // name of the test cluster
	StateProvider   = "cluster.provider"
	StateCreated    = "cluster.created" // "true" when this run created the cluster
	StateNamespace  = "namespace"       // namespace the chart is deployed into
	StateRelease    = "release"         // helm release name
)

// StateFile is the name of the state file in the artifacts directory.
const StateFile = "e2e-state.json"

// StatePath returns the state file's path in the artifacts directory.
func StatePath(artifacts string) string { return filepath.Join(artifacts, StateFile) }

// State is a small persisted key/value store: JSON in one file, rewritten
// atomically (temp file + rename) under an exclusive file lock, so parallel
// steps of one run and steps run by hand in separate processes all see each
// other's writes.
type State struct {
	path string
	mu   sync.Mutex // serialises this process's goroutines; flock serialises processes
}

// OpenState returns the state stored at path; the file need not exist yet.
func OpenState(path string) *State { return &State{path: path} }

// Path returns the file the state lives in.
func (s *State) Path() string { return s.path }

// Get returns the value stored under key.
func (s *State) Get(key string) (string, bool, error) {
	m, err := s.All()
	if err != nil {
		return "", false, err
	}
	v, ok := m[key]
	return v, ok, nil
}

// Lookup returns the value stored under key, "" when it is missing or the
// file cannot be read.
func (s *State) Lookup(key string) string {
	v, _, _ := s.Get(key)
	return v
}

// All returns a copy of every key and value. Reading takes no lock: writes
// replace the file by rename, so a reader sees one whole version or the other.
func (s *State) All() (map[string]string, error) {
	return s.read()
}

// Set stores key=value.
func (s *State) Set(key, value string) error {
	return s.Update(func(m map[string]string) { m[key] = value })
}

// Delete removes keys.
func (s *State) Delete(keys ...string) error {
	return s.Update(func(m map[string]string) {
		for _, k := range keys {
			delete(m, k)
		}
	})
}

// Update applies fn to the stored map and writes the result, as one atomic
// read-modify-write.
func (s *State) Update(fn func(map[string]string)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.locked(func() error {
		m, err := s.read()
		if err != nil {
			return err
		}
		fn(m)
		return s.write(m)
	})
}

func (s *State) locked(fn func() error) error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return fmt.Errorf("state: %w", err)
	}
	lock, err := os.OpenFile(s.path+".lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("state: lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) //nolint:errcheck // closing releases it anyway
	return fn()
}

func (s *State) read() (map[string]string, error) {
	m := map[string]string{}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil
	}
	if err != nil {
		return nil, fmt.Errorf("state: %w", err)
	}
	if len(b) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("state: %s: %w", s.path, err)
	}
	return m, nil
}

func (s *State) write(m map[string]string) error {
	b, err := json.MarshalIndent(m, "", "  ") // encoding/json sorts map keys
	if err != nil {
		return fmt.Errorf("state: %w", err)
	}
	return atomicfile.Write(s.path, append(b, '\n'), 0o644)
}
