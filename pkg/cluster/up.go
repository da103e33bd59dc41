package cluster

import (
	"context"
	"errors"
	"fmt"
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
