package shutdown

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// exitRecorder stands in for os.Exit.
type exitRecorder struct {
	mu   sync.Mutex
	code int
	at   time.Time
	done chan struct{}
}

func newExitRecorder() *exitRecorder { return &exitRecorder{code: -1, done: make(chan struct{})} }

func (r *exitRecorder) exit(code int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.code == -1 {
		r.code, r.at = code, time.Now()
		close(r.done)
	}
}

func (r *exitRecorder) wait(t *testing.T, within time.Duration) (int, time.Time) {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(within):
		t.Fatalf("no exit within %s", within)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.code, r.at
}

func TestWatchdog(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sig      os.Signal
		hold     time.Duration // 0: none
		second   bool          // send a second signal right away
		wantCode int
		// the exit comes no sooner than min and no later than max after
		// the first signal
		min, max time.Duration
	}{
		{name: "SIGINT after the default grace", sig: syscall.SIGINT, wantCode: 130, min: 150 * time.Millisecond, max: 2 * time.Second},
		{name: "SIGTERM after the default grace", sig: syscall.SIGTERM, wantCode: 143, min: 150 * time.Millisecond, max: 2 * time.Second},
		{name: "a hold lengthens the grace", sig: syscall.SIGTERM, hold: 700 * time.Millisecond, wantCode: 143, min: 650 * time.Millisecond, max: 3 * time.Second},
		{name: "a second signal exits at once", sig: syscall.SIGINT, hold: time.Hour, second: true, wantCode: 130, max: 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := newExitRecorder()
			var errOut bytes.Buffer
			w := &Watchdog{Grace: 200 * time.Millisecond, Exit: rec.exit, ErrOut: &errOut}
			sigs := make(chan os.Signal, 2)
			ctx := w.Start(context.Background(), sigs)
			if tc.hold > 0 {
				defer Hold(ctx, tc.hold)()
			}
			if w.Signal() != nil || w.ExitCode() != 0 || ctx.Err() != nil {
				t.Fatalf("before any signal: signal %v, code %d, ctx %v", w.Signal(), w.ExitCode(), ctx.Err())
			}
			sent := time.Now()
			sigs <- tc.sig
			if tc.second {
				sigs <- tc.sig
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
				t.Fatal("context not cancelled by the signal")
			}
			code, at := rec.wait(t, tc.max+time.Second)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d", code, tc.wantCode)
			}
			if took := at.Sub(sent); took < tc.min || took > tc.max {
				t.Errorf("exit %s after the signal, want between %s and %s", took, tc.min, tc.max)
			}
			if w.ExitCode() != tc.wantCode {
				t.Errorf("ExitCode() = %d", w.ExitCode())
			}
			if errOut.Len() == 0 {
				t.Error("the watchdog's exit said nothing")
			}
		})
	}
}

// A released hold no longer delays the exit.
func TestHoldReleased(t *testing.T) {
	rec := newExitRecorder()
	w := &Watchdog{Grace: 100 * time.Millisecond, Exit: rec.exit}
	sigs := make(chan os.Signal, 1)
	ctx := w.Start(context.Background(), sigs)
	release := Hold(ctx, time.Hour)
	sent := time.Now()
	sigs <- syscall.SIGINT
	time.Sleep(50 * time.Millisecond)
	release()
	release() // twice is harmless
	_, at := rec.wait(t, 3*time.Second)
	if took := at.Sub(sent); took > 2*time.Second {
		t.Errorf("exit %s after the signal despite the release", took)
	}
}

// A hold released after the grace has passed leaves the command the grace
// again, from the release, to return and print its last words: the
// watchdog does not exit in the middle of them.
func TestReleaseAfterGraceGivesTheGraceAgain(t *testing.T) {
	rec := newExitRecorder()
	w := &Watchdog{Grace: 300 * time.Millisecond, Exit: rec.exit}
	sigs := make(chan os.Signal, 1)
	ctx := w.Start(context.Background(), sigs)
	release := Hold(ctx, time.Hour)
	sigs <- syscall.SIGTERM
	time.Sleep(500 * time.Millisecond) // past the grace, inside the hold
	released := time.Now()
	release()
	_, at := rec.wait(t, 3*time.Second)
	if got := at.Sub(released); got < 200*time.Millisecond {
		t.Errorf("exit %s after the release, want about the grace (300ms)", got)
	}
}

// Hold without a watchdog in the context does nothing, and a context that
// ends without a signal never exits.
func TestNoSignal(t *testing.T) {
	Hold(context.Background(), time.Hour)()
	rec := newExitRecorder()
	w := &Watchdog{Grace: 10 * time.Millisecond, Exit: rec.exit}
	parent, cancel := context.WithCancel(context.Background())
	ctx := w.Start(parent, make(chan os.Signal))
	cancel()
	<-ctx.Done()
	time.Sleep(100 * time.Millisecond)
	select {
	case <-rec.done:
		t.Fatal("exited without a signal")
	default:
	}
}

// A child in a process group of its own that ignores SIGTERM, and its own
// child, are killed.
func TestKillChildren(t *testing.T) {
	cmd := exec.Command("sh", "-c", "trap '' TERM INT; sleep 60 & echo $!; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var grandchild int
	if _, err := fmt.Fscan(out, &grandchild); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	KillChildren()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("the child survived")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Reparented to init, which reaps it once killed.
		if err := syscall.Kill(grandchild, 0); err != nil {
			break
		}
		if _, _, ok := parentAndGroup(grandchild); !ok {
			break
		}
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", grandchild)); strings.Contains(string(b), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(grandchild, syscall.SIGKILL)
			t.Fatalf("grandchild %d survived", grandchild)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
