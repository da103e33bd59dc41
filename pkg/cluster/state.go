package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/prowctl/prowctl/pkg/atomicfile"
	"github.com/prowctl/prowctl/pkg/process"
)

// State is what DIR/state.json records about a cluster.
type State struct {
	Dir        string    `json:"dir"`
	ToolsDir   string    `json:"toolsDir"`
	ProwConfig string    `json:"prowConfig"`
	Kubeconfig string    `json:"kubeconfig"`
	Context    string    `json:"context"`
	Started    time.Time `json:"started"`
	Ready      time.Time `json:"ready,omitzero"`
	// Node is the node kind (NodeReal or NodeKwok; empty means kwok).
	Node string `json:"node,omitempty"`
	// MountNS is the real node's mount namespace, as /proc/PID/ns/mnt
	// reads, so Down finds what still runs in it after the holder is gone.
	MountNS    string           `json:"mountNS,omitempty"`
	Components []ComponentState `json:"components"`
}

// ComponentState is one component of a State.
type ComponentState struct {
	Name     string         `json:"name"`
	Version  string         `json:"version,omitempty"`
	Process  *Process       `json:"process,omitempty"`
	Ports    map[string]int `json:"ports,omitempty"`
	Endpoint string         `json:"endpoint,omitempty"`
	Log      string         `json:"log,omitempty"`
}

// PIDs returns the pid of every component process.
func (s *State) PIDs() []int {
	var pids []int
	for _, c := range s.Components {
		if c.Process != nil {
			pids = append(pids, c.Process.PID)
		}
	}
	return pids
}

const stateFile = "state.json"

// running says whether every component process of s still runs.
func (s *State) running() bool {
	any := false
	for _, c := range s.Components {
		if c.Process != nil {
			if !c.Process.alive() {
				return false
			}
			any = true
		}
	}
	return any && !s.Ready.IsZero()
}

// ComponentStatus is what Status reports about one component.
type ComponentStatus struct {
	Name     string `json:"name"`
	PID      int    `json:"pid,omitempty"`
	Running  bool   `json:"running"`
	Healthy  bool   `json:"healthy"`
	Health   string `json:"health"`
	Endpoint string `json:"endpoint"`
	Version  string `json:"version,omitempty"`
}

// Status checks each component of the cluster in dir: whether its recorded
// process still runs, and its readiness check.
func Status(ctx context.Context, dir string, components []Component) (*State, []ComponentStatus, error) {
	s, err := LoadState(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w in %s", ErrNoCluster, dir)
	}
	if err != nil {
		return nil, nil, err
	}
	if components == nil {
		if components, err = s.components(); err != nil {
			return nil, nil, err
		}
	}
	env := s.env()
	byName := map[string]Component{}
	for _, c := range components {
		byName[c.Name] = c
	}
	var out []ComponentStatus
	for _, cs := range s.Components {
		st := ComponentStatus{Name: cs.Name, Endpoint: cs.Endpoint, Version: cs.Version, Running: true}
		if cs.Process != nil {
			st.PID = cs.Process.PID
			st.Running = cs.Process.alive()
		}
		c, known := byName[cs.Name]
		switch {
		case !st.Running:
			st.Health = "not running"
		case !known || c.Ready == nil:
			st.Health = "unknown"
		default:
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			if err := c.Ready(ctx, env); err != nil {
				st.Health = err.Error()
			} else {
				st.Healthy, st.Health = true, "ok"
			}
			cancel()
		}
		out = append(out, st)
	}
	return s, out, nil
}

func (s *State) env() *Env {
	e := &Env{Dir: s.Dir, ToolsDir: s.ToolsDir, ProwConfig: s.ProwConfig, Ports: map[string]map[string]int{}, Runner: process.Exec{}}
	for _, c := range s.Components {
		e.Ports[c.Name] = c.Ports
		if c.Name == NamespaceName && c.Process != nil {
			e.NS = holderNamespaces(c.Process.PID)
		}
	}
	return e
}

// HostAddr is where the host reaches port of component c, as 127.0.0.1:PORT:
// the forwarder's port for it with a real node, the component's own port
// otherwise; "" when the cluster has no such component.
func (s *State) HostAddr(c, port string) string {
	p := s.port(c, port)
	for _, f := range forwarded {
		if f.component == c && f.port == port && s.port(ForwarderName, c) != 0 {
			p = s.port(ForwarderName, c)
		}
	}
	if p == 0 {
		return ""
	}
	return "127.0.0.1:" + strconv.Itoa(p)
}

func (s *State) port(c, name string) int {
	for _, cs := range s.Components {
		if cs.Name == c {
			return cs.Ports[name]
		}
	}
	return 0
}

// Env rebuilds the environment the components of s were started with.
func (s *State) Env() *Env { return s.env() }

// LoadState reads DIR/state.json.
func LoadState(dir string) (*State, error) {
	p := filepath.Join(dir, stateFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return &s, nil
}

func saveState(s *State) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(s.Dir, stateFile), append(b, '\n'), 0o644)
}

const lockFile = ".lock"

// lockDir keeps two prowctl processes from starting or stopping the same
// cluster at once.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another prowctl is starting or stopping the cluster in %s", dir)
	}
	return func() { f.Close() }, nil
}

// holderNamespaces are the namespaces of the holder process pid.
func holderNamespaces(pid int) process.Namespaces {
	p := "/proc/" + strconv.Itoa(pid) + "/ns/"
	return process.Namespaces{Net: p + "net", Mount: p + "mnt"}
}

// components are the cluster's components as Up started them: its node's,
// and the optional ones its state records (Argo).
func (s *State) components() ([]Component, error) {
	c, err := Components(s.Node)
	if err != nil {
		return nil, err
	}
	for _, cs := range s.Components {
		if cs.Name == ArgoName {
			c = WithArgo(c)
		}
	}
	return c, nil
}
