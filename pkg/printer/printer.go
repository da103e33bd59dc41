// Package printer writes objects as YAML or JSON, the one way every
// prowctl command prints them (`mkpj -o json`, `get -o yaml`, …): YAML as
// Kubernetes writes it (sigs.k8s.io/yaml: JSON field names, sorted keys),
// JSON indented by two spaces with a final newline.
package printer

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"sigs.k8s.io/yaml"
)

// Formats are the formats Print accepts.
var Formats = []string{"yaml", "json"}

// Indent is the JSON indentation.
const Indent = "  "

// Check says whether format is one Print accepts; "" is accepted and means
// the command's default.
func Check(format string) error {
	switch format {
	case "", "yaml", "json":
		return nil
	}
	return fmt.Errorf("-o %s: use %s", format, strings.Join(Formats, " or "))
}

// Marshal encodes v as "yaml" or "json".
func Marshal(v any, format string) ([]byte, error) {
	switch format {
	case "yaml":
		return yaml.Marshal(v)
	case "json":
		b, err := json.MarshalIndent(v, "", Indent)
		if err != nil {
			return nil, err
		}
		return append(b, '\n'), nil
	}
	return nil, fmt.Errorf("unknown output format %q: use %s", format, strings.Join(Formats, " or "))
}

// Print writes v to w as "yaml" or "json".
func Print(w io.Writer, v any, format string) error {
	b, err := Marshal(v, format)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
