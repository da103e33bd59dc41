// Package shutdown turns SIGINT and SIGTERM into a cancelled context and,
// when the work does not stop within its grace, into an exit: a blocked read
// (a FIFO, an idle pipe) cannot keep the process alive.
//
// A command that runs finalizers on purpose (a pipeline's teardown, a
// cluster's cleanup) asks for a longer grace with Hold on its context.
package shutdown

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DefaultGrace is how long a command may take to return after the first
// signal before the watchdog exits: short enough that every command stops
// within a second.
const DefaultGrace = 500 * time.Millisecond

// Watchdog cancels a context at the first signal and exits the process when
// the grace runs out or a second signal arrives.
type Watchdog struct {
	// Grace is the default grace; 0 means DefaultGrace.
	Grace time.Duration
	// Exit ends the process (os.Exit in main; a recorder in tests).
	Exit func(code int)
	// ErrOut gets one line when the watchdog, not the command, ends the run.
	ErrOut io.Writer
	// BeforeExit runs just before the watchdog's Exit (main: KillChildren,
	// so no program a command started outlives it).
	BeforeExit func()

	mu       sync.Mutex
	sig      os.Signal
	holds    map[int]time.Duration
	nextHold int
	changed  chan struct{}
}

type watchdogKey struct{}

// Start returns a context cancelled at the first signal of sigs, and watches
// for the grace and a second signal. main passes a channel from
// signal.Notify; tests send their own values.
func (w *Watchdog) Start(parent context.Context, sigs <-chan os.Signal) context.Context {
	ctx, cancel := context.WithCancel(context.WithValue(parent, watchdogKey{}, w))
	w.mu.Lock()
	w.changed = make(chan struct{}, 1)
	w.mu.Unlock()
	go func() {
		var s os.Signal
		select {
		case s = <-sigs:
		case <-parent.Done():
			cancel()
			return
		}
		w.mu.Lock()
		w.sig = s
		w.mu.Unlock()
		cancel()
		w.wait(sigs)
	}()
	return ctx
}

// wait ends the process when the grace (re-read whenever a hold changes)
// passes or a second signal arrives.
func (w *Watchdog) wait(sigs <-chan os.Signal) {
	start := time.Now()
	for {
		timer := time.NewTimer(time.Until(start.Add(w.grace())))
		select {
		case <-sigs:
			timer.Stop()
			w.exit("a second signal")
			return
		case <-timer.C:
			w.exit("the grace of " + w.grace().String())
			return
		case <-w.changed:
			timer.Stop()
			// A hold taken or released after the signal counts from now: a
			// command that finished its cleanup gets the default grace to
			// return and print its own last words, rather than an exit in
			// the middle of them.
			start = time.Now()
		}
	}
}

func (w *Watchdog) exit(why string) {
	if w.ErrOut != nil {
		fmt.Fprintf(w.ErrOut, "prowctl: %s: stopped after %s\n", SignalName(w.Signal()), why)
	}
	if w.BeforeExit != nil {
		w.BeforeExit()
	}
	w.Exit(w.ExitCode())
}

func (w *Watchdog) grace() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	g := w.Grace
	if g <= 0 {
		g = DefaultGrace
	}
	for _, d := range w.holds {
		g = max(g, d)
	}
	return g
}

// Signal is the signal received, nil when none was.
func (w *Watchdog) Signal() os.Signal {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sig
}

// ExitCode is the shell's code for death by the signal received (130 for
// SIGINT, 143 for SIGTERM), 0 when none was.
func (w *Watchdog) ExitCode() int {
	switch s := w.Signal().(type) {
	case nil:
		return 0
	case syscall.Signal:
		return 128 + int(s)
	default:
		return 128 + int(syscall.SIGINT)
	}
}

// hold asks for grace d until release is called.
func (w *Watchdog) hold(d time.Duration) (release func()) {
	w.mu.Lock()
	if w.holds == nil {
		w.holds = map[int]time.Duration{}
	}
	id := w.nextHold
	w.nextHold++
	w.holds[id] = d
	w.mu.Unlock()
	w.notify()
	return sync.OnceFunc(func() {
		w.mu.Lock()
		delete(w.holds, id)
		w.mu.Unlock()
		w.notify()
	})
}

func (w *Watchdog) notify() {
	w.mu.Lock()
	ch := w.changed
	w.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Hold asks the watchdog of ctx, if any, to wait up to d after the first
// signal, instead of its default grace, until release is called: for work
// that must finish once started (finalizers, an atomic write). Without a
// watchdog it does nothing.
func Hold(ctx context.Context, d time.Duration) (release func()) {
	w, _ := ctx.Value(watchdogKey{}).(*Watchdog)
	if w == nil {
		return func() {}
	}
	return w.hold(d)
}

// SignalName names s as a shell does (SIGINT, SIGTERM).
func SignalName(s os.Signal) string {
	switch s {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case nil:
		return "no signal"
	}
	return s.String()
}

// KillChildren kills, with SIGKILL, every process whose parent is this one,
// with its whole process group when it leads one (pkg/process starts each
// program in a group of its own, which a terminal's Ctrl-C does not reach).
// It is the last resort of a forced exit: a library had its chance to stop
// its programs gently while the grace ran.
func KillChildren() {
	self := os.Getpid()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		ppid, pgid, ok := parentAndGroup(pid)
		if !ok || ppid != self {
			continue
		}
		if pgid == pid {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// parentAndGroup reads the parent and the process group of pid from
// /proc/PID/stat.
func parentAndGroup(pid int) (ppid, pgid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, false
	}
	// "pid (comm) state ppid pgrp ...": comm may hold spaces and
	// parentheses, so read after the last ")".
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 {
		return 0, 0, false
	}
	ppid, err1 := strconv.Atoi(f[1])
	pgid, err2 := strconv.Atoi(f[2])
	return ppid, pgid, err1 == nil && err2 == nil
}
