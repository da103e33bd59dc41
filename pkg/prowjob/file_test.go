package prowjob

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDecode(t *testing.T) {
	tests := []struct{ name, in, wantErr string }{
		{"pod", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n", `f.yaml: not a ProwJob (apiVersion "v1", kind "Pod"; want apiVersion prow.k8s.io/v1, kind ProwJob)`},
		{"empty", "\n", "f.yaml: empty file, want a ProwJob"},
		{"not yaml", "{{", "f.yaml:1:1: invalid YAML: did not find expected node content"},
		{"typo", "apiVersion: prow.k8s.io/v1\nkind: ProwJob\nspec:\n  job: j\n  type: periodic\n  jobb: x\n", `unknown field "jobb"`},
		{"no job", "apiVersion: prow.k8s.io/v1\nkind: ProwJob\nspec:\n  type: periodic\n", "f.yaml: ProwJob has no spec.job"},
		{"ok", "apiVersion: prow.k8s.io/v1\nkind: ProwJob\nmetadata:\n  name: pj1\nspec:\n  job: j\n  type: periodic\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pj, err := Decode("f.yaml", []byte(tc.in))
			if tc.wantErr == "" {
				if err != nil || pj.Name != "pj1" || pj.Spec.Job != "j" {
					t.Fatalf("Decode = %+v, %v", pj, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error = %v, want %q", err, tc.wantErr)
			}
		})
	}
}

func TestReadFileMissing(t *testing.T) {
	_, err := ReadFile(filepath.Join(t.TempDir(), "nope.yaml"))
	if !os.IsNotExist(err) {
		t.Fatalf("error = %v", err)
	}
}

func TestDecodeErrorsArePositioned(t *testing.T) {
	head := "apiVersion: prow.k8s.io/v1\nkind: ProwJob\nmetadata:\n  name: pj1\nspec:\n  job: j\n  type: periodic\n"
	tests := []struct{ name, in, want string }{
		{"unknown field", head + "  jobb: x\n", `f.yaml:8:3: unknown field "jobb"`},
		{"wrong type", head + "  max_concurrency: lots\n", "f.yaml:8:20: cannot unmarshal string into Go struct field ProwJobSpec.spec.max_concurrency of type int"},
		{"two ProwJobs", head + "---\n" + head, "f.yaml:8:1: 2 documents; one ProwJob per file: split the file and create each"},
		{"syntax", head + "  job: [j\n", "f.yaml:8:8: invalid YAML: did not find expected ',' or ']'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode("f.yaml", []byte(tc.in))
			if err == nil || err.Error() != tc.want {
				t.Fatalf("error = %v\nwant    %s", err, tc.want)
			}
		})
	}
	// JSON indented with tabs is not YAML but is a ProwJob file all the same.
	if _, err := Decode("f.json", []byte("{\n\t\"apiVersion\": \"prow.k8s.io/v1\",\n\t\"kind\": \"ProwJob\",\n\t\"spec\": {\"job\": \"j\", \"type\": \"periodic\"}\n}\n")); err != nil {
		t.Fatalf("tab-indented JSON: %v", err)
	}
}

func TestReadBoundsStandardInput(t *testing.T) {
	_, err := Read("standard input", strings.NewReader(strings.Repeat("#", 9<<20)))
	if err == nil || !strings.Contains(err.Error(), "standard input: larger than 8 MiB") {
		t.Fatalf("error = %v", err)
	}
}
