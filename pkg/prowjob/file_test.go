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
