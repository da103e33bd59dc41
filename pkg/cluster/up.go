package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

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
		p, err := c.binaryPath(opts.ToolsDir, opts.Executable)
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
		ns := old.holdNamespace()
		err := stopAll(context.WithoutCancel(ctx), old, opts.StopGrace)
		if err == nil {
			err = old.sweep(context.WithoutCancel(ctx), ns)
		}
		ns.release()
		if err != nil {
			return nil, false, err
		}
	}
	if err := removeOwned(opts.Dir, opts.Components); err != nil {
		return nil, false, err
	}

	env := &Env{Dir: opts.Dir, ToolsDir: opts.ToolsDir, ProwConfig: opts.ProwConfig, Ports: map[string]map[string]int{}, Runner: opts.Runner}
	state = &State{
		Dir: opts.Dir, ToolsDir: opts.ToolsDir, ProwConfig: opts.ProwConfig,
		Kubeconfig: env.Kubeconfig(), Context: ContextName, Started: time.Now(),
		Node: opts.Node,
	}
	for _, c := range opts.Components {
		cs := ComponentState{Name: c.Name}
		if c.runsProcess() {
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

	if err := startAll(ctx, opts, env, state, binaries, newPortPicker(opts.pickPort)); err != nil {
		ns := state.holdNamespace()
		stopErr := stopAll(context.WithoutCancel(ctx), state, opts.StopGrace)
		if stopErr == nil {
			stopErr = state.sweep(context.WithoutCancel(ctx), ns)
		}
		ns.release()
		if stopErr == nil {
			// Nothing runs any more; the logs stay for the reader of err.
			// A component that would not stop stays recorded, so that
			// `cluster down` and the next `up` still find it.
			os.Remove(filepath.Join(opts.Dir, stateFile))
		}
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
func startAll(ctx context.Context, opts Options, env *Env, state *State, binaries map[string]string, ports *portPicker) error {
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
			s := starter{opts: opts, env: env, c: c, binary: binaries[c.Name], ports: ports,
				record: func(ports map[string]int, p *Process) error {
					mu.Lock()
					defer mu.Unlock()
					state.Components[i].Ports, state.Components[i].Process = ports, p
					if c.Holder && p != nil {
						// Later components start in these; Down finds
						// what is left in the mount namespace by it.
						env.NS = holderNamespaces(p.PID)
					}
					return saveState(state)
				}}
			proc, err := s.start(ctx)
			if err != nil {
				fail(err)
				return
			}
			if c.Holder {
				mnt, err := os.Readlink(env.NS.Mount)
				if err != nil {
					fail(&ComponentError{Component: c.Name, Err: err})
					return
				}
				mu.Lock()
				state.MountNS = mnt
				err = saveState(state)
				mu.Unlock()
				if err != nil {
					fail(err)
					return
				}
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

// starter starts one component.
type starter struct {
	opts   Options
	env    *Env
	c      Component
	binary string
	ports  *portPicker
	// record saves the component's ports and process in the state file.
	record func(map[string]int, *Process) error
}

// portConflictError says a component could not have its ports.
type portConflictError struct{ reason string }

func (e *portConflictError) Error() string { return e.reason }

// start starts the component and waits until it is ready. A component that
// cannot bind its ports (it says so in its log, or another program listens
// on one of them, or its readiness check meets another server) is stopped
// and started again on fresh ports, up to opts.MaxStarts times in all: a
// port that looked free when picked can be taken before the component binds
// it, and the fault is the port's, not the component's. Any other failure
// fails at once: fresh ports would not mend it.
func (s *starter) start(ctx context.Context) (*Process, error) {
	for attempt := 1; ; attempt++ {
		proc, err := s.startOnce(ctx)
		var conflict *portConflictError
		if !errors.As(err, &conflict) {
			return proc, err
		}
		if stopErr := s.stop(ctx, proc); stopErr != nil {
			return nil, s.fail(fmt.Errorf("%w; %w", err, stopErr))
		}
		if attempt >= s.opts.MaxStarts {
			return nil, s.fail(fmt.Errorf("%w (started %d times, each on fresh ports)", err, attempt))
		}
		progress(s.opts.Progress, "%-24s %s: starting again on fresh ports (%d of %d)", s.c.Name, err, attempt+1, s.opts.MaxStarts)
		s.logLine("prowctl: %s; starting again on fresh ports", err)
		// Its files (etcd's data, the API server's kubeconfig) name the old
		// ports: Setup makes them anew.
		if err := os.RemoveAll(s.env.Path(s.c.Name)); err != nil {
			return nil, s.fail(err)
		}
		s.env.forgetRest()
	}
}

// stop stops what a failed start left running.
func (s *starter) stop(ctx context.Context, proc *Process) error {
	if proc == nil {
		return nil
	}
	return proc.stop(context.WithoutCancel(ctx), s.opts.StopGrace)
}

func (s *starter) fail(err error) error {
	ce := &ComponentError{Component: s.c.Name, Err: err}
	if s.c.runsProcess() {
		ce.Log = s.env.LogPath(s.c.Name)
		ce.Tail = tail(ce.Log, 10)
	}
	return ce
}

// logLine appends a line of prowctl's own to the component's log, so its
// reader sees where one start ends and the next begins.
func (s *starter) logLine(format string, args ...any) {
	if !s.c.runsProcess() {
		return
	}
	f, err := os.OpenFile(s.env.LogPath(s.c.Name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, format+"\n", args...)
}

// startOnce picks the component's ports, runs Setup, starts the process and
// polls Ready. A *portConflictError comes back with the process it started,
// for the caller to stop.
func (s *starter) startOnce(ctx context.Context) (*Process, error) {
	c, env := s.c, s.env
	ports, err := s.ports.ports(c.Ports)
	if err != nil {
		return nil, s.fail(err)
	}
	env.setPorts(c.Name, ports)
	if err := s.record(ports, nil); err != nil {
		return nil, err
	}
	if c.Setup != nil {
		if err := c.Setup(ctx, env); err != nil {
			return nil, s.fail(fmt.Errorf("setup: %w", err))
		}
	}
	var (
		proc    *Process
		exited  <-chan error
		logFrom int64
	)
	if c.runsProcess() {
		if err := os.MkdirAll(env.Path(c.Name), 0o700); err != nil {
			return nil, s.fail(err)
		}
		if fi, err := os.Stat(env.LogPath(c.Name)); err == nil {
			logFrom = fi.Size()
		}
		cmd := c.Command(env, s.binary)
		cmd.DieWithParent = s.opts.StopWithParent
		proc, exited, err = startProcess(s.opts.Runner, cmd, env.LogPath(c.Name))
		if err != nil {
			return nil, s.fail(fmt.Errorf("start %s: %w", s.binary, err))
		}
		// What runs once unshare or nsenter has exec'd it.
		proc.Binary = s.binary
		if env.NS.Net != "" && !c.Holder {
			// Into the cluster's cgroup, with whatever it starts later
			// (containerd's shims), so that a sweep finds them all even
			// when this prowctl is killed.
			if err := joinCgroup(ClusterID(env.Dir), proc.PID); err != nil {
				return proc, s.fail(err)
			}
		}
		if err := s.record(ports, proc); err != nil {
			return proc, err
		}
	}
	if c.Ready == nil {
		return proc, nil
	}
	// bindFailed says why this start cannot serve on its ports, if it
	// cannot.
	bindFailed := func() string {
		if proc == nil {
			return ""
		}
		if logSince(env.LogPath(c.Name), logFrom, addrInUse) {
			return "a port is in use (" + addrInUse + " in its log)"
		}
		return foreignListener(proc.PID, ports)
	}
	exitedErr := func(err error) (*Process, error) {
		if why := bindFailed(); why != "" {
			return nil, &portConflictError{"exited at start: " + why}
		}
		if err == nil {
			err = errors.New("exit status 0")
		}
		return nil, s.fail(fmt.Errorf("exited at start (%w)", err))
	}
	deadline := time.NewTimer(s.opts.ReadyTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var lastErr error
	for {
		// A check may wait seconds for an answer that never comes (a
		// port held by a program that does not serve HTTP); meanwhile
		// the process may exit or its log say why.
		checkCtx, cancelCheck := context.WithCancel(ctx)
		result := make(chan error, 1)
		go func() { result <- c.Ready(checkCtx, env) }()
	check:
		for {
			select {
			case lastErr = <-result:
				break check
			case err := <-exited:
				cancelCheck()
				return exitedErr(err)
			case <-deadline.C:
				cancelCheck()
				return proc, s.fail(fmt.Errorf("not ready after %s: %w", s.opts.ReadyTimeout, lastErr))
			case <-ctx.Done():
				cancelCheck()
				return proc, context.Cause(ctx)
			case <-tick.C:
				if why := bindFailed(); why != "" {
					cancelCheck()
					return proc, &portConflictError{why}
				}
			}
		}
		cancelCheck()
		if why := bindFailed(); why != "" {
			return proc, &portConflictError{why}
		}
		if errors.Is(lastErr, ErrForeignServer) {
			return proc, &portConflictError{lastErr.Error()}
		}
		if lastErr == nil {
			return proc, nil
		}
		select {
		case err := <-exited:
			return exitedErr(err)
		case <-deadline.C:
			return proc, s.fail(fmt.Errorf("not ready after %s: %w", s.opts.ReadyTimeout, lastErr))
		case <-ctx.Done():
			return proc, context.Cause(ctx)
		case <-tick.C:
		}
	}
}

// logSince says whether the file at path holds s after its first from bytes.
func logSince(path string, from int64, s string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b, err := io.ReadAll(io.NewSectionReader(f, from, 1<<30))
	return err == nil && bytes.Contains(b, []byte(s))
}
