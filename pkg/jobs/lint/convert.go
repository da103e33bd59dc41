package lint

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// This file turns a yaml.v3 node tree into the JSON that sigs.k8s.io/yaml
// (Prow's decoder) would produce from the same bytes, so each file is parsed
// once: the tree gives positions, the JSON gives Prow's structs through
// encoding/json exactly as Prow decodes them. sigs.k8s.io/yaml parses with
// YAML 1.1 rules (yaml.v2: yes/no/on/off are bools, 0777 is octal, dates
// stay strings), then turns scalars into strings where the Go target field
// is a string, looking the target up with a quirk (promoted fields resolve
// to their embedded struct) that decides where `true` becomes "true" and
// where it is a type error. The differential tests and the fuzz target hold
// this equal to sigs.k8s.io/yaml.

// target is where a value is decoded: a Go type and whether
// sigs.k8s.io/yaml's reflect.Value for it would be addressable (which decides
// whether pointer-receiver unmarshalers are seen). A nil typ means no target.
type target struct {
	typ  reflect.Type
	addr bool
}

// resolveTarget mirrors sigs.k8s.io/yaml's indirect: follow pointers; a
// type that decodes itself ends the target. The answers are remembered:
// this runs for every node.
func (c *typeCache) resolveTarget(t target) target {
	if t.typ == nil {
		return t
	}
	return remember(&c.targets, t, resolveTargetOf)
}

func resolveTargetOf(t target) target {
	typ := t.typ
	if typ.Kind() != reflect.Pointer && typ.Name() != "" && t.addr {
		if implementsUnmarshaler(reflect.PointerTo(typ)) {
			return target{}
		}
	}
	for typ.Kind() == reflect.Pointer {
		if implementsUnmarshaler(typ) {
			return target{}
		}
		typ = typ.Elem()
		t.addr = true
	}
	return target{typ: typ, addr: t.addr}
}

func implementsUnmarshaler(t reflect.Type) bool {
	return t.NumMethod() > 0 && (t.Implements(jsonUnmarshalerType) || t.Implements(textUnmarshalerType))
}

// topFields maps a struct's JSON names to the index of the top-level field
// that holds them (for promoted fields, the embedded struct), with
// encoding/json's name rules.
type topFields struct {
	names []string
	index []int
	exact map[string]int // name -> index[i]
}

func (c *typeCache) structTopFields(t reflect.Type) *topFields {
	return remember(&c.fields, t, buildTopFields)
}

func buildTopFields(t reflect.Type) *topFields {
	tf := &topFields{exact: map[string]int{}}
	for _, f := range visibleFields(t) {
		tf.names = append(tf.names, f.name)
		tf.index = append(tf.index, f.index[0])
		if _, dup := tf.exact[f.name]; !dup {
			tf.exact[f.name] = f.index[0]
		}
	}
	return tf
}

type jsonField struct {
	name  string
	index []int
	tag   bool
}

// visibleFields lists t's JSON fields as encoding/json resolves them:
// breadth first through embedded structs, the shallowest name winning, a
// tagged field winning over an untagged one at the same depth, ties hidden.
func visibleFields(t reflect.Type) []jsonField {
	type item struct {
		typ   reflect.Type
		index []int
	}
	current := []item{}
	next := []item{{typ: t}}
	visited := map[reflect.Type]bool{}
	var out []jsonField
	for len(next) > 0 {
		current, next = next, current[:0]
		count := map[string]int{}
		var level []jsonField
		for _, it := range current {
			if visited[it.typ] {
				continue
			}
			visited[it.typ] = true
			for i := range it.typ.NumField() {
				sf := it.typ.Field(i)
				if sf.Anonymous {
					ft := sf.Type
					if ft.Kind() == reflect.Pointer {
						ft = ft.Elem()
					}
					if !sf.IsExported() && ft.Kind() != reflect.Struct {
						continue
					}
				} else if !sf.IsExported() {
					continue
				}
				tag := sf.Tag.Get("json")
				if tag == "-" {
					continue
				}
				name, _, _ := strings.Cut(tag, ",")
				index := append(append([]int{}, it.index...), i)
				ft := sf.Type
				if ft.Name() == "" && ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				if name != "" || !sf.Anonymous || ft.Kind() != reflect.Struct {
					tagged := name != ""
					if name == "" {
						name = sf.Name
					}
					level = append(level, jsonField{name: name, index: index, tag: tagged})
					count[name]++
					continue
				}
				next = append(next, item{typ: ft, index: index})
			}
		}
		for _, f := range level {
			if exists(out, f.name) {
				continue
			}
			if count[f.name] > 1 {
				// Several at one depth: a single tagged one wins, else none.
				var tagged []jsonField
				for _, g := range level {
					if g.name == f.name && g.tag {
						tagged = append(tagged, g)
					}
				}
				if len(tagged) == 1 {
					out = append(out, tagged[0])
				} else {
					out = append(out, jsonField{name: f.name}) // hidden
				}
				continue
			}
			out = append(out, f)
		}
	}
	var vis []jsonField
	for _, f := range out {
		if f.index != nil {
			vis = append(vis, f)
		}
	}
	// encoding/json orders fields by index sequence; case-insensitive
	// lookups take the first match in that order.
	slices.SortFunc(vis, func(a, b jsonField) int { return slices.Compare(a.index, b.index) })
	return vis
}

func exists(fs []jsonField, name string) bool {
	for _, f := range fs {
		if f.name == name {
			return true
		}
	}
	return false
}

// lookup finds key among the struct's fields as sigs.k8s.io/yaml does:
// exact match first, else the first case-insensitive match.
func (tf *topFields) lookup(key string) (int, bool) {
	if i, ok := tf.exact[key]; ok {
		return i, true
	}
	found := -1
	for i, n := range tf.names {
		if n == key {
			return tf.index[i], true
		}
		if found < 0 && strings.EqualFold(n, key) {
			found = tf.index[i]
		}
	}
	return found, found >= 0
}

// toJSON converts the document's top node for decoding into a value of type t.
func toJSON(types *typeCache, n *yaml.Node, t reflect.Type) ([]byte, error) {
	c := converter{types: types, buf: bytes.NewBuffer(make([]byte, 0, 4096))}
	if err := c.value(n, target{typ: reflect.PointerTo(t)}); err != nil {
		return nil, err
	}
	return c.buf.Bytes(), nil
}

type converter struct {
	types *typeCache
	buf   *bytes.Buffer
	depth int
	// aliases bounds alias expansions: a few aliases can expand to a huge
	// document ("billion laughs"). Past the budget we give up and Prow's
	// decoder, with its own limits, decides.
	aliases int
}

const aliasBudget = 10000

var errConvert = errors.New("error converting YAML to JSON")

func (c *converter) value(n *yaml.Node, t target) error {
	t = c.types.resolveTarget(t)
	c.depth++
	defer func() { c.depth-- }()
	if c.depth > 1000 {
		return fmt.Errorf("%w: document nested too deeply", errConvert)
	}
	switch n.Kind {
	case 0: // an empty document
		c.buf.WriteString("null")
		return nil
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			c.buf.WriteString("null")
			return nil
		}
		return c.value(n.Content[0], t)
	case yaml.AliasNode:
		if c.aliases++; c.aliases > aliasBudget {
			return fmt.Errorf("%w: too many aliases", errConvert)
		}
		return c.value(n.Alias, t)
	case yaml.MappingNode:
		return c.mapping(n, t)
	case yaml.SequenceNode:
		elem := elemTarget(t)
		c.buf.WriteByte('[')
		for i, e := range n.Content {
			if i > 0 {
				c.buf.WriteByte(',')
			}
			if err := c.value(e, elem); err != nil {
				return err
			}
		}
		c.buf.WriteByte(']')
		return nil
	case yaml.ScalarNode:
		v, err := scalarV2(n)
		if err != nil {
			return err
		}
		return c.scalar(v, t)
	}
	return fmt.Errorf("%w: unexpected node kind %v", errConvert, n.Kind)
}

type entry struct {
	key string
	val *yaml.Node
}

// mapping writes a JSON object, its keys in byte order: sigs.k8s.io/yaml
// goes through a Go map and json.Marshal, which sorts them, and where two
// keys fold to one struct field ("cluster", "Cluster") encoding/json lets
// the later one win.
func (c *converter) mapping(n *yaml.Node, t target) error {
	entries, err := c.entries(n)
	if err != nil {
		return err
	}
	slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.key, b.key) })
	c.buf.WriteByte('{')
	for i, e := range entries {
		if i > 0 {
			c.buf.WriteByte(',')
		}
		writeJSONString(c.buf, e.key)
		c.buf.WriteByte(':')
		if err := c.value(e.val, c.fieldTarget(t, e.key)); err != nil {
			return err
		}
	}
	c.buf.WriteByte('}')
	return nil
}

// fieldTarget is the target of key's value in an object decoded into t:
// a struct's field (promoted fields resolving to their embedded struct, as
// sigs.k8s.io/yaml has it) or a map's element.
func (c *converter) fieldTarget(t target, key string) target {
	if t.typ == nil {
		return target{}
	}
	switch t.typ.Kind() {
	case reflect.Struct:
		if idx, ok := c.types.structTopFields(t.typ).lookup(key); ok {
			return target{typ: t.typ.Field(idx).Type, addr: t.addr}
		}
	case reflect.Map:
		return target{typ: t.typ.Elem(), addr: false}
	}
	return target{}
}

// elemTarget is the target of an array's items decoded into t.
func elemTarget(t target) target {
	if t.typ != nil && t.typ.Kind() == reflect.Slice {
		return target{typ: t.typ.Elem(), addr: true}
	}
	return target{}
}

// entries lists a mapping's keys and values as the JSON object has them:
// keys repeat by last-wins, "<<" merges as in yaml.v2 (merged keys override
// earlier ones, later keys override merged).
func (c *converter) entries(n *yaml.Node) ([]entry, error) {
	entries := make([]entry, 0, len(n.Content)/2)
	var pos map[string]int // only for large mappings; small ones scan
	var addAll func(m *yaml.Node) error
	// replaced converts a value a later key overrides, for its errors only:
	// yaml.v2 decodes every value before the last one wins.
	replaced := func(old *yaml.Node) error {
		d := converter{types: c.types, buf: &bytes.Buffer{}, depth: c.depth, aliases: c.aliases}
		err := d.value(old, target{})
		c.aliases = d.aliases
		return err
	}
	set := func(k string, v *yaml.Node) error {
		if len(entries) > 16 && pos == nil {
			pos = make(map[string]int, 2*len(entries))
			for i, e := range entries {
				pos[e.key] = i
			}
		}
		i, ok := -1, false
		if pos != nil {
			i, ok = pos[k]
		} else {
			for j := range entries {
				if entries[j].key == k {
					i, ok = j, true
					break
				}
			}
		}
		if ok {
			if err := replaced(entries[i].val); err != nil {
				return err
			}
			entries[i].val = v
			return nil
		}
		if pos != nil {
			pos[k] = len(entries)
		}
		entries = append(entries, entry{k, v})
		return nil
	}
	var merge func(v *yaml.Node) error
	merge = func(v *yaml.Node) error {
		if c.aliases++; c.aliases > aliasBudget {
			return fmt.Errorf("%w: too many aliases", errConvert)
		}
		switch v.Kind {
		case yaml.AliasNode:
			return merge(v.Alias)
		case yaml.MappingNode:
			return addAll(v)
		case yaml.SequenceNode:
			for i := len(v.Content) - 1; i >= 0; i-- {
				e := v.Content[i]
				if e.Kind == yaml.AliasNode {
					e = e.Alias
				}
				if e.Kind != yaml.MappingNode {
					return fmt.Errorf("%w: map merge requires map or sequence of maps as the value", errConvert)
				}
				if err := addAll(e); err != nil {
					return err
				}
			}
			return nil
		}
		return fmt.Errorf("%w: map merge requires map or sequence of maps as the value", errConvert)
	}
	addAll = func(m *yaml.Node) error {
		for i := 0; i+1 < len(m.Content); i += 2 {
			k, v := m.Content[i], m.Content[i+1]
			if k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Style&yaml.TaggedStyle == 0 && k.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 || k.Tag == "!!merge") {
				if err := merge(v); err != nil {
					return err
				}
				continue
			}
			ks, err := keyString(k)
			if err != nil {
				return err
			}
			if err := set(ks, v); err != nil {
				return err
			}
		}
		return nil
	}
	if err := addAll(n); err != nil {
		return nil, err
	}
	return entries, nil
}

// keyString turns a mapping key into the JSON key sigs.k8s.io/yaml makes of it.
func keyString(k *yaml.Node) (string, error) {
	if k.Kind == yaml.AliasNode {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("%w: unsupported map key at line %d", errConvert, k.Line)
	}
	v, err := scalarV2(k)
	if err != nil {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		s := strconv.FormatFloat(v, 'g', -1, 32)
		switch s {
		case "+Inf":
			s = ".inf"
		case "-Inf":
			s = "-.inf"
		case "NaN":
			s = ".nan"
		}
		return s, nil
	case bool:
		if v {
			return "true", nil
		}
		return "false", nil
	}
	return "", fmt.Errorf("%w: unsupported map key of type %T at line %d", errConvert, v, k.Line)
}

func (c *converter) scalar(v any, t target) error {
	v, err := jsonScalar(v, t)
	if err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		c.buf.WriteString("null")
	case string:
		writeJSONString(c.buf, v)
	case bool:
		c.buf.WriteString(strconv.FormatBool(v))
	default:
		c.buf.WriteString(numberText(v))
	}
	return nil
}

// jsonScalar is the JSON value sigs.k8s.io/yaml makes of a scalar yaml.v2
// resolved to v, decoded into t: nil, a string, a bool, or a number (int,
// int64, uint64, float64). Where t is a string, numbers and bools become
// their text.
func jsonScalar(v any, t target) (any, error) {
	if t.typ != nil && t.typ.Kind() == reflect.String {
		switch x := v.(type) {
		case int:
			return strconv.FormatInt(int64(x), 10), nil
		case int64:
			return strconv.FormatInt(x, 10), nil
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 32), nil
		case uint64:
			return strconv.FormatUint(x, 10), nil
		case bool:
			return strconv.FormatBool(x), nil
		}
	}
	switch x := v.(type) {
	case nil, string, bool, int, int64, uint64:
		return v, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("%w: json: unsupported value: %s", errConvert, strconv.FormatFloat(x, 'g', -1, 64))
		}
		return v, nil
	}
	return nil, fmt.Errorf("%w: unsupported value %T", errConvert, v)
}

// numberText is a jsonScalar number as JSON writes it.
func numberText(v any) string {
	switch v := v.(type) {
	case int:
		return strconv.Itoa(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case uint64:
		return strconv.FormatUint(v, 10)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func writeJSONString(buf *bytes.Buffer, s string) {
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			simple = false
			break
		}
	}
	if simple {
		buf.WriteByte('"')
		buf.WriteString(s)
		buf.WriteByte('"')
		return
	}
	b, _ := json.Marshal(s)
	buf.Write(b)
}

// scalarV2 resolves a scalar the way yaml.v2 does when decoding into
// interface{}: YAML 1.1 booleans, octal and binary ints, timestamps kept as
// strings.
func scalarV2(n *yaml.Node) (any, error) {
	quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
	tagged := n.Style&yaml.TaggedStyle != 0
	if quoted && !tagged {
		return n.Value, nil
	}
	tag := ""
	if tagged {
		tag = n.Tag
	}
	switch tag {
	case "", "!!str", "!!bool", "!!int", "!!float", "!!null", "!!timestamp":
	case "!!binary":
		b, err := base64.StdEncoding.DecodeString(n.Value)
		if err != nil {
			return nil, fmt.Errorf("%w: !!binary value contains invalid base64 data", errConvert)
		}
		return string(b), nil
	default:
		return n.Value, nil // yaml.v2 keeps unknown tags' values as they are
	}
	rtag, v := resolveV2(tag, n.Value)
	if tag != "" && tag != rtag && tag != "!!str" {
		if tag == "!!float" && rtag == "!!int" {
			switch i := v.(type) {
			case int:
				return float64(i), nil
			case int64:
				return float64(i), nil
			}
		}
		return nil, fmt.Errorf("%w: yaml: line %d: cannot decode %s `%s` as a %s", errConvert, n.Line, rtag, n.Value, tag)
	}
	if rtag == "!!timestamp" {
		return n.Value, nil // yaml.v2 hands timestamps to interface{} as strings
	}
	return v, nil
}

// v2Word resolves the plain scalars yaml.v2 reads as a bool or null (YAML
// 1.1's yes/no/on/off among them): the value, and whether s is one.
func v2Word(s string) (any, bool) {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
		return true, true
	case "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF":
		return false, true
	case "", "~", "null", "Null", "NULL":
		return nil, true
	}
	return nil, false
}

func resolveV2(tag, in string) (string, any) {
	if tag == "!!str" {
		return "!!str", in
	}
	if v, ok := v2Word(in); ok {
		if v == nil {
			return "!!null", nil
		}
		return "!!bool", v
	}
	switch in {
	case ".nan", ".NaN", ".NAN":
		return "!!float", math.NaN()
	case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF":
		return "!!float", math.Inf(1)
	case "-.inf", "-.Inf", "-.INF":
		return "!!float", math.Inf(-1)
	case "<<":
		return "!!merge", "<<"
	}
	if in == "" {
		return "!!str", in
	}
	switch c := in[0]; {
	case c == '.':
		if f, err := strconv.ParseFloat(in, 64); err == nil {
			return "!!float", f
		}
	case c == '+' || c == '-' || (c >= '0' && c <= '9'):
		if tag == "" || tag == "!!timestamp" {
			if yamlpos.IsTimestamp(in) {
				return "!!timestamp", in
			}
		}
		plain := strings.ReplaceAll(in, "_", "")
		if !yamlpos.Numberish(plain) {
			// "10m", "4Gi", "0 * * * *": every parse below would fail, and
			// a failed parse allocates its error.
			return "!!str", in
		}
		if i, err := strconv.ParseInt(plain, 0, 64); err == nil {
			if i == int64(int(i)) {
				return "!!int", int(i)
			}
			return "!!int", i
		}
		if u, err := strconv.ParseUint(plain, 0, 64); err == nil {
			return "!!int", u
		}
		if yamlpos.FloatForm(plain) {
			if f, err := strconv.ParseFloat(plain, 64); err == nil {
				return "!!float", f
			}
		}
		if strings.HasPrefix(plain, "0b") {
			if i, err := strconv.ParseInt(plain[2:], 2, 64); err == nil {
				return "!!int", int(i)
			}
			if u, err := strconv.ParseUint(plain[2:], 2, 64); err == nil {
				return "!!int", u
			}
		} else if strings.HasPrefix(plain, "-0b") {
			if i, err := strconv.ParseInt("-"+plain[3:], 2, 64); err == nil {
				return "!!int", int(i)
			}
		}
	}
	return "!!str", in
}
