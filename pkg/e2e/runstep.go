package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"sync"
)

// runStep runs one step with its timeout and retries, its output in its
// own log file and the combined log.
func (r *runner) runStep(ctx context.Context, n *node) (Status, string, int) {
	s := n.spec
	f := &lazyFile{path: n.res.Log}
	defer func() {
		if !f.close() {
			r.mu.Lock()
			n.res.Log = "" // the step wrote nothing
			r.mu.Unlock()
		}
	}()
	out := &prefixWriter{prefix: "[" + s.Name + "] ", sink: r.logs}
	defer out.Flush()
	log := io.MultiWriter(f, out)
	env := r.env(n, log)
	if _, ok := s.Step.(ResultsStep); ok && (r.opts.Results || r.opts.StepResults) {
		var rep *Report
		var err error
		if r.opts.Results {
			// The state file goes with the record: the outcome of each step.
			if err = r.writeRecord(); err == nil {
				rep, err = r.writeResults()
			}
		} else {
			rep, err = r.resultsFromRecord(n)
		}
		if err != nil {
			fmt.Fprintf(f, "failed: %v\n", err)
			return Failed, err.Error(), 0
		}
		env.Results = rep
	}

	attempts := 0
	var stepErr error
	for {
		attempts++
		if attempts > 1 {
			fmt.Fprintf(log, "--- attempt %d of %d (previous: %v)\n", attempts, s.Retries+1, stepErr)
		}
		sctx, cancel := ctx, context.CancelFunc(func() {})
		if s.Timeout > 0 {
			sctx, cancel = context.WithTimeout(ctx, s.Timeout)
		}
		stepErr = safeRun(sctx, s.Step, env)
		timedOut := stepErr != nil && errors.Is(sctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
		cancel()
		if timedOut {
			stepErr = fmt.Errorf("timed out after %s: %w", s.Timeout, stepErr)
		}
		if stepErr == nil || errors.Is(stepErr, ErrSkip) || ctx.Err() != nil || attempts > s.Retries {
			break
		}
	}
	switch {
	case stepErr == nil:
		return Passed, "", attempts
	case errors.Is(stepErr, ErrSkip):
		reason := strings.TrimSuffix(stepErr.Error(), ": "+ErrSkip.Error())
		fmt.Fprintf(f, "skipped: %s\n", reason) // the progress line says it in the build log
		return Skipped, reason, attempts
	case ctx.Err() != nil:
		fmt.Fprintf(f, "aborted: %v\n", stepErr)
		return Failed, "aborted: " + stepErr.Error(), attempts
	default:
		fmt.Fprintf(f, "failed: %v\n", stepErr)
		return Failed, stepErr.Error(), attempts
	}
}

func safeRun(ctx context.Context, s Step, env *Env) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
		}
	}()
	return s.Run(ctx, env)
}

// lazyFile creates its file on the first write: a step that prints nothing
// leaves no empty log (and costs no file creation, which is slow on some
// disks).
type lazyFile struct {
	path string
	mu   sync.Mutex
	f    *os.File
	err  error
}

func (l *lazyFile) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil && l.err == nil {
		l.f, l.err = os.Create(l.path)
	}
	if l.err != nil {
		return 0, l.err
	}
	return l.f.Write(p)
}

// close closes the file and says whether there was one.
func (l *lazyFile) close() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return false
	}
	l.f.Close()
	return true
}
