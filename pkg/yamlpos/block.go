package yamlpos

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// This file is a parser for the plain block-style YAML that job config is
// written in: block mappings and sequences, plain and quoted one-line
// scalars, literal blocks, comments. It builds the tree yaml.v3 builds for
// such input, comments aside, about four times as fast, and gives up on
// anything else (flow collections other than "{}" and "[]", anchors, tags, folded or multi-line
// scalars, escapes, tabs, non-ASCII, several documents...), where yaml.v3
// parses the file. Parsing is most of the cost of linting a large job
// config, and no maintained Go YAML library builds position-carrying trees
// faster than yaml.v3. The differential tests and fuzz target hold the trees
// equal to yaml.v3's.

// parseBlock returns the document node of data, or ok false when data is
// outside the subset (or not YAML).
func parseBlock(data []byte, arena *Arena) (doc *yaml.Node, ok bool) {
	if len(data) == 0 || data[len(data)-1] != '\n' {
		return nil, false
	}
	for _, c := range data {
		if c < 0x20 && c != '\n' || c >= 0x7f {
			// Tabs, CRs, control characters, non-ASCII (columns count
			// characters): yaml.v3 decides.
			return nil, false
		}
	}
	if arena == nil {
		arena = &Arena{transient: true}
	}
	arena.reset()
	p := blockParser{data: data, arena: arena}
	p.line(0, 1)
	if !p.skipToContent() || p.eof {
		return nil, false
	}
	root, ok := p.node(p.indent(), -1)
	if !ok || !p.eof {
		return nil, false
	}
	d := p.newNode(yaml.DocumentNode, "", "", root.Line, root.Column)
	d.Content = []*yaml.Node{root}
	return d, true
}

type blockParser struct {
	data []byte
	// The current line: data[start:end], end at its '\n'; ln its number.
	start, end, ln int
	eof            bool
	depth          int
	arena          *Arena
	// stack holds the children of the collections being parsed, so each
	// Content slice is made once at its final length.
	stack []*yaml.Node
}

// done gives collection n the children pushed since mark.
func (p *blockParser) done(n *yaml.Node, mark int) (*yaml.Node, bool) {
	c := p.arena.children(len(p.stack) - mark)
	copy(c, p.stack[mark:])
	clear(p.stack[mark:])
	p.stack = p.stack[:mark]
	n.Content = c
	return n, true
}

func (p *blockParser) newNode(kind yaml.Kind, tag, value string, line, col int) *yaml.Node {
	n := p.arena.node()
	n.Kind, n.Tag, n.Value, n.Line, n.Column = kind, tag, value, line, col
	return n
}

// An Arena holds the nodes of one tree at a time, for a reader that drops
// each tree (keeping no *yaml.Node, only the strings and positions it read)
// before it parses the next: ParseFirstIn builds its tree in the arena's
// memory, overwriting the previous one. Parse trees are most of what
// linting a large job config allocates; reusing them spares the garbage
// collector and the page faults of a growing heap. The zero value is ready.
// Not safe for concurrent use.
type Arena struct {
	slabs [][]yaml.Node
	slab  int // slabs[slab] is being filled
	next  int // its next free node
	ptrs  [][]*yaml.Node
	ptr   int
	nextp int
	// keys are the mapping keys seen, shared by the trees: job config
	// repeats a few hundred keys thousands of times.
	keys      map[string]string
	transient bool // made for one parse: no key memory
}

// intern returns b as a string, the same string for the same key.
func (a *Arena) intern(b []byte) string {
	if a.transient {
		return string(b)
	}
	if s, ok := a.keys[string(b)]; ok {
		return s
	}
	s := string(b)
	if a.keys == nil {
		a.keys = map[string]string{}
	}
	if len(a.keys) < 4096 {
		a.keys[s] = s
	}
	return s
}

const arenaSlab = 256

func (a *Arena) reset() {
	// The previous tree's nodes are cleared as they are handed out again.
	a.slab, a.next, a.ptr, a.nextp = 0, 0, 0, 0
}

func (a *Arena) node() *yaml.Node {
	if a.slab < len(a.slabs) && a.next == len(a.slabs[a.slab]) {
		a.slab, a.next = a.slab+1, 0
	}
	if a.slab == len(a.slabs) {
		a.slabs = append(a.slabs, make([]yaml.Node, arenaSlab))
	}
	n := &a.slabs[a.slab][a.next]
	a.next++
	*n = yaml.Node{}
	return n
}

// children returns a Content slice of length n, which may not grow.
func (a *Arena) children(n int) []*yaml.Node {
	if n > arenaSlab {
		return make([]*yaml.Node, n)
	}
	if a.ptr < len(a.ptrs) && a.nextp+n > len(a.ptrs[a.ptr]) {
		a.ptr, a.nextp = a.ptr+1, 0
	}
	if a.ptr == len(a.ptrs) {
		a.ptrs = append(a.ptrs, make([]*yaml.Node, 4*arenaSlab))
	}
	c := a.ptrs[a.ptr][a.nextp : a.nextp+n : a.nextp+n]
	a.nextp += n
	return c
}

func (p *blockParser) line(start, ln int) {
	p.start, p.ln = start, ln
	if start >= len(p.data) {
		p.eof = true
		p.end = start
		return
	}
	p.end = start + bytes.IndexByte(p.data[start:], '\n')
}

func (p *blockParser) text() []byte { return p.data[p.start:p.end] }

func (p *blockParser) advance() { p.line(p.end+1, p.ln+1) }

// indent is the current line's count of leading spaces.
func (p *blockParser) indent() int {
	t := p.text()
	i := 0
	for i < len(t) && t[i] == ' ' {
		i++
	}
	return i
}

// skipToContent moves to the first line from the current one that holds
// more than spaces and a comment; false on a document marker or directive.
func (p *blockParser) skipToContent() bool {
	for ; !p.eof; p.advance() {
		t := p.text()
		if len(t) > 0 && (t[0] == '%' || bytes.HasPrefix(t, []byte("---")) || bytes.HasPrefix(t, []byte("..."))) {
			return false
		}
		i := p.indent()
		if i < len(t) && t[i] != '#' {
			return true
		}
	}
	return true
}

// next moves past the current line to the next content line.
func (p *blockParser) next() bool {
	p.advance()
	return p.skipToContent()
}

func seqEntry(t []byte, col int) bool {
	return col < len(t) && t[col] == '-' && (col+1 == len(t) || t[col+1] == ' ')
}

// node parses the node starting at column col of the current line, inside
// a block indented parent.
func (p *blockParser) node(col, parent int) (*yaml.Node, bool) {
	t := p.text()
	if seqEntry(t, col) {
		return p.sequence(col)
	}
	if _, ok := keyAt(t, col); ok {
		return p.mapping(col)
	}
	return p.inline(col, parent)
}

// deeper counts a level of nesting; false past yaml.v3's limits (and
// ours: a parser that recurses per level).
func (p *blockParser) deeper() bool {
	p.depth++
	return p.depth <= 1000
}

func (p *blockParser) mapping(m int) (*yaml.Node, bool) {
	if !p.deeper() {
		return nil, false
	}
	defer func() { p.depth-- }()
	n := p.newNode(yaml.MappingNode, "!!map", "", p.ln, m+1)
	mark := len(p.stack)
	for {
		k, after, ok := p.key(m)
		if !ok {
			return nil, false
		}
		p.stack = append(p.stack, k)
		t := p.text()
		j := after
		for j < len(t) && t[j] == ' ' {
			j++
		}
		var v *yaml.Node
		if j == len(t) || t[j] == '#' && j > after {
			keyLine := p.ln
			if !p.next() {
				return nil, false
			}
			switch ind := p.indent(); {
			case !p.eof && ind > m:
				v, ok = p.node(ind, m)
			case !p.eof && ind == m && seqEntry(p.text(), m):
				v, ok = p.sequence(m)
			default:
				v = p.newNode(yaml.ScalarNode, "!!null", "", keyLine, after+1)
			}
		} else {
			v, ok = p.inline(j, m)
		}
		if !ok {
			return nil, false
		}
		p.stack = append(p.stack, v)
		if p.eof {
			return p.done(n, mark)
		}
		switch ind := p.indent(); {
		case ind < m:
			return p.done(n, mark)
		case ind > m || seqEntry(p.text(), m):
			return nil, false
		}
	}
}

func (p *blockParser) sequence(s int) (*yaml.Node, bool) {
	if !p.deeper() {
		return nil, false
	}
	defer func() { p.depth-- }()
	n := p.newNode(yaml.SequenceNode, "!!seq", "", p.ln, s+1)
	mark := len(p.stack)
	for {
		t := p.text()
		j := s + 1
		for j < len(t) && t[j] == ' ' {
			j++
		}
		var v *yaml.Node
		ok := true
		switch {
		case j == len(t) || t[j] == '#':
			itemLine := p.ln
			if !p.next() {
				return nil, false
			}
			if ind := p.indent(); !p.eof && ind > s {
				v, ok = p.node(ind, s)
			} else {
				v = p.newNode(yaml.ScalarNode, "!!null", "", itemLine, s+2)
			}
		case seqEntry(t, j):
			return nil, false // "- - a"
		default:
			if _, isKey := keyAt(t, j); isKey {
				v, ok = p.mapping(j)
			} else {
				v, ok = p.inline(j, s)
			}
		}
		if !ok {
			return nil, false
		}
		p.stack = append(p.stack, v)
		if p.eof {
			return p.done(n, mark)
		}
		ind := p.indent()
		switch {
		case ind < s:
			return p.done(n, mark)
		case ind > s:
			return nil, false
		case !seqEntry(p.text(), s):
			return p.done(n, mark) // a key of the mapping this sequence is a value of
		}
	}
}

// key parses a mapping key at column col: its node and the column after
// its ':'.
func (p *blockParser) key(col int) (*yaml.Node, int, bool) {
	t := p.text()
	colon, ok := keyAt(t, col)
	if !ok {
		return nil, 0, false
	}
	var k *yaml.Node
	switch c := t[col]; c {
	case '\'', '"':
		v, _, _ := quoted(t, col)
		k = p.newNode(yaml.ScalarNode, "!!str", v, p.ln, col+1)
		k.Style = quoteStyle(c)
	default:
		v := p.arena.intern(bytes.TrimRight(t[col:colon], " "))
		k = p.newNode(yaml.ScalarNode, resolveTag(v), v, p.ln, col+1)
	}
	return k, colon + 1, true
}

// keyAt reports whether a mapping key starts at column col of t, and where
// its ':' is. It allocates nothing: every line is asked.
func keyAt(t []byte, col int) (int, bool) {
	if col >= len(t) {
		return 0, false
	}
	end := 0
	switch t[col] {
	case '\'', '"':
		e, ok := quotedEnd(t, col)
		if !ok {
			return 0, false
		}
		for e < len(t) && t[e] == ' ' {
			e++
		}
		if e == len(t) || t[e] != ':' {
			return 0, false
		}
		end = e
	default:
		if !plainStart(t, col) {
			return 0, false
		}
		i := col
		for ; i < len(t); i++ {
			if t[i] == ':' && (i+1 == len(t) || t[i+1] == ' ') {
				break
			}
			if t[i] == '#' && t[i-1] == ' ' {
				return 0, false
			}
		}
		if i == len(t) || bytes.Equal(bytes.TrimRight(t[col:i], " "), []byte("<<")) {
			return 0, false // no key, or a merge key (yaml.v3 decides)
		}
		end = i
	}
	if end-col > 1000 || end+1 < len(t) && t[end+1] != ' ' {
		return 0, false
	}
	return end, true
}

// plainStart reports whether a plain scalar may start at t[col] (YAML's
// indicators may not start one; "-", "?" and ":" may before a non-space,
// left to yaml.v3 here).
func plainStart(t []byte, col int) bool {
	switch t[col] {
	case '-':
		return col+1 < len(t) && t[col+1] != ' '
	case '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
		return false
	}
	return true
}

func quoteStyle(c byte) yaml.Style {
	if c == '"' {
		return yaml.DoubleQuotedStyle
	}
	return yaml.SingleQuotedStyle
}

// quotedEnd finds the column after the closing quote of the quoted scalar
// at col, which must end on its line; double-quoted ones with escapes are
// left to yaml.v3.
func quotedEnd(t []byte, col int) (int, bool) {
	if t[col] == '"' {
		i := bytes.IndexAny(t[col+1:], `"\`)
		if i < 0 || t[col+1+i] == '\\' {
			return 0, false
		}
		return col + 2 + i, true
	}
	for i := col + 1; i < len(t); i++ {
		if t[i] == '\'' {
			if i+1 < len(t) && t[i+1] == '\'' {
				i++
				continue
			}
			return i + 1, true
		}
	}
	return 0, false
}

// quoted reads the quoted scalar at col: its value and the column after
// the closing quote.
func quoted(t []byte, col int) (string, int, bool) {
	end, ok := quotedEnd(t, col)
	if !ok {
		return "", 0, false
	}
	body := t[col+1 : end-1]
	if t[col] == '\'' && bytes.Contains(body, []byte("''")) {
		return string(bytes.ReplaceAll(body, []byte("''"), []byte("'"))), end, true
	}
	return string(body), end, true
}

// inline parses the scalar at column col of the current line, a value in a
// block indented parent, and moves to the next content line.
func (p *blockParser) inline(col, parent int) (*yaml.Node, bool) {
	t := p.text()
	var n *yaml.Node
	end := 0
	switch c := t[col]; {
	case c == '|':
		return p.literal(col, parent)
	case (c == '{' || c == '[') && col+1 < len(t) && t[col+1] == c+2:
		// "{}" and "[]" ("emptyDir: {}"); other flow collections are
		// yaml.v3's.
		n = p.newNode(yaml.MappingNode, "!!map", "", p.ln, col+1)
		if c == '[' {
			n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
		}
		n.Style = yaml.FlowStyle
		end = col + 2
	case c == '\'' || c == '"':
		v, e, ok := quoted(t, col)
		if !ok {
			return nil, false
		}
		n = p.newNode(yaml.ScalarNode, "!!str", v, p.ln, col+1)
		n.Style = quoteStyle(c)
		end = e
	default:
		if !plainStart(t, col) {
			return nil, false
		}
		i := col
		for ; i < len(t); i++ {
			if t[i] == ':' && (i+1 == len(t) || t[i+1] == ' ') {
				return nil, false // a mapping where a scalar must be
			}
			if t[i] == '#' && t[i-1] == ' ' {
				break
			}
		}
		v := string(bytes.TrimRight(t[col:i], " "))
		if v == "<<" {
			return nil, false
		}
		n = p.newNode(yaml.ScalarNode, resolveTag(v), v, p.ln, col+1)
		end = col + len(v)
	}
	if !restIsComment(t, end) {
		return nil, false
	}
	if !p.next() {
		return nil, false
	}
	return n, true
}

// restIsComment reports whether t from i holds only spaces and perhaps a
// comment after a space.
func restIsComment(t []byte, i int) bool {
	j := i
	for j < len(t) && t[j] == ' ' {
		j++
	}
	return j == len(t) || t[j] == '#' && j > i
}

// literal parses a literal block scalar ("|", "|-", "|+") whose indicator
// is at column col, in a block indented parent.
func (p *blockParser) literal(col, parent int) (*yaml.Node, bool) {
	t := p.text()
	chomp := byte(0)
	i := col + 1
	if i < len(t) && (t[i] == '-' || t[i] == '+') {
		chomp = t[i]
		i++
	}
	if !restIsComment(t, i) {
		return nil, false // an indentation indicator, or text after "|"
	}
	n := p.newNode(yaml.ScalarNode, "!!str", "", p.ln, col+1)
	n.Style = yaml.LiteralStyle
	p.advance()
	// The first non-blank line sets the block's indentation.
	indent, leading := -1, 0
	for save, saveLn := p.start, p.ln; ; p.advance() {
		if p.eof {
			return nil, false
		}
		lt := p.text()
		ind := p.indent()
		if ind < len(lt) {
			indent = ind
			p.line(save, saveLn)
			break
		}
		leading = max(leading, ind)
	}
	if indent <= parent || indent == 0 || leading > indent {
		return nil, false // an empty block, or over-indented blank lines
	}
	var b strings.Builder
	blank := 0 // blank lines not yet written
	for ; !p.eof; p.advance() {
		lt := p.text()
		ind := p.indent()
		if ind == len(lt) {
			if ind > indent {
				return nil, false
			}
			blank++
			continue
		}
		if ind < indent {
			break
		}
		breaks := blank // blank lines before the first text line count too
		if b.Len() > 0 {
			breaks++
		}
		for range breaks {
			b.WriteByte('\n')
		}
		blank = 0
		b.Write(lt[indent:])
	}
	v := b.String()
	switch chomp {
	case 0:
		v += "\n"
	case '+':
		v += strings.Repeat("\n", blank+1)
	}
	n.Value = v
	// The line that ended the block is a content line, a comment or EOF.
	if !p.skipToContent() {
		return nil, false
	}
	return n, true
}

// resolveTag is the tag yaml.v3 gives a plain scalar (its YAML 1.2 core
// schema with YAML 1.1's timestamps, binary and octal forms).
func resolveTag(v string) string {
	switch v {
	case "true", "True", "TRUE", "false", "False", "FALSE":
		return "!!bool"
	case "", "~", "null", "Null", "NULL":
		return "!!null"
	case ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF":
		return "!!float"
	}
	switch c := v[0]; {
	case c == '.':
		if _, err := strconv.ParseFloat(v, 64); err == nil {
			return "!!float"
		}
	case c == '+' || c == '-' || c >= '0' && c <= '9':
		if IsTimestamp(v) {
			return "!!timestamp"
		}
		plain := strings.ReplaceAll(v, "_", "")
		if !Numberish(plain) {
			return "!!str"
		}
		if _, err := strconv.ParseInt(plain, 0, 64); err == nil {
			return "!!int"
		}
		if _, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return "!!int"
		}
		if FloatForm(plain) {
			if _, err := strconv.ParseFloat(plain, 64); err == nil {
				return "!!float"
			}
		}
		for _, pre := range []struct {
			prefix string
			base   int
		}{{"0b", 2}, {"-0b", 2}, {"0o", 8}, {"-0o", 8}} {
			digits, ok := strings.CutPrefix(plain, pre.prefix)
			if !ok {
				continue
			}
			if pre.prefix[0] == '-' {
				digits = "-" + digits
			}
			if _, err := strconv.ParseInt(digits, pre.base, 64); err == nil {
				return "!!int"
			}
			if _, err := strconv.ParseUint(digits, pre.base, 64); err == nil && pre.prefix[0] != '-' {
				return "!!int"
			}
		}
	}
	return "!!str"
}

// Numberish reports whether s has only bytes that can occur in a YAML int
// or float (bases 2, 8, 16 and exponents included); anything else is
// certainly a string, and skipping the parses saves their error
// allocations.
func Numberish(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		case c == '+', c == '-', c == '.', c == 'x', c == 'X', c == 'o', c == 'O':
		default:
			return false
		}
	}
	return true
}

// FloatForm matches [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?,
// the float form YAML resolves.
func FloatForm(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	} else {
		if digits() == 0 {
			return false
		}
		if i < len(s) && s[i] == '.' {
			i++
			digits()
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

var timestampFormats = []string{
	"2006-1-2T15:4:5.999999999Z07:00",
	"2006-1-2t15:4:5.999999999Z07:00",
	"2006-1-2 15:4:5.999999999",
	"2006-1-2",
}

// IsTimestamp reports whether a plain scalar is a YAML timestamp, as both
// yaml.v2 and yaml.v3 recognise them: four digits and a dash first, then one
// of their layouts.
func IsTimestamp(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		if c := s[i]; c < '0' || c > '9' {
			break
		}
	}
	if i != 4 || i == len(s) || s[i] != '-' {
		return false
	}
	for _, f := range timestampFormats {
		if _, err := time.Parse(f, s); err == nil {
			return true
		}
	}
	return false
}
