package process

import (
	"context"
	"sync"
)

// Recorder records the programs it is asked to run or start and runs none of
// them. For tests.
type Recorder struct {
	// Fn answers Run (nil: every program succeeds and prints nothing).
	Fn func(ctx context.Context, c Cmd) error
	// StartFn answers Start (nil: a Process that runs until the test ends
	// and never exits).
	StartFn func(c Cmd) (Process, error)

	mu    sync.Mutex
	calls []Call
}

// Call is one recorded program.
type Call struct {
	Cmd
	// Started says the program was started in the background (Start), not
	// run to completion (Run).
	Started bool
}

var _ Runner = (*Recorder)(nil)

// Run records c and calls r.Fn.
func (r *Recorder) Run(ctx context.Context, c Cmd) error {
	r.record(c, false)
	if r.Fn != nil {
		return r.Fn(ctx, c)
	}
	return nil
}

// Start records c and calls r.StartFn.
func (r *Recorder) Start(c Cmd) (Process, error) {
	r.record(c, true)
	if r.StartFn != nil {
		return r.StartFn(c)
	}
	return NewRecorded(), nil
}

func (r *Recorder) record(c Cmd, started bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, Call{Cmd: c, Started: started})
}

// Calls returns the command lines so far, in order.
func (r *Recorder) Calls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.calls))
	for i, c := range r.calls {
		out[i] = c.String()
	}
	return out
}

// Cmds returns the programs so far, in order.
func (r *Recorder) Cmds() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// Recorded is the Process a Recorder's Start returns by default: it has no
// pid and exits only when the test says so.
type Recorded struct {
	exited chan error
}

// NewRecorded returns a Recorded process.
func NewRecorded() *Recorded { return &Recorded{exited: make(chan error, 1)} }

// PID is 0: nothing runs.
func (p *Recorded) PID() int { return 0 }

// Exited receives what Exit is given.
func (p *Recorded) Exited() <-chan error { return p.exited }

// Exit makes the process exit with err.
func (p *Recorded) Exit(err error) { p.exited <- err }
