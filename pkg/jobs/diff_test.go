package jobs

import (
	"fmt"
	"math/rand"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnifiedDiff(t *testing.T) {
	a := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
	b := "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\n"
	want := `--- old
+++ new
@@ -1,10 +1,11 @@
 a
 b
 c
-d
+D
 e
 f
 g
 h
 i
 j
+k
`
	if diff := cmp.Diff(want, UnifiedDiff("old", "new", []byte(a), []byte(b), 3)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	want = `--- old
+++ new
@@ -2,3 +2,3 @@
 b
-c
+C
 d
@@ -8,3 +8,3 @@
 h
-i
+I
 j
`
	if diff := cmp.Diff(want, UnifiedDiff("old", "new", []byte(a), []byte(strings.NewReplacer("c\n", "C\n", "i\n", "I\n").Replace(a)), 1)); diff != "" {
		t.Errorf("two hunks (-want +got):\n%s", diff)
	}
	want = "--- old\n+++ new\n@@ -1 +1 @@\n-x\n\\ No newline at end of file\n+x\n"
	if diff := cmp.Diff(want, UnifiedDiff("old", "new", []byte("x"), []byte("x\n"), 3)); diff != "" {
		t.Errorf("missing newline (-want +got):\n%s", diff)
	}
	want = "--- /dev/null\n+++ new\n@@ -0,0 +1,2 @@\n+x\n+y\n"
	if diff := cmp.Diff(want, UnifiedDiff("/dev/null", "new", nil, []byte("x\ny\n"), 3)); diff != "" {
		t.Errorf("new file (-want +got):\n%s", diff)
	}
	if got := UnifiedDiff("a", "b", []byte("same\n"), []byte("same\n"), 3); got != "" {
		t.Errorf("equal inputs: %q", got)
	}
}

// applyUnified applies a diff produced by UnifiedDiff to a, checking each
// context and removed line against a.
func applyUnified(t *testing.T, a []string, diff string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")[2:]
	var out []string
	pos := 0
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "@@") {
			var aStart int
			f := strings.Fields(l)[1][1:]
			aStart, _ = strconv.Atoi(strings.Split(f, ",")[0])
			if strings.HasSuffix(f, ",0") {
				aStart++
			}
			out = append(out, a[pos:aStart-1]...)
			pos = aStart - 1
			continue
		}
		if strings.HasPrefix(l, `\`) {
			continue
		}
		switch l[0] {
		case ' ', '-':
			if pos >= len(a) || a[pos] != l[1:] {
				t.Fatalf("diff line %q does not match input line %d", l, pos+1)
			}
			if l[0] == ' ' {
				out = append(out, l[1:])
			}
			pos++
		case '+':
			out = append(out, l[1:])
		}
	}
	return append(out, a[pos:]...)
}

func TestUnifiedDiffRandomApplies(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for iter := 0; iter < 300; iter++ {
		var a []string
		for i := r.Intn(60); i > 0; i-- {
			a = append(a, fmt.Sprint(r.Intn(6)))
		}
		b := append([]string(nil), a...)
		for e := r.Intn(8); e > 0; e-- {
			i := r.Intn(len(b) + 1)
			switch r.Intn(3) {
			case 0:
				b = append(b[:i], append([]string{fmt.Sprint("n", r.Intn(4))}, b[i:]...)...)
			case 1:
				if i < len(b) {
					b = append(b[:i], b[i+1:]...)
				}
			case 2:
				if i < len(b) {
					b[i] = "c" + b[i]
				}
			}
		}
		join := func(l []string) string {
			if len(l) == 0 {
				return ""
			}
			return strings.Join(l, "\n") + "\n"
		}
		d := UnifiedDiff("a", "b", []byte(join(a)), []byte(join(b)), r.Intn(4))
		if join(a) == join(b) {
			if d != "" {
				t.Fatalf("equal inputs gave a diff")
			}
			continue
		}
		got := applyUnified(t, a, d)
		if diff := cmp.Diff(b, got); diff != "" && !(len(b) == 0 && len(got) == 0) {
			t.Fatalf("applying the diff did not give b (-want +got):\n%s\ndiff:\n%s", diff, d)
		}
		// A shortest script never removes and re-adds the same line.
		ops := diffLines(a, b)
		changes := 0
		for _, op := range ops {
			if op.kind != ' ' {
				changes++
			}
		}
		if changes > len(a)+len(b) {
			t.Fatalf("edit script longer than a full rewrite")
		}
	}
}
