// Package cluster runs a personal Prow cluster on one machine from real
// components built by `make tools`: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, a simulated node (kwok) and Prow's
// plank, on ports picked at start. All listen on 127.0.0.1 only, except
// plank's health, metrics and pprof ports: prow-controller-manager has no flag
// to bind them to an address.
//
// Pods run on the simulated node: their spec, Prow's decoration and the
// ProwJob state machine are real; their containers are not executed. kwok
// completes Prow's pods after a second, and fails the ones labelled
// prowctl.dev/simulate-result=failure (see config/kwok/stages.yaml).
//
// Everything the cluster owns lives under one directory, and Up and Down
// touch nothing else in it:
//
//	DIR/state.json              pids (with start times), ports, versions, endpoints
//	DIR/kubeconfig              admin kubeconfig: context prowctl-local, namespace = the ProwJob namespace
//	DIR/logs/<component>.log    each component's output
//	DIR/<component>/            each process's working directory and files:
//	  etcd/data/                etcd's data
//	  kube-apiserver/           CA, serving certificate, service account keys, tokens.csv
//	  kube-controller-manager/, kube-scheduler/   their self-signed serving certificates
//	  kwok/stages.yaml          the simulated node's pod stages (config/kwok/stages.yaml)
//	  plank/kubeconfig          plank's kubeconfig: one context, "default"
//	DIR/.lock                   held while Up or Down runs
package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Options configure Up.
type Options struct {
	// Dir is the state directory (see the package documentation).
	Dir string
	// ToolsDir is where `make tools` put the binaries; DefaultToolsDir()
	// when empty.
	ToolsDir string
	// ProwConfig is the Prow config plank loads (config/prow/config.yaml).
	ProwConfig string
	// Components make up the cluster; DefaultComponents() when nil.
	Components []Component
	// Progress receives one line per started component; nil for none.
	Progress io.Writer
	// StopWithParent makes the kernel kill the components when the calling
	// process dies, as tests want. `prowctl cluster up` leaves it false:
	// the cluster outlives the command.
	StopWithParent bool
	// ReadyTimeout bounds the wait for each component; 90 s when zero.
	ReadyTimeout time.Duration
	// StopGrace is how long a component may take to exit after SIGTERM
	// before it gets SIGKILL; 10 s when zero.
	StopGrace time.Duration

	// pickPort chooses a port; tests replace it to force a port in use.
	pickPort func() (int, error)
}

// State is what DIR/state.json records about a cluster.
type State struct {
	Dir        string           `json:"dir"`
	ToolsDir   string           `json:"toolsDir"`
	ProwConfig string           `json:"prowConfig"`
	Kubeconfig string           `json:"kubeconfig"`
	Context    string           `json:"context"`
	Started    time.Time        `json:"started"`
	Ready      time.Time        `json:"ready,omitzero"`
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

// ComponentError says which component failed to start and where its log is.
type ComponentError struct {
	Component string
	Log       string // empty for a component without a process
	Err       error
	// Tail is the end of the log, for the reader of the error.
	Tail string
}

func (e *ComponentError) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Component, e.Err)
	if e.Log != "" {
		msg += fmt.Sprintf(" (log: %s)", e.Log)
	}
	if e.Tail != "" {
		msg += "\n" + indent(e.Tail)
	}
	return msg
}

func (e *ComponentError) Unwrap() error { return e.Err }

// Up starts the cluster in opts.Dir and waits until every component is
// ready. If the cluster in Dir already runs, Up returns its state and
// running=true without touching it. A state directory left by a crashed run
// is cleaned first: its surviving processes are stopped, its files removed.
// When a component fails, Up stops every component it started and returns a
// *ComponentError naming the component and its log.
func Up(ctx context.Context, opts Options) (state *State, running bool, err error) {
	if err := opts.complete(); err != nil {
		return nil, false, err
	}
	// Every binary must exist before anything starts.
	binaries := map[string]string{}
	for _, c := range opts.Components {
		p, err := c.binaryPath(opts.ToolsDir)
		if err != nil {
			return nil, false, err
		}
		binaries[c.Name] = p
	}
	if err := checkGraph(opts.Components); err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, false, err
	}
	unlock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, false, err
	}
	defer unlock()

	old, err := LoadState(opts.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		// An unreadable state file is stale by definition.
		progress(opts.Progress, "cleaning up unreadable %s", filepath.Join(opts.Dir, stateFile))
	case old.running():
		return old, true, nil
	default:
		progress(opts.Progress, "cleaning up the stale cluster state in %s", opts.Dir)
		if err := stopAll(context.WithoutCancel(ctx), old, opts.StopGrace); err != nil {
			return nil, false, err
		}
	}
	if err := removeOwned(opts.Dir, opts.Components); err != nil {
		return nil, false, err
	}

	env := &Env{Dir: opts.Dir, ToolsDir: opts.ToolsDir, ProwConfig: opts.ProwConfig, Ports: map[string]map[string]int{}}
	state = &State{
		Dir: opts.Dir, ToolsDir: opts.ToolsDir, ProwConfig: opts.ProwConfig,
		Kubeconfig: env.Kubeconfig(), Context: ContextName, Started: time.Now(),
	}
	for _, c := range opts.Components {
		ports := map[string]int{}
		for _, name := range c.Ports {
			p, err := opts.pickPort()
			if err != nil {
				return nil, false, fmt.Errorf("%s: pick a port for %s: %w", c.Name, name, err)
			}
			if err := checkPortFree(p); err != nil {
				return nil, false, &ComponentError{Component: c.Name, Err: fmt.Errorf("port %s (%d): %w", name, p, err)}
			}
			ports[name] = p
		}
		env.Ports[c.Name] = ports
		cs := ComponentState{Name: c.Name, Ports: ports}
		if c.Binary != "" {
			cs.Version = c.Tool.Version
			cs.Log = env.LogPath(c.Name)
		}
		state.Components = append(state.Components, cs)
	}
	if err := os.MkdirAll(env.Path("logs"), 0o755); err != nil {
		return nil, false, err
	}
	if err := saveState(state); err != nil {
		return nil, false, err
	}

	if err := startAll(ctx, opts, env, state, binaries); err != nil {
		stopErr := stopAll(context.WithoutCancel(ctx), state, opts.StopGrace)
		// Nothing runs any more; the logs stay for the reader of err.
		os.Remove(filepath.Join(opts.Dir, stateFile))
		return nil, false, errors.Join(err, stopErr)
	}
	for i, c := range opts.Components {
		if c.Endpoint != nil {
			state.Components[i].Endpoint = c.Endpoint(env)
		}
	}
	state.Ready = time.Now()
	if err := saveState(state); err != nil {
		return nil, false, err
	}
	return state, false, nil
}

func (o *Options) complete() error {
	if o.Dir == "" {
		return errors.New("no cluster directory")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	o.Dir = dir
	if o.ToolsDir == "" {
		o.ToolsDir = DefaultToolsDir()
	}
	if o.ProwConfig != "" {
		if o.ProwConfig, err = filepath.Abs(o.ProwConfig); err != nil {
			return err
		}
	}
	if o.Components == nil {
		o.Components = DefaultComponents()
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 90 * time.Second
	}
	if o.StopGrace == 0 {
		o.StopGrace = 10 * time.Second
	}
	if o.pickPort == nil {
		o.pickPort = freePort
	}
	return nil
}

// checkGraph refuses unknown or circular Needs, which would make Up wait
// forever.
func checkGraph(components []Component) error {
	index := map[string]int{}
	for i, c := range components {
		if _, dup := index[c.Name]; dup {
			return fmt.Errorf("component %s listed twice", c.Name)
		}
		index[c.Name] = i
	}
	// Needs may only point back up the list, which also rules out cycles.
	for i, c := range components {
		for _, n := range c.Needs {
			j, ok := index[n]
			if !ok {
				return fmt.Errorf("component %s needs unknown component %s", c.Name, n)
			}
			if j >= i {
				return fmt.Errorf("component %s needs %s, listed after it", c.Name, n)
			}
		}
	}
	return nil
}

// startAll starts each component as soon as the ones it needs are ready, and
// returns the first failure.
func startAll(ctx context.Context, opts Options, env *Env, state *State, binaries map[string]string) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ready := map[string]chan struct{}{}
	for _, c := range opts.Components {
		ready[c.Name] = make(chan struct{})
	}
	var (
		mu       sync.Mutex // guards state and the state file
		wg       sync.WaitGroup
		firstErr error
		once     sync.Once
	)
	fail := func(err error) {
		once.Do(func() { firstErr = err; cancel(err) })
	}
	for i, c := range opts.Components {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, n := range c.Needs {
				select {
				case <-ready[n]:
				case <-ctx.Done():
					return
				}
			}
			start := time.Now()
			proc, err := startComponent(ctx, opts, env, c, binaries[c.Name], func(p *Process) error {
				mu.Lock()
				defer mu.Unlock()
				state.Components[i].Process = p
				return saveState(state)
			})
			if err != nil {
				fail(err)
				return
			}
			what := "ready"
			if proc != nil {
				what = fmt.Sprintf("ready (pid %d)", proc.PID)
			}
			progress(opts.Progress, "%-24s %s in %.1fs", c.Name, what, time.Since(start).Seconds())
			close(ready[c.Name])
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return context.Cause(ctx)
}

func startComponent(ctx context.Context, opts Options, env *Env, c Component, binary string, started func(*Process) error) (*Process, error) {
	fail := func(err error) (*Process, error) {
		ce := &ComponentError{Component: c.Name, Err: err}
		if c.Binary != "" {
			ce.Log = env.LogPath(c.Name)
			ce.Tail = tail(ce.Log, 10)
		}
		return nil, ce
	}
	if c.Setup != nil {
		if err := c.Setup(ctx, env); err != nil {
			return fail(fmt.Errorf("setup: %w", err))
		}
	}
	var (
		proc   *Process
		exited <-chan error
	)
	if c.Binary != "" {
		var args []string
		if c.Args != nil {
			args = c.Args(env)
		}
		dir := env.Path(c.Name)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fail(err)
		}
		var err error
		proc, exited, err = startProcess(binary, args, c.Environ, dir, env.LogPath(c.Name), opts.StopWithParent)
		if err != nil {
			return fail(fmt.Errorf("start %s: %w", binary, err))
		}
		if err := started(proc); err != nil {
			return proc, err
		}
	}
	if c.Ready == nil {
		return proc, nil
	}
	deadline := time.NewTimer(opts.ReadyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		if lastErr = c.Ready(ctx, env); lastErr == nil {
			return proc, nil
		}
		select {
		case err := <-exited:
			if err == nil {
				err = errors.New("exit status 0")
			}
			return fail(fmt.Errorf("exited at start (%w)", err))
		case <-deadline.C:
			return fail(fmt.Errorf("not ready after %s: %w", opts.ReadyTimeout, lastErr))
		case <-ctx.Done():
			return proc, context.Cause(ctx)
		case <-tick.C:
		}
	}
}

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
	// Components whose files Down removes; DefaultComponents() when nil.
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
	if opts.Components == nil {
		opts.Components = DefaultComponents()
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
	if err := stopAll(ctx, s, opts.StopGrace); err != nil {
		return s, err
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
	if components == nil {
		components = DefaultComponents()
	}
	s, err := LoadState(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("%w in %s", ErrNoCluster, dir)
	}
	if err != nil {
		return nil, nil, err
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
	e := &Env{Dir: s.Dir, ToolsDir: s.ToolsDir, ProwConfig: s.ProwConfig, Ports: map[string]map[string]int{}}
	for _, c := range s.Components {
		e.Ports[c.Name] = c.Ports
	}
	return e
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
	return writeFileAtomic(filepath.Join(s.Dir, stateFile), append(b, '\n'), 0o644)
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

// freePort picks a port on 127.0.0.1 that nothing uses, below the kernel's
// ephemeral range. Ports are chosen before the components start, seconds before
// they bind them; a port from the ephemeral range could meanwhile become the
// local end of some outgoing connection (the other components', a parallel
// test's), and the component would then fail to bind. Only when no port below
// the range is free does it fall back to one the kernel hands out.
func freePort() (int, error) {
	lo, _ := ephemeralPortRange()
	if lo > minPickedPort {
		for range 64 {
			p := minPickedPort + rand.IntN(lo-minPickedPort)
			if checkPortFree(p) == nil {
				return p, nil
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// minPickedPort keeps picked ports clear of the well-known and registered
// ports that daemons on a developer's machine tend to hold.
const minPickedPort = 20000

// ephemeralPortRange reads the range the kernel takes local ports of outgoing
// connections from; Linux's default when it cannot be read.
func ephemeralPortRange() (lo, hi int) {
	lo, hi = 32768, 60999
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	var l, h int
	if n, _ := fmt.Sscanf(string(b), "%d %d", &l, &h); n == 2 && l > 0 && h >= l {
		return l, h
	}
	return lo, hi
}

func checkPortFree(port int) error {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return errors.New("in use")
	}
	return l.Close()
}

func progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

func indent(s string) string {
	out := "    "
	for _, r := range s {
		out += string(r)
		if r == '\n' {
			out += "    "
		}
	}
	return out
}
