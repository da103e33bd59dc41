package yamlpos

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
)

// Error is a problem at a position of a YAML file:
// "file:line:col: field: message". Line and Column are 1-based; Column
// counts characters, as yaml.v3's nodes do.
type Error struct {
	File   string
	Line   int
	Column int
	// Field is the dotted path of the offending field (jobs[1].interval); may be empty.
	Field string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		if e.File != "" {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%d:%d", e.Line, e.Column)
	}
	if b.Len() > 0 {
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// At returns an Error at node n (1:1 when n is nil).
func At(file string, n *yaml.Node, field, format string, args ...any) *Error {
	e := &Error{File: file, Line: 1, Column: 1, Field: field, Msg: fmt.Sprintf(format, args...)}
	if n != nil && n.Line > 0 {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// Document is one YAML document of a file.
type Document struct {
	// Root is the document's top node; nil when the document is empty
	// (only comments, or a lone null).
	Root *yaml.Node
	// Line is where the document starts: its "---" marker when it has one,
	// else its first node.
	Line int
}

// ParseAll parses every document of data. Syntax errors, NUL bytes,
// invalid UTF-8 and duplicate keys are *Error at their real line and
// column; input over MaxFileBytes or a document expanding past MaxNodes
// through aliases is refused.
func ParseAll(file string, data []byte) ([]Document, error) {
	if len(data) > MaxFileBytes {
		return nil, tooBig(file)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var docs []Document
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, SyntaxError(file, data, err)
		}
		d := Document{Line: doc.Line}
		if len(doc.Content) > 0 {
			root := doc.Content[0]
			if !(root.Kind == yaml.ScalarNode && root.Tag == "!!null") {
				d.Root = root
			}
			if root.Line > 0 {
				d.Line = markerLine(data, root.Line)
			}
		}
		if d.Root != nil {
			if err := checkDocument(file, data, d.Root, true); err != nil {
				return nil, err
			}
		}
		docs = append(docs, d)
	}
	return docs, nil
}

// Parse parses a file that must hold at most one document and returns its
// root, nil when the file is empty. A second document is an error at its
// start: readers that took only the first would silently drop the rest.
func Parse(file string, data []byte) (*yaml.Node, error) {
	docs, err := ParseAll(file, data)
	if err != nil {
		return nil, err
	}
	var root *yaml.Node
	n := 0
	for _, d := range docs {
		if d.Root == nil {
			continue
		}
		n++
		if n == 2 {
			return nil, &Error{File: file, Line: d.Line, Column: 1, Msg: "a second YAML document starts here; this file holds one document: remove the \"---\" or move the rest to a file of its own"}
		}
		root = d.Root
	}
	return root, nil
}

// markerLine is the line of the "---" that opens the document whose first
// node is on line, or line itself when none does.
func markerLine(data []byte, line int) int {
	lines := bytes.Split(data, []byte("\n"))
	for i := min(line, len(lines)) - 1; i >= 0; i-- {
		l := bytes.TrimRight(lines[i], "\r")
		if bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t') {
			return i + 1
		}
		if t := bytes.TrimSpace(l); i+1 < line && len(t) > 0 && t[0] != '#' {
			break // content of the previous document
		}
	}
	return line
}

// CheckAliases refuses a document whose nodes, counting each alias as a
// copy of what it refers to, exceed MaxNodes: decoding it (or converting
// it to JSON for Prow's decoder) would build that many values. Only
// anchored nodes (what aliases refer to) are memoised, so checking is
// linear in the document's own size.
func CheckAliases(file string, root *yaml.Node) error {
	var sizes map[*yaml.Node]int
	var bad *yaml.Node
	var size func(n *yaml.Node, depth int) int
	size = func(n *yaml.Node, depth int) int {
		if bad != nil {
			return MaxNodes + 1
		}
		if n.Anchor != "" {
			if s, ok := sizes[n]; ok {
				return s
			}
			if sizes == nil {
				sizes = map[*yaml.Node]int{}
			}
			sizes[n] = MaxNodes + 1 // an alias inside its own anchor is unbounded
		}
		if depth > 10000 {
			bad = n
			return MaxNodes + 1
		}
		s := 1
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			s += size(n.Alias, depth+1)
		}
		for _, c := range n.Content {
			s += size(c, depth+1)
			if s > MaxNodes {
				break
			}
		}
		if s > MaxNodes && bad == nil {
			bad = n // the deepest value that crosses the budget
		}
		s = min(s, MaxNodes+1)
		if n.Anchor != "" {
			sizes[n] = s
		}
		return s
	}
	if size(root, 0) <= MaxNodes {
		return nil
	}
	if bad == nil {
		bad = root
	}
	return At(file, bad, "", "this value, with its aliases expanded, exceeds %d nodes, the limit (yamlpos.MaxNodes); use fewer nested aliases", MaxNodes)
}

// checkDocument applies the budgets and duplicate-key check to a parsed
// document. A file without '*' has no aliases to count.
func checkDocument(file string, data []byte, root *yaml.Node, dups bool) error {
	if bytes.IndexByte(data, '*') >= 0 {
		if err := CheckAliases(file, root); err != nil {
			return err
		}
	}
	if dups {
		if err := DuplicateKey(file, root); err != nil {
			return err
		}
	}
	return nil
}

// ParseFirst parses the first document of data only, as Prow's decoder
// reads job config: what follows it is not even parsed. It returns the
// document node (Kind 0 when data holds none), with ParseAll's errors and
// budgets. The tree may lack comments: plain block-style files, most job
// config, take a parser several times faster than yaml.v3 that drops them
// (block.go). Readers that edit or keep comments use Parse.
func ParseFirst(file string, data []byte) (*yaml.Node, error) {
	return ParseFirstIn(file, data, nil)
}

// ParseFirstIn is ParseFirst building the tree in arena (see Arena) when
// the fast parser takes data; a nil arena is a fresh one.
func ParseFirstIn(file string, data []byte, arena *Arena) (*yaml.Node, error) {
	if len(data) > MaxFileBytes {
		return nil, tooBig(file)
	}
	doc, ok := parseBlock(data, arena)
	if !ok {
		doc = &yaml.Node{}
		err := yaml.NewDecoder(bytes.NewReader(data)).Decode(doc)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, SyntaxError(file, data, err)
		}
	}
	if len(doc.Content) > 0 {
		if err := checkDocument(file, data, doc.Content[0], false); err != nil {
			return nil, err
		}
	}
	return doc, nil
}

// DuplicateKey returns the first key defined twice in one mapping under
// root, at the second definition with its dotted path as Field; nil when
// there is none. Decoders keep one of the two silently, which hides edits.
func DuplicateKey(file string, root *yaml.Node) *Error {
	var found *Error
	var walk func(n *yaml.Node, path string, depth int)
	walk = func(n *yaml.Node, path string, depth int) {
		if found != nil || n == nil || depth > 10000 {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			var seen map[string]*yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode || (k.Value == "<<" && k.Tag == "!!merge") {
					continue
				}
				if seen == nil {
					seen = make(map[string]*yaml.Node, len(n.Content)/2)
				}
				if first, dup := seen[k.Value]; dup {
					found = At(file, k, join(path, k.Value), "duplicate key (first at line %d)", first.Line)
					return
				}
				seen[k.Value] = k
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], join(path, n.Content[i].Value), depth+1)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, fmt.Sprintf("%s[%d]", path, i), depth+1)
			}
		}
	}
	walk(root, "", 0)
	return found
}
