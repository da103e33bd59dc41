package lint

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/prow/pkg/config"
	syaml "sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/hack/bench/corpus"
)

// convertSeeds are YAML inputs where YAML 1.1 and 1.2, or sigs.k8s.io/yaml's
// target-driven string conversion, make a difference.
var convertSeeds = []string{
	goodJob,
	goodPeriodic,
	"presubmits:\n  a/b:\n  - name: x\n    labels:\n      yes: on\n      n: off\n      k: ~\n",
	"presubmits:\n  a/b:\n  - name: 123\n",
	"presubmits:\n  a/b:\n  - name: x\n    always_run: yes\n    optional: on\n    skip_report: n\n",
	"periodics:\n- name: x\n  tags: [yes, no, on, off, y, n, 0777, 0x1F, 1_000, 0b101, -0b11, 2024-01-02, 2024-1-2 10:00:00, 1.5, .5, 1e3, +12, 12:30, 9223372036854775808, ~, '']\n",
	"periodics:\n- name: x\n  labels: {yes: \"a\", 12: \"b\", 1.5: \"c\", 2024-01-02: \"d\", off: \"e\", 0x10: \"f\"}\n",
	"periodics:\n- name: x\n  minimum_interval: 10\n  cron: 1.25\n",
	"presubmits:\n  a/b:\n  - name: x\n    labels: {a: true}\n",
	"periodics:\n- name: x\n  interval: 8\n  cron: 0777\n  tags: [1_000, 0x1F, 0b101, 2024-01-02, 1.5, .5, -.inf]\n",
	"periodics:\n- name: x\n  interval: 1.5\n",
	"periodics:\n- name: x\n  interval: .inf\n",
	"periodics:\n- name: !!str 123\n  cron: !!int \"5\"\n",
	"periodics:\n- name: x\n  annotations: {2024-01-02: d, 1.5: f, true: t, 12: i}\n",
	"periodics:\n- name: x\n  annotations: {~: null}\n",
	"base: &b\n  decorate: true\n  labels: {a: b}\nperiodics:\n- <<: *b\n  name: x\n  decorate: false\n- name: y\n  <<: [*b, {name: z}]\n",
	"periodics:\n- Name: x\n  INTERVAL: 1h\n  Spec: {containers: [{image: a, Args: [1, true]}]}\n",
	"periodics:\n- name: x\n  name: y\n  spec:\n    containers:\n    - image: 3\n",
	"periodics:\n- name: x\n  spec:\n    containers:\n    - resources: {requests: {cpu: 1, memory: 1.5}}\n      ports: [{containerPort: \"80\"}]\n",
	"postsubmits:\n  a/b:\n  - name: x\n    max_concurrency: \"3\"\n    run_if_changed: 12\n    branches: [1.0, yes]\n",
	"presets:\n- labels: {a: 1}\n  env: [{name: A, value: 1}]\n",
	"periodics:\n- name: \"caf\\u00e9 <&>\"\n  extra_refs: [{org: o, repo: r, base_ref: 010}]\n",
	"periodics: []\npresubmits: {}\n",
	"periodics:\n- name: x\n  decoration_config: {timeout: 2h, grace_period: 30}\n",
	"periodics:\n- name: x\n  reporter_config: {slack: {channel: 12}}\n  rerun_auth_config: {github_users: [a, 1]}\n",
	"periodics:\n- !!binary aGVsbG8=\n",
	"periodics:\n- name: x\n  labels: !!map {a: b}\n",
	"periodics:\n- name: ! 12\n  interval: ! 1h\n",
	"periodics:\n- name: x\n  tags: [\"if ! make; then exit 1; fi\", yes]\n",
	"periodics:\n- name: x\n  decorate: ~\n  decoration_config: null\n  max_concurrency: ~\n  spec:\n    containers: ~\n",
	"periodics:\n- cluster: a\n  Cluster: b\n",
	"presubmits:\n  a/b:\n  - name: x\n    optional: true\n    Optional: false\n",
	"periodics:\n- name: x\n  spec:\n    containers: []\n  Spec:\n    containers:\n    - {image: a, Image: b}\n",
	"periodics:\n- name: x\n  max_concurrency: 2.0\n  spec: {containers: [{image: a, ports: [{containerPort: 1e3}, {containerPort: 80.5}]}]}\n",
}

// checkSameAsProw asserts our single-parse decode equals Prow's decoder.
func checkSameAsProw(t *testing.T, data []byte) {
	t.Helper()
	var want config.JobConfig
	wantErr := syaml.Unmarshal(data, &want)
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return // not YAML for yaml.v3: reported as a syntax error, Prow's decoder never consulted
	}
	var got config.JobConfig
	err := decodeLikeProw(&typeCache{}, data, &doc, &got)
	b, _ := toJSON(&typeCache{}, &doc, jobConfigType)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("input:\n%s\nProw's decoder error: %v\nours: %v (json %s)", data, wantErr, err, b)
	}
	if err == nil && !reflect.DeepEqual(want, got) {
		wj, _ := json.Marshal(want)
		gj, _ := json.Marshal(got)
		t.Fatalf("input:\n%s\ndecoded differently:\nProw: %s\nours: %s", data, wj, gj)
	}
	// The exported decoder, which parses for itself and remembers what it
	// converted, promises Prow's error too; the second decode of the same
	// bytes goes through its memory.
	var dec JobConfigDecoder
	for range 2 {
		var got config.JobConfig
		err := dec.Decode(data, &got)
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("input:\n%s\nProw's decoder error: %v\nJobConfigDecoder's: %v", data, wantErr, err)
		}
		if err == nil && !reflect.DeepEqual(want, got) {
			wj, _ := json.Marshal(want)
			gj, _ := json.Marshal(got)
			t.Fatalf("input:\n%s\nJobConfigDecoder decoded differently:\nProw: %s\nours: %s", data, wj, gj)
		}
	}
}

func TestConvertMatchesProwDecoder(t *testing.T) {
	for i, s := range convertSeeds {
		t.Run(strconvItoa(i), func(t *testing.T) { checkSameAsProw(t, []byte(s)) })
	}
	// The repository's own job config and a generated corpus.
	paths, _ := filepath.Glob("../../../config/jobs/*/*/*.yaml")
	dir := t.TempDir()
	if _, err := corpus.Generate(dir, 20, 7); err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob(filepath.Join(dir, "jobs", "*", "*", "*.yaml"))
	paths = append(paths, more...)
	if len(more) != 20 {
		t.Fatalf("generated %d files, want 20", len(more))
	}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		checkSameAsProw(t, data)
	}
}

// FuzzConvert holds the single-parse decode equal to Prow's decoder.
func FuzzConvert(f *testing.F) {
	for _, s := range convertSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkSameAsProw(t, data)
	})
}

func strconvItoa(i int) string { return string(rune('a'+i%26)) + string(rune('a'+i/26)) }

// TestAssignerTakesTheCorpus checks that Kubernetes-sized job config (the
// bench corpus) and the repository's own decode straight from the tree,
// with the JSON way's result: otherwise decodeLikeProw would be correct but
// no faster.
func TestAssignerTakesTheCorpus(t *testing.T) {
	dir := t.TempDir()
	if _, err := corpus.Generate(dir, 30, 3); err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "jobs", "*", "*", "*.yaml"))
	own, _ := filepath.Glob("../../../config/jobs/*/*/*.yaml")
	paths = append(paths, own...)
	if len(own) == 0 || len(paths) < 31 {
		t.Fatalf("found %d files (%d of the repository's)", len(paths), len(own))
	}
	types := &typeCache{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var doc yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		var got, want config.JobConfig
		if err := newAssigner(types).value(&doc, target{typ: reflect.PointerTo(jobConfigType)}, reflect.ValueOf(&got).Elem()); err != nil {
			t.Fatalf("%s: the assigner gave up: %v", p, err)
		}
		if err := unmarshalLikeProw(convertLikeProw(types, data, &doc), data, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			gj, _ := json.Marshal(got)
			wj, _ := json.Marshal(want)
			t.Fatalf("%s: assigned differently:\nassigner: %s\nJSON way: %s", p, gj, wj)
		}
	}
}

// TestAssignerFailsWhereTheConverterDoes: where the JSON way gives up (and
// Prow's decoder decides), the assigner must give up too, even for values
// encoding/json would skip.
func TestAssignerFailsWhereTheConverterDoes(t *testing.T) {
	for _, in := range []string{
		"unknown: " + strings.Repeat("[", 999) + strings.Repeat("]", 999) + "\n",
		"periodics:\n- name: x\n  unknown: .nan\n",
		"periodics:\n- name: x\n  unknown: !!binary '%%%'\n",
		"periodics:\n- name: x\n  labels: {a: .inf}\n",
	} {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(in), &doc); err != nil {
			t.Fatal(err)
		}
		types := &typeCache{}
		if _, err := toJSON(types, &doc, jobConfigType); err == nil {
			t.Fatalf("the converter takes %q: the case proves nothing", in)
		}
		var jc config.JobConfig
		if err := newAssigner(types).value(&doc, target{typ: reflect.PointerTo(jobConfigType)}, reflect.ValueOf(&jc).Elem()); err == nil {
			t.Errorf("the assigner took %.60q, which the converter refuses", in)
		}
	}
}
