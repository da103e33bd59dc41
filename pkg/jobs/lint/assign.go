package lint

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// An assigner decodes a node tree straight into Go values with the result
// encoding/json would give from the converter's JSON (convert.go): the JSON
// is never written or scanned, strings are the tree's own, and slices are
// made at their final length. That is half the cost of decoding a job
// config, and a third of the memory the decoded jobs hold (encoding/json
// gives even a one-container pod room for four).
//
// It decodes directly only what it is sure of: plain structs, maps with
// string keys, slices, pointers, strings, bools and numbers. A value of any
// other type (one that decodes itself, an interface, an array, []byte) goes
// through the converter's JSON and encoding/json, and anything it cannot
// settle (a type mismatch, two keys for one field, a non-ASCII key matched
// by case) fails, so that the caller decodes the whole file the JSON way:
// success here always means what the JSON way gives.
type assigner struct {
	c     converter // writes the JSON of subtrees, counts aliases
	depth int
}

var errAssign = errors.New("cannot assign directly")

func newAssigner(types *typeCache) *assigner {
	return &assigner{c: converter{types: types, buf: &bytes.Buffer{}}}
}

// value decodes n into v, an addressable zero value; t is the converter's
// target for n (what sigs.k8s.io/yaml would decode into), which decides how
// scalars turn into JSON.
func (a *assigner) value(n *yaml.Node, t target, v reflect.Value) error {
	t = a.c.types.resolveTarget(t)
	if a.depth++; a.depth > 1000 {
		return errAssign
	}
	defer func() { a.depth-- }()
	switch n.Kind {
	case 0:
		return nil // null: v stays zero
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return a.value(n.Content[0], t, v)
	case yaml.AliasNode:
		if a.c.aliases++; a.c.aliases > aliasBudget {
			return errAssign
		}
		return a.value(n.Alias, t, v)
	}
	info := a.c.types.assignInfo(v.Type())
	if info.viaJSON {
		return a.viaJSON(n, t, v)
	}
	if v.Kind() == reflect.Pointer {
		if n.Kind == yaml.ScalarNode {
			s, err := a.scalar(n, t)
			if err != nil {
				return err
			}
			if s == nil {
				return nil // null leaves the pointer nil
			}
		}
		v.Set(reflect.New(v.Type().Elem()))
		return a.value(n, t, v.Elem())
	}
	switch n.Kind {
	case yaml.MappingNode:
		return a.mapping(n, t, v, info)
	case yaml.SequenceNode:
		if v.Kind() != reflect.Slice {
			return errAssign
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		elem := elemTarget(t)
		for i, e := range n.Content {
			if err := a.value(e, elem, s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
		return nil
	case yaml.ScalarNode:
		if v.Kind() == reflect.String {
			if s, ok := stringV2(n); ok {
				v.SetString(s)
				return nil
			}
		}
		s, err := a.scalar(n, t)
		if err != nil {
			return err
		}
		return assignScalar(s, v)
	}
	return errAssign
}

// stringV2 is the string yaml.v2 (scalarV2) makes of n when that is plainly
// n's text: quoted, or plain and starting with a letter that begins no
// YAML 1.1 bool or null. It spares the boxing of every string into an any.
func stringV2(n *yaml.Node) (string, bool) {
	if n.Style&yaml.TaggedStyle != 0 {
		return "", false
	}
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return n.Value, true
	}
	s := n.Value
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z' || s[0] == '/' || s[0] == '_') {
		return "", false
	}
	if _, ok := v2Word(s); ok {
		return "", false
	}
	return s, true
}

func (a *assigner) scalar(n *yaml.Node, t target) (any, error) {
	v, err := scalarV2(n)
	if err != nil {
		return nil, err
	}
	return jsonScalar(v, t)
}

// assignScalar stores JSON scalar s in v as encoding/json would.
func assignScalar(s any, v reflect.Value) error {
	switch s := s.(type) {
	case nil:
		return nil // null into a non-pointer leaves it as it is
	case string:
		if v.Kind() != reflect.String {
			return errAssign
		}
		v.SetString(s)
		return nil
	case bool:
		if v.Kind() != reflect.Bool {
			return errAssign
		}
		v.SetBool(s)
		return nil
	}
	// A number: encoding/json parses its JSON text for the target's kind.
	text := numberText(s)
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil || v.OverflowInt(i) {
			return errAssign
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		u, err := strconv.ParseUint(text, 10, 64)
		if err != nil || v.OverflowUint(u) {
			return errAssign
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(text, v.Type().Bits())
		if err != nil || v.OverflowFloat(f) {
			return errAssign
		}
		v.SetFloat(f)
	default:
		return errAssign
	}
	return nil
}

func (a *assigner) mapping(n *yaml.Node, t target, v reflect.Value, info *assignType) error {
	a.c.depth = a.depth
	entries, err := a.c.entries(n)
	if err != nil {
		return err
	}
	switch v.Kind() {
	case reflect.Map:
		m := reflect.MakeMapWithSize(v.Type(), len(entries))
		kt, et := v.Type().Key(), v.Type().Elem()
		for _, e := range entries {
			ev := reflect.New(et).Elem()
			if err := a.value(e.val, a.c.fieldTarget(t, e.key), ev); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(e.key).Convert(kt), ev)
		}
		v.Set(m)
		return nil
	case reflect.Struct:
		var seen []int // fields set, by position in info.fields
		for _, e := range entries {
			i, ok := info.field(e.key)
			if !ok {
				// encoding/json skips the value; the converter still
				// converts it, and may fail on it.
				if err := a.convertOnly(e.val); err != nil {
					return err
				}
				continue
			}
			if i < 0 {
				return errAssign
			}
			for _, s := range seen {
				if s == i {
					return errAssign // two keys for one field
				}
			}
			seen = append(seen, i)
			fv, ok := fieldByIndex(v, info.fields[i].index)
			if !ok {
				return errAssign
			}
			if err := a.value(e.val, a.c.fieldTarget(t, e.key), fv); err != nil {
				return err
			}
		}
		return nil
	}
	return errAssign
}

// fieldByIndex walks to a promoted field, making the embedded structs it
// passes through, as encoding/json does.
func fieldByIndex(v reflect.Value, index []int) (reflect.Value, bool) {
	for k, i := range index {
		if k > 0 && v.Kind() == reflect.Pointer {
			if v.IsNil() {
				if !v.CanSet() {
					return reflect.Value{}, false
				}
				v.Set(reflect.New(v.Type().Elem()))
			}
			v = v.Elem()
		}
		v = v.Field(i)
	}
	return v, true
}

// viaJSON decodes n into v through the converter's JSON and encoding/json.
func (a *assigner) viaJSON(n *yaml.Node, t target, v reflect.Value) error {
	b, err := a.convert(n, t, a.depth-1)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v.Addr().Interface()); err != nil {
		return errAssign
	}
	return nil
}

// convertOnly converts n, a value of the mapping being assigned, for the
// converter's errors alone.
func (a *assigner) convertOnly(n *yaml.Node) error {
	_, err := a.convert(n, target{}, a.depth)
	return err
}

// convert writes the JSON of n, whose parent is at depth.
func (a *assigner) convert(n *yaml.Node, t target, depth int) ([]byte, error) {
	buf := a.c.buf
	buf.Reset()
	// The converter's depth is the tree's; ours counts pointers as well,
	// so its limit is never the laxer.
	a.c.depth = depth
	if err := a.c.value(n, t); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// assignType is what the assigner needs to know of a Go type.
type assignType struct {
	// viaJSON: the type decodes itself, or is one the assigner leaves to
	// encoding/json.
	viaJSON bool
	// A struct's fields as encoding/json sees them, in index order, and the
	// exact names.
	fields   []jsonField
	exact    map[string]int
	nonASCII bool // a field's name is not ASCII
}

// field finds key's field as encoding/json does: the exact name, else the
// first that matches ignoring case. It returns -1 with ok true where
// encoding/json's Unicode case folding would decide.
func (t *assignType) field(key string) (int, bool) {
	if i, ok := t.exact[key]; ok {
		return i, true
	}
	if !isASCII(key) || t.nonASCII {
		return -1, true
	}
	for i, f := range t.fields {
		if strings.EqualFold(f.name, key) {
			return i, true
		}
	}
	return 0, false
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func (c *typeCache) assignInfo(t reflect.Type) *assignType {
	return remember(&c.assign, t, buildAssignType)
}

func buildAssignType(t reflect.Type) *assignType {
	info := &assignType{}
	if implementsUnmarshaler(t) || implementsUnmarshaler(reflect.PointerTo(t)) {
		info.viaJSON = true
		return info
	}
	switch t.Kind() {
	case reflect.Bool, reflect.String, reflect.Pointer,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
	case reflect.Slice:
		info.viaJSON = t.Elem().Kind() == reflect.Uint8 // base64
	case reflect.Map:
		k := t.Key()
		info.viaJSON = k.Kind() != reflect.String || implementsUnmarshaler(reflect.PointerTo(k)) || implementsUnmarshaler(k)
	case reflect.Struct:
		info.fields = visibleFields(t)
		info.exact = make(map[string]int, len(info.fields))
		for i, f := range info.fields {
			if _, dup := info.exact[f.name]; !dup {
				info.exact[f.name] = i
			}
			info.nonASCII = info.nonASCII || !isASCII(f.name)
			sf := t.FieldByIndex(f.index[:1])
			for k := 1; k < len(f.index); k++ {
				ft := sf.Type
				if ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				sf = ft.Field(f.index[k])
			}
			if _, opts, _ := strings.Cut(sf.Tag.Get("json"), ","); hasOption(opts, "string") {
				info.viaJSON = true // ",string" fields
			}
		}
	default:
		info.viaJSON = true // interfaces, arrays, and what JSON cannot hold
	}
	return info
}

func hasOption(opts, name string) bool {
	for opts != "" {
		var o string
		o, opts, _ = strings.Cut(opts, ",")
		if o == name {
			return true
		}
	}
	return false
}
