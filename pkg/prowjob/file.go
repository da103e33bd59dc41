package prowjob

import (
	"bytes"
	"fmt"
	"os"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/yaml"
)

// ReadFile reads one ProwJob from a YAML or JSON file, such as what
// `prowctl mkpj` printed. Unknown fields are errors, so a typo in an edited
// file does not silently vanish.
func ReadFile(path string) (*prowapi.ProwJob, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Decode(path, b)
}

// Decode decodes one ProwJob; name says where b came from, for messages.
func Decode(name string, b []byte) (*prowapi.ProwJob, error) {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil, fmt.Errorf("%s: empty file, want a ProwJob", name)
	}
	var tm struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(b, &tm); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	want := prowapi.SchemeGroupVersion.String()
	if tm.Kind != "ProwJob" || tm.APIVersion != want {
		return nil, fmt.Errorf("%s: not a ProwJob (apiVersion %q, kind %q; want apiVersion %s, kind ProwJob)", name, tm.APIVersion, tm.Kind, want)
	}
	var pj prowapi.ProwJob
	if err := yaml.UnmarshalStrict(b, &pj); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if pj.Spec.Job == "" {
		return nil, fmt.Errorf("%s: ProwJob has no spec.job", name)
	}
	if pj.Spec.Type == "" {
		return nil, fmt.Errorf("%s: ProwJob %s has no spec.type", name, pj.Spec.Job)
	}
	return &pj, nil
}
