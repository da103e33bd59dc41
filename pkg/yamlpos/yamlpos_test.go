package yamlpos

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSyntaxErrorPosition(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unclosed bracket", "a: 1\nb: [1, 2\nc: 3\n", "f.yaml:2:4: invalid YAML: did not find expected ',' or ']'"},
		{"unclosed bracket on line 1", "a: [1, 2\n", "f.yaml:1:4: invalid YAML: did not find expected ',' or ']'"},
		{"unclosed brace", "a: 1\nb: {x: 1\nc: 3\n", "f.yaml:2:4: invalid YAML: did not find expected ',' or '}'"},
		{"unclosed bracket below a closed multi-line one", "a: [1,\n  2]\nb: 2\nc: [x\nd: 1\n", "f.yaml:4:4: invalid YAML: did not find expected ',' or ']'"},
		{"unclosed double quote", "a: 1\nb: \"abc\nc: 3\n", "f.yaml:2:4: invalid YAML: found unexpected end of stream"},
		{"unclosed single quote", "a: 1\nb: 'abc\nc: 3\n", "f.yaml:2:4: invalid YAML: found unexpected end of stream"},
		{"dedented key", "a:\n  b: 1\n c: 2\n", "f.yaml:3:2: invalid YAML: did not find expected key"},
		{"over-indented key", "a:\n  b: 1\n    c: 2\n", "f.yaml:3:6: invalid YAML: mapping values are not allowed in this context"},
		{"key after list item", "a:\n  - b\n  c: 1\n", "f.yaml:3:3: invalid YAML: did not find expected '-' indicator"},
		{"two colons", "a: 1\nb: c: d\n", "f.yaml:2:5: invalid YAML: mapping values are not allowed in this context"},
		{"tab indentation", "a:\n\tb: 1\n", "f.yaml:2:1: tab character in indentation; indent YAML with spaces"},
		{"tab before list item", "a: 1\nb:\n  - x\n\t- y\n", "f.yaml:4:1: tab character in indentation; indent YAML with spaces"},
		{"NUL", "a: 1\nb: x\x00y\n", "f.yaml:2:5: invalid YAML: NUL byte (0x00); YAML files are text"},
		{"invalid UTF-8", "a: 1\nb: é\xffy\n", "f.yaml:2:5: invalid YAML: invalid UTF-8 (byte 0xff); save the file as UTF-8"},
		{"control character", "a: 1\nb: x\x07\n", "f.yaml:2:5: invalid YAML: control character U+0007 is not allowed in YAML"},
		{"reserved indicator", "a: 1\nb: @x\n", "f.yaml:2:4: invalid YAML: found character that cannot start any token"},
		{"unknown anchor", "a: 1\nb: *nope\n", "f.yaml:2:4: invalid YAML: unknown anchor 'nope' referenced"},
		{"extra bracket", "x: [a, b]]\n", "f.yaml:1:10: invalid YAML: did not find expected key"},
		{"duplicate key", "a:\n  b: 1\n  b: 2\n", "f.yaml:3:3: a.b: duplicate key (first at line 2)"},
		{"duplicate key in a list", "l:\n- x: 1\n  x: 2\n", "f.yaml:3:3: l[0].x: duplicate key (first at line 2)"},
		{"second document", "a: 1\n---\nb: 2\n", `f.yaml:2:1: a second YAML document starts here; this file holds one document: remove the "---" or move the rest to a file of its own`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.in))
			if err == nil {
				t.Fatal("no error")
			}
			if diff := cmp.Diff(tt.want, err.Error()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseAcceptsWhatItShould(t *testing.T) {
	for _, in := range []string{"", "# only a comment\n", "a: 1\n---\n", "a: &x [1]\nb: *x\nc:\n  <<: {d: 1}\n  e: 2\n"} {
		if _, err := Parse("f.yaml", []byte(in)); err != nil {
			t.Errorf("Parse(%q) = %v", in, err)
		}
	}
}

// bounded runs f and fails unless it returns within d, having allocated
// less than maxAlloc bytes.
func bounded(t *testing.T, d time.Duration, maxAlloc uint64, f func() error) error {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	done := make(chan error, 1)
	go func() { done <- f() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(d):
		t.Fatalf("still running after %v", d)
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("took %v, allocated %.1f MB", elapsed.Round(time.Millisecond), float64(alloc)/1e6)
	if alloc > maxAlloc {
		t.Errorf("allocated %d bytes, want under %d", alloc, maxAlloc)
	}
	return err
}

// aliasBomb is a few KB of YAML whose aliases expand to levels^fan nodes.
func aliasBomb(levels, fan int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < levels; i++ {
		b.WriteString("a" + strconv.Itoa(i) + ": &a" + strconv.Itoa(i) + " [")
		for j := 0; j < fan; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + strconv.Itoa(i-1))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func TestAliasBudget(t *testing.T) {
	bomb := aliasBomb(12, 10) // 10^12 nodes expanded, under 1 KB
	err := bounded(t, 2*time.Second, 50<<20, func() error {
		_, err := Parse("bomb.yaml", []byte(bomb))
		return err
	})
	var pe *Error
	if !errors.As(err, &pe) || !strings.Contains(pe.Msg, "limit (yamlpos.MaxNodes)") || pe.Line < 2 {
		t.Fatalf("error = %v, want the alias budget at an alias", err)
	}
	// A modest use of aliases stays well inside the budget.
	if _, err := Parse("ok.yaml", []byte(aliasBomb(4, 10))); err != nil {
		t.Fatalf("10^4 nodes refused: %v", err)
	}
}

func TestSizeBudget(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: the size is what counts, no need to write 8 MB.
	if err := f.Truncate(MaxFileBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	err = bounded(t, time.Second, 1<<20, func() error { _, err := ReadFile(path); return err })
	if err == nil || !strings.Contains(err.Error(), path+": larger than 8 MiB") {
		t.Fatalf("ReadFile = %v", err)
	}
	// A stream has no size up front: it is cut at the limit.
	err = bounded(t, 2*time.Second, 4*MaxFileBytes, func() error { _, err := ReadAll("standard input", zeros{}); return err })
	if err == nil || !strings.Contains(err.Error(), "standard input: larger than 8 MiB") {
		t.Fatalf("ReadAll = %v", err)
	}
	if _, err := Parse("p.yaml", make([]byte, MaxFileBytes+1)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("Parse = %v", err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

var _ io.Reader = zeros{}

func TestReadFileRefusesSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "spec.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ path, want string }{
		{fifo, fifo + ": is a named pipe (FIFO), not a regular file"},
		{dir, dir + ": is a directory, not a regular file"},
		{"/dev/zero", "/dev/zero: is a character device, not a regular file"},
		{filepath.Join(dir, "missing.yaml"), "read " + filepath.Join(dir, "missing.yaml") + ": no such file or directory"},
	}
	for _, tt := range tests {
		err := bounded(t, time.Second, 1<<20, func() error { _, err := ReadFile(tt.path); return err })
		if err == nil || err.Error() != tt.want {
			t.Errorf("ReadFile(%s) = %v, want %q", tt.path, err, tt.want)
		}
	}
}

func TestDecodeStrict(t *testing.T) {
	type inner struct {
		Name string `yaml:"name"`
	}
	type spec struct {
		Repo  string            `yaml:"repo"`
		On    bool              `yaml:"on"`
		Jobs  []inner           `yaml:"jobs"`
		Extra map[string]string `yaml:"extra"`
	}
	tests := []struct{ in, want string }{
		{"rpeo: x\n", `s.yaml:1:1: unknown field "rpeo"; did you mean "repo"?`},
		{"jobs:\n- nmae: x\n", `s.yaml:2:3: jobs[0]: unknown field "nmae"; did you mean "name"?`},
		{"repo: [x]\n", "s.yaml:1:7: repo: expected a string, got a list"},
		{"on: maybe\n", `s.yaml:1:5: on: expected true or false, got string "maybe"`},
		{"jobs: 3\n", "s.yaml:1:7: jobs: expected a list, got number 3"},
		{"zzzzzz: 1\n", `s.yaml:1:1: unknown field "zzzzzz"`},
	}
	for _, tt := range tests {
		root, err := Parse("s.yaml", []byte(tt.in))
		if err == nil {
			err = Decode("s.yaml", root, &spec{})
		}
		if err == nil || err.Error() != tt.want {
			t.Errorf("%q: error = %v, want %q", tt.in, err, tt.want)
		}
	}
}
