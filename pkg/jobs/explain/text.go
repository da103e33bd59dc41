package explain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// String is the source as the text output's comments say it.
func (s Source) String() string {
	switch s.Kind {
	case KindJob:
		if s.Field != "" {
			return fmt.Sprintf("%s:%d (decoration_config.%s)", s.File, s.Line, s.Field)
		}
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	case KindPreset:
		return fmt.Sprintf("preset %s:%d (%s)", s.File, s.Line, sortedLabels(s.Labels))
	case KindDecorationDefault:
		return fmt.Sprintf("decoration default %s:%d (%s): %s", s.File, s.Line, s.Entry, s.Field)
	}
	return "added by Prow's decorate (pod utilities)"
}

// commentColumn is the widest line the source comments align after;
// longer lines (the pod utilities' JSON options) carry theirs at their end.
const commentColumn = 64

// WriteText writes the pod spec as YAML, each leaf's line ending in a
// comment that names its source. What it writes is YAML that decodes to
// the pod spec.
func (r *Result) WriteText(w io.Writer) error {
	var b bytes.Buffer
	base := r.Job.Base()
	fmt.Fprintf(&b, "# %s: the pod Prow runs for the %s (%s:%d)\n", base.Name, r.Job.Type, r.JobFile, r.JobLine)
	if refs := r.refsNote(); refs != "" {
		fmt.Fprintf(&b, "# refs are placeholders: %s\n", refs)
	}
	var lines []line
	if err := emit(r.tree, "", &lines); err != nil {
		return err
	}
	col := 0
	for _, l := range lines {
		if n := len(l.text); l.src != nil && n <= commentColumn && n > col {
			col = n
		}
	}
	for _, l := range lines {
		b.WriteString(l.text)
		if l.src != nil {
			if pad := col - len(l.text); pad > 0 {
				b.WriteString(strings.Repeat(" ", pad))
			}
			b.WriteString("  # ")
			b.WriteString(l.src.String())
		}
		b.WriteByte('\n')
	}
	_, err := w.Write(b.Bytes())
	return err
}

func (r *Result) refsNote() string {
	refs := r.Refs
	switch {
	case r.Job.Periodic != nil:
		return ""
	case r.Job.Presubmit != nil:
		return fmt.Sprintf("%s at %.7s, pull #%d at %.7s by %s", refs.BaseRef, refs.BaseSHA, refs.PullNumber, refs.PullSHA, refs.PullAuthor)
	}
	return fmt.Sprintf("%s at %.7s", refs.BaseRef, refs.BaseSHA)
}

type line struct {
	text string
	src  *Source
}

// emit writes the object or array v at indent: nested mappings indented,
// sequences not, as Kubernetes prints them.
func emit(v *value, indent string, out *[]line) error {
	if v.object {
		for i, k := range v.keys {
			key, _, err := scalarText(k)
			if err != nil {
				return err
			}
			child := v.vals[i]
			switch {
			case child.leaf():
				if err := leafLines(indent+key+": ", indent, child, out); err != nil {
					return err
				}
			case child.object:
				*out = append(*out, line{text: indent + key + ":"})
				if err := emit(child, indent+"  ", out); err != nil {
					return err
				}
			default:
				*out = append(*out, line{text: indent + key + ":"})
				if err := emit(child, indent, out); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, item := range v.items {
		if item.leaf() {
			if err := leafLines(indent+"- ", indent, item, out); err != nil {
				return err
			}
			continue
		}
		var sub []line
		if err := emit(item, indent+"  ", &sub); err != nil {
			return err
		}
		// The item's first line carries the dash.
		sub[0].text = indent + "- " + sub[0].text[len(indent)+2:]
		*out = append(*out, sub...)
	}
	return nil
}

// leafLines writes the leaf v after prefix; a multi-line string becomes a
// literal block indented under indent, its source on the block's first line.
func leafLines(prefix, indent string, v *value, out *[]line) error {
	var (
		text  string
		block []string
		err   error
	)
	switch {
	case v.object:
		text = "{}"
	case v.array:
		text = "[]"
	default:
		text, block, err = scalarText(v.scalar)
		if err != nil {
			return err
		}
	}
	*out = append(*out, line{text: prefix + text, src: v.src})
	for _, b := range block {
		if b == "" {
			*out = append(*out, line{})
			continue
		}
		*out = append(*out, line{text: indent + "  " + b})
	}
	return nil
}

// scalarText is a scalar as YAML writes it: the text for its line and,
// for a multi-line string, the lines of its literal block.
func scalarText(s any) (string, []string, error) {
	switch s := s.(type) {
	case nil:
		return "null", nil, nil
	case bool:
		return strconv.FormatBool(s), nil, nil
	case json.Number:
		return s.String(), nil, nil
	case string:
		text, err := encodeString(s, 0)
		if err != nil {
			return "", nil, err
		}
		head, rest, multi := strings.Cut(text, "\n")
		if !multi {
			return head, nil, nil
		}
		if head != "|" && head != "|-" && head != "|+" {
			// A block that needs an indentation indicator is one that
			// re-indenting could break: quote it on one line instead.
			text, err = encodeString(s, yaml.DoubleQuotedStyle)
			return text, nil, err
		}
		block := strings.Split(rest, "\n")
		for i, b := range block {
			block[i] = strings.TrimPrefix(b, "  ")
		}
		return head, block, nil
	}
	return "", nil, fmt.Errorf("unexpected value %v (%T) in the pod spec", s, s)
}

// encodeString is s as yaml.v3 writes a string: quoted where YAML 1.1
// would read another type, a literal block when it has several lines.
func encodeString(s string, style yaml.Style) (string, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s, Style: style}); err != nil {
		return "", fmt.Errorf("encode %q: %w", s, err)
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}
