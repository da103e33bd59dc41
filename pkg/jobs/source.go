package jobs

import (
	"bytes"
	"fmt"
	"sort"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// sourceDoc is what the in-place editor (edit.go) works on: a YAML file with its parse tree and line offsets, so node
// positions (line, column) map to byte ranges of the original text.
type sourceDoc struct {
	src       []byte
	lineStart []int // byte offset of each line; lineStart[0] == 0
	root      *yaml.Node
	crlf      bool
	// partial: root is a skeleton holding only what the edit needs (see
	// skeleton); other values are placeholders.
	partial bool
}

func newLines(src []byte) *sourceDoc {
	d := &sourceDoc{src: src, lineStart: make([]int, 1, bytes.Count(src, []byte{'\n'})+1)}
	for i, c := range src {
		if c == '\n' {
			d.lineStart = append(d.lineStart, i+1)
		}
	}
	if i := bytes.IndexByte(src, '\n'); i > 0 && src[i-1] == '\r' {
		d.crlf = true
	}
	return d
}

// lines is the number of lines, counting a last line without newline.
func (d *sourceDoc) lines() int {
	n := len(d.lineStart)
	if d.lineStart[n-1] == len(d.src) {
		return n - 1
	}
	return n
}

// offset converts a yaml.v3 position (1-based line, column in characters).
func (d *sourceDoc) offset(line, col int) int {
	off := d.lineStart[line-1]
	for i := 1; i < col && off < len(d.src) && d.src[off] != '\n'; i++ {
		_, size := utf8.DecodeRune(d.src[off:])
		off += size
	}
	return off
}

// lineEnd is the offset just past line's newline (or the end of the file).
func (d *sourceDoc) lineEnd(line int) int {
	if line < len(d.lineStart) {
		return d.lineStart[line]
	}
	return len(d.src)
}

func (d *sourceDoc) line(line int) []byte {
	if line < 1 || line > d.lines() {
		return nil
	}
	l := d.src[d.lineStart[line-1]:d.lineEnd(line)]
	for len(l) > 0 && (l[len(l)-1] == '\n' || l[len(l)-1] == '\r') {
		l = l[:len(l)-1]
	}
	return l
}

// indent is the number of leading spaces of line, -1 for a blank line.
func (d *sourceDoc) indent(line int) int {
	l := d.line(line)
	for i, c := range l {
		if c != ' ' && c != '\t' {
			return i
		}
	}
	return -1
}

// trivia reports a blank or comment-only line.
func (d *sourceDoc) trivia(line int) bool {
	for _, c := range d.line(line) {
		if c != ' ' && c != '\t' {
			return c == '#'
		}
	}
	return true
}

// contentEnd is the last line in [from, limit) that belongs to a node whose
// key or dash sits at column ownerIndent: the last line with content, or a
// comment indented deeper than ownerIndent (inside the node, or a line of a
// block scalar that looks like a comment). Blank lines and shallower comments
// before the next sibling stay with what follows: they usually introduce it.
func (d *sourceDoc) contentEnd(from, limit, ownerIndent int) int {
	for l := limit - 1; l > from; l-- {
		if !d.trivia(l) || d.indent(l) > ownerIndent {
			return l
		}
	}
	return from
}

// lastLine is the largest line any node of n's subtree starts on.
func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		if cl := lastLine(c); cl > l {
			l = cl
		}
	}
	return l
}

// dashLine finds the line of the "-" that opens sequence item n.
func (d *sourceDoc) dashLine(n *yaml.Node) (int, error) {
	off := d.offset(n.Line, n.Column) - 1
	for off >= 0 && (d.src[off] == ' ' || d.src[off] == '\n' || d.src[off] == '\r' || d.src[off] == '\t') {
		off--
	}
	if off < 0 || d.src[off] != '-' {
		return 0, &Error{Line: n.Line, Column: n.Column, Msg: "cannot find the '-' of this list item; write it as a block list item to edit it in place"}
	}
	line := sort.Search(len(d.lineStart), func(i int) bool { return d.lineStart[i] > off })
	if l := bytes.TrimLeft(d.src[d.lineStart[line-1]:off], " "); len(l) != 0 {
		return 0, &Error{Line: line, Column: n.Column, Msg: "list item shares its line with other content; cannot edit it in place"}
	}
	return line, nil
}

// section is a top-level key of the config (presubmits, postsubmits, periodics).
type section struct {
	index      int // of the key in the root mapping's pairs
	key, value *yaml.Node
	limit      int // line where whatever follows the section starts
}

func (d *sourceDoc) section(name string) (*section, error) {
	if d.root == nil {
		return nil, nil
	}
	var found *section
	pairs := d.root.Content
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i].Value != name {
			continue
		}
		if found != nil {
			return nil, &Error{Line: pairs[i].Line, Column: pairs[i].Column, Field: name, Msg: fmt.Sprintf("duplicate key (first at line %d)", found.key.Line)}
		}
		found = &section{index: i / 2, key: pairs[i], value: pairs[i+1], limit: d.lines() + 1}
		if i+2 < len(pairs) {
			found.limit = pairs[i+2].Line
		}
	}
	return found, nil
}

// isEmpty reports a value that holds no entries: null, [], {}.
func isEmpty(n *yaml.Node) bool {
	return (n.Kind == yaml.ScalarNode && n.Tag == "!!null") ||
		((n.Kind == yaml.MappingNode || n.Kind == yaml.SequenceNode) && len(n.Content) == 0)
}
