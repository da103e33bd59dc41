package jobs

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// UpdateInPlace returns a shared Prow config (one file holding many
// repositories' jobs) with the spec's entries replaced: presubmits and
// postsubmits under the spec's repository, and the periodics the spec owns.
// Missing entries are added and entries the spec no longer has are removed.
// Every other byte — other jobs, comments, key order, quoting, blank lines,
// anchors — is kept: the file is parsed only to find byte ranges, and new text
// is spliced in with the file's own indentation, never re-serialised.
//
// Errors are *Error values whose File is empty; Update fills it in.
func UpdateInPlace(original []byte, s *Spec) ([]byte, error) {
	if s == nil || len(s.Jobs) == 0 {
		return nil, fmt.Errorf("update in place: the spec names no jobs")
	}
	// Shared configs run to tens of thousands of lines, and parsing all of
	// them costs far more than the edit: first try reading only the parts
	// that are edited, and parse the whole file when the quick reading is
	// unsure (anything unusual) or the edit reports a problem.
	if out, err := updateInPlace(original, s, true); err == nil {
		return out, nil
	}
	out, err := updateInPlace(original, s, false)
	return out, err
}

// loneCR is the offset of a "\r" not followed by "\n" (YAML reads it as a
// line break; the editor counts lines by "\n"), -1 if none.
func loneCR(b []byte) int {
	for i := bytes.IndexByte(b, '\r'); i >= 0; {
		if i+1 >= len(b) || b[i+1] != '\n' {
			return i
		}
		next := bytes.IndexByte(b[i+1:], '\r')
		if next < 0 {
			break
		}
		i += 1 + next
	}
	return -1
}

// errNeedFullParse makes the quick reading hand over to the full parse.
var errNeedFullParse = errors.New("needs a full parse")

func updateInPlace(original []byte, s *Spec, quick bool) ([]byte, error) {
	if !utf8.Valid(original) {
		return nil, &Error{Line: 1, Column: 1, Msg: "not UTF-8 text; Prow reads job config as UTF-8"}
	}
	if quick && bytes.HasPrefix(original, []byte("\xef\xbb\xbf")) {
		return nil, errNeedFullParse // a byte-order mark shifts the first line's columns
	}
	if i := loneCR(original); i >= 0 {
		line := bytes.Count(original[:i], []byte{'\n'}) + 1
		return nil, &Error{Line: line, Column: i - bytes.LastIndexByte(original[:i], '\n'), Msg: "carriage return without a newline; use \\n or \\r\\n line endings"}
	}
	d := newLines(original)
	var err error
	if quick {
		d.partial = true
		d.root, err = d.skeleton(s)
	} else {
		err = d.parse()
	}
	if err != nil {
		return nil, err
	}
	edits, err := d.plan(s)
	if err != nil {
		return nil, err
	}
	return d.apply(edits), nil
}

// edit replaces src[start:end] with text; start == end inserts.
type edit struct {
	start, end int
	text       string
}

// planner accumulates the edits of one update.
type planner struct {
	d     *sourceDoc
	s     *Spec
	style Style
	edits []edit
	// owned are the subtrees being replaced or removed: anchors inside them
	// must not be used from outside.
	owned []*yaml.Node
}

func (d *sourceDoc) plan(s *Spec) ([]edit, error) {
	p := &planner{d: d, s: s}
	pre, err := d.section("presubmits")
	if err != nil {
		return nil, err
	}
	post, err := d.section("postsubmits")
	if err != nil {
		return nil, err
	}
	per, err := d.section("periodics")
	if err != nil {
		return nil, err
	}
	p.style = d.detectStyle(s, pre, post, per)
	var appended strings.Builder
	for _, sec := range []struct {
		name, jobType string
		sec           *section
	}{{"presubmits", TypePresubmit, pre}, {"postsubmits", TypePostsubmit, post}} {
		if err := p.repoSection(sec.name, sec.sec, s.entries(sec.jobType), &appended); err != nil {
			return nil, err
		}
	}
	if err := p.periodics(per, s.entries(TypePeriodic), &appended); err != nil {
		return nil, err
	}
	if appended.Len() > 0 {
		text := appended.String()
		if len(d.src) > 0 && d.src[len(d.src)-1] != '\n' {
			text = "\n" + text
		}
		p.add(edit{start: len(d.src), end: len(d.src), text: text})
	}
	if err := p.checkAnchors(); err != nil {
		return nil, err
	}
	return p.edits, nil
}

func (p *planner) add(e edit) { p.edits = append(p.edits, e) }

// rootIndent is the column of the file's top-level keys (0 but for odd files).
func (p *planner) rootIndent() int {
	if p.d.root == nil {
		return 0
	}
	return p.d.root.Column - 1
}

// detectStyle reads the file's indentation from the sections' own shape,
// preferring other repositories' entries over ours (ours may be stale).
func (d *sourceDoc) detectStyle(s *Spec, secs ...*section) Style {
	st := DefaultStyle
	foundIndent, foundSeq := false, false
	for _, sec := range secs {
		if sec == nil || sec.value.Style&yaml.FlowStyle != 0 || len(sec.value.Content) == 0 {
			continue
		}
		v := sec.value
		switch v.Kind {
		case yaml.MappingNode:
			if !foundIndent && v.Column > sec.key.Column {
				st.Indent, foundIndent = v.Column-sec.key.Column, true
			}
			for pass := 0; pass < 2 && !foundSeq; pass++ {
				for i := 0; i+1 < len(v.Content); i += 2 {
					k, seq := v.Content[i], v.Content[i+1]
					if (pass == 0) == s.OwnsRepo(k.Value) || seq.Kind != yaml.SequenceNode || seq.Style&yaml.FlowStyle != 0 || len(seq.Content) == 0 {
						continue
					}
					st.SeqIndent, foundSeq = max(seq.Column-k.Column, 0), true
					break
				}
			}
		case yaml.SequenceNode:
			if !foundSeq {
				st.SeqIndent, foundSeq = max(v.Column-sec.key.Column, 0), true
			}
		}
	}
	return st
}

// repoSection edits presubmits or postsubmits: the spec's repository key and
// its list of jobs, added, replaced or removed as a whole.
func (p *planner) repoSection(name string, sec *section, entries *tree, appended *strings.Builder) error {
	d, st := p.d, p.style
	has := len(entries.items) > 0
	if sec == nil {
		if has {
			base := p.rootIndent()
			appended.WriteString(strings.Repeat(" ", base) + name + ":\n")
			appended.WriteString(strings.Repeat(" ", base+st.Indent) + quote(p.s.Repo) + ":\n")
			appended.WriteString(p.repoBlock(base+st.Indent, entries))
		}
		return nil
	}
	v := sec.value
	if isEmpty(v) {
		if has {
			keyCol := sec.key.Column - 1 + st.Indent
			return p.fillEmpty(sec.key, v, strings.Repeat(" ", keyCol)+quote(p.s.Repo)+":\n"+p.repoBlock(keyCol, entries))
		}
		return nil
	}
	if v.Kind != yaml.MappingNode || v.Style&yaml.FlowStyle != 0 {
		return &Error{Line: v.Line, Column: v.Column, Field: name, Msg: "expected a block mapping of org/repo to jobs; cannot edit it in place"}
	}
	var key, val *yaml.Node
	idx := -1
	for i := 0; i+1 < len(v.Content); i += 2 {
		if p.s.OwnsRepo(v.Content[i].Value) {
			if key != nil {
				return &Error{Line: v.Content[i].Line, Column: v.Content[i].Column, Field: name + "." + p.s.Repo, Msg: fmt.Sprintf("duplicate key (first at line %d)", key.Line)}
			}
			key, val, idx = v.Content[i], v.Content[i+1], i
		}
	}
	keyCol := v.Column - 1
	if key == nil {
		if !has {
			return nil
		}
		// Insert the repository after the last one that sorts before it, so an
		// alphabetical file stays alphabetical; at the end otherwise.
		after := -1
		for i := 0; i+1 < len(v.Content); i += 2 {
			if v.Content[i].Value < p.s.Repo {
				after = i
			} else {
				break
			}
		}
		block := strings.Repeat(" ", keyCol) + quote(p.s.Repo) + ":\n" + p.repoBlock(keyCol, entries)
		var at int
		if after < 0 {
			at = d.lineEnd(sec.key.Line)
		} else {
			limit := sec.limit
			if after+2 < len(v.Content) {
				limit = v.Content[after+2].Line
			}
			at = d.lineEnd(d.contentEnd(v.Content[after].Line, limit, keyCol))
		}
		p.insert(at, block)
		return nil
	}
	limit := sec.limit
	if idx+2 < len(v.Content) {
		limit = v.Content[idx+2].Line
	}
	p.owned = append(p.owned, val)
	if !has {
		// Remove the key line through the end of its value.
		end := d.contentEnd(key.Line, limit, keyCol)
		p.owned = append(p.owned, key)
		p.add(edit{start: d.lineStart[key.Line-1], end: d.lineEnd(end), text: ""})
		return nil
	}
	text := p.repoBlock(keyCol, entries)
	if isEmpty(val) || val.Line == key.Line {
		return p.fillEmpty(key, val, text)
	}
	end := d.contentEnd(key.Line, limit, keyCol)
	p.replaceLines(key.Line+1, end, text)
	return nil
}

// repoBlock renders a repository's job list under a key at column keyCol.
func (p *planner) repoBlock(keyCol int, entries *tree) string {
	var b strings.Builder
	p.style.renderSeq(&b, entries, keyCol+p.style.SeqIndent)
	return b.String()
}

// periodics replaces owned periodics where they are, removes the ones the spec
// no longer has, and adds new ones after the last owned one.
func (p *planner) periodics(sec *section, entries *tree, appended *strings.Builder) error {
	d, st := p.d, p.style
	want := map[string]*tree{}
	var order []string
	for _, e := range entries.items {
		name := unquote(e.values[0].scalar)
		want[name] = e
		order = append(order, name)
	}
	has := len(order) > 0
	if sec == nil {
		if has {
			var b strings.Builder
			base := p.rootIndent()
			b.WriteString(strings.Repeat(" ", base) + "periodics:\n")
			st.renderSeq(&b, entries, base+st.SeqIndent)
			appended.WriteString(b.String())
		}
		return nil
	}
	v := sec.value
	dashCol := sec.key.Column - 1 + st.SeqIndent
	if isEmpty(v) {
		if !has {
			return nil
		}
		var b strings.Builder
		st.renderSeq(&b, entries, dashCol)
		return p.fillEmpty(sec.key, v, b.String())
	}
	if v.Kind != yaml.SequenceNode || v.Style&yaml.FlowStyle != 0 {
		return &Error{Line: v.Line, Column: v.Column, Field: "periodics", Msg: "expected a block list of jobs; cannot edit it in place"}
	}
	dashCol = v.Column - 1
	done := map[string]bool{}
	lastOwnedEnd, lastEnd := -1, -1
	for i, item := range v.Content {
		start, err := d.dashLine(item)
		if err != nil {
			return err
		}
		limit := sec.limit
		if i+1 < len(v.Content) {
			if limit, err = d.dashLine(v.Content[i+1]); err != nil {
				return err
			}
		}
		end := d.contentEnd(start, limit, dashCol)
		lastEnd = end
		name, cloned := periodicIdentity(item)
		if !p.s.OwnsPeriodic(name, cloned) {
			continue
		}
		p.owned = append(p.owned, item)
		lastOwnedEnd = end
		e, ok := want[name]
		if !ok || done[name] {
			p.add(edit{start: d.lineStart[start-1], end: d.lineEnd(end), text: ""})
			continue
		}
		done[name] = true
		var b strings.Builder
		st.renderSeq(&b, &tree{isSeq: true, items: []*tree{e}}, dashCol)
		p.replaceLines(start, end, b.String())
	}
	var b strings.Builder
	for _, name := range order {
		if !done[name] {
			st.renderSeq(&b, &tree{isSeq: true, items: []*tree{want[name]}}, dashCol)
		}
	}
	if b.Len() > 0 {
		at := lastOwnedEnd
		if at < 0 {
			at = lastEnd
		}
		p.insert(d.lineEnd(at), b.String())
	}
	return nil
}

// periodicIdentity reads a periodic's name and the repositories it clones.
func periodicIdentity(item *yaml.Node) (string, []string) {
	for item.Kind == yaml.AliasNode {
		item = item.Alias
	}
	var name string
	var cloned []string
	if n := lookup(item, "name"); n != nil && n.Kind == yaml.ScalarNode {
		name = n.Value
	}
	if refs := lookup(item, "extra_refs"); refs != nil && refs.Kind == yaml.SequenceNode {
		for _, r := range refs.Content {
			org, repo := lookup(r, "org"), lookup(r, "repo")
			if org != nil && repo != nil {
				cloned = append(cloned, org.Value+"/"+repo.Value)
			}
		}
	}
	return name, cloned
}

// unquote reverses quote for the names we render ourselves.
func unquote(scalar string) string {
	var s string
	if err := yaml.Unmarshal([]byte(scalar), &s); err != nil {
		return scalar
	}
	return s
}

// replaceLines replaces whole lines from..to (inclusive) with text.
func (p *planner) replaceLines(from, to int, text string) {
	start, end := p.d.lineStart[from-1], p.d.lineEnd(to)
	if end == len(p.d.src) && (end == 0 || p.d.src[end-1] != '\n') {
		text = strings.TrimSuffix(text, "\n") // keep a missing final newline missing
	}
	p.add(edit{start: start, end: end, text: text})
}

// insert adds text (whole lines) at offset at, the start of a line or the end
// of the file.
func (p *planner) insert(at int, text string) {
	if at == len(p.d.src) && at > 0 && p.d.src[at-1] != '\n' {
		text = "\n" + text
	}
	p.add(edit{start: at, end: at, text: text})
}

// fillEmpty gives a key whose value is empty or on its own line (null, [],
// {}, an alias) a block value: the token goes, a trailing comment stays on
// the key line, and the block starts on the next line.
func (p *planner) fillEmpty(key, val *yaml.Node, block string) error {
	d := p.d
	if val.Line != key.Line && !(val.Tag == "!!null" && val.Value == "") {
		return &Error{Line: val.Line, Column: val.Column, Field: key.Value, Msg: "value does not start on its key's line; cannot edit it in place"}
	}
	if lastLine(val) != val.Line {
		return &Error{Line: val.Line, Column: val.Column, Field: key.Value, Msg: "multi-line flow value; write it as a block to edit it in place"}
	}
	if val.Tag != "!!null" || val.Value != "" {
		p.owned = append(p.owned, val)
		start := d.offset(val.Line, val.Column)
		lineEnd := d.lineStart[val.Line-1] + len(d.line(val.Line))
		end := tokenEnd(d.src[start:lineEnd]) + start
		// The spaces before the token go too; a comment after it keeps its own.
		for start > 0 && d.src[start-1] == ' ' {
			start--
		}
		if len(bytes.TrimSpace(d.src[end:lineEnd])) == 0 {
			end = lineEnd
		}
		p.add(edit{start: start, end: end, text: ""})
	}
	p.insert(d.lineEnd(key.Line), block)
	return nil
}

// tokenEnd is where a one-line value ends: before a " #" comment outside
// quotes, trailing spaces trimmed.
func tokenEnd(b []byte) int {
	var q byte
	end := len(b)
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case q != 0:
			if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '#' && i > 0 && (b[i-1] == ' ' || b[i-1] == '\t'):
			end = i
			i = len(b)
		}
	}
	for end > 0 && (b[end-1] == ' ' || b[end-1] == '\t') {
		end--
	}
	return end
}

// checkAnchors refuses to drop an anchor that the rest of the file uses.
func (p *planner) checkAnchors() error {
	inside := map[*yaml.Node]bool{}
	anchors := false
	var mark func(n *yaml.Node)
	mark = func(n *yaml.Node) {
		if inside[n] {
			return
		}
		inside[n] = true
		anchors = anchors || n.Anchor != ""
		for _, c := range n.Content {
			mark(c)
		}
	}
	for _, n := range p.owned {
		mark(n)
	}
	if p.d.partial && anchors {
		return errNeedFullParse // the skeleton does not know the aliases elsewhere
	}
	if p.d.root == nil {
		return nil
	}
	var bad *yaml.Node
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		if bad != nil || inside[n] {
			return
		}
		if n.Kind == yaml.AliasNode && n.Alias != nil && inside[n.Alias] {
			bad = n
			return
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(p.d.root)
	if bad != nil {
		return &Error{Line: bad.Line, Column: bad.Column, Msg: fmt.Sprintf("alias *%s refers to an anchor inside the %s entries that are regenerated; move the anchor out of them first", bad.Value, p.s.Repo)}
	}
	return nil
}

// apply splices the edits into the source.
func (d *sourceDoc) apply(edits []edit) []byte {
	sort.SliceStable(edits, func(i, j int) bool { return edits[i].start < edits[j].start })
	var b bytes.Buffer
	b.Grow(len(d.src) + 4096)
	pos := 0
	for _, e := range edits {
		b.Write(d.src[pos:e.start])
		text := e.text
		if d.crlf {
			text = strings.ReplaceAll(text, "\n", "\r\n")
		}
		b.WriteString(text)
		pos = e.end
	}
	b.Write(d.src[pos:])
	return b.Bytes()
}
