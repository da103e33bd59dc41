package explain

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// value is the pod spec as its JSON holds it, keys in the order Kubernetes
// writes them (the struct's), so the text reads like a pod spec.
type value struct {
	// object: keys and vals; array: items; else scalar.
	object bool
	array  bool
	keys   []string
	vals   []*value
	items  []*value
	// scalar is a string, json.Number, bool or nil.
	scalar any
	// src is set on leaves once attributed.
	src *Source
}

func (v *value) leaf() bool {
	return !v.object && !v.array || v.object && len(v.keys) == 0 || v.array && len(v.items) == 0
}

// plain is the leaf's value for JSON and YAML output.
func (v *value) plain() any {
	switch {
	case v.object:
		return map[string]any{}
	case v.array:
		return []any{}
	}
	return v.scalar
}

func toValue(spec any) (*value, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("encode pod spec: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return decodeValue(d)
}

func decodeValue(d *json.Decoder) (*value, error) {
	t, err := d.Token()
	if err != nil {
		return nil, fmt.Errorf("decode pod spec: %w", err)
	}
	switch t {
	case json.Delim('{'):
		v := &value{object: true}
		for d.More() {
			k, err := d.Token()
			if err != nil {
				return nil, fmt.Errorf("decode pod spec: %w", err)
			}
			child, err := decodeValue(d)
			if err != nil {
				return nil, err
			}
			v.keys = append(v.keys, k.(string))
			v.vals = append(v.vals, child)
		}
		_, err := d.Token()
		return v, err
	case json.Delim('['):
		v := &value{array: true}
		for d.More() {
			child, err := decodeValue(d)
			if err != nil {
				return nil, err
			}
			v.items = append(v.items, child)
		}
		_, err := d.Token()
		return v, err
	}
	return &value{scalar: t}, nil
}

// itemSteps are the steps to the items of the array v: by name when every
// item is an object with a name of its own, else by index.
func itemSteps(v *value) []step {
	steps := make([]step, len(v.items))
	names := map[string]bool{}
	named := true
	for i, it := range v.items {
		steps[i] = step{item: true, index: i}
		n := ""
		if it.object {
			for j, k := range it.keys {
				if s, ok := it.vals[j].scalar.(string); k == "name" && ok {
					n = s
				}
			}
		}
		if n == "" || names[n] {
			named = false
		}
		names[n] = true
		steps[i].name = n
	}
	if !named {
		for i := range steps {
			steps[i].name = ""
		}
	}
	return steps
}
