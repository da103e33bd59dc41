package lint

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/prow/pkg/config"
	syaml "sigs.k8s.io/yaml"
)

var (
	presetType     = reflect.TypeFor[config.Preset]()
	presubmitType  = reflect.TypeFor[config.Presubmit]()
	postsubmitType = reflect.TypeFor[config.Postsubmit]()
	periodicType   = reflect.TypeFor[config.Periodic]()
	jobConfigType  = reflect.TypeFor[config.JobConfig]()
)

// Owner says which jobs a spec owns; *jobs.Spec implements it.
type Owner interface {
	OwnsRepo(orgRepo string) bool
	OwnsPeriodic(name string, clonedRepos []string) bool
}

// walker checks a file's node tree against the Go types Prow decodes it
// into: duplicate keys everywhere, unknown keys with a suggestion.
type walker struct {
	f     *file
	owner Owner
	job   string // the job being walked, for findings
}

func (w *walker) add(n *yaml.Node, sev Severity, rule, format string, args ...any) {
	w.f.add(n, sev, rule, format, args...)
	w.f.findings[len(w.f.findings)-1].Job = w.job
}

func (w *walker) top(root *yaml.Node) {
	top := w.f.types.shapeOf(jobConfigType)
	w.dupKeys(root)
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "presets":
			w.list(v, presetType, SeverityWarning)
		case "presubmits", "postsubmits":
			t := presubmitType
			if k.Value == "postsubmits" {
				t = postsubmitType
			}
			if v.Kind != yaml.MappingNode {
				continue
			}
			w.dupKeys(v)
			for j := 0; j+1 < len(v.Content); j += 2 {
				sev := SeverityWarning
				if w.owner != nil && w.owner.OwnsRepo(v.Content[j].Value) {
					sev = SeverityError
				}
				w.list(v.Content[j+1], t, sev)
			}
		case "periodics":
			if v.Kind != yaml.SequenceNode {
				continue
			}
			for _, p := range v.Content {
				sev := SeverityWarning
				if w.owner != nil && ownsPeriodicNode(w.owner, p) {
					sev = SeverityError
				}
				w.job = ""
				if v := valueOf(p, "name"); v != nil {
					w.job = v.Value
				}
				w.walk(p, periodicType, sev)
				w.job = ""
			}
		default:
			if k.Value == "<<" {
				continue
			}
			if ft, _, exact, ok := top.field(k.Value); ok && exact {
				w.walk(v, ft, SeverityError)
				continue
			}
			msg := "unknown top-level key %q: a job config file holds presubmits, postsubmits, periodics and presets"
			if s := closestName(k.Value, []string{"presubmits", "postsubmits", "periodics", "presets"}); s != "" {
				msg += "; did you mean " + s + "?"
			}
			w.f.add(k, SeverityError, RuleUnknownJobType, msg, k.Value)
		}
	}
}

func ownsPeriodicNode(o Owner, n *yaml.Node) bool {
	name := ""
	if v := valueOf(n, "name"); v != nil {
		name = v.Value
	}
	var repos []string
	if refs := valueOf(n, "extra_refs"); refs != nil && refs.Kind == yaml.SequenceNode {
		for _, r := range refs.Content {
			org, repo := valueOf(r, "org"), valueOf(r, "repo")
			if org != nil && repo != nil {
				repos = append(repos, org.Value+"/"+repo.Value)
			}
		}
	}
	return o.OwnsPeriodic(name, repos)
}

func (w *walker) list(n *yaml.Node, t reflect.Type, sev Severity) {
	if n.Kind != yaml.SequenceNode {
		return
	}
	for _, e := range n.Content {
		w.job = ""
		if t != presetType {
			if v := valueOf(e, "name"); v != nil {
				w.job = v.Value
			}
		}
		w.walk(e, t, sev)
	}
	w.job = ""
}

// walk checks n against t; sev is the severity of an unknown field here.
func (w *walker) walk(n *yaml.Node, t reflect.Type, sev Severity) {
	s := w.f.types.shapeOf(t)
	switch s.kind {
	case shapeStruct:
		if n.Kind != yaml.MappingNode {
			return // a type error; Prow's decoder reports it
		}
		w.dupKeys(n)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" {
				continue
			}
			ft, canonical, exact, ok := s.field(k.Value)
			switch {
			case !ok:
				msg := "unknown field %q"
				if sug := closestName(k.Value, s.names); sug != "" {
					msg += "; did you mean " + sug + "?"
				}
				w.add(k, sev, RuleUnknownField, msg, k.Value)
			case !exact:
				w.add(k, sev, RuleUnknownField, "unknown field %q; did you mean %s? (Prow matches it case-insensitively today, other tools do not)", k.Value, canonical)
				w.walk(v, ft, sev)
			default:
				w.walk(v, ft, sev)
			}
		}
	case shapeMap:
		if n.Kind != yaml.MappingNode {
			return
		}
		w.dupKeys(n)
		es := w.f.types.shapeOf(s.elem)
		if es.kind == shapeLeaf {
			return
		}
		for i := 1; i < len(n.Content); i += 2 {
			w.walk(n.Content[i], s.elem, sev)
		}
	case shapeSlice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		if w.f.types.shapeOf(s.elem).kind == shapeLeaf {
			return
		}
		for _, e := range n.Content {
			w.walk(e, s.elem, sev)
		}
	}
}

// dupKeys reports keys defined twice in one mapping: Prow's decoder keeps
// the last silently, which hides edits.
func (w *walker) dupKeys(n *yaml.Node) {
	c := n.Content
	if len(c) <= 16 {
		for i := 2; i+1 < len(c); i += 2 {
			for j := 0; j < i; j += 2 {
				if c[i].Value == c[j].Value && c[i].Kind == yaml.ScalarNode && c[i].Value != "<<" {
					w.add(c[i], SeverityError, RuleDuplicateKey, "key %q is already defined at line %d; Prow keeps only the last", c[i].Value, c[j].Line)
					break
				}
			}
		}
		return
	}
	seen := make(map[string]int, len(c)/2)
	for i := 0; i+1 < len(c); i += 2 {
		if c[i].Kind != yaml.ScalarNode || c[i].Value == "<<" {
			continue
		}
		if line, ok := seen[c[i].Value]; ok {
			w.add(c[i], SeverityError, RuleDuplicateKey, "key %q is already defined at line %d; Prow keeps only the last", c[i].Value, line)
			continue
		}
		seen[c[i].Value] = c[i].Line
	}
}

// decodeProblem is one place Prow's decoder rejects.
type decodeProblem struct {
	node *yaml.Node
	msg  string
}

// locateDecodeError finds the nodes Prow's decoder error is about. A type
// error names the JSON field path (without map keys or list indexes) and the
// JSON type it found: every value under that field with that type, in the
// job sections the path covers, is rejected the same way (Prow reports only
// the first; fixing one at a time would take as many runs). Other errors (a
// bad quantity, duration) are found by decoding ever smaller subtrees.
func locateDecodeError(tc *typeCache, root *yaml.Node, err error) []decodeProblem {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "error unmarshaling JSON: while decoding JSON: ")
	msg = strings.TrimPrefix(msg, "error converting YAML to JSON: ")
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && root != nil {
		// The path holds JSON names and the Go names of embedded structs
		// (JobBase, ProwConfig); only the JSON names are keys in the file.
		var path []string
		for _, seg := range strings.Split(te.Field, ".") {
			if seg != "" && (seg[0] < 'A' || seg[0] > 'Z') {
				path = append(path, seg)
			}
		}
		if len(path) == 0 {
			path = []string{te.Field}
		}
		field := path[len(path)-1]
		want := te.Value
		if strings.HasPrefix(want, "number") {
			want = "number"
		}
		sections := []string{path[0]}
		if strings.Contains(te.Field, ".JobBase.") {
			// Presubmits, postsubmits and periodics embed JobBase alike.
			sections = []string{"presubmits", "postsubmits", "periodics"}
		}
		var out []decodeProblem
		for _, sec := range sections {
			top := valueOf(root, sec)
			switch {
			case len(path) == 1:
				top = root
			case top == nil && len(sections) > 1:
				continue
			case top == nil:
				top = root
			}
			// Prow's message names the section of the first value it met;
			// quoting it at a value in another section would point the
			// reader at the wrong job.
			quote := ""
			if sec == path[0] {
				quote = " (Prow: " + msg + ")"
			}
			for _, n := range findTyped(top, field, want, len(path) == 1) {
				out = append(out, decodeProblem{n, fmt.Sprintf("%s: %s, but Prow decodes %s here%s%s", field, describe(n), te.Type, typeHint(te), quote)})
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	if root != nil {
		if n := bisect(tc, root, jobConfigType); n != nil {
			return []decodeProblem{{n, msg}}
		}
	}
	return []decodeProblem{{root, msg}}
}

func typeHint(te *json.UnmarshalTypeError) string {
	if te.Type != nil && te.Type.Kind() == reflect.String && (te.Value == "bool" || strings.HasPrefix(te.Value, "number")) {
		return "; quote the value to make it a string"
	}
	return ""
}

// findTyped returns the value nodes under n, below a key named field, whose
// JSON type is want. atTop matches field only as a key of n itself.
func findTyped(n *yaml.Node, field, want string, atTop bool) []*yaml.Node {
	var found []*yaml.Node
	var visit func(n *yaml.Node, key string, depth int)
	visit = func(n *yaml.Node, key string, depth int) {
		if n == nil {
			return
		}
		switch n.Kind {
		case yaml.MappingNode:
			if key == field && want == "object" {
				found = append(found, n)
				return
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if key == field { // a map field: its values carry the field's name
					k = field
				}
				if atTop && depth > 0 && key != field {
					continue
				}
				visit(n.Content[i+1], k, depth+1)
			}
		case yaml.SequenceNode:
			if key == field && want == "array" {
				found = append(found, n)
				return
			}
			for _, e := range n.Content {
				visit(e, key, depth+1)
			}
		case yaml.ScalarNode:
			if key == field && v2Type(n) == want {
				found = append(found, n)
			}
		}
	}
	visit(n, "", 0)
	return found
}

// bisect returns the deepest node under n whose own decoding as t fails.
func bisect(tc *typeCache, n *yaml.Node, t reflect.Type) *yaml.Node {
	s := tc.shapeOf(t)
	var kids []*yaml.Node
	var types []reflect.Type
	switch {
	case s.kind == shapeStruct && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if ft, _, _, ok := s.field(n.Content[i].Value); ok {
				kids = append(kids, n.Content[i+1])
				types = append(types, ft)
			}
		}
	case s.kind == shapeMap && n.Kind == yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			kids = append(kids, n.Content[i])
			types = append(types, s.elem)
		}
	case s.kind == shapeSlice && n.Kind == yaml.SequenceNode:
		for _, e := range n.Content {
			kids = append(kids, e)
			types = append(types, s.elem)
		}
	}
	for i, k := range kids {
		b, err := yaml.Marshal(k)
		if err != nil {
			continue
		}
		v := reflect.New(types[i])
		if syaml.Unmarshal(b, v.Interface()) != nil {
			if d := bisect(tc, k, types[i]); d != nil {
				return d
			}
			return k
		}
	}
	return nil
}
