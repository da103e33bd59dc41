package lint

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

const treeJobs = `presubmits:
  org/repo:
  - name: first
    branches: [main]
    spec:
      containers:
      - image: img:1
periodics:
- name: second
  interval: 1h
  spec:
    containers:
    - image: img:2
`

// checkedFile parses data from a file in a temporary directory as the lint
// does, then drops its tree.
func checkedFile(t *testing.T, data string) *file {
	t.Helper()
	p := filepath.Join(t.TempDir(), "jobs.yaml")
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &file{path: p, types: &typeCache{}, data: []byte(data)}
	f.parse(nil, nil)
	f.release()
	return f
}

type pos struct{ Line, Column int }

func imagePos(n *yaml.Node) pos {
	k := keyOf(valueOf(valueOf(n, "spec"), "containers").Content[0], "image")
	return pos{k.Line, k.Column}
}

// A finding after the parallel parse needs positions inside a job: the
// rebuilt tree must give the positions the first parse saw.
func TestRebuiltTreeKeepsPositions(t *testing.T) {
	f := checkedFile(t, treeJobs)
	if f.root != nil || f.data != nil {
		t.Fatal("release kept the tree or the bytes")
	}
	var got []pos
	for _, j := range f.jobs {
		n := j.node()
		got = append(got, pos{n.Line, n.Column}, imagePos(n))
	}
	want := []pos{{3, 5}, {7, 9}, {9, 3}, {13, 7}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("positions after rebuild (-want +got):\n%s", d)
	}
}

// A file edited while the lint runs must not move findings to unrelated
// lines: each job's mapping stays at the line the lint checked.
func TestRebuildOfChangedFileKeepsJobLines(t *testing.T) {
	f := checkedFile(t, treeJobs)
	if err := os.WriteFile(f.path, []byte("periodics:\n- name: other\n  interval: 2h\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []pos
	for _, j := range f.jobs {
		n := j.node()
		got = append(got, pos{n.Line, n.Column})
		if k := keyOf(n, "spec"); k != nil {
			t.Errorf("job %s: a key from the edited file, at line %d", j.name, k.Line)
		}
	}
	if d := cmp.Diff([]pos{{3, 5}, {9, 3}}, got); d != "" {
		t.Errorf("job positions (-want +got):\n%s", d)
	}
}
