package jobs

import (
	"gopkg.in/yaml.v3"
)

// parse reads the whole file with yaml.v3: the fallback when the fast
// reader (read_fast.go) is unsure or its edit reports a problem, so every
// error the editor returns comes from a full parse.
func (d *sourceDoc) parse() error {
	root, err := parseYAML("", d.src)
	if err != nil {
		return err
	}
	if root == nil {
		// A document of only "~" or "null" parses as no document, but
		// appending keys to it would not be YAML.
		for l := 1; l <= d.lines(); l++ {
			if !d.trivia(l) {
				return &Error{Line: l, Column: d.indent(l) + 1, Msg: "a Prow config must be a block mapping (key: value lines)"}
			}
		}
	}
	if root != nil && (root.Kind != yaml.MappingNode || root.Style&yaml.FlowStyle != 0) {
		return &Error{Line: root.Line, Column: root.Column, Msg: "a Prow config must be a block mapping (key: value lines)"}
	}
	d.root = root
	return nil
}
