package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// BuildLogFile is the combined log of a run in the artifacts directory: the
// progress lines and every step's output, each line prefixed with the step.
const BuildLogFile = "build-log.txt"

// logSink serialises whole lines from parallel steps into one writer.
type logSink struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *logSink) write(p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w.Write(p) //nolint:errcheck // a progress line that cannot be written is not worth failing the step for
}

func (s *logSink) printf(format string, args ...any) { s.write([]byte(fmt.Sprintf(format, args...))) }

// prefixWriter prefixes each complete line with the step's name before it
// reaches the sink, so parallel output stays readable. A step writes from
// several goroutines at once (the personal cluster reports each component
// from its own), so it locks.
type prefixWriter struct {
	prefix string
	sink   *logSink

	mu  sync.Mutex
	buf []byte
}

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.write(p)
	return len(p), nil
}

func (w *prefixWriter) write(p []byte) {
	w.buf = append(w.buf, p...)
	i := bytes.LastIndexByte(w.buf, '\n')
	if i < 0 {
		return
	}
	var out bytes.Buffer
	for _, line := range bytes.SplitAfter(w.buf[:i+1], []byte("\n")) {
		if len(line) > 0 {
			out.WriteString(w.prefix)
			out.Write(line)
		}
	}
	w.sink.write(out.Bytes())
	w.buf = append(w.buf[:0], w.buf[i+1:]...)
}

// Flush writes a last line without its newline.
func (w *prefixWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.write([]byte("\n"))
	}
}

// progress shows a run as it goes.
type progress interface {
	// begin shows the steps before they start, after the intro's lines
	// (what a retry reuses and why the rest runs again).
	begin(intro []string, all []Result)
	update(r Result)
	end(rep *Report, all []Result)
}

type multiView []progress

func (m multiView) begin(intro []string, all []Result) {
	for _, v := range m {
		v.begin(intro, all)
	}
}

func (m multiView) update(r Result) {
	for _, v := range m {
		v.update(r)
	}
}

func (m multiView) end(rep *Report, all []Result) {
	for _, v := range m {
		v.end(rep, all)
	}
}

// lineView writes one timestamped line per change: for logs and for output
// that is not a terminal.
type lineView struct {
	logs *logSink
	now  func() time.Time
}

func (v *lineView) begin(intro []string, all []Result) {
	now := stamp(v.now())
	v.logs.printf("%s e2e: %s\n", now, plural(len(all), "step"))
	for _, line := range intro {
		v.logs.printf("%s %s\n", now, line)
	}
}

func (v *lineView) update(r Result) {
	v.logs.printf("%s %s\n", stamp(v.now()), describeResult(r))
}

func (v *lineView) end(rep *Report, all []Result) {
	v.logs.printf("%s e2e: %s: %s in %s\n", stamp(v.now()), rep.Result(), countStatuses(all), rep.End.Sub(rep.Start).Round(time.Millisecond))
}

func describeResult(r Result) string {
	if r.Reused() {
		return fmt.Sprintf("%s: passed in the previous run (reused)", r.Name)
	}
	switch r.Status {
	case Running:
		return fmt.Sprintf("%s: started (%s)", r.Name, r.Kind)
	case Passed:
		return fmt.Sprintf("%s: passed in %s%s", r.Name, round(r.Duration), attemptsNote(r))
	case Failed:
		return fmt.Sprintf("%s: failed in %s%s: %s (log: %s)", r.Name, round(r.Duration), attemptsNote(r), firstLine(r.Reason), r.Log)
	case Skipped:
		return fmt.Sprintf("%s: skipped: %s", r.Name, firstLine(r.Reason))
	}
	return fmt.Sprintf("%s: %s", r.Name, r.Status)
}

func attemptsNote(r Result) string {
	if r.Attempts > 1 {
		return fmt.Sprintf(" after %d attempts", r.Attempts)
	}
	return ""
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Minute:
		return d.Round(time.Second)
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// reusedStatus counts the steps a retry reused apart from those it ran.
const reusedStatus Status = "reused"

func countStatuses(all []Result) string {
	counts := map[Status]int{}
	for _, r := range all {
		if r.Reused() {
			counts[reusedStatus]++
			continue
		}
		counts[r.Status]++
	}
	var parts []string
	for _, st := range []Status{Passed, Failed, Skipped, reusedStatus, Running, Pending} {
		if counts[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[st], st))
		}
	}
	return strings.Join(parts, ", ")
}

// liveView redraws the whole DAG in place on a terminal: one line per step
// with its state and how long it has run, refreshed as steps change and
// every refresh interval so running durations tick.
type liveView struct {
	out      io.Writer
	now      func() time.Time
	snapshot func() []Result

	mu    sync.Mutex
	drawn int // lines drawn last time, to move back over them
	stop  chan struct{}
	wg    sync.WaitGroup
}

const liveRefresh = 250 * time.Millisecond

func newLiveView(out io.Writer, now func() time.Time, snapshot func() []Result) *liveView {
	return &liveView{out: out, now: now, snapshot: snapshot, stop: make(chan struct{})}
}

func (v *liveView) begin(intro []string, all []Result) {
	// Printed once, above the part that is redrawn.
	for _, line := range intro {
		fmt.Fprintln(v.out, line)
	}
	v.draw(all)
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		t := time.NewTicker(liveRefresh)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				v.draw(v.snapshot())
			case <-v.stop:
				return
			}
		}
	}()
}

func (v *liveView) update(Result) { v.draw(v.snapshot()) }

func (v *liveView) end(rep *Report, all []Result) {
	close(v.stop)
	v.wg.Wait()
	v.draw(all)
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprintf(v.out, "e2e: %s: %s in %s\n", rep.Result(), countStatuses(all), round(rep.End.Sub(rep.Start)))
	for _, r := range all {
		if r.Status != Failed {
			continue
		}
		fmt.Fprintf(v.out, "\n%s: %s\n", r.Name, firstLine(r.Reason))
		if r.Log == "" {
			continue
		}
		// The output went to the log only: show its end, where failures are.
		for _, line := range tailLines(r.Log, failureTail) {
			fmt.Fprintf(v.out, "  | %s\n", line)
		}
		fmt.Fprintf(v.out, "  log: %s\n", r.Log)
	}
}

var liveMarks = map[Status]string{
	Pending: "\x1b[2m○\x1b[0m",
	Running: "\x1b[33m●\x1b[0m",
	Passed:  "\x1b[32m✓\x1b[0m",
	Failed:  "\x1b[31m✗\x1b[0m",
	Skipped: "\x1b[2m-\x1b[0m",
}

// draw renders all over what was drawn before.
func (v *liveView) draw(all []Result) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	width := 0
	for _, r := range all {
		width = max(width, len(r.Name))
	}
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA", v.drawn)
	}
	for _, r := range all {
		b.WriteString("\r\x1b[2K")
		dur := ""
		switch r.Status {
		case Running:
			dur = round(now.Sub(r.Start)).String()
		case Passed, Failed:
			if !r.Reused() {
				dur = round(r.Duration).String()
			}
		}
		note, status := "", string(r.Status)
		switch {
		case r.Reused():
			status, note = string(reusedStatus), fmt.Sprintf("passed in the previous run (attempt %d)", r.ReusedFrom)
		case r.Status == Pending && len(r.Needs) > 0:
			note = "needs " + strings.Join(r.Needs, ", ")
		case r.Status == Failed, r.Status == Skipped:
			note = firstLine(r.Reason)
		}
		if r.Always {
			note = strings.TrimSpace("(always) " + note)
		}
		fmt.Fprintf(&b, "%s %-*s %-8s %8s  %s\n", liveMarks[r.Status], width, r.Name, status, dur, note)
	}
	io.WriteString(v.out, b.String()) //nolint:errcheck // a terminal that went away is not the run's failure
	v.drawn = len(all)
}

// failureTail is how many lines of a failed step's log the live view shows.
const failureTail = 10

// tailLines returns the last n lines of the file at path.
func tailLines(path string, n int) []string {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return lines
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
