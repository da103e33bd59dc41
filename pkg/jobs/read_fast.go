package jobs

import (
	"bytes"

	"gopkg.in/yaml.v3"
)

// skeleton reads a shared config without parsing all of it: a lexical pass
// over the lines finds which ones start a top-level key, a repository key or
// a periodic, and only the entries the edit touches are parsed with yaml.v3.
// The tree it returns has real nodes for those and placeholders (position
// only) for everything else, which is all plan reads. Anything the lexical
// pass is unsure of returns errNeedFullParse.
func (d *sourceDoc) skeleton(s *Spec) (*yaml.Node, error) {
	q := &quickReader{d: d}
	if !q.lex() {
		return nil, errNeedFullParse
	}
	root, ok := q.root(s)
	if !ok {
		return nil, errNeedFullParse
	}
	return root, nil
}

type quickReader struct {
	d *sourceDoc
	// inside marks lines that continue a quoted scalar, a flow collection or
	// a block scalar: they never start a key or an item.
	inside []bool
}

// lex marks block scalar lines and checks that every other line closes its
// quotes and flow brackets: multi-line quoted scalars and flow collections
// (rare in job config) are left to the full parse, as are tabs in
// indentation, document markers and directives.
func (q *quickReader) lex() bool {
	d := q.d
	n := d.lines()
	q.inside = make([]bool, n+2)
	block := -1 // inside a block scalar: the indentation of the line opening it
	for l := 1; l <= n; l++ {
		line := d.line(l)
		ind := 0
		for ind < len(line) && line[ind] == ' ' {
			ind++
		}
		if block >= 0 {
			if ind == len(line) || ind > block {
				q.inside[l] = true
				continue
			}
			block = -1
		}
		if ind < len(line) && line[ind] == '\t' {
			return false
		}
		if ind == 0 && (bytes.HasPrefix(line, []byte("---")) || bytes.HasPrefix(line, []byte("...")) || bytes.HasPrefix(line, []byte("%"))) {
			return false
		}
		var quote byte
		flow := 0
	scan:
		for i := ind; i < len(line); i++ {
			c := line[i]
			if quote != 0 {
				switch {
				case quote == '"' && c == '\\':
					i++
				case c == quote:
					if quote == '\'' && i+1 < len(line) && line[i+1] == '\'' {
						i++
					} else {
						quote = 0
					}
				}
				continue
			}
			switch {
			case c == '#' && (i == 0 || line[i-1] == ' ' || line[i-1] == '\t'):
				break scan
			case (c == '"' || c == '\'') && tokenStart(line, ind, i, flow > 0):
				quote = c
			case (c == '[' || c == '{') && (flow > 0 || tokenStart(line, ind, i, false)):
				flow++
			case (c == ']' || c == '}') && flow > 0:
				flow--
			}
		}
		if quote != 0 || flow != 0 {
			return false
		}
		if startsBlockScalar(line) {
			block = ind
		}
	}
	return true
}

// tokenStart reports whether position i of line can begin a value: first on
// the line, or after ": ", "- ", "? ", an anchor or tag, or (in flow) after
// a bracket or comma. Quotes elsewhere belong to plain scalars (it's).
func tokenStart(line []byte, ind, i int, inFlow bool) bool {
	j := i - 1
	for j >= ind && line[j] == ' ' {
		j--
	}
	if j < ind {
		return true
	}
	switch line[j] {
	case ':':
		return j < i-1 || inFlow
	case '-', '?':
		return j < i-1 && tokenStart(line, ind, j, inFlow)
	case '[', '{', ',':
		return inFlow
	}
	// After an anchor or tag token ("&a 'x'", "!!str 'x'").
	k := j
	for k >= ind && line[k] != ' ' {
		k--
	}
	return (line[k+1] == '&' || line[k+1] == '!') && tokenStart(line, ind, k+1, inFlow)
}

// startsBlockScalar reports a line whose value is "|" or ">" (with
// indicators): the lines after it that are indented deeper are its text.
func startsBlockScalar(line []byte) bool {
	t := bytes.TrimRight(line[:tokenEnd(line)], " ")
	i := len(t) - 1
	for i >= 0 && (t[i] == '-' || t[i] == '+' || (t[i] >= '0' && t[i] <= '9')) {
		i--
	}
	if i < 0 || (t[i] != '|' && t[i] != '>') || len(t)-1-i > 2 {
		return false
	}
	return i == 0 || t[i-1] == ' '
}

// content reports a line that is neither blank, a comment, nor inside a
// multi-line value.
func (q *quickReader) content(l int) bool {
	return !q.inside[l] && !q.d.trivia(l)
}

// keyLine splits a "key: rest" line at indentation ind.
func (q *quickReader) keyLine(l, ind int) (key string, rest []byte, ok bool) {
	line := q.d.line(l)[ind:]
	if len(line) == 0 {
		return "", nil, false
	}
	end := -1
	switch line[0] {
	case '"', '\'':
		quote := line[0]
		for i := 1; i < len(line); i++ {
			if quote == '"' && line[i] == '\\' {
				i++
				continue
			}
			if line[i] == quote {
				if quote == '\'' && i+1 < len(line) && line[i+1] == '\'' {
					i++
					continue
				}
				end = i + 1
				break
			}
		}
		if end < 0 {
			return "", nil, false
		}
		var v string
		if err := yaml.Unmarshal(line[:end], &v); err != nil {
			return "", nil, false
		}
		key = v
		j := end
		for j < len(line) && line[j] == ' ' {
			j++
		}
		if j >= len(line) || line[j] != ':' || (j+1 < len(line) && line[j+1] != ' ') {
			return "", nil, false
		}
		return key, line[j+1:], true
	case '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '%', '@', '`':
		return "", nil, false
	}
	for i := 0; i < len(line); i++ {
		if line[i] == ':' && (i+1 == len(line) || line[i+1] == ' ') {
			return string(bytes.TrimRight(line[:i], " ")), line[i+1:], true
		}
		if line[i] == ' ' && i+1 < len(line) && line[i+1] == '#' {
			return "", nil, false
		}
	}
	return "", nil, false
}

// emptyRest reports a key line with nothing after the colon but a comment.
func emptyRest(rest []byte) bool {
	return tokenEnd(rest) == 0
}

// isDash reports a line at ind that opens a sequence item.
func (q *quickReader) isDash(l, ind int) bool {
	line := q.d.line(l)
	return len(line) > ind && line[ind] == '-' && (len(line) == ind+1 || line[ind+1] == ' ')
}

func placeholder(line, col int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Line: line, Column: col}
}

// root builds the skeleton of the top-level mapping.
func (q *quickReader) root(s *Spec) (*yaml.Node, bool) {
	d := q.d
	n := d.lines()
	type topKey struct {
		line int
		key  string
		rest []byte
	}
	var keys []topKey
	for l := 1; l <= n; l++ {
		if !q.content(l) {
			continue
		}
		ind := d.indent(l)
		switch {
		case ind > 0:
			if len(keys) == 0 {
				return nil, false // an indented root
			}
			continue
		case q.isDash(l, 0):
			if len(keys) == 0 {
				return nil, false // a list, not a mapping
			}
			continue
		}
		key, rest, ok := q.keyLine(l, 0)
		if !ok || key == "<<" {
			return nil, false
		}
		keys = append(keys, topKey{l, key, rest})
	}
	if len(keys) == 0 {
		return nil, true // no document: every section gets appended
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Line: keys[0].line, Column: 1}
	for i, k := range keys {
		end := n + 1
		if i+1 < len(keys) {
			end = keys[i+1].line
		}
		keyNode := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k.key, Line: k.line, Column: 1}
		var value *yaml.Node
		var ok bool
		switch k.key {
		case "presubmits", "postsubmits", "periodics":
			if !emptyRest(k.rest) {
				value, ok = q.parsePair(k.line, end-1)
			} else if k.key == "periodics" {
				value, ok = q.periodics(s, k.line, end)
			} else {
				value, ok = q.repos(s, k.line, end)
			}
			if !ok {
				return nil, false
			}
		default:
			value = placeholder(k.line, 1)
		}
		root.Content = append(root.Content, keyNode, value)
	}
	return root, true
}

// parsePair parses lines from..to holding one "key: value" with yaml.v3 and
// returns the value, positioned in the whole file.
func (q *quickReader) parsePair(from, to int) (*yaml.Node, bool) {
	n, ok := q.parseLines(from, to)
	if !ok || n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return nil, false
	}
	return n.Content[1], true
}

// parseLines parses lines from..to on their own, shifting positions to the
// whole file's.
func (q *quickReader) parseLines(from, to int) (*yaml.Node, bool) {
	d := q.d
	var doc yaml.Node
	if err := yaml.Unmarshal(d.src[d.lineStart[from-1]:d.lineEnd(to)], &doc); err != nil || len(doc.Content) == 0 {
		return nil, false
	}
	var shift func(n *yaml.Node)
	shift = func(n *yaml.Node) {
		n.Line += from - 1
		for _, c := range n.Content {
			shift(c)
		}
	}
	shift(doc.Content[0])
	return doc.Content[0], true
}

// firstContent is the first content line in (after, end), 0 if none.
func (q *quickReader) firstContent(after, end int) int {
	for l := after + 1; l < end; l++ {
		if q.content(l) {
			return l
		}
	}
	return 0
}

// repos builds presubmits or postsubmits: a mapping of repository keys whose
// owned value is parsed and the others are placeholders.
func (q *quickReader) repos(s *Spec, keyLine, end int) (*yaml.Node, bool) {
	d := q.d
	first := q.firstContent(keyLine, end)
	if first == 0 {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: keyLine, Column: 1}, true
	}
	ind := d.indent(first)
	if q.isDash(first, ind) {
		return nil, false // a list where repositories belong: let the full parse say so
	}
	m := &yaml.Node{Kind: yaml.MappingNode, Line: first, Column: ind + 1}
	var lines []int
	for l := first; l < end; l++ {
		if !q.content(l) {
			continue
		}
		li := d.indent(l)
		if li < ind {
			return nil, false
		}
		if li == ind && !q.isDash(l, ind) {
			lines = append(lines, l)
		}
	}
	for i, l := range lines {
		key, rest, ok := q.keyLine(l, ind)
		if !ok || key == "<<" {
			return nil, false
		}
		next := end
		if i+1 < len(lines) {
			next = lines[i+1]
		}
		var value *yaml.Node
		if s.OwnsRepo(key) {
			value, ok = q.parsePair(l, next-1)
			if !ok {
				return nil, false
			}
		} else {
			value = placeholder(l, ind+1)
			if emptyRest(rest) {
				if f := q.firstContent(l, next); f != 0 && q.isDash(f, d.indent(f)) {
					// Enough of a list for the style: where its dashes are.
					value = &yaml.Node{Kind: yaml.SequenceNode, Line: f, Column: d.indent(f) + 1, Content: []*yaml.Node{placeholder(f, d.indent(f)+3)}}
				}
			}
		}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: l, Column: ind + 1}, value)
	}
	return m, true
}

// periodics builds the periodics list: owned items (and any the line scan
// cannot identify) parsed, the others placeholders carrying their name.
func (q *quickReader) periodics(s *Spec, keyLine, end int) (*yaml.Node, bool) {
	d := q.d
	first := q.firstContent(keyLine, end)
	if first == 0 {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Line: keyLine, Column: 1}, true
	}
	dash := d.indent(first)
	if !q.isDash(first, dash) {
		return nil, false
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode, Line: first, Column: dash + 1}
	var items []int
	for l := first; l < end; l++ {
		if !q.content(l) {
			continue
		}
		li := d.indent(l)
		if li < dash || (li == dash && !q.isDash(l, dash)) {
			return nil, false
		}
		if li == dash {
			items = append(items, l)
		}
	}
	for i, l := range items {
		next := end
		if i+1 < len(items) {
			next = items[i+1]
		}
		item, ok := q.periodic(s, l, next, dash)
		if !ok {
			return nil, false
		}
		seq.Content = append(seq.Content, item)
	}
	return seq, true
}

// periodic reads one item: its name and whether it clones a repository from
// the lines of its keys; the item is parsed when it may be owned.
func (q *quickReader) periodic(s *Spec, l, next, dash int) (*yaml.Node, bool) {
	d := q.d
	line := d.line(l)
	keys := dash + 1
	for keys < len(line) && line[keys] == ' ' {
		keys++
	}
	parse := func() (*yaml.Node, bool) {
		n, ok := q.parseLines(l, d.contentEnd(l, next, dash))
		if !ok || n.Kind != yaml.SequenceNode || len(n.Content) != 1 {
			return nil, false
		}
		return n.Content[0], true
	}
	if keys >= len(line) {
		return parse() // "-" alone on its line
	}
	name, found := "", false
	for k := l; k < next; k++ {
		if !q.content(k) || (k > l && d.indent(k) != keys) {
			continue
		}
		key, rest, ok := q.keyLine(k, keys)
		if !ok {
			return parse() // an alias, anchor, flow mapping, ...
		}
		switch key {
		case "extra_refs":
			return parse()
		case "name":
			v := bytes.TrimSpace(rest[:tokenEnd(rest)])
			if len(v) == 0 || bytes.ContainsAny(v[:1], `"'&*!|>{[%@`+"`") {
				return parse()
			}
			name, found = string(v), true
		}
	}
	if !found || s.OwnsPeriodic(name, nil) {
		return parse()
	}
	return &yaml.Node{Kind: yaml.MappingNode, Line: l, Column: keys + 1, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "name", Line: l, Column: keys + 1},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: name, Line: l, Column: keys + 1},
	}}, true
}
