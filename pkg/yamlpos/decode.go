package yamlpos

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/suggest"
)

// Describe names a node for messages: "a mapping", "a list", "an alias",
// or a scalar by type and value (`string "x"`, "number 5", "bool true",
// "null"), long strings cut at 40 characters.
func Describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	case yaml.DocumentNode:
		return "a document"
	}
	switch n.Tag {
	case "!!bool":
		return DescribeScalar("bool", n.Value)
	case "!!int", "!!float":
		return DescribeScalar("number", n.Value)
	case "!!null":
		return DescribeScalar("null", n.Value)
	}
	return DescribeScalar("string", n.Value)
}

// DescribeScalar is Describe for a scalar whose type the caller decided
// (the lint types scalars as Prow's YAML 1.1 decoder does).
func DescribeScalar(typ, value string) string {
	switch typ {
	case "null":
		return "null"
	case "bool", "number":
		return typ + " " + value
	}
	if r := []rune(value); len(r) > 40 {
		value = string(r[:40]) + "..."
	}
	return fmt.Sprintf("string %q", value)
}

// Suggest returns the candidate closest to name by edit distance (ignoring
// case) when it is close enough to be a likely typo, else "".
func Suggest(name string, candidates []string) string {
	best, bestD := "", len(name)/3+2
	for _, c := range candidates {
		if d := suggest.Distance(strings.ToLower(name), strings.ToLower(c)); d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	return best
}

// UnknownField is the message for a key that names no field:
// `unknown field "x"; did you mean "y"?`.
func UnknownField(key string, known []string) string {
	msg := fmt.Sprintf("unknown field %q", key)
	if s := Suggest(key, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return msg
}

// Decode decodes n into v (a pointer) by the yaml tags of v's structs,
// strictly: unknown fields (with a suggestion), duplicate keys, merge keys
// and mistyped scalars are an *Error at the offending node. It handles
// structs, maps with string keys, slices, strings and bools: the shapes of
// a hand-written spec. An empty value leaves the zero value.
func Decode(file string, n *yaml.Node, v any) error {
	d := decoder{file: file}
	return d.decode(n, reflect.ValueOf(v).Elem(), "")
}

type decoder struct{ file string }

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) *Error {
	return At(d.file, n, field, format, args...)
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, field string) error {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		return d.decode(n, v.Elem(), field)
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return d.errorf(n, field, "expected a mapping, got %s", Describe(n))
		}
		fields, names := structFields(v.Type())
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.Tag == "!!merge" {
				return d.errorf(k, field, "merge keys (<<) are not supported here")
			}
			name := join(field, k.Value)
			if prev, dup := seen[k.Value]; dup {
				return d.errorf(k, name, "duplicate key (first at line %d)", prev.Line)
			}
			seen[k.Value] = k
			idx, ok := fields[k.Value]
			if !ok {
				return d.errorf(k, field, "%s", UnknownField(k.Value, names))
			}
			if err := d.decode(val, v.Field(idx), name); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return d.errorf(n, field, "expected a mapping, got %s", Describe(n))
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode {
				return d.errorf(k, field, "expected a string key, got %s", Describe(k))
			}
			name := join(field, k.Value)
			if prev, dup := seen[k.Value]; dup {
				return d.errorf(k, name, "duplicate key (first at line %d)", prev.Line)
			}
			seen[k.Value] = k
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := d.decode(val, elem, name); err != nil {
				return err
			}
			v.SetMapIndex(reflect.ValueOf(k.Value), elem)
		}
		return nil
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return d.errorf(n, field, "expected a list, got %s", Describe(n))
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			if err := d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", field, i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			return d.errorf(n, field, "expected a string, got %s", Describe(n))
		}
		v.SetString(n.Value)
		return nil
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			return d.errorf(n, field, "expected true or false, got %s", Describe(n))
		}
		b, _ := strconv.ParseBool(strings.ToLower(n.Value))
		v.SetBool(b)
		return nil
	}
	return d.errorf(n, field, "internal: cannot decode into %s", v.Type())
}

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

// structFields maps a struct's yaml keys to field indexes.
func structFields(t reflect.Type) (map[string]int, []string) {
	m := map[string]int{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || name == "" {
			continue
		}
		m[name] = i
		names = append(names, name)
	}
	return m, names
}

var unknownFieldRE = regexp.MustCompile(`unknown field "([^"]+)"`)

// Locate returns the node under root that an error of a JSON decoder
// (sigs.k8s.io/yaml, encoding/json) is about: the key of an unknown field,
// the value of a mistyped one; root itself when it cannot tell.
func Locate(root *yaml.Node, err error) *yaml.Node {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		// The path holds JSON names and the Go names of embedded structs
		// (JobBase); only the JSON names are keys in the file.
		var path []string
		for _, seg := range strings.Split(te.Field, ".") {
			if seg != "" && (seg[0] < 'A' || seg[0] > 'Z') {
				path = append(path, seg)
			}
		}
		if n := findPath(root, path); n != nil && len(path) > 0 {
			return n
		}
	}
	if m := unknownFieldRE.FindStringSubmatch(err.Error()); m != nil {
		path := strings.Split(m[1], ".")
		if n := findKeyPath(root, path); n != nil {
			return n
		}
	}
	return root
}

// findPath follows JSON field names down mappings, searching lists, and
// returns the value at the end of path.
func findPath(n *yaml.Node, path []string) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil {
		return nil
	}
	if len(path) == 0 {
		return n
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == path[0] {
				return findPath(n.Content[i+1], path[1:])
			}
		}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if f := findPath(c, path); f != nil {
				return f
			}
		}
	}
	return nil
}

// findKeyPath returns the key node at the end of path (the unknown field's
// own name is last), else the first key named like it anywhere.
func findKeyPath(root *yaml.Node, path []string) *yaml.Node {
	last := path[len(path)-1]
	var first *yaml.Node
	var visit func(n *yaml.Node, depth int)
	visit = func(n *yaml.Node, depth int) {
		if n == nil || first != nil || depth > 1000 {
			return
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == last {
					first = n.Content[i]
					return
				}
			}
		}
		for _, c := range n.Content {
			visit(c, depth+1)
		}
	}
	if len(path) > 1 {
		if parent := findPath(root, path[:len(path)-1]); parent != nil {
			visit(parent, 0)
			if first != nil {
				return first
			}
		}
	}
	visit(root, 0)
	return first
}
