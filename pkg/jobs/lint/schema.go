package lint

import (
	"encoding"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"sync"

	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// shape is what a YAML node may hold where Prow decodes a Go type: the
// field names come from the types' json tags (the names Prow's decoder, which
// goes through encoding/json, accepts), so they follow the pinned Prow and
// Kubernetes API versions without a hand-kept list.
type shape struct {
	kind   shapeKind
	fields map[string]reflect.Type // struct: json name -> field type
	names  []string                // struct: sorted field names, for suggestions
	elem   reflect.Type            // map values, slice elements
}

type shapeKind int

const (
	shapeLeaf shapeKind = iota // scalar, or a type that decodes itself
	shapeStruct
	shapeMap
	shapeSlice
)

// typeCache remembers what reflection says about Prow's types for one run
// of Lint: the shape the walker checks a node against, the JSON fields the
// converter writes, and how the assigner decodes a type. Files are parsed in parallel, hence the sync.Maps.
type typeCache struct {
	shapes  sync.Map // reflect.Type -> *shape
	fields  sync.Map // reflect.Type -> *topFields
	assign  sync.Map // reflect.Type -> *assignType
	targets sync.Map // target -> resolved target
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func (c *typeCache) shapeOf(t reflect.Type) *shape {
	return remember(&c.shapes, t, buildShape)
}

// remember returns what build makes of k, building it once per cache m.
func remember[K comparable, V any](m *sync.Map, k K, build func(K) V) V {
	if v, ok := m.Load(k); ok {
		return v.(V)
	}
	v := build(k)
	m.Store(k, v)
	return v
}

func buildShape(t reflect.Type) *shape {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// A type with its own decoding (resource.Quantity, metav1.Duration,
	// IntOrString, ...) accepts what it accepts; we do not second-guess it.
	if reflect.PointerTo(t).Implements(jsonUnmarshalerType) || reflect.PointerTo(t).Implements(textUnmarshalerType) {
		return &shape{kind: shapeLeaf}
	}
	switch t.Kind() {
	case reflect.Struct:
		s := &shape{kind: shapeStruct, fields: map[string]reflect.Type{}}
		addFields(s, t)
		for name := range s.fields {
			s.names = append(s.names, name)
		}
		sort.Strings(s.names)
		return s
	case reflect.Map:
		return &shape{kind: shapeMap, elem: t.Elem()}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return &shape{kind: shapeLeaf} // []byte is a base64 string
		}
		return &shape{kind: shapeSlice, elem: t.Elem()}
	default:
		return &shape{kind: shapeLeaf}
	}
}

// addFields adds t's JSON fields to s, inlining embedded structs the way
// encoding/json does.
func addFields(s *shape, t reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				addFields(s, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := s.fields[name]; !dup { // the shallower field wins, as in encoding/json
			s.fields[name] = ft
		}
	}
}

// field looks a key up the way encoding/json does: exact match first, then
// case-insensitive. exact is false for a case-insensitive match.
func (s *shape) field(key string) (t reflect.Type, canonical string, exact bool, ok bool) {
	if t, ok := s.fields[key]; ok {
		return t, key, true, true
	}
	for _, name := range s.names {
		if strings.EqualFold(name, key) {
			return s.fields[name], name, false, true
		}
	}
	return nil, "", false, false
}

// closestName returns the known name closest to key, or "" when none is close.
func closestName(key string, names []string) string { return yamlpos.Suggest(key, names) }
