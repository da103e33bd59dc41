package yamlpos

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/hack/bench/corpus"
)

// v3Doc is yaml.v3's tree of data's first document.
func v3Doc(data []byte) (*yaml.Node, error) {
	var doc yaml.Node
	err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc)
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return &doc, err
}

// treeDiff describes the first difference between two trees, comments
// aside; "" when they are equal.
func treeDiff(path string, a, b *yaml.Node) string {
	if a.Kind != b.Kind || a.Style != b.Style || a.Tag != b.Tag || a.Value != b.Value || a.Anchor != b.Anchor ||
		a.Line != b.Line || a.Column != b.Column || len(a.Content) != len(b.Content) || (a.Alias == nil) != (b.Alias == nil) {
		return fmt.Sprintf("%s: got kind %v style %v tag %q value %q at %d:%d with %d children; yaml.v3: kind %v style %v tag %q value %q at %d:%d with %d children",
			path, a.Kind, a.Style, a.Tag, a.Value, a.Line, a.Column, len(a.Content), b.Kind, b.Style, b.Tag, b.Value, b.Line, b.Column, len(b.Content))
	}
	for i := range a.Content {
		if d := treeDiff(fmt.Sprintf("%s/%d", path, i), a.Content[i], b.Content[i]); d != "" {
			return d
		}
	}
	return ""
}

// checkBlock fails when parseBlock accepts data and its tree differs from
// yaml.v3's (or yaml.v3 rejects data). It reports whether parseBlock
// accepted data. With an arena, the tree is built in memory earlier trees
// used: nothing of theirs may show.
func checkBlock(t testing.TB, name string, data []byte, arena *Arena) bool {
	t.Helper()
	got, ok := parseBlock(data, arena)
	if !ok {
		return false
	}
	want, err := v3Doc(data)
	if err != nil {
		t.Fatalf("%s: parseBlock accepted what yaml.v3 rejects (%v):\n%s", name, err, data)
	}
	if d := treeDiff("", got, want); d != "" {
		t.Fatalf("%s: %s\ninput:\n%s", name, d, data)
	}
	return true
}

func TestParseBlockMatchesYAMLv3(t *testing.T) {
	accepted := []string{
		"a: 1\n",
		"# head\n\nkey: v # line\n\n# foot\n",
		"  a: 1\n  b: 'x''y' # c\n",
		"key:\n- a\n-\n- |\n  x\n  y\n\nb: \nc: |-\n   q\n\n",
		"- a: 1\n  b: 2\n- x\n",
		"k:\n  - name: a\n    v: x\n  - n: 'q'\n",
		"a:\n  b:\n    c: d\n  e: f\ng: h\n",
		"a: \"q\"\nb: ''\nc: \"\"\nd: 'it''s'''\n",
		"v: 0x1F\nw: 0o17\nx: 1_000\ny: -0b101\nz: 1e3\nf: .5\ng: -.inf\nh: 2001-12-14\ni: 2001-12-14 21:59:43.10\nj: 1.\nk: +12\nl: 0b2\n",
		"t: true\nf: False\nn: ~\nn2: null\ny: yes\no: on\ns: 3Gi\nc: 0 * * * *\nu: http://x:80/p\nh: a#b\n",
		"args:\n- --flag=1\n- -x\n- \"--q\"\n",
		"script: |\n  set -e\n\n  # not a comment\n    indented\n\n\nnext: 1\n",
		"keep: |+\n  a\n\n\nstrip: |-\n  b\n\nclip: |\n  c\n",
		"lead: |\n\n  a\n",
		"1: one\ntrue: yes\nnull: x\n'q': v\n\"d\": w\n",
		"a:\n\n  # c\n\n  b: 1\n",
		"-\n  - a\n  -\n- b\n",
		"x:\n  y\n",
		"a: 1\n# comment at the end without value\n",
		nested(400),
		"emptyDir: {}\nargs: [] # none\n",
		"v:\n- {}\n- []\n",
	}
	var arena Arena
	for _, in := range accepted {
		checkBlock(t, "accepted (arena)", []byte(in), &arena)
		if !checkBlock(t, "accepted", []byte(in), nil) {
			t.Errorf("parseBlock gave up on input in its subset:\n%s", in)
		}
	}
	// Outside the subset or not YAML: parseBlock gives up (or, where yaml.v3
	// agrees, matches it).
	for _, in := range []string{
		"", "a: 1", "a:\t1\n", "a: 1\r\n", "a: é\n", "---\na: 1\n", "a: 1\n---\nb: 2\n", "%YAML 1.2\n---\na: 1\n",
		"a: &x 1\nb: *x\n", "<<: {a: 1}\n", "a: !!str 1\n", "a: >\n  folded\n", "a: |2\n   x\n", "a: \"\\n\"\n",
		"a: 'multi\n  line'\n", "a: plain\n  continued\n", "a: b: c\n", "a: - b\n", "- - a\n", "a:\n  b: 1\n c: 2\n",
		"a: 1\n  b: 2\n", "a:\n- b\n  c: d\n", "? a\n: b\n", "[a, b]\n", "{a: 1}\n", "a: [1, 2\n", "a: |\n", "a: |\n\nb: 1\n",
		"a: |\n      \n  x\n", "a: 'x'y\n", "a: \"x\" y\n", "- a\n b\n", "a:\n  - b\n - c\n", "a: 1\nb\n", ": a\n",
		"a: @b\n", "a: {}x\n", "ints: [1, 2]\n", "k:\n  - v: [x\n  - n: 'q'\n", "a: {a: 1}\n", "a: [ ]\n", "a: `b`\n", "k: v:\n", "|\n  x\n", "a: '\n", "a: \"x\n", strings.Repeat("k", 1100) + ": v\n",
	} {
		checkBlock(t, "outside", []byte(in), nil)
		checkBlock(t, "outside (arena)", []byte(in), &arena)
	}
}

// nested is depth levels of "- a:", each a compact mapping in a sequence.
func nested(depth int) string {
	var b strings.Builder
	for i := range depth {
		b.WriteString(strings.Repeat(" ", 2*i) + "- a:\n")
	}
	return b.String()
}

func TestParseBlockDepthLimit(t *testing.T) {
	// yaml.v3 gives up at 10000 levels; so do we, well before.
	if _, ok := parseBlock([]byte(nested(1200)), nil); ok {
		t.Error("parseBlock took 1200 levels of nesting (2400 collections)")
	}
}

// TestParseBlockOnConfigs holds parseBlock to yaml.v3 on the bench corpus
// (Kubernetes-sized job config) and the repository's own YAML, and checks
// that it takes the corpus: otherwise the lint is fast only in theory.
func TestParseBlockOnConfigs(t *testing.T) {
	dir := t.TempDir()
	if _, err := corpus.Generate(dir, 60, 1); err != nil {
		t.Fatal(err)
	}
	took, total := 0, 0
	var arena Arena
	for _, root := range []string{dir, "../.."} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || strings.Contains(path, "fuzz")) {
				return filepath.SkipDir
			}
			if d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			ok := checkBlock(t, path, data, &arena)
			if strings.HasPrefix(path, dir) {
				total++
				if ok {
					took++
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if total == 0 || took != total {
		t.Errorf("parseBlock took %d of the corpus's %d files", took, total)
	}
}

func FuzzParseBlock(f *testing.F) {
	for _, s := range []string{
		"a: 1\n", "key:\n- a\n-\n- |\n  x\n  y\n\nb: \nc: |-\n   q\n\n", "- a: 1\n  b: 2\n- x\n",
		"a: 'x''y' # c\nb: \"q\"\n", "keep: |+\n  a\n\n\nstrip: |-\n  b\n", "a:\n  b:\n    c: d\n  e: f\ng: h\n",
		"v: 0x1F\nw: 0o17\nx: 1_000\ny: -0b101\nz: 1e3\n", "-\n  - a\n  -\n- b\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkBlock(t, "fuzz", data, nil)
		var arena Arena
		for range 2 { // the second tree in memory the first used
			checkBlock(t, "fuzz (arena)", data, &arena)
		}
	})
}
