package yamlpos_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/steps"
	"github.com/prowctl/prowctl/pkg/jobs"
	"github.com/prowctl/prowctl/pkg/jobs/lint"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

const prowConfig = "prowjob_namespace: prow\npod_namespace: test-pods\n"

// reader runs one command's way of reading path and returns the error or
// finding it reports about it, as "path:line:col: ...".
type reader struct {
	name string
	read func(t *testing.T, dir, path string) string
}

func lintFinding(res *lint.Result, err error) string {
	if err != nil {
		return err.Error()
	}
	for _, f := range res.Findings {
		if f.Rule == lint.RuleYAMLSyntax || f.Rule == lint.RuleDuplicateKey {
			return fmt.Sprintf("%s:%d:%d: %s", f.File, f.Line, f.Column, f.Message)
		}
	}
	return "no finding"
}

func writeConfig(t *testing.T, dir string) string {
	p := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(p, []byte(prowConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

var readers = []reader{
	{"jobs spec", func(t *testing.T, dir, path string) string {
		_, err := jobs.LoadSpec(path)
		return fmt.Sprint(err)
	}},
	{"lint job file", func(t *testing.T, dir, path string) string {
		return lintFinding(lint.Lint(context.Background(), lint.Options{ConfigPath: writeConfig(t, dir), JobConfigPath: path}))
	}},
	{"lint Prow config", func(t *testing.T, dir, path string) string {
		return lintFinding(lint.Lint(context.Background(), lint.Options{ConfigPath: path}))
	}},
	{"e2e pipeline", func(t *testing.T, dir, path string) string {
		_, err := e2e.LoadPipeline(path, steps.Builtin())
		return fmt.Sprint(err)
	}},
	{"create -f", func(t *testing.T, dir, path string) string {
		_, err := prowjob.ReadFile(path)
		return fmt.Sprint(err)
	}},
	{"mkpj job config", func(t *testing.T, dir, path string) string {
		_, err := mkpj.LoadAll(writeConfig(t, dir), path)
		return fmt.Sprint(err)
	}},
}

var positionRE = regexp.MustCompile(`^(.*?):(\d+):(\d+): `)

// Every reader of user YAML places the same mistake at the same
// file:line:col. The golden file records the position per case.
func TestSameSyntaxErrorPositionFromEveryReader(t *testing.T) {
	cases := []struct {
		name, in string
		// skip names readers for which the input is not a mistake.
		skip []string
	}{
		{"unclosed bracket", "a: 1\nb: [1, 2\nc: 3\n", nil},
		{"unclosed brace", "a: 1\nb:\n  c: {x: 1\n  d: 3\n", nil},
		{"unclosed double quote", "a: 1\nb: \"abc\nc: 3\n", nil},
		{"unclosed single quote", "a:\n  - 'abc\n", nil},
		{"bad indentation", "a:\n  b: 1\n c: 2\n", nil},
		{"over-indentation", "a:\n  b: 1\n    c: 2\n", nil},
		{"tab", "a:\n  b: 1\n\tc: 2\n", nil},
		{"NUL", "a: 1\nb: x\x00y\n", nil},
		{"invalid UTF-8", "a: 1\nb: caf\xe9\n", nil},
		// Prow keeps the last of two keys and mkpj builds as Prow does.
		{"duplicate key", "a: 1\nb: 2\na: 3\n", []string{"mkpj job config"}},
	}
	var golden strings.Builder
	for _, c := range cases {
		want := ""
		for _, r := range readers {
			if contains(c.skip, r.name) {
				continue
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "f.yaml")
			if err := os.WriteFile(path, []byte(c.in), 0o644); err != nil {
				t.Fatal(err)
			}
			got := r.read(t, dir, path)
			m := positionRE.FindStringSubmatch(got)
			if m == nil || m[1] != path {
				t.Errorf("%s, %s: %q names no position in %s", c.name, r.name, got, path)
				continue
			}
			pos := m[2] + ":" + m[3]
			if want == "" {
				want = pos
				fmt.Fprintf(&golden, "%s: f.yaml:%s: %s\n", c.name, pos, strings.TrimPrefix(got, m[0]))
			} else if pos != want {
				t.Errorf("%s: %s says %s, %s said %s (%s)", c.name, r.name, pos, readers[0].name, want, got)
			}
		}
	}
	goldenPath := filepath.Join("testdata", "readers.golden")
	if *update {
		if err := os.WriteFile(goldenPath, []byte(golden.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(b), golden.String()); diff != "" {
		t.Errorf("positions differ from %s (-want +got; -update rewrites):\n%s", goldenPath, diff)
	}
}

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

// within fails the test unless f returns within d: a reader that opens a
// named pipe blocks until a writer comes.
func within(t *testing.T, d time.Duration, f func() string) string {
	t.Helper()
	done := make(chan string, 1)
	go func() { done <- f() }()
	select {
	case s := <-done:
		return s
	case <-time.After(d):
		t.Fatalf("still reading after %v", d)
		return ""
	}
}

func TestEveryReaderRefusesANamedPipe(t *testing.T) {
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f.yaml")
			if err := syscall.Mkfifo(path, 0o644); err != nil {
				t.Fatal(err)
			}
			got := within(t, 2*time.Second, func() string { return r.read(t, dir, path) })
			if !strings.Contains(got, path+": is a named pipe (FIFO), not a regular file") {
				t.Errorf("got %q", got)
			}
		})
	}
}

func TestEveryReaderStopsAnAliasBomb(t *testing.T) {
	// Under 1 KB, 10^12 nodes once expanded: minutes and gigabytes for a
	// decoder that follows aliases.
	var b strings.Builder
	b.WriteString("a: 1\nl0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 12; i++ {
		fmt.Fprintf(&b, "l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f.yaml")
			if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got := within(t, 5*time.Second, func() string { return r.read(t, dir, path) })
			t.Logf("%s in %v", got, time.Since(start).Round(time.Millisecond))
			if !strings.Contains(got, "the limit (yamlpos.MaxNodes)") {
				t.Errorf("got %q", got)
			}
		})
	}
}

func TestSecondDocumentRefused(t *testing.T) {
	pj := "apiVersion: prow.k8s.io/v1\nkind: ProwJob\nspec:\n  job: j\n  type: periodic\n"
	tests := []struct{ reader, in, want string }{
		{"e2e pipeline", "steps:\n- name: a\n  run: true\n---\nsteps: []\n", ":4:1: a second YAML document starts here"},
		{"create -f", pj + "---\n" + pj + "---\n" + pj, ":6:1: 3 documents; one ProwJob per file"},
		{"jobs spec", "repo: a/b\n---\nrepo: c/d\n", ":2:1: a second YAML document starts here"},
	}
	for _, tt := range tests {
		for _, r := range readers {
			if r.name != tt.reader {
				continue
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "f.yaml")
			if err := os.WriteFile(path, []byte(tt.in), 0o644); err != nil {
				t.Fatal(err)
			}
			if got := r.read(t, dir, path); !strings.HasPrefix(got, path+tt.want) {
				t.Errorf("%s: got %q, want %s%s", r.name, got, path, tt.want)
			}
		}
	}
}

func TestEveryReaderRefusesAnOversizedFile(t *testing.T) {
	for _, r := range readers {
		t.Run(r.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "f.yaml")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			// Sparse: 9 MB by size, nothing written; a reader that read
			// it would find NUL bytes, not this error.
			if err := f.Truncate(9 << 20); err != nil {
				t.Fatal(err)
			}
			f.Close()
			start := time.Now()
			got := within(t, 2*time.Second, func() string { return r.read(t, dir, path) })
			t.Logf("refused in %v", time.Since(start).Round(time.Millisecond))
			if !strings.Contains(got, path+": larger than 8 MiB, the limit for one input file") {
				t.Errorf("got %q", got)
			}
		})
	}
}
