package e2e

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/yamlpos"
)

var unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()

// Duration is a time.Duration written as "90s" or "5m" in the spec.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string, with its position on error.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 || n.Kind != yaml.ScalarNode {
		return Errorf(n, "", "bad duration %q (want e.g. 90s, 5m, 1h30m)", n.Value)
	}
	*d = Duration(v)
	return nil
}

// PositionError is a problem at a place of the spec. The spec loader adds the
// file name, giving `file:line:col: field: message`.
type PositionError struct {
	Line, Column int
	Field        string // dotted path of the field, "" when not about one
	Msg          string
}

func (e *PositionError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Msg)
	}
	return fmt.Sprintf("%d:%d: %s: %s", e.Line, e.Column, e.Field, e.Msg)
}

// Errorf returns a PositionError at node.
func Errorf(node *yaml.Node, field, format string, args ...any) error {
	e := &PositionError{Field: field, Msg: fmt.Sprintf(format, args...)}
	if node != nil {
		e.Line, e.Column = node.Line, node.Column
	}
	return e
}

// DecodeSettings decodes a step's `with:` node into v (a pointer to a struct)
// strictly: a key that matches no field is an error at that key's position.
// A nil node leaves v as it is.
func DecodeSettings(node *yaml.Node, v any) error {
	if node == nil || node.Kind == 0 {
		return nil
	}
	if err := checkFields(node, reflect.TypeOf(v), "with"); err != nil {
		return err
	}
	if err := node.Decode(v); err != nil {
		if te, ok := err.(*yaml.TypeError); ok && len(te.Errors) > 0 {
			// "line 12: cannot unmarshal ..." : keep the message, point at the node.
			return Errorf(node, "with", "%s", strings.Join(te.Errors, "; "))
		}
		if _, ok := err.(*PositionError); ok {
			return err
		}
		return Errorf(node, "with", "%v", err)
	}
	return nil
}

// checkFields reports the first mapping key under node that has no field in t.
func checkFields(node *yaml.Node, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Interface {
		return nil
	}
	if reflect.PointerTo(t).Implements(unmarshalerType) {
		// It decodes itself: try it here, where the field's path is known.
		err := node.Decode(reflect.New(t).Interface())
		if pe, ok := err.(*PositionError); ok && pe.Field == "" {
			pe.Field = path
		}
		return err
	}
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	if node.Kind == yaml.DocumentNode && len(node.Content) > 0 {
		node = node.Content[0]
	}
	switch t.Kind() {
	case reflect.Struct:
		if node.Kind != yaml.MappingNode {
			if node.Tag == "!!null" {
				return nil
			}
			return Errorf(node, path, "want a mapping, got %s", yamlpos.Describe(node))
		}
		fields := structFields(t)
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, val := node.Content[i], node.Content[i+1]
			if k.Value == "<<" {
				continue
			}
			f, ok := fields[k.Value]
			if !ok {
				return Errorf(k, path+"."+k.Value, "%s", unknownField(k.Value, slices.Sorted(maps.Keys(fields))))
			}
			if err := checkFields(val, f, path+"."+k.Value); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		if node.Kind == yaml.SequenceNode {
			for i, item := range node.Content {
				if err := checkFields(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
					return err
				}
			}
		}
	case reflect.Map:
		if node.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(node.Content); i += 2 {
				if err := checkFields(node.Content[i+1], t.Elem(), path+"."+node.Content[i].Value); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// structFields maps yaml keys to field types the way yaml.v3 names them:
// the yaml tag, else the lowercased field name; inline structs flatten.
func structFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if strings.Contains(opts, "inline") {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range structFields(ft) {
					out[k] = v
				}
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// unknownField is the message for a key that names no field; the field's
// path already names the key.
func unknownField(key string, known []string) string {
	msg := "unknown field"
	if s := yamlpos.Suggest(key, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return msg + " (known: " + strings.Join(known, ", ") + ")"
}

// ValueNode returns the value of key in the mapping node n, or n itself when
// there is none: where an error about that setting should point.
func ValueNode(n *yaml.Node, key string) *yaml.Node {
	if n != nil && n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i+1]
			}
		}
	}
	return n
}
