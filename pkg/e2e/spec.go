package e2e

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// Pipeline is a parsed, validated pipeline spec.
type Pipeline struct {
	// File the spec was read from, for messages.
	File string
	// Env is set for every step.
	Env []EnvVar
	// Steps in spec order.
	Steps []*StepSpec
}

// EnvVar is one `env:` entry.
type EnvVar struct{ Name, Value string }

// StepSpec is one step of the spec.
type StepSpec struct {
	Name    string
	Uses    string     // kind, "" for a run: step
	With    *yaml.Node // the kind's settings
	Run     string     // shell command of a run: step
	Dir     string     // working directory of a run: step, relative to the run's Dir
	Needs   []string
	Timeout time.Duration // 0: none
	Retries int
	Env     []EnvVar
	Always  bool // a finalizer: runs last, whatever happened before

	Line, Column int
	needsAt      []*yaml.Node // position of each needs entry
	usesAt       *yaml.Node   // and of uses:, run:, dir: when given
	runAt, dirAt *yaml.Node
	// Step is what runs; built from Uses/With or Run when the spec is loaded.
	Step Step
}

// Kind returns what the step runs: its kind, or "run".
func (s *StepSpec) Kind() string {
	if s.Uses != "" {
		return s.Uses
	}
	return "run"
}

// ValidationError lists every problem found in a spec, one per line, each
// as file:line:col: field: message.
type ValidationError struct {
	File string
	Errs []*PositionError
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Errs))
	for i, pe := range e.Errs {
		lines[i] = e.File + ":" + pe.Error()
	}
	return strings.Join(lines, "\n")
}

// LoadPipeline reads and validates the spec at path; kinds are the step
// kinds it may use (steps.Builtin() for prowctl's own).
func LoadPipeline(path string, kinds Kinds) (*Pipeline, error) {
	b, err := yamlpos.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load pipeline: %w", err)
	}
	return ParsePipeline(path, b, kinds)
}

// ParsePipeline parses and validates a spec; file names it in errors. Every
// `uses:` kind, and "run" for `run:` steps, must be in kinds: settings are
// decoded here, so a bad spec fails before anything runs.
func ParsePipeline(file string, data []byte, kinds Kinds) (*Pipeline, error) {
	v := &ValidationError{File: file}
	p := &Pipeline{File: file}
	// Syntax errors and a second document come back as file:line:col.
	root, err := yamlpos.Parse(file, data)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, fmt.Errorf("%s: empty pipeline: want a mapping with steps:", file)
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s:%d:%d: want a mapping with steps:, got %s", file, root.Line, root.Column, yamlpos.Describe(root))
	}
	var stepsNode *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, val := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "steps":
			stepsNode = val
		case "env":
			p.Env = parseEnv(v, val, "env")
		default:
			v.add(k, k.Value, "%s", unknownField(k.Value, []string{"env", "steps"}))
		}
	}
	if stepsNode == nil || stepsNode.Kind != yaml.SequenceNode || len(stepsNode.Content) == 0 {
		at := root
		if stepsNode != nil {
			at = stepsNode
		}
		v.add(at, "steps", "want a non-empty list of steps")
		return nil, v
	}
	for i, n := range stepsNode.Content {
		if s := parseStep(v, n, fmt.Sprintf("steps[%d]", i), kinds); s != nil {
			p.Steps = append(p.Steps, s)
		}
	}
	checkGraph(v, p)
	if len(v.Errs) > 0 {
		return nil, v
	}
	return p, nil
}

func (v *ValidationError) add(n *yaml.Node, field, format string, args ...any) {
	v.Errs = append(v.Errs, &PositionError{Line: n.Line, Column: n.Column, Field: field, Msg: fmt.Sprintf(format, args...)})
}

var stepFields = []string{"always", "dir", "env", "name", "needs", "retries", "run", "timeout", "uses", "with"}

func parseStep(v *ValidationError, n *yaml.Node, path string, kinds Kinds) *StepSpec {
	if n.Kind != yaml.MappingNode {
		v.add(n, path, "want a mapping (name:, uses: or run:, ...), got %s", yamlpos.Describe(n))
		return nil
	}
	s := &StepSpec{Line: n.Line, Column: n.Column}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		field := path + "." + k.Value
		switch k.Value {
		case "name":
			s.Name = scalar(v, val, field)
			if s.Name != "" {
				path = fmt.Sprintf("steps[%s]", s.Name)
			}
		case "uses":
			s.usesAt = val
			s.Uses = scalar(v, val, field)
		case "with":
			s.With = val
		case "run":
			s.runAt = val
			s.Run = scalar(v, val, field)
		case "dir":
			s.dirAt = val
			s.Dir = scalar(v, val, field)
		case "needs":
			s.Needs = stringList(v, val, field)
			if val.Kind == yaml.SequenceNode {
				s.needsAt = val.Content
			} else {
				s.needsAt = []*yaml.Node{val}
			}
		case "timeout":
			if str := scalar(v, val, field); str != "" {
				d, err := time.ParseDuration(str)
				if err != nil || d <= 0 {
					v.add(val, field, "bad duration %q (want e.g. 90s, 5m, 1h30m)", str)
				}
				s.Timeout = d
			}
		case "retries":
			if str := scalar(v, val, field); str != "" {
				r, err := strconv.Atoi(str)
				if err != nil || r < 0 {
					v.add(val, field, "want a number >= 0, got %q", str)
				}
				s.Retries = r
			}
		case "env":
			s.Env = parseEnv(v, val, field)
		case "always":
			if str := scalar(v, val, field); str != "" {
				b, err := strconv.ParseBool(str)
				if err != nil {
					v.add(val, field, "want true or false, got %q", str)
				}
				s.Always = b
			}
		default:
			v.add(k, field, "%s", unknownField(k.Value, stepFields))
		}
	}
	switch {
	case s.Name == "":
		v.add(n, path+".name", "missing: every step needs a name")
	case !validName(s.Name):
		v.add(n, path+".name", "%q: use letters, digits, '-', '_' or '.'", s.Name)
	}
	switch {
	case s.Uses != "" && s.Run != "":
		v.add(s.runAt, path, "has both uses: and run:; pick one")
	case s.Uses == "" && s.Run == "":
		v.add(n, path, "needs uses: (a step kind) or run: (a command)")
	case s.Run != "" && s.With != nil:
		v.add(s.With, path+".with", "with: applies to uses: steps only")
	default:
		s.Step = newStep(v, s, path, kinds)
	}
	return s
}

// newStep builds the step of s from the kinds table: its uses: kind with its
// with: settings, or the run kind with the run: shorthand's command and dir.
func newStep(v *ValidationError, s *StepSpec, path string, kinds Kinds) Step {
	name, at, field, settings := s.Uses, s.usesAt, path+".uses", s.With
	if s.Uses == "" {
		name, at, field, settings = RunKindName, s.runAt, path+".run", runSettings(s.runAt, s.dirAt)
	}
	kind, ok := kinds[name]
	if !ok {
		known := "none"
		if len(kinds) > 0 {
			known = strings.Join(kinds.Names(), ", ")
		}
		v.add(at, field, "unknown step kind %q (known: %s)", name, known)
		return nil
	}
	st, err := kind.New(settings)
	if err == nil {
		return st
	}
	var pe *PositionError
	if errors.As(err, &pe) {
		switch {
		case s.Uses == "":
			// The shorthand's settings are the step's own run: and dir:.
			if strings.HasPrefix(pe.Field, "with.dir") {
				pe.Field = path + ".dir"
			} else {
				pe.Field = path + ".run"
			}
		case pe.Field == "" || pe.Field == "with" || strings.HasPrefix(pe.Field, "with.") || strings.HasPrefix(pe.Field, "with["):
			pe.Field = strings.TrimSuffix(path+"."+pe.Field, ".")
		}
		v.Errs = append(v.Errs, pe)
		return nil
	}
	at = &yaml.Node{Line: s.Line, Column: s.Column}
	if settings != nil {
		at = settings
	}
	v.add(at, path+".with", "%v", err)
	return nil
}

func validName(s string) bool {
	for _, r := range s {
		if !(r == '-' || r == '_' || r == '.' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return s != ""
}

func scalar(v *ValidationError, n *yaml.Node, field string) string {
	if n.Kind != yaml.ScalarNode {
		v.add(n, field, "want a single value, got %s", yamlpos.Describe(n))
		return ""
	}
	return n.Value
}

func stringList(v *ValidationError, n *yaml.Node, field string) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		v.add(n, field, "want a list of step names, got %s", yamlpos.Describe(n))
		return nil
	}
	var out []string
	for i, item := range n.Content {
		if s := scalar(v, item, fmt.Sprintf("%s[%d]", field, i)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func parseEnv(v *ValidationError, n *yaml.Node, field string) []EnvVar {
	if n.Kind != yaml.MappingNode {
		v.add(n, field, "want a mapping of NAME: value, got %s", yamlpos.Describe(n))
		return nil
	}
	var out []EnvVar
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Value == "" || strings.ContainsAny(k.Value, "= \t") {
			v.add(k, field, "bad variable name %q", k.Value)
			continue
		}
		out = append(out, EnvVar{Name: k.Value, Value: scalar(v, val, field+"."+k.Value)})
	}
	return out
}

// checkGraph reports duplicate names, unknown needs, regular steps needing
// finalizers, and cycles (naming the steps around them).
func checkGraph(v *ValidationError, p *Pipeline) {
	byName := map[string]*StepSpec{}
	for _, s := range p.Steps {
		if s.Name == "" {
			continue
		}
		if first, dup := byName[s.Name]; dup {
			v.add(&yaml.Node{Line: s.Line, Column: s.Column}, "steps["+s.Name+"].name",
				"duplicate step name %q (first at line %d)", s.Name, first.Line)
			continue
		}
		byName[s.Name] = s
	}
	for _, s := range p.Steps {
		seen := map[string]bool{}
		for i, need := range s.Needs {
			at := s.needAt(i)
			field := fmt.Sprintf("steps[%s].needs[%d]", s.Name, i)
			dep, ok := byName[need]
			switch {
			case !ok:
				v.add(at, field, "unknown step %q (known: %s)", need, strings.Join(slices.Sorted(maps.Keys(byName)), ", "))
			case need == s.Name:
				v.add(at, field, "a step cannot need itself")
			case seen[need]:
				v.add(at, field, "%q listed twice", need)
			case dep.Always && !s.Always:
				v.add(at, field, "%q is a finalizer (always: true) and runs last; only another finalizer can need it", need)
			}
			seen[need] = true
		}
	}
	// Depth-first search; a grey node reached again closes a cycle.
	const (
		white = iota
		grey
		black
	)
	colour := map[string]int{}
	var stack []string
	reported := false
	var visit func(s *StepSpec)
	visit = func(s *StepSpec) {
		colour[s.Name] = grey
		stack = append(stack, s.Name)
		for j, need := range s.Needs {
			dep, ok := byName[need]
			if !ok || need == s.Name || reported {
				continue
			}
			switch colour[need] {
			case grey:
				i := len(stack) - 1
				for stack[i] != need {
					i--
				}
				cycle := append(append([]string(nil), stack[i:]...), need)
				v.add(s.needAt(j), fmt.Sprintf("steps[%s].needs[%d]", s.Name, j),
					"cycle: %s", strings.Join(cycle, " -> "))
				reported = true
			case white:
				visit(dep)
			}
		}
		stack = stack[:len(stack)-1]
		colour[s.Name] = black
	}
	for _, s := range p.Steps {
		if byName[s.Name] == s && colour[s.Name] == white && !reported {
			visit(s)
		}
	}
}

// needAt returns where the i-th needs entry is written.
func (s *StepSpec) needAt(i int) *yaml.Node {
	if i < len(s.needsAt) {
		return s.needsAt[i]
	}
	return &yaml.Node{Line: s.Line, Column: s.Column}
}

// Lookup returns the step called name.
func (p *Pipeline) Lookup(name string) *StepSpec {
	for _, s := range p.Steps {
		if s.Name == name {
			return s
		}
	}
	return nil
}
