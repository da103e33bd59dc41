package yamlpos

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Locating an error re-parses prefixes of the input; the work is bounded by
// probeBudget however large the file and wherever the error.
func TestSyntaxErrorLocationIsBounded(t *testing.T) {
	var b strings.Builder
	for b.Len() < 1<<20 {
		b.WriteString("- name: job\n  interval: 1h\n  labels: {a: b, c: d}\n")
	}
	for _, tc := range []struct{ name, in string }{
		{"error at the end", "jobs:\n" + b.String() + "- name: [x, y, z, a very long line of words that goes on and on\n"},
		{"bracket left open at the top", "jobs: [\n" + b.String()},
	} {
		start := time.Now()
		_, err := Parse("big.yaml", []byte(tc.in))
		d := time.Since(start)
		t.Logf("%s: %v in %v", tc.name, err, d.Round(time.Millisecond))
		if err == nil {
			t.Fatal("no error")
		}
		if d > 15*time.Second { // about 3 s here; the budget bounds it, a loaded machine slows it
			t.Errorf("%s: took %v", tc.name, d)
		}
	}
}

// A path that became a named pipe after it was checked is refused by the
// open itself, at once: the open does not wait for a writer.
func TestOpenRegularRefusesAPipeWithoutBlocking(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "spec.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		f, _, err := openRegular(fifo)
		if f != nil {
			f.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if want := fifo + ": is a named pipe (FIFO), not a regular file"; err == nil || err.Error() != want {
			t.Errorf("got %v, want %q", err, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("openRegular blocked on a named pipe")
	}
}
