package e2e

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"

	"github.com/prowctl/prowctl/pkg/atomicfile"
)

// Keys steps use in the State to hand things on. A kind may add its own keys;
// these are the ones more than one kind reads.
const (
	StateRegistry = "registry" // host:port of the OCI registry images and charts go to
	// StateRegistryScheme is "http" when the registry speaks plain HTTP
	// although it is not on loopback (a registry step's addr: http://...).
	StateRegistryScheme = "registry.scheme"
	StateImage          = "image"      // pushed image reference, by digest (repo@sha256:...)
	StateImageTag       = "image.tag"  // tag the image was pushed with
	StateChart          = "chart"      // pushed chart reference (oci://...) or .tgz path
	StateKubeconfig     = "kubeconfig" // path of the kubeconfig of the test cluster
	StateCluster        = "cluster"    // name of the test cluster
	StateProvider       = "cluster.provider"
	StateCreated        = "cluster.created" // "true" when this run created the cluster
	StateNamespace      = "namespace"       // namespace the chart is deployed into
	StateRelease        = "release"         // helm release name
)

// StateFile is the name of the state file in the artifacts directory.
const StateFile = "e2e-state.json"

// StatePath returns the state file's path in the artifacts directory.
func StatePath(artifacts string) string { return filepath.Join(artifacts, StateFile) }

// StateRunKey is the key of the run record (RunRecord) in the state file:
// an object beside the string values steps hand on, reserved, and left out
// of All and of the E2E_* variables.
const StateRunKey = "e2e.run"

// State is a small persisted key/value store: JSON in one file, rewritten
// atomically (temp file + rename) under an exclusive file lock, so parallel
// steps of one run and steps run by hand in separate processes all see each
// other's writes. The same file keeps the run record (Record).
type State struct {
	path string
	mu   *sync.Mutex // serialises this process's goroutines; flock serialises processes
	// changed, on a step's own view of the state (observe), hears which keys
	// each Update through the view set or deleted: that is how the runner
	// knows a step's outputs, which a diff of the file before and after the
	// step could not tell from those of a step running beside it.
	changed func(set map[string]string, deleted []string)
}

// OpenState returns the state stored at path; the file need not exist yet.
func OpenState(path string) *State { return &State{path: path, mu: &sync.Mutex{}} }

// observe returns a view of s whose Updates also go to fn.
func (s *State) observe(fn func(set map[string]string, deleted []string)) *State {
	return &State{path: s.path, mu: s.mu, changed: fn}
}

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
	m, _, err := s.read()
	return m, err
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
		m, run, err := s.read()
		if err != nil {
			return err
		}
		var before map[string]string
		if s.changed != nil {
			before = maps.Clone(m)
		}
		fn(m)
		if _, ok := m[StateRunKey]; ok {
			return fmt.Errorf("state: %s is the run record's key, not a value a step may set", StateRunKey)
		}
		if err := s.write(m, run); err != nil {
			return err
		}
		if s.changed != nil {
			set := map[string]string{}
			var deleted []string
			for k, v := range m {
				if old, ok := before[k]; !ok || old != v {
					set[k] = v
				}
			}
			for k := range before {
				if _, ok := m[k]; !ok {
					deleted = append(deleted, k)
				}
			}
			s.changed(set, deleted)
		}
		return nil
	})
}

// Record returns the run record the file keeps: the build's attempt and
// the last outcome of each step. nil when there is none yet.
func (s *State) Record() (*RunRecord, error) {
	_, run, err := s.read()
	if err != nil || run == nil {
		return nil, err
	}
	rec := &RunRecord{}
	if err := json.Unmarshal(run, rec); err != nil {
		return nil, fmt.Errorf("state: %s: %s: %w", s.path, StateRunKey, err)
	}
	return rec, nil
}

// UpdateRecord applies fn to the run record (an empty one if there is none)
// and writes it back, the values untouched, as one atomic read-modify-write.
func (s *State) UpdateRecord(fn func(*RunRecord)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.locked(func() error {
		m, run, err := s.read()
		if err != nil {
			return err
		}
		rec := &RunRecord{}
		if run != nil {
			if err := json.Unmarshal(run, rec); err != nil {
				return fmt.Errorf("state: %s: %s: %w", s.path, StateRunKey, err)
			}
		}
		fn(rec)
		if run, err = json.Marshal(rec); err != nil {
			return fmt.Errorf("state: %w", err)
		}
		return s.write(m, run)
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

// read returns the values and the run record, as JSON, nil if absent.
func (s *State) read() (map[string]string, json.RawMessage, error) {
	m := map[string]string{}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return m, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("state: %w", err)
	}
	if len(b) == 0 {
		return m, nil, nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, nil, fmt.Errorf("state: %s: %w", s.path, err)
	}
	var run json.RawMessage
	for k, v := range raw {
		if k == StateRunKey {
			run = v
			continue
		}
		var str string
		if err := json.Unmarshal(v, &str); err != nil {
			return nil, nil, fmt.Errorf("state: %s: %q: want a string, got %s", s.path, k, v)
		}
		m[k] = str
	}
	return m, run, nil
}

// write writes the values, sorted, then the run record: a person opening
// the file looks for the image and the kubeconfig first, and a `run:` step
// reading it with jq finds them where they always were.
func (s *State) write(m map[string]string, run json.RawMessage) error {
	var b bytes.Buffer
	b.WriteString("{")
	sep := "\n"
	for _, k := range slices.Sorted(maps.Keys(m)) {
		kj, _ := json.Marshal(k)
		vj, _ := json.Marshal(m[k])
		fmt.Fprintf(&b, "%s  %s: %s", sep, kj, vj)
		sep = ",\n"
	}
	if run != nil {
		kj, _ := json.Marshal(StateRunKey)
		fmt.Fprintf(&b, "%s  %s: ", sep, kj)
		if err := json.Indent(&b, run, "  ", "  "); err != nil {
			return fmt.Errorf("state: %s: %w", StateRunKey, err)
		}
		sep = ",\n"
	}
	if sep != "\n" {
		b.WriteString("\n")
	}
	b.WriteString("}\n")
	return atomicfile.Write(s.path, b.Bytes(), 0o644)
}
