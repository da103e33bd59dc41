package prowjob

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	syaml "sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// ReadFile reads one ProwJob from a YAML or JSON file, such as what
// `prowctl mkpj` printed. Unknown fields are errors, so a typo in an edited
// file does not silently vanish. A named pipe, device or directory is
// refused without opening it.
func ReadFile(path string) (*prowapi.ProwJob, error) {
	b, err := yamlpos.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(path, b)
}

// Read reads one ProwJob from r (standard input), within the size budget of
// a file; name says what r is, for messages.
func Read(name string, r io.Reader) (*prowapi.ProwJob, error) {
	b, err := yamlpos.ReadAll(name, r)
	if err != nil {
		return nil, err
	}
	return Decode(name, b)
}

// Decode decodes one ProwJob; name says where b came from, for messages.
// Errors name name:line:col. A file of several documents is refused (one
// ProwJob per file): creating only the first would drop the rest silently.
func Decode(name string, b []byte) (*prowapi.ProwJob, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%s: empty file, want a ProwJob", name)
	}
	root, err := parseProwJob(name, b)
	if err != nil {
		return nil, err
	}
	at := func(err error) error {
		if root == nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return yamlpos.At(name, yamlpos.Locate(root, err), "", "%s", jsonMessage(err))
	}
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := syaml.Unmarshal(b, &tm); err != nil {
		return nil, at(err)
	}
	want := prowapi.SchemeGroupVersion.String()
	if tm.Kind != "ProwJob" || tm.APIVersion != want {
		return nil, fmt.Errorf("%s: not a ProwJob (apiVersion %q, kind %q; want apiVersion %s, kind ProwJob)", name, tm.APIVersion, tm.Kind, want)
	}
	var pj prowapi.ProwJob
	if err := syaml.UnmarshalStrict(b, &pj); err != nil {
		return nil, at(err)
	}
	if pj.Spec.Job == "" {
		return nil, fmt.Errorf("%s: ProwJob has no spec.job", name)
	}
	if pj.Spec.Type == "" {
		return nil, fmt.Errorf("%s: ProwJob %s has no spec.type", name, pj.Spec.Job)
	}
	return &pj, nil
}

// parseProwJob parses b for positions and refuses several documents. JSON
// that YAML does not read (tabs for indentation) has no positions: the
// root is nil and decoding goes on.
func parseProwJob(name string, b []byte) (*yaml.Node, error) {
	docs, err := yamlpos.ParseAll(name, b)
	if err != nil {
		if json.Valid(b) {
			return nil, nil
		}
		return nil, err
	}
	var roots []yamlpos.Document
	for _, d := range docs {
		if d.Root != nil {
			roots = append(roots, d)
		}
	}
	if len(roots) > 1 {
		return nil, &yamlpos.Error{File: name, Line: roots[1].Line, Column: 1,
			Msg: fmt.Sprintf("%d documents; one ProwJob per file: split the file and create each", len(roots))}
	}
	if len(roots) == 0 {
		return nil, nil
	}
	return roots[0].Root, nil
}

// jsonMessage is a decoder's message without its wrapping.
func jsonMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{"error unmarshaling JSON: ", "while decoding JSON: ", "json: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	return msg
}
