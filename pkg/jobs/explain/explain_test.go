package explain

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/pkg/mkpj"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

const (
	testConfig  = "testdata/config.yaml"
	testJobs    = "testdata/jobs"
	testJobFile = "testdata/jobs/example/app.yaml"
	testPresets = "testdata/jobs/presets.yaml"
)

func explainTest(t *testing.T, job string) *Result {
	t.Helper()
	res, err := Explain(context.Background(), Options{ConfigPath: testConfig, JobConfigPath: testJobs, Query: mkpj.Query{Name: job}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestExplainGolden pins the text of three jobs (decorated with presets,
// a spec shared through an anchor, undecorated) and checks that the text,
// comments and all, is YAML that decodes to the pod Prow made.
func TestExplainGolden(t *testing.T) {
	for _, job := range []string{"pull-app-unit", "post-app-unit", "ci-app-undecorated"} {
		t.Run(job, func(t *testing.T) {
			res := explainTest(t, job)
			var out bytes.Buffer
			if err := res.WriteText(&out); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", job+".golden")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), out.String()); diff != "" {
				t.Errorf("%s differs (-want +got); go test -update refreshes it:\n%s", golden, diff)
			}
			var pod corev1.PodSpec
			if err := yaml.UnmarshalStrict(out.Bytes(), &pod); err != nil {
				t.Fatalf("the text is not a pod spec: %v", err)
			}
			if diff := cmp.Diff(res.Pod, pod); diff != "" {
				t.Errorf("the text decodes to another pod spec (-Prow's +text):\n%s", diff)
			}
		})
	}
}

// lineOf is the line of file holding text, the nth (from 1) when several do.
func lineOf(t *testing.T, file, text string, nth int) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, text) {
			if nth--; nth == 0 {
				return i + 1
			}
		}
	}
	t.Fatalf("%s has no %q", file, text)
	return 0
}

func TestExplainSources(t *testing.T) {
	dind := map[string]string{"preset-dind": "true"}
	job := func(text string) Source {
		return Source{Kind: KindJob, File: testJobFile, Line: lineOf(t, testJobFile, text, 1)}
	}
	preset := func(file, text string, nth int, labels map[string]string) Source {
		return Source{Kind: KindPreset, File: file, Line: lineOf(t, file, text, nth), Labels: labels}
	}
	def := func(text, entry, field string) Source {
		return Source{Kind: KindDecorationDefault, File: testConfig, Line: lineOf(t, testConfig, text, 1), Entry: entry, Field: field}
	}
	decorate := Source{Kind: KindDecorate}
	for _, tc := range []struct {
		job, path string
		value     any
		want      Source
	}{
		{"pull-app-unit", "containers[test].image", "golang:1.22", job("image: golang:1.22")},
		// Prow names a lone container and replaces its command with the entrypoint.
		{"pull-app-unit", "containers[test].name", "test", decorate},
		{"pull-app-unit", "containers[test].command[0]", "/tools/entrypoint", decorate},
		{"pull-app-unit", "containers[test].env[GOFLAGS].value", "-mod=readonly", job("value: -mod=readonly")},
		// 0.5 in the file is 500m in the pod.
		{"pull-app-unit", "containers[test].resources.requests.cpu", "500m", job("cpu: 0.5")},
		{"pull-app-unit", "containers[test].resources.limits.cpu", "4", job("cpu: 4")},
		{"pull-app-unit", "volumes[cache].emptyDir", map[string]any{}, job("emptyDir: {}")},
		{"pull-app-unit", "containers[test].env[DOCKER_IN_DOCKER_ENABLED].value", "true", preset(testConfig, `value: "true"`, 1, dind)},
		{"pull-app-unit", "containers[test].env[DOCKER_IN_DOCKER_ENABLED].name", "DOCKER_IN_DOCKER_ENABLED", preset(testConfig, "name: DOCKER_IN_DOCKER_ENABLED", 1, dind)},
		{"pull-app-unit", "containers[test].env[GOCACHE].value", "/cache/go-build", preset(testPresets, "value: /cache/go-build", 1, map[string]string{"preset-go-cache": "true"})},
		{"pull-app-unit", "volumes[docker-graph].emptyDir", map[string]any{}, preset(testConfig, "emptyDir: {}", 1, dind)},
		{"pull-app-unit", "containers[test].volumeMounts[docker-graph].mountPath", "/docker-graph", preset(testConfig, "mountPath: /docker-graph", 1, dind)},
		// The * entry's image: other/repo's does not match.
		{"pull-app-unit", "initContainers[clonerefs].image", "example.com/clonerefs:v1", def("clonerefs: example.com/clonerefs:v1", "*", "utility_images.clonerefs")},
		{"pull-app-unit", "initContainers[place-entrypoint].image", "example.com/entrypoint:v1", def("entrypoint: example.com/entrypoint:v1", "*", "utility_images.entrypoint")},
		// example/app's entry overrides the * entry.
		{"pull-app-unit", "containers[sidecar].image", "example.com/sidecar:v2", def("sidecar: example.com/sidecar:v2", "example/app", "utility_images.sidecar")},
		{"pull-app-unit", "containers[sidecar].resources.requests.cpu", "100m", def("cpu: 0.1", "*", "resources.sidecar.requests.cpu")},
		{"pull-app-unit", "containers[test].resources.requests.memory", "1Gi", def("default_memory_request: 1Gi", "example/app", "default_memory_request")},
		{"pull-app-unit", "volumes[gcs-credentials].secret.secretName", "gcs-credentials", def("gcs_credentials_secret:", "*", "gcs_credentials_secret")},
		{"pull-app-unit", "containers[sidecar].volumeMounts[gcs-credentials].mountPath", "/secrets/gcs", def("gcs_credentials_secret:", "*", "gcs_credentials_secret")},
		{"pull-app-unit", "initContainers[initupload].env[INITUPLOAD_OPTIONS].name", "INITUPLOAD_OPTIONS", def("gcs_configuration:", "*", "gcs_configuration")},
		{"pull-app-unit", "containers[test].env[ENTRYPOINT_OPTIONS].name", "ENTRYPOINT_OPTIONS", def("timeout: 3h", "example/app", "timeout")},
		// The job's own decoration_config wins over the defaults.
		{"pull-app-unit", "terminationGracePeriodSeconds", json.Number("1500"), Source{Kind: KindJob, File: testJobFile, Line: lineOf(t, testJobFile, "grace_period: 20m", 1), Field: "grace_period"}},
		{"pull-app-unit", "restartPolicy", "Never", decorate},
		{"pull-app-unit", "containers[test].env[PULL_BASE_REF].value", "main", decorate},
		// Through the anchor: the lines of the presubmit's spec.
		{"post-app-unit", "containers[test].image", "golang:1.22", job("image: golang:1.22")},
		{"post-app-unit", "terminationGracePeriodSeconds", json.Number("1125"), def("grace_period: 15m", "*", "grace_period")},
		{"ci-app-undecorated", "containers[test].env[GOOGLE_APPLICATION_CREDENTIALS].value", "/etc/service-account/service-account.json", preset(testConfig, "value: /etc/service-account/service-account.json", 1, map[string]string{"preset-service-account": "true"})},
		// 0400 is octal to Prow's YAML 1.1 decoder, yes a boolean.
		{"ci-app-undecorated", "containers[test].securityContext.runAsUser", json.Number("256"), job("runAsUser: 0400")},
		{"ci-app-undecorated", "containers[test].securityContext.privileged", true, job("privileged: yes")},
		{"ci-app-undecorated", "containers[test].command[1]", "hi", job("command: [echo, hi]")},
	} {
		t.Run(tc.job+"/"+tc.path, func(t *testing.T) {
			res := explainTest(t, tc.job)
			for _, f := range res.Fields {
				if f.Path == tc.path {
					if diff := cmp.Diff(Field{Path: tc.path, Value: tc.value, Source: tc.want}, f); diff != "" {
						t.Errorf("(-want +got):\n%s", diff)
					}
					return
				}
			}
			t.Errorf("no field %s", tc.path)
		})
	}
}

// TestExplainEveryField checks every field of each job: the list holds each
// leaf of Prow's pod spec once, with its value; every source with a line
// points at a line that names the field; and each job gets only the
// sources it can.
func TestExplainEveryField(t *testing.T) {
	for _, tc := range []struct {
		job string
		// kinds is how many fields each kind of source gave.
		kinds map[string]int
	}{
		{"pull-app-unit", map[string]int{KindJob: 10, KindPreset: 8, KindDecorationDefault: 20, KindDecorate: 84}},
		{"post-app-unit", map[string]int{KindJob: 9, KindDecorationDefault: 21, KindDecorate: 78}},
		{"ci-app-undecorated", map[string]int{KindJob: 7, KindPreset: 2, KindDecorate: 19}},
	} {
		t.Run(tc.job, func(t *testing.T) {
			res := explainTest(t, tc.job)
			want := leaves(t, res.Pod)
			got := map[string]any{}
			kinds := map[string]int{}
			for _, f := range res.Fields {
				if _, dup := got[f.Path]; dup {
					t.Errorf("%s listed twice", f.Path)
				}
				got[f.Path] = f.Value
				kinds[f.Source.Kind]++
				checkLine(t, f)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("fields differ from the pod spec's leaves (-pod +fields):\n%s", diff)
			}
			if diff := cmp.Diff(tc.kinds, kinds); diff != "" {
				t.Errorf("fields by kind of source (-want +got):\n%s", diff)
			}
		})
	}
}

// checkLine checks that the line a source names names the field: its last
// key, or for a decoration field the config field's.
func checkLine(t *testing.T, f Field) {
	t.Helper()
	s := f.Source
	if s.Kind == KindDecorate {
		if s.File != "" || s.Line != 0 {
			t.Errorf("%s: decorate with a position: %+v", f.Path, s)
		}
		return
	}
	b, err := os.ReadFile(s.File)
	if err != nil {
		t.Fatalf("%s: %v", f.Path, err)
	}
	lines := strings.Split(string(b), "\n")
	if s.Line < 1 || s.Line > len(lines) {
		t.Fatalf("%s: line %d of %s", f.Path, s.Line, s.File)
	}
	key := s.Field
	if key == "" {
		key = f.Path
	}
	parts := strings.FieldsFunc(key, func(r rune) bool { return r == '.' || r == '[' || r == ']' })
	last := parts[len(parts)-1]
	if strings.HasSuffix(key, "]") {
		// An item of a list of scalars: its line names the list or holds
		// the item.
		last = parts[len(parts)-2]
		if l := lines[s.Line-1]; strings.HasPrefix(strings.TrimSpace(l), "- ") {
			return
		}
	}
	if l := lines[s.Line-1]; !strings.Contains(l, last+":") {
		t.Errorf("%s: %s:%d is %q, which does not name %s", f.Path, s.File, s.Line, l, last)
	}
}

// leaves are the leaves of spec by the paths Field uses, found apart from
// the package's own walk.
func leaves(t *testing.T, spec corev1.PodSpec) map[string]any {
	b, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if len(v) == 0 {
				out[path] = v
			}
			for k, c := range v {
				walk(strings.TrimPrefix(path+"."+k, "."), c)
			}
		case []any:
			if len(v) == 0 {
				out[path] = v
			}
			names := map[string]bool{}
			for _, c := range v {
				if m, ok := c.(map[string]any); ok {
					if n, ok := m["name"].(string); ok && n != "" {
						names[n] = true
					}
				}
			}
			for i, c := range v {
				key := fmt.Sprint(i)
				if len(names) == len(v) {
					key = c.(map[string]any)["name"].(string)
				}
				walk(path+"["+key+"]", c)
			}
		default:
			out[path] = v
		}
	}
	walk("", v)
	return out
}

// TestExplainDefaultDecorationMap: the older map form of the defaults
// (Prow merges "*", then orgs, then repos), and a job in the Prow config
// itself.
func TestExplainDefaultDecorationMap(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte(`plank:
  default_decoration_configs:
    example/app:
      utility_images:
        sidecar: example.com/sidecar:repo
    '*':
      timeout: 1h
      grace_period: 1m
      utility_images:
        clonerefs: example.com/clonerefs:star
        initupload: example.com/initupload:star
        entrypoint: example.com/entrypoint:star
        sidecar: example.com/sidecar:star
      gcs_configuration:
        bucket: b
        path_strategy: explicit
      gcs_credentials_secret: gcs
    example:
      utility_images:
        clonerefs: example.com/clonerefs:org
presubmits:
  example/app:
  - name: unit
    decorate: true
    always_run: true
    spec:
      containers:
      - image: golang
        command: [go, test]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := Explain(context.Background(), Options{ConfigPath: cfg, Query: mkpj.Query{Name: "unit"}})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Source{}
	for _, f := range res.Fields {
		got[f.Path] = f.Source
	}
	want := map[string]Source{
		"containers[test].image":           {Kind: KindJob, File: cfg, Line: 28},
		"initContainers[clonerefs].image":  {Kind: KindDecorationDefault, File: cfg, Line: 20, Field: "utility_images.clonerefs", Entry: "example"},
		"initContainers[initupload].image": {Kind: KindDecorationDefault, File: cfg, Line: 11, Field: "utility_images.initupload", Entry: "*"},
		"containers[sidecar].image":        {Kind: KindDecorationDefault, File: cfg, Line: 5, Field: "utility_images.sidecar", Entry: "example/app"},
		"terminationGracePeriodSeconds":    {Kind: KindDecorationDefault, File: cfg, Line: 8, Field: "grace_period", Entry: "*"},
	}
	for path, w := range want {
		if diff := cmp.Diff(w, got[path]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", path, diff)
		}
	}
	if res.JobFile != cfg || res.JobLine != 23 {
		t.Errorf("job at %s:%d, want %s:23", res.JobFile, res.JobLine, cfg)
	}
}

func TestExplainErrors(t *testing.T) {
	_, err := Explain(context.Background(), Options{ConfigPath: testConfig, JobConfigPath: testJobs, Query: mkpj.Query{Name: "pull-app-unti"}})
	var nf *mkpj.NotFoundError
	if !errors.As(err, &nf) || err.Error() != "no job pull-app-unti; did you mean pull-app-unit?" {
		t.Errorf("a misspelt job: %v", err)
	}

	dir := t.TempDir()
	jobs := filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(jobs, []byte("periodics:\n- name: p\n  interval: 1h\n  spec:\n    containers:\n    - image: [x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Explain(context.Background(), Options{ConfigPath: testConfig, JobConfigPath: jobs, Query: mkpj.Query{Name: "p"}})
	if err == nil || !strings.HasPrefix(err.Error(), jobs+":6:") || strings.Contains(err.Error(), "\n") {
		t.Errorf("a job config that is not YAML: %v, want one line at %s:6", err, jobs)
	}

	if err := os.WriteFile(jobs, []byte("periodics:\n- name: p\n  interval: 1h\n  agent: jenkins\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Explain(context.Background(), Options{ConfigPath: testConfig, JobConfigPath: jobs, Query: mkpj.Query{Name: "p"}})
	if err == nil || !strings.Contains(err.Error(), "job p (periodic in "+jobs+") has no pod spec (agent jenkins)") {
		t.Errorf("a job with no pod: %v", err)
	}
}
