package touched

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/hack/bench/corpus"
	"github.com/prowctl/prowctl/pkg/mkpj"
)

var update = flag.Bool("update", false, "rewrite testdata/corpus.golden")

// The preset the corpus edits change: corpus gives every word of its list a
// credentials preset in config.yaml, and each job one of them.
const (
	presetLabel = "preset-storage-credentials"
	presetEnv   = "STORAGE_CREDENTIALS"
	presetOld   = "/etc/storage/key.json"
	presetNew   = "/etc/storage/key-v2.json"
	addedName   = "ci-added-by-corpus-test"
)

// corpusEdits is what editCorpus did, by job, for the assertions that do
// not rely on the golden file.
type corpusEdits struct {
	command, moved, removed, added key
	// reindented are the jobs of reindentedFile, written with another
	// indent.
	reindented     []key
	reindentedFile string
}

// On a config shaped like Kubernetes' (hack/bench/corpus), a change mixing
// the edits a config repository sees: one preset's env, one job's command,
// a job moved to a new file, a file re-indented, a job removed, a job
// added. The rendering is pinned by a golden file; what each edit must do
// is checked apart from it, so that a golden refreshed without reading
// still fails on a wrong answer.
func TestJobsOnACorpus(t *testing.T) {
	ctx := context.Background()
	baseDir, headDir := filepath.Join(t.TempDir(), "base"), filepath.Join(t.TempDir(), "head")
	if _, err := corpus.Generate(baseDir, 40, 1); err != nil {
		t.Fatal(err)
	}
	copyDir(t, baseDir, headDir)
	ed := editCorpus(t, headDir)
	// A re-encoding that changed nothing would leave the re-indent untested.
	rel, err := filepath.Rel(headDir, ed.reindentedFile)
	if err != nil {
		t.Fatal(err)
	}
	if b, h := readFile(t, filepath.Join(baseDir, rel)), readFile(t, ed.reindentedFile); bytes.Equal(b, h) || !bytes.Contains(h, []byte("\n        - name: ")) {
		t.Fatalf("%s is not re-indented:\n%s", rel, h)
	}

	base, err := mkpj.LoadAll(filepath.Join(baseDir, "config.yaml"), filepath.Join(baseDir, "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	head, err := mkpj.LoadAll(filepath.Join(headDir, "config.yaml"), filepath.Join(headDir, "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Jobs(ctx, base, head)
	if err != nil {
		t.Fatal(err)
	}

	golden := filepath.Join("testdata", "corpus.golden")
	text := render(got)
	if *update {
		if err := os.WriteFile(golden, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), text); diff != "" {
		t.Errorf("%s differs (-want +got); go test -update refreshes it:\n%s", golden, diff)
	}

	byKey := map[key]Change{}
	for _, c := range got {
		byKey[key{c.Type, c.Repo, c.Job}] = c
	}
	// Jobs touched by the preset alone, against the jobs Prow's own
	// preset matching (every label of the preset on the job) gives it to.
	envPath := regexp.MustCompile(`^pod_spec\.containers\[[^]]+\]\.env\[` + presetEnv + `\]\.value$`)
	presetOnly := map[key]bool{}
	for k, c := range byKey {
		if c.Status != Changed {
			continue
		}
		only := len(c.Diff) > 0
		for _, f := range c.Diff {
			if !envPath.MatchString(f.Path) || f.Old != fmt.Sprintf("%q", presetOld) || f.New != fmt.Sprintf("%q", presetNew) {
				only = false
			}
		}
		if only {
			presetOnly[k] = true
		}
	}
	carrying := jobsWithPreset(t, head)
	if len(carrying) < 3 {
		t.Fatalf("only %d job(s) carry %s: the corpus no longer exercises a preset", len(carrying), presetLabel)
	}
	if diff := cmp.Diff(carrying, presetOnly); diff != "" {
		t.Errorf("jobs touched by the preset alone (-jobs carrying its labels +touched):\n%s", diff)
	}

	for _, k := range append([]key{ed.moved}, ed.reindented...) {
		if c, ok := byKey[k]; ok {
			t.Errorf("%v was moved or re-indented, not changed, yet touched: %+v", k, c)
		}
	}
	if c := byKey[ed.removed]; c.Status != Removed {
		t.Errorf("removed job %v: %+v, want status %s", ed.removed, c, Removed)
	}
	if c := byKey[ed.added]; c.Status != New {
		t.Errorf("added job %v: %+v, want status %s", ed.added, c, New)
	}
	wantCommand := []Field{{Path: "pod_spec.containers[0].command[0]", Old: `"runner.sh"`, New: `"runner-v2.sh"`}}
	if c := byKey[ed.command]; c.Status != Changed || !cmp.Equal(c.Diff, wantCommand) {
		t.Errorf("job with a new command %v: %+v, want changed with %+v", ed.command, c, wantCommand)
	}
	// Nothing else: every touched job is one of the edits.
	for k, c := range byKey {
		if !presetOnly[k] && k != ed.command && k != ed.removed && k != ed.added {
			t.Errorf("touched by no edit: %+v", c)
		}
	}
}

// render is one line per change: status, type, repo, job and the paths of
// the changed fields.
func render(changes []Change) string {
	var b strings.Builder
	for _, c := range changes {
		repo := c.Repo
		if repo == "" {
			repo = "-"
		}
		var paths []string
		for _, f := range c.Diff {
			paths = append(paths, f.Path)
		}
		fmt.Fprintf(&b, "%s %s %s %s", c.Status, c.Type, repo, c.Job)
		if len(paths) > 0 {
			fmt.Fprintf(&b, " %s", strings.Join(paths, " "))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// jobsWithPreset is every job of c that Prow gives the preset defining
// presetEnv: the jobs carrying all of its labels.
func jobsWithPreset(t testing.TB, c *config.Config) map[key]bool {
	t.Helper()
	var labels map[string]string
	for _, p := range c.Presets {
		for _, e := range p.Env {
			if e.Name == presetEnv {
				labels = p.Labels
			}
		}
	}
	if labels == nil {
		t.Fatalf("no preset sets %s", presetEnv)
	}
	carries := func(l map[string]string) bool {
		for k, v := range labels {
			if l[k] != v {
				return false
			}
		}
		return true
	}
	out := map[key]bool{}
	for repo, js := range c.PresubmitsStatic {
		for _, j := range js {
			if carries(j.Labels) {
				out[key{"presubmit", repo, j.Name}] = true
			}
		}
	}
	for repo, js := range c.PostsubmitsStatic {
		for _, j := range js {
			if carries(j.Labels) {
				out[key{"postsubmit", repo, j.Name}] = true
			}
		}
	}
	for _, j := range c.Periodics {
		if carries(j.Labels) {
			out[key{"periodic", "", j.Name}] = true
		}
	}
	return out
}

// editCorpus makes the change in dir (a generated corpus), every edit on
// the YAML tree, each in a file of its own. The jobs it edits, moves and
// adds carry no preset label, so that what the preset touches stays apart.
func editCorpus(t *testing.T, dir string) corpusEdits {
	t.Helper()
	var ed corpusEdits

	cfg := filepath.Join(dir, "config.yaml")
	doc := readYAML(t, cfg)
	edited := false
	for _, p := range get(doc, "presets").Content {
		if get(get(p, "labels"), presetLabel) == nil {
			continue
		}
		for _, e := range get(p, "env").Content {
			if v := get(e, "value"); get(e, "name").Value == presetEnv && v.Value == presetOld {
				v.Value = presetNew
				edited = true
			}
		}
	}
	if !edited {
		t.Fatalf("%s: no preset %s with %s=%s", cfg, presetLabel, presetEnv, presetOld)
	}
	writeYAML(t, cfg, doc, 2)

	var files []string
	err := filepath.WalkDir(filepath.Join(dir, "jobs"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	// Each edit takes the first file, not yet taken, that has a job it can
	// make: in the order of the files, so the choice is the same each run.
	next := 0
	take := func(what string, pick func(doc *yaml.Node) bool) (string, *yaml.Node) {
		t.Helper()
		for ; next < len(files); next++ {
			doc := readYAML(t, files[next])
			if pick(doc) {
				next++
				return files[next-1], doc
			}
		}
		t.Fatalf("no file left to %s", what)
		return "", nil
	}

	var moved *yaml.Node
	var movedRepo string
	path, doc := take("change a command", func(doc *yaml.Node) bool {
		repo, j := firstJob(doc, "presubmits")
		if j == nil {
			return false
		}
		c := get(get(get(j, "spec"), "containers").Content[0], "command").Content[0]
		if c.Value != "runner.sh" {
			return false
		}
		c.Value = "runner-v2.sh"
		ed.command = key{"presubmit", repo, get(j, "name").Value}
		return true
	})
	writeYAML(t, path, doc, 2)

	path, doc = take("move a job from", func(doc *yaml.Node) bool {
		movedRepo, moved = firstJob(doc, "presubmits")
		if moved == nil {
			return false
		}
		jobs := get(get(doc, "presubmits"), movedRepo)
		jobs.Content = without(jobs.Content, moved)
		ed.moved = key{"presubmit", movedRepo, get(moved, "name").Value}
		return true
	})
	writeYAML(t, path, doc, 2)
	// A new file in a directory of its own: Prow merges a repository's
	// jobs from every file.
	movedDoc := mapping("presubmits", mapping(movedRepo, &yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{moved}}))
	if err := os.MkdirAll(filepath.Join(dir, "jobs", "moved"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeYAML(t, filepath.Join(dir, "jobs", "moved", "moved.yaml"), &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{movedDoc}}, 2)

	path, doc = take("re-indent", func(doc *yaml.Node) bool {
		ks := jobsOf(doc)
		for _, j := range ks {
			if hasPreset(j.node) {
				return false
			}
		}
		for _, j := range ks {
			ed.reindented = append(ed.reindented, j.key)
		}
		return len(ks) > 0
	})
	writeYAML(t, path, doc, 4)
	ed.reindentedFile = path

	path, doc = take("remove a job from", func(doc *yaml.Node) bool {
		repo, j := firstJob(doc, "postsubmits")
		if j == nil {
			return false
		}
		jobs := get(get(doc, "postsubmits"), repo)
		jobs.Content = without(jobs.Content, j)
		ed.removed = key{"postsubmit", repo, get(j, "name").Value}
		return true
	})
	writeYAML(t, path, doc, 2)

	path, doc = take("add a job to", func(doc *yaml.Node) bool {
		_, j := firstJob(doc, "periodics")
		if j == nil {
			return false
		}
		added := deepCopy(j)
		get(added, "name").Value = addedName
		get(get(added, "annotations"), "testgrid-tab-name").Value = addedName
		ps := get(doc, "periodics")
		ps.Content = append(ps.Content, added)
		ed.added = key{"periodic", "", addedName}
		return true
	})
	writeYAML(t, path, doc, 2)
	return ed
}

type jobNode struct {
	key  key
	node *yaml.Node
}

// jobsOf lists the jobs of a job config file.
func jobsOf(doc *yaml.Node) []jobNode {
	var out []jobNode
	for _, typ := range []string{"presubmits", "postsubmits"} {
		m := get(doc, typ)
		if m == nil {
			continue
		}
		for i := 0; i+1 < len(m.Content); i += 2 {
			for _, j := range m.Content[i+1].Content {
				out = append(out, jobNode{key{strings.TrimSuffix(typ, "s"), m.Content[i].Value, get(j, "name").Value}, j})
			}
		}
	}
	if ps := get(doc, "periodics"); ps != nil {
		for _, j := range ps.Content {
			out = append(out, jobNode{key{"periodic", "", get(j, "name").Value}, j})
		}
	}
	return out
}

// firstJob is the first job of type typ in doc that carries no preset
// label, with its repository ("" for periodics).
func firstJob(doc *yaml.Node, typ string) (string, *yaml.Node) {
	for _, j := range jobsOf(doc) {
		if j.key.typ+"s" == typ && !hasPreset(j.node) {
			return j.key.repo, j.node
		}
	}
	return "", nil
}

func hasPreset(job *yaml.Node) bool { return get(get(job, "labels"), presetLabel) != nil }

// get is the value of key in the mapping n (n a document: its mapping),
// nil when absent.
func get(n *yaml.Node, key string) *yaml.Node {
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func mapping(key string, value *yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: key}, value}}
}

func without(ns []*yaml.Node, drop *yaml.Node) []*yaml.Node {
	var out []*yaml.Node
	for _, n := range ns {
		if n != drop {
			out = append(out, n)
		}
	}
	return out
}

func deepCopy(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = nil
	for _, k := range n.Content {
		c.Content = append(c.Content, deepCopy(k))
	}
	return &c
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readYAML(t testing.TB, path string) *yaml.Node {
	t.Helper()
	b := readFile(t, path)
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return &doc
}

func writeYAML(t testing.TB, path string, doc *yaml.Node, indent int) {
	t.Helper()
	var b bytes.Buffer
	e := yaml.NewEncoder(&b)
	e.SetIndent(indent)
	if err := e.Encode(doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
