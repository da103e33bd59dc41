package lint

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/jobconfig"
	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// file is one job config file: what Prow's own decoder made of it and,
// while it is checked, its bytes and YAML node tree.
//
// A node tree is several times the size of the file, and on a clean config
// no finding needs a position below a job's first line: bytes and tree are
// dropped once the file is checked, and a file some later finding needs a
// position in is read and parsed again. Parsing is deterministic, so the
// rebuilt tree has the same positions; a checksum catches a file changed
// in between.
type file struct {
	path  string
	types *typeCache
	data  []byte // nil after parseFiles
	sum   uint32 // CRC-32 of data

	// treeMu guards root and nodes once the file is parsed: the checks of
	// several repos, run in parallel, may rebuild one file's tree.
	treeMu sync.Mutex
	// root is the document's top mapping; nil when the file is empty or not
	// YAML, and between parseFiles and the first call of tree.
	root *yaml.Node
	// mapping says the file is a mapping (root is or was non-nil).
	mapping bool
	// nodes are the jobs' mappings in root, in the order of jobs.
	nodes []*yaml.Node

	jc       config.JobConfig
	decoded  bool // Prow's decoder accepted the file
	jobs     []*job
	findings []Finding
}

// job is one job's entry in a file.
type job struct {
	kind string // presubmit, postsubmit or periodic
	repo string // "org/repo" for presubmits and postsubmits
	name string
	file *file
	// line and column are where the job's mapping starts.
	line, column int
	// seq is the job's position in file.jobs; index its position in its
	// list (repo list or periodics).
	seq   int
	index int
	owned bool
}

// node returns the job's mapping, rebuilding the file's tree if need be.
func (j *job) node() *yaml.Node {
	f := j.file
	f.treeMu.Lock()
	defer f.treeMu.Unlock()
	f.treeLocked()
	return f.nodes[j.seq]
}

// tree returns the file's top mapping (nil when it has none), reading and
// parsing the file again when the tree was dropped. Should the file have
// changed since it was checked, the tree holds only the jobs' mappings, at
// their first lines. The tree, once built, is only read.
func (f *file) tree() *yaml.Node {
	f.treeMu.Lock()
	defer f.treeMu.Unlock()
	return f.treeLocked()
}

func (f *file) treeLocked() *yaml.Node {
	if f.root != nil || !f.mapping {
		return f.root
	}
	if root := f.reparse(); root != nil {
		f.root = root
		f.nodes = f.nodes[:0]
		for _, e := range jobEntries(root) {
			f.nodes = append(f.nodes, e.node)
		}
		return root
	}
	f.root = &yaml.Node{Kind: yaml.MappingNode, Line: 1, Column: 1}
	f.nodes = f.nodes[:0]
	for _, j := range f.jobs {
		f.nodes = append(f.nodes, &yaml.Node{Kind: yaml.MappingNode, Line: j.line, Column: j.column})
	}
	return f.root
}

// reparse reads and parses the file again; nil when it is not what was
// checked.
func (f *file) reparse() *yaml.Node {
	data := f.data
	if data == nil {
		var err error
		if data, err = jobconfig.ReadFile(f.path); err != nil || crc32.ChecksumIEEE(data) != f.sum {
			return nil
		}
	}
	doc, err := yamlpos.ParseFirst(f.path, data)
	if err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	if len(jobEntries(doc.Content[0])) != len(f.jobs) {
		return nil
	}
	return doc.Content[0]
}

// release drops the bytes and node tree; tree rebuilds the tree on demand.
func (f *file) release() {
	f.data, f.root, f.nodes = nil, nil, nil
}

const (
	kindPresubmit  = "presubmit"
	kindPostsubmit = "postsubmit"
	kindPeriodic   = "periodic"
)

func (f *file) add(n *yaml.Node, sev Severity, rule, format string, args ...any) {
	line, col := 1, 1
	if n != nil {
		line, col = n.Line, n.Column
	}
	f.findings = append(f.findings, Finding{File: f.path, Line: line, Column: col, Severity: sev, Rule: rule, Message: fmt.Sprintf(format, args...)})
}

// parse fills f.root (in arena: release drops it before the next parse)
// and reports what keeps the file from being job config:
// syntax errors, tabs, duplicate keys, unknown top-level keys and fields.
// It then decodes the file with Prow's own decoder.
func (f *file) parse(owner Owner, arena *yamlpos.Arena) {
	f.sum = crc32.ChecksumIEEE(f.data)
	doc, err := yamlpos.ParseFirstIn(f.path, f.data, arena)
	if err != nil {
		f.syntaxError(err)
		return
	}
	if len(doc.Content) == 0 || (doc.Content[0].Kind == yaml.ScalarNode && doc.Content[0].Tag == "!!null") {
		f.add(nil, SeverityError, RuleEmptyFile, "file holds no job config (empty or only comments); delete it or add jobs")
		f.decoded = true
		return
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		f.add(root, SeverityError, RuleYAMLType, "job config must be a mapping with presubmits, postsubmits, periodics or presets; found %s", describe(root))
		return
	}
	f.root, f.mapping = root, true
	if line, ok := secondDocument(f.data); ok {
		f.findings = append(f.findings, Finding{File: f.path, Line: line, Column: 1, Severity: SeverityError, Rule: RuleMultiDocument,
			Message: "a second YAML document starts here; Prow reads only the first, so everything below is ignored: move it to a file of its own"})
	}
	w := walker{f: f, owner: owner}
	w.top(root)
	f.indexJobs(owner)
	f.decode(doc)
}

// syntaxError records why the file is not YAML (or exceeds a budget) at
// the position yamlpos found.
func (f *file) syntaxError(err error) {
	var pe *yamlpos.Error
	if errors.As(err, &pe) {
		msg := strings.TrimPrefix(pe.Msg, "invalid YAML: ") // the rule says so
		f.findings = append(f.findings, Finding{File: f.path, Line: pe.Line, Column: pe.Column, Severity: SeverityError, Rule: RuleYAMLSyntax, Message: msg})
		return
	}
	f.findings = append(f.findings, Finding{File: f.path, Line: 1, Column: 1, Severity: SeverityError, Rule: RuleYAMLSyntax, Message: err.Error()})
}

// secondDocument finds a "---" line after the first document's content.
// Prow's decoder reads one document and drops the rest without a word. A
// marker at column 0 cannot be inside a scalar of a job config (block
// scalars are indented; YAML forbids it in flow scalars).
func secondDocument(data []byte) (line int, ok bool) {
	if !bytes.Contains(data, []byte("\n---")) {
		return 0, false
	}
	content, marker := false, 0
	for i, l := range bytes.Split(data, []byte("\n")) {
		l = bytes.TrimRight(l, "\r")
		if bytes.HasPrefix(l, []byte("---")) && (len(l) == 3 || l[3] == ' ' || l[3] == '\t') {
			if content && marker == 0 {
				marker = i + 1
			}
			continue
		}
		if t := bytes.TrimSpace(l); len(t) > 0 && t[0] != '#' {
			if marker > 0 {
				// Something Prow drops follows the marker.
				return marker, true
			}
			content = true
		}
	}
	return 0, false
}

// decode gives f.jc what Prow's decoder (sigs.k8s.io/yaml) makes of the
// file, from the node tree already parsed (see convert.go). When decoding
// fails, Prow's decoder runs on the bytes for Prow's exact message, which is
// then placed on the node it is about.
func (f *file) decode(doc *yaml.Node) {
	err := decodeLikeProw(f.types, f.data, doc, &f.jc)
	if err == nil {
		f.decoded = true
		return
	}
	for _, p := range locateDecodeError(f.types, f.root, err) {
		f.add(p.node, SeverityError, RuleProwLoad, "%s", p.msg)
	}
}

// describe names a node as Prow's decoder types it (YAML 1.1: yes/no are
// bools there).
func describe(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return yamlpos.Describe(n)
	}
	return yamlpos.DescribeScalar(v2Type(n), n.Value)
}

// indexJobs records every job entry of the file, and which the owner owns.
func (f *file) indexJobs(owner Owner) {
	for _, e := range jobEntries(f.root) {
		name := ""
		if v := valueOf(e.node, "name"); v != nil {
			name = v.Value
		}
		j := &job{kind: e.kind, repo: e.repo, name: name, file: f, line: e.node.Line, column: e.node.Column, seq: len(f.jobs), index: e.index}
		if owner != nil {
			if j.kind == kindPeriodic {
				j.owned = ownsPeriodicNode(owner, e.node)
			} else {
				j.owned = owner.OwnsRepo(j.repo)
			}
		}
		f.jobs = append(f.jobs, j)
		f.nodes = append(f.nodes, e.node)
	}
}

// jobEntry is a job's mapping in a file's tree.
type jobEntry struct {
	kind, repo string
	index      int
	node       *yaml.Node
}

// jobEntries lists the job mappings under root in file order; a rebuilt
// tree gives the same list.
func jobEntries(root *yaml.Node) []jobEntry {
	var out []jobEntry
	list := func(kind, repo string, l *yaml.Node) {
		if l.Kind != yaml.SequenceNode {
			return
		}
		for i, n := range l.Content {
			if n.Kind == yaml.MappingNode {
				out = append(out, jobEntry{kind, repo, i, n})
			}
		}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "presubmits", "postsubmits":
			if v.Kind != yaml.MappingNode {
				continue
			}
			kind := strings.TrimSuffix(k.Value, "s")
			for j := 0; j+1 < len(v.Content); j += 2 {
				list(kind, v.Content[j].Value, v.Content[j+1])
			}
		case "periodics":
			list(kindPeriodic, "", v)
		}
	}
	return out
}

// valueOf returns the value node of key in mapping n.
func valueOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// keyOf returns the key node of key in mapping n.
func keyOf(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i]
		}
	}
	return nil
}

// v2Type names the JSON type Prow's decoder (YAML 1.1 via yaml.v2, then
// JSON) gives a plain scalar: yes/no/on/off are bools there.
func v2Type(n *yaml.Node) string {
	if n.Kind != yaml.ScalarNode {
		return ""
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return "string"
	}
	switch n.Tag {
	case "!!str":
		if n.Style&yaml.TaggedStyle != 0 {
			return "string"
		}
		// yaml.v3 reads YAML 1.2: what it left a string may be a
		// YAML 1.1 bool (yes, off) to Prow's decoder.
		if v, ok := v2Word(n.Value); ok && v != nil {
			return "bool"
		}
		return "string"
	case "!!bool":
		return "bool"
	case "!!int", "!!float":
		return "number"
	case "!!null":
		return "null"
	}
	return "string"
}
