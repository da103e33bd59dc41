package jobs

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Style is how a YAML file indents: Indent spaces per mapping level, and
// SeqIndent spaces between a key and the dashes of its block sequence (0 for
// "key:\n- a", as in Kubernetes' job config; 2 for "key:\n  - a").
type Style struct {
	Indent    int
	SeqIndent int
}

// DefaultStyle is the style of generated files: Prow's job config style.
var DefaultStyle = Style{Indent: 2, SeqIndent: 0}

// tree is an ordered YAML value: we write job config ourselves instead of
// marshalling Prow's structs so keys come in the order people write them
// (name first, spec last) and empty fields are simply absent.
type tree struct {
	scalar string // rendered scalar text, when keys and items are nil
	keys   []string
	values []*tree
	items  []*tree
	isMap  bool
	isSeq  bool
}

func mapping() *tree { return &tree{isMap: true} }

func (t *tree) set(key string, v *tree) *tree {
	if v == nil || (v.isMap && len(v.keys) == 0) || (v.isSeq && len(v.items) == 0) {
		return t
	}
	t.keys = append(t.keys, key)
	t.values = append(t.values, v)
	return t
}

func (t *tree) str(key, v string) *tree {
	if v == "" {
		return t
	}
	return t.set(key, str(v))
}

func (t *tree) flag(key string, v bool) *tree {
	if !v {
		return t
	}
	return t.set(key, &tree{scalar: "true"})
}

func str(s string) *tree { return &tree{scalar: quote(s)} }

func boolean(b bool) *tree { return &tree{scalar: strconv.FormatBool(b)} }

func strs(ss []string) *tree {
	t := &tree{isSeq: true}
	for _, s := range ss {
		t.items = append(t.items, str(s))
	}
	return t
}

func strMap(m map[string]string) *tree {
	t := mapping()
	for _, k := range slices.Sorted(maps.Keys(m)) {
		t.set(k, str(m[k]))
	}
	return t
}

// quote renders a string scalar as yaml.v3 would, quoting only when a plain
// scalar would read as something else ("true", "2", "a: b"). Multi-line text
// is double-quoted so it never depends on the surrounding indentation.
func quote(s string) string {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if strings.ContainsAny(s, "\n\r\t") {
		n.Style = yaml.DoubleQuotedStyle
	}
	out, err := yaml.Marshal(n)
	if err != nil {
		return strconv.Quote(s) // JSON strings are YAML double-quoted strings
	}
	return strings.TrimSuffix(string(out), "\n")
}

// render writes a mapping whose keys sit at column col.
func (st Style) render(b *strings.Builder, t *tree, col int) {
	st.renderMap(b, t, col, false)
}

// renderMap writes t's keys at col; with inline the first key continues the
// current line (after "- ").
func (st Style) renderMap(b *strings.Builder, t *tree, col int, inline bool) {
	for i, k := range t.keys {
		if i > 0 || !inline {
			b.WriteString(strings.Repeat(" ", col))
		}
		b.WriteString(quote(k))
		b.WriteByte(':')
		v := t.values[i]
		switch {
		case v.isMap:
			b.WriteByte('\n')
			st.renderMap(b, v, col+st.Indent, false)
		case v.isSeq:
			b.WriteByte('\n')
			st.renderSeq(b, v, col+st.SeqIndent)
		default:
			b.WriteByte(' ')
			b.WriteString(v.scalar)
			b.WriteByte('\n')
		}
	}
}

// renderSeq writes t's items with their dashes at col.
func (st Style) renderSeq(b *strings.Builder, t *tree, col int) {
	for _, item := range t.items {
		b.WriteString(strings.Repeat(" ", col))
		b.WriteString("- ")
		switch {
		case item.isMap:
			st.renderMap(b, item, col+2, true)
		case item.isSeq:
			// Not produced by the generator; kept valid for completeness.
			b.WriteString("\n")
			st.renderSeq(b, item, col+2)
		default:
			b.WriteString(item.scalar)
			b.WriteByte('\n')
		}
	}
}
