package argo

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/prow/pkg/clonerefs"
	"sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/steps"
	"github.com/prowctl/prowctl/pkg/jobpreset"
	"github.com/prowctl/prowctl/pkg/printer"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got); go test -update refreshes it:\n%s", path, d)
	}
}

const (
	testImage   = "gcr.io/mlkube-testing/builder:v20180207-c4bd9d7b"
	testWorkDir = DefaultWorkDirRoot + "tensorflow/k8s"
	// A presubmit's JOB_SPEC as Prow's pod utilities set it (indented, to
	// show the export compacts it).
	testJobSpec = `{
  "type": "presubmit",
  "job": "tf-k8s-presubmit",
  "buildid": "1866223386540453888",
  "prowjobid": "9a3c2d3e-6f7e-4b1c-9d2a-7e1f0c5b8a44",
  "refs": {"org": "tensorflow", "repo": "k8s", "base_ref": "master", "base_sha": "5e7c3a1",
    "pulls": [{"number": 42, "author": "alice", "sha": "feedbee"}]},
  "decoration_config": {
    "utility_images": {"clonerefs": "us-docker.pkg.dev/k8s-infra-prow/images/clonerefs:v20240619-cfb8754e0"},
    "ssh_key_secrets": ["ssh-secret"],
    "oauth_token_secret": {"name": "oauth-token", "key": "token"}
  }
}`
)

// exportCase is a pipeline and the options it is exported with.
type exportCase struct {
	name string
	file string // from the repository's root
	opts Options
}

func exportCases() []exportCase {
	local := func(file string) Options {
		return Options{Image: testImage, WorkDir: testWorkDir, PipelinePath: file}
	}
	retries := local("pkg/e2e/argo/testdata/retries.yaml")
	retries.StorageClass, retries.VolumeSize = "standard-rwo", "20Gi"
	return []exportCase{
		// Checked out by the job spec's clonerefs, into testWorkDir.
		{"config-e2e", "config/e2e.yaml", Options{
			Image: testImage, PipelinePath: "config/e2e.yaml",
			Namespace: "argo", ServiceAccount: "prowctl-e2e",
			JobSpec:         testJobSpec,
			Registry:        "registry.example.com:5000",
			ClusterProvider: "in-cluster",
			Upload:          "gs://tf-k8s-prow-artifacts",
			Env:             []EnvVar{{Name: "GOOGLE_APPLICATION_CREDENTIALS", Value: "/etc/service-account/service-account.json"}},
			SecretVolumes:   []SecretVolume{{Secret: "service-account", MountPath: "/etc/service-account"}},
		}},
		{"parallel", "pkg/e2e/argo/testdata/parallel.yaml", local("pkg/e2e/argo/testdata/parallel.yaml")},
		{"failing", "pkg/e2e/argo/testdata/failing.yaml", local("pkg/e2e/argo/testdata/failing.yaml")},
		{"retries", "pkg/e2e/argo/testdata/retries.yaml", retries},
		{"timeout", "pkg/e2e/argo/testdata/timeout.yaml", local("pkg/e2e/argo/testdata/timeout.yaml")},
	}
}

func loadPipeline(t *testing.T, file string) *e2e.Pipeline {
	t.Helper()
	p, err := e2e.LoadPipeline(filepath.Join("../../..", file), steps.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func export(t *testing.T, tc exportCase) []byte {
	t.Helper()
	wf, _, err := Export(loadPipeline(t, tc.file), tc.opts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := printer.Marshal(wf, "yaml")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGolden pins the whole Workflow of each pipeline; go test -update
// rewrites the files, to be read in the diff.
func TestGolden(t *testing.T) {
	for _, tc := range exportCases() {
		t.Run(tc.name, func(t *testing.T) {
			out := export(t, tc)
			golden(t, tc.name+".golden", out)
			// The same options give the same bytes.
			if again := export(t, tc); string(again) != string(out) {
				t.Errorf("a second export differs:\n%s", cmp.Diff(string(out), string(again)))
			}
		})
	}
	// -o json: the same object, as pkg/printer indents it.
	tc := exportCases()[0]
	wf, _, err := Export(loadPipeline(t, tc.file), tc.opts)
	if err != nil {
		t.Fatal(err)
	}
	out, err := printer.Marshal(wf, "json")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "config-e2e.json.golden", out)
}

// TestStructure reads each exported Workflow back, by Argo's field names,
// and checks it against the pipeline: the main DAG's edges are the regular
// steps' needs, the exit handler holds the finalizers with the needs among
// themselves (any result), and each step's template has its timeout,
// retries, command, volume and environment.
func TestStructure(t *testing.T) {
	for _, tc := range exportCases() {
		t.Run(tc.name, func(t *testing.T) {
			p := loadPipeline(t, tc.file)
			var wf map[string]any
			if err := yaml.Unmarshal(export(t, tc), &wf); err != nil {
				t.Fatal(err)
			}
			if wf["apiVersion"] != "argoproj.io/v1alpha1" || wf["kind"] != "Workflow" {
				t.Errorf("apiVersion %v, kind %v", wf["apiVersion"], wf["kind"])
			}
			spec := obj(t, wf, "spec")
			templates := map[string]map[string]any{}
			for _, tm := range list(t, spec, "templates") {
				m := tm.(map[string]any)
				templates[m["name"].(string)] = m
			}
			entry := templates[spec["entrypoint"].(string)]
			if entry == nil {
				t.Fatalf("no entrypoint template %v", spec["entrypoint"])
			}

			// Both DAGs run every branch they can, whatever failed.
			for _, name := range []any{spec["entrypoint"], spec["onExit"]} {
				if name == nil {
					continue
				}
				if ff, ok := obj(t, templates[name.(string)], "dag")["failFast"].(bool); !ok || ff {
					t.Errorf("%v: failFast %v, want false", name, ff)
				}
			}

			// Edges of the main DAG, and of the exit handler.
			gotMain := map[string][]string{}
			for _, task := range list(t, obj(t, entry, "dag"), "tasks") {
				m := task.(map[string]any)
				if m["depends"] != nil {
					t.Errorf("main task %v uses depends: want dependencies, so a failure skips what needs it", m["name"])
				}
				var deps []string
				for _, d := range listOrNil(m, "dependencies") {
					deps = append(deps, d.(string))
				}
				gotMain[m["name"].(string)] = deps
				if m["template"] != m["name"] {
					t.Errorf("task %v runs template %v", m["name"], m["template"])
				}
			}
			gotExit := map[string][]string{}
			if onExit, ok := spec["onExit"].(string); ok {
				for _, task := range list(t, obj(t, templates[onExit], "dag"), "tasks") {
					m := task.(map[string]any)
					gotExit[m["name"].(string)] = dependsOn(t, m)
				}
			}
			// A job spec with refs is checked out first: the steps that
			// need none need the checkout.
			checkout := tc.opts.JobSpec != ""
			wantMain, wantExit := map[string][]string{}, map[string][]string{}
			if checkout {
				wantMain[CheckoutTemplate] = nil
			}
			for _, s := range p.Steps {
				if !s.Always {
					wantMain[s.Name] = s.Needs
					if checkout && len(s.Needs) == 0 {
						wantMain[s.Name] = []string{CheckoutTemplate}
					}
					continue
				}
				var needs []string
				for _, n := range s.Needs {
					if p.Lookup(n).Always {
						needs = append(needs, n)
					}
				}
				wantExit[s.Name] = needs
			}
			if d := cmp.Diff(wantMain, gotMain); d != "" {
				t.Errorf("main DAG (-needs +edges):\n%s", d)
			}
			if d := cmp.Diff(wantExit, gotExit); d != "" {
				t.Errorf("exit handler (-needs +edges):\n%s", d)
			}

			claim := obj(t, list(t, spec, "volumeClaimTemplates")[0].(map[string]any), "metadata")["name"]
			for _, s := range p.Steps {
				tm := templates[s.Name]
				if tm == nil {
					t.Errorf("no template for step %s", s.Name)
					continue
				}
				var deadline int64
				if s.Timeout > 0 {
					deadline = int64((s.Timeout*time.Duration(s.Retries+1) + DeadlineSlack) / time.Second)
				}
				if got := number(tm["activeDeadlineSeconds"]); got != deadline {
					t.Errorf("%s: activeDeadlineSeconds %d, want %d (timeout %s, retries %d)", s.Name, got, deadline, s.Timeout, s.Retries)
				}
				if s.Retries == 0 {
					if tm["retryStrategy"] != nil {
						t.Errorf("%s: retryStrategy %v without retries", s.Name, tm["retryStrategy"])
					}
				} else if rs := obj(t, tm, "retryStrategy"); number(rs["limit"]) != int64(s.Retries) || rs["retryPolicy"] != RetryPolicy {
					t.Errorf("%s: retryStrategy %v, want limit %d", s.Name, rs, s.Retries)
				}
				c := obj(t, tm, "container")
				var cmd []string
				for _, a := range list(t, c, "command") {
					cmd = append(cmd, a.(string))
				}
				// --results: the upload step's results are every pod's.
				wantCmd := []string{"prowctl", "e2e", "step", s.Name, "--results", "--pipeline", tc.opts.PipelinePath}
				switch {
				case s.Uses == "registry" && tc.opts.Registry != "":
					wantCmd[6] = RegistryPipelineDir + "/" + s.Name + ".yaml"
				case s.Uses == e2e.UploadKindName && tc.opts.Upload != "":
					wantCmd = append(wantCmd, "--upload", tc.opts.Upload)
				}
				if d := cmp.Diff(wantCmd, cmd); d != "" {
					t.Errorf("%s: command (-want +got):\n%s", s.Name, d)
				}
				workDir := tc.opts.WorkDir
				if checkout && workDir == "" {
					workDir = testWorkDir // the refs' clone
				}
				if c["image"] != tc.opts.Image || c["workingDir"] != workDir {
					t.Errorf("%s: image %v in %v", s.Name, c["image"], c["workingDir"])
				}
				env := map[string]any{}
				for _, e := range list(t, c, "env") {
					m := e.(map[string]any)
					env[m["name"].(string)] = m["value"]
				}
				if env["ARTIFACTS"] != ArtifactsDir || env["XDG_CACHE_HOME"] != CacheDir || env["JOB_SPEC"] == nil {
					t.Errorf("%s: env %v", s.Name, env)
				}
				at := map[string]any{}
				for _, vm := range list(t, c, "volumeMounts") {
					m := vm.(map[string]any)
					if m["name"] == claim {
						at[m["mountPath"].(string)] = m["subPath"]
					}
				}
				wantAt := map[string]any{ArtifactsDir: "artifacts", CacheDir: "cache"}
				if checkout {
					wantAt[CodeDir] = "code"
				}
				if d := cmp.Diff(wantAt, at); d != "" {
					t.Errorf("%s: the claim's mounts (-want +got):\n%s", s.Name, d)
				}
			}
		})
	}
}

// dependsOn returns the tasks a finalizer's depends names, each of which
// must accept every result (a finalizer runs whatever happened).
func dependsOn(t *testing.T, task map[string]any) []string {
	t.Helper()
	expr, _ := task["depends"].(string)
	if task["dependencies"] != nil {
		t.Errorf("exit task %v uses dependencies: a failed finalizer would skip the next", task["name"])
	}
	if expr == "" {
		return nil
	}
	var names []string
	for _, term := range strings.Split(expr, " && ") {
		m := regexp.MustCompile(`^\(([-a-zA-Z0-9]+)\.Succeeded \|\| ([-a-zA-Z0-9]+)\.Failed \|\| ([-a-zA-Z0-9]+)\.Errored\)$`).FindStringSubmatch(term)
		if m == nil || m[1] != m[2] || m[2] != m[3] {
			t.Errorf("exit task %v: depends term %q does not accept every result of one task", task["name"], term)
			continue
		}
		names = append(names, m[1])
	}
	return names
}

func obj(t *testing.T, m map[string]any, key string) map[string]any {
	t.Helper()
	v, ok := m[key].(map[string]any)
	if !ok {
		t.Fatalf("%s: want an object, got %T in %v", key, m[key], m)
	}
	return v
}

func list(t *testing.T, m map[string]any, key string) []any {
	t.Helper()
	v, ok := m[key].([]any)
	if !ok {
		t.Fatalf("%s: want a list, got %T in %v", key, m[key], m)
	}
	return v
}

func listOrNil(m map[string]any, key string) []any {
	v, _ := m[key].([]any)
	return v
}

func number(v any) int64 {
	f, _ := v.(float64)
	return int64(f)
}

// TestRegistryPipeline loads the one-step pipeline a registry step gets
// with --registry through prowctl's own loader, as `e2e step` will.
func TestRegistryPipeline(t *testing.T) {
	tc := exportCases()[0]
	wf, _, err := Export(loadPipeline(t, tc.file), tc.opts)
	if err != nil {
		t.Fatal(err)
	}
	tm := templateNamed(wf, "registry")
	if tm == nil || tm.Inputs == nil || len(tm.Inputs.Artifacts) != 1 || tm.Inputs.Artifacts[0].Raw == nil {
		t.Fatalf("registry template without a raw artifact: %+v", tm)
	}
	art := tm.Inputs.Artifacts[0]
	cmd := tm.Container.Command
	if i := slices.Index(cmd, "--pipeline"); i < 0 || i+1 >= len(cmd) || cmd[i+1] != art.Path {
		t.Errorf("the artifact is at %s, the command is %q", art.Path, cmd)
	}
	p, err := e2e.ParsePipeline(art.Path, []byte(art.Raw.Data), steps.Builtin())
	if err != nil {
		t.Fatalf("prowctl refuses the pipeline it exported: %v\n%s", err, art.Raw.Data)
	}
	if len(p.Steps) != 1 || p.Steps[0].Name != "registry" || p.Steps[0].Uses != "registry" || settingValue(p.Steps[0], "addr") != tc.opts.Registry {
		t.Errorf("registry pipeline:\n%s", art.Raw.Data)
	}
}

// writePipeline writes a pipeline into a temporary directory and loads it.
func writePipeline(t *testing.T, text string) *e2e.Pipeline {
	t.Helper()
	file := filepath.Join(t.TempDir(), "e2e.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := e2e.LoadPipeline(file, steps.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func baseOptions() Options {
	return Options{Image: testImage, WorkDir: testWorkDir, PipelinePath: "e2e.yaml"}
}

// TestRefused exports pipelines whose steps cannot run a pod each: one line
// per step, at its file:line:col, saying what to do.
func TestRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		pipeline string
		opts     func(*Options)
		want     []string // after "FILE:"
	}{{
		name:     "registry without addr",
		pipeline: "steps:\n- name: registry\n  uses: registry\n- name: build\n  run: make\n  needs: [registry]\n",
		want:     []string{"2:3: steps[registry]: without addr: it starts a registry in the step's process, which ends with the step's pod, on a loopback no other pod reaches: give it addr: HOST:PORT, a registry the pods reach, or export with --registry HOST:PORT"},
	}, {
		name:     "registry on loopback, build-image and build-chart pushing there",
		pipeline: "steps:\n- name: registry\n  uses: registry\n  with:\n    addr: 127.0.0.1:5000\n- name: image\n  uses: build-image\n  with:\n    package: ./cmd\n    repository: localhost:5000/op\n- name: chart\n  uses: build-chart\n  with:\n    chart: chart\n    repository: oci://[::1]:5000/charts\n",
		opts:     func(o *Options) { o.Registry = "registry.example.com" }, // not the repositories'
		want: []string{
			"10:17: steps[image].with.repository: localhost:5000/op is on loopback, which is each step's own pod: push to a registry the pods reach, or leave repository: out (the run's registry)",
			"15:17: steps[chart].with.repository: oci://[::1]:5000/charts is on loopback, which is each step's own pod: push to a registry the pods reach, or leave repository: out (the run's registry)",
		},
	}, {
		name:     "registry addr on loopback",
		pipeline: "steps:\n- name: registry\n  uses: registry\n  with:\n    addr: 127.0.0.2:5000\n",
		want:     []string{"5:11: steps[registry].with.addr: 127.0.0.2:5000 is on loopback, which is each step's own pod: give a registry the pods reach, or export with --registry HOST:PORT"},
	}, {
		name:     "cluster-up local by default, kind, and a dir of the pod",
		pipeline: "steps:\n- name: up\n  uses: cluster-up\n- name: kind\n  uses: cluster-up\n  with:\n    provider: kind\n- name: gke\n  uses: cluster-up\n  with:\n    provider: gke\n    dir: /tmp/gke\n    gke: {project: p, zone: z}\n",
		want: []string{
			"2:3: steps[up].with.provider: local: the personal cluster would run in the step's pod and end with it: use provider in-cluster, kubeconfig or gke, or export with --cluster-provider in-cluster (the cluster the Workflow runs in)",
			"7:15: steps[kind].with.provider: kind: its cluster would run in the step's pod (its Docker), its API server on that pod's loopback: use provider in-cluster, kubeconfig or gke, or export with --cluster-provider in-cluster (the cluster the Workflow runs in)",
			"12:10: steps[gke].with.dir: the cluster's kubeconfig would stay in the step's pod: leave dir: out (the Workflow keeps the default, under $XDG_CACHE_HOME, on its volume)",
		},
	}, {
		name:     "upload to a directory, literally and through --env",
		pipeline: "steps:\n- name: a\n  run: 'true'\n- name: up1\n  uses: upload\n  always: true\n  with:\n    to: /tmp/gcs\n- name: up2\n  uses: upload\n  always: true\n  with:\n    to: $DEST\n",
		opts:     func(o *Options) { o.Env = []EnvVar{{Name: "DEST", Value: "file:///srv/gcs"}} },
		want: []string{
			"8:9: steps[up1].with.to: uploads to /tmp/gcs, a directory of the step's pod, gone with it: upload to gs:// or s3://, or export with --upload gs://BUCKET[/prefix]",
			"13:9: steps[up2].with.to: uploads to file:///srv/gcs, a directory of the step's pod, gone with it: upload to gs:// or s3://, or export with --upload gs://BUCKET[/prefix]",
		},
	}, {
		name:     "names Argo refuses",
		pipeline: "steps:\n- name: main\n  run: 'true'\n- name: build_image\n  run: 'true'\n- name: 2nd\n  run: 'true'\n",
		want: []string{
			`2:3: steps[main].name: "main" is the name of one of the Workflow's DAG templates (main, finalizers): rename the step`,
			`4:3: steps[build_image].name: "build_image": Argo names a task after its step with letters, digits and '-', starting with a letter (at most 128): rename the step`,
			`6:3: steps[2nd].name: "2nd": Argo names a task after its step with letters, digits and '-', starting with a letter (at most 128): rename the step`,
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p := writePipeline(t, tc.pipeline)
			o := baseOptions()
			if tc.opts != nil {
				tc.opts(&o)
			}
			wf, _, err := Export(p, o)
			var ve *e2e.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("want a *e2e.ValidationError, got %v (workflow %v)", err, wf != nil)
			}
			var want []string
			for _, w := range tc.want {
				want = append(want, p.File+":"+w)
			}
			if d := cmp.Diff(want, strings.Split(err.Error(), "\n")); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestRefusedMadeGood exports the refused steps with the options that make
// up for them.
func TestRefusedMadeGood(t *testing.T) {
	p := writePipeline(t, "steps:\n- name: registry\n  uses: registry\n- name: up\n  uses: cluster-up\n- name: upload\n  uses: upload\n  always: true\n  with:\n    to: /tmp/gcs\n")
	o := baseOptions()
	o.Registry, o.ClusterProvider, o.Upload = "registry.example.com:443", "in-cluster", "s3://bucket/logs"
	if _, _, err := Export(p, o); err != nil {
		t.Fatal(err)
	}
	// A dir on the Workflow's volume is fine.
	p = writePipeline(t, "steps:\n- name: up\n  uses: cluster-up\n  with:\n    provider: kubeconfig\n    dir: "+CacheDir+"/mine\n")
	if _, _, err := Export(p, baseOptions()); err != nil {
		t.Fatal(err)
	}
}

func TestOptionErrors(t *testing.T) {
	p := writePipeline(t, "steps:\n- name: a\n  run: 'true'\n")
	for _, tc := range []struct {
		opts func(*Options)
		want string
	}{
		{func(o *Options) { o.Image = "" }, "no image: the steps' image (with prowctl, git and Go) is required"},
		{func(o *Options) { o.WorkDir = "src/k8s" }, `working directory "src/k8s": want the absolute path of the repository's checkout in the pod`},
		{func(o *Options) { o.PipelinePath = "../e2e.yaml" }, `pipeline path "../e2e.yaml": outside the checkout the steps run in`},
		{func(o *Options) { o.Namespace = "Argo" }, `namespace "Argo": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		{func(o *Options) { o.VolumeSize = "lots" }, `volume size "lots": want a quantity such as 10Gi`},
		{func(o *Options) { o.Registry = "localhost:5000" }, "registry localhost:5000: on loopback, which is each step's own pod: give a registry the pods reach"},
		{func(o *Options) { o.Registry = "https://r.example.com" }, `registry "https://r.example.com": want HOST[:PORT], or http://HOST[:PORT] for plain HTTP, no path`},
		{func(o *Options) { o.ClusterProvider = "local" }, `cluster provider "local": its cluster lives in the cluster-up step's pod and ends with it (want gke, in-cluster, kubeconfig)`},
		{func(o *Options) { o.ClusterProvider = "eks" }, `cluster provider "eks": unknown (want gke, in-cluster, kubeconfig)`},
		{func(o *Options) { o.Upload = "/tmp/gcs" }, `upload destination "/tmp/gcs": want gs://BUCKET[/prefix] or s3://BUCKET[/prefix] (a directory would be in the upload step's pod)`},
		{func(o *Options) { o.Env = []EnvVar{{Name: "ARTIFACTS", Value: "/x"}} }, "environment variable ARTIFACTS: the export sets it (ARTIFACTS, JOB_SPEC, XDG_CACHE_HOME, E2E_CLUSTER_PROVIDER)"},
		{func(o *Options) { o.Env = []EnvVar{{Name: "A", Value: "1"}, {Name: "A", Value: "2"}} }, "environment variable A given twice"},
		{func(o *Options) { o.SecretVolumes = []SecretVolume{{Secret: "creds", MountPath: "/logs"}} }, "secret creds: mount path /logs overlaps /logs/artifacts"},
		{func(o *Options) { o.SecretVolumes = []SecretVolume{{Secret: "creds", MountPath: "etc/creds"}} }, `secret creds: mount path "etc/creds": want an absolute directory`},
		{func(o *Options) { o.JobSpec = `{"type": "periodic"}` }, "job spec: want a job and a build id (Prow's JOB_SPEC)"},
		{func(o *Options) { o.JobSpec = `{"type": ` }, "job spec: unexpected end of JSON input"},
	} {
		o := baseOptions()
		tc.opts(&o)
		_, _, err := Export(p, o)
		var oe *OptionError
		if !errors.As(err, &oe) || err.Error() != tc.want {
			t.Errorf("got %v\nwant %s", err, tc.want)
		}
	}
}

func TestWarnings(t *testing.T) {
	const decorated = `{"type":"periodic","job":"j","buildid":"1","decoration_config":{"timeout":"2h"}}`
	withUpload := "steps:\n- name: a\n  run: 'true'\n- name: upload\n  uses: upload\n  always: true\n  with:\n    to: $E2E_UPLOAD\n"
	lost := "the artifacts stay on the Workflow's volume, which Argo deletes with the Workflow: "
	for _, tc := range []struct {
		name, pipeline string
		opts           func(*Options)
		want           []string
	}{
		{"no upload step", "steps:\n- name: a\n  run: 'true'\n", nil, []string{lost + "the pipeline has no upload step"}},
		{"no destination", withUpload, nil, []string{lost + "no upload step has a destination: give --upload gs://BUCKET[/prefix], or set the variable its with.to names with --env"}},
		{"destination from --env", withUpload, func(o *Options) { o.Env = []EnvVar{{Name: "E2E_UPLOAD", Value: "gs://b"}} }, nil},
		{"--upload", withUpload, func(o *Options) { o.Upload = "gs://b" }, nil},
		{"decorated", withUpload, func(o *Options) {
			o.JobSpec = decorated
			o.Env = []EnvVar{{Name: "E2E_UPLOAD", Value: "gs://b"}}
		}, []string{lost + "the job spec is a decorated job's, so the upload steps skip (Prow's pod utilities upload $ARTIFACTS): give --upload gs://BUCKET[/prefix]"}},
		{"decorated, --upload", withUpload, func(o *Options) { o.JobSpec, o.Upload = decorated, "gs://b" }, nil},
		{"options no step uses", withUpload, func(o *Options) {
			o.Registry, o.ClusterProvider, o.Upload = "r.example.com", "gke", "gs://b"
		}, []string{"registry r.example.com: unused, the pipeline has no registry step", "cluster provider gke: unused, the pipeline has no cluster-up step"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := baseOptions()
			if tc.opts != nil {
				tc.opts(&o)
			}
			_, warns, err := Export(writePipeline(t, tc.pipeline), o)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, warns); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
}

// TestLabelsAndNames: the Prow job and build in labels, cut as Prow cuts
// them; generateName a DNS label Kubernetes can add five characters to.
func TestLabelsAndNames(t *testing.T) {
	p := writePipeline(t, "steps:\n- name: a\n  run: 'true'\n")
	long := strings.Repeat("very-long-job-name-", 5) + "END"
	o := baseOptions()
	o.JobSpec = fmt.Sprintf(`{"type":"periodic","job":%q,"buildid":"1866223386540453888"}`, long)
	wf, _, err := Export(p, o)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"prow.k8s.io/job": "very-long-job-name-very-long-job-name-very-long-job-name-very-l", "prow.k8s.io/build-id": "1866223386540453888"}
	if d := cmp.Diff(want, wf.Metadata.Labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	if g := wf.Metadata.GenerateName; len(g) > 58 || !regexp.MustCompile(`^e2e-[a-z0-9]([-a-z0-9]*[a-z0-9])?-$`).MatchString(g) || !strings.HasPrefix(g, "e2e-very-long-job-name-") {
		t.Errorf("generateName %q (%d characters)", g, len(g))
	}
	// A local job: no build id until Argo makes the Workflow.
	wf, _, err = Export(p, baseOptions())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]string{"prow.k8s.io/job": e2e.LocalJob}, wf.Metadata.Labels); d != "" || wf.Metadata.GenerateName != "e2e-local-e2e-" {
		t.Errorf("local: %s labels (-want +got):\n%s", wf.Metadata.GenerateName, d)
	}
	env := wf.Spec.Templates[1].Container.Env
	i := slices.IndexFunc(env, func(e EnvVar) bool { return e.Name == "JOB_SPEC" })
	if i < 0 || !strings.Contains(env[i].Value, `"buildid":"{{workflow.creationTimestamp.Y}}`) {
		t.Errorf("local JOB_SPEC: %v", env)
	}
}

// TestOnlyFinalizers: Argo refuses an empty DAG, so a pipeline of
// finalizers alone is refused before.
func TestOnlyFinalizers(t *testing.T) {
	p := writePipeline(t, "steps:\n- name: teardown\n  run: 'true'\n  always: true\n")
	_, _, err := Export(p, baseOptions())
	want := p.File + ": every step is a finalizer (always: true): the Workflow needs a regular step to run"
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// The checkout task is Prow's clonerefs as a decorated job's init container
// has it: the job spec's refs, cloned at CodeDir on the claim, with the
// job's SSH key and OAuth token secrets; what asks for a checkout it
// cannot make is refused.
func TestCheckout(t *testing.T) {
	tc := exportCases()[0]
	wf, _, err := Export(loadPipeline(t, tc.file), tc.opts)
	if err != nil {
		t.Fatal(err)
	}
	tm := templateNamed(wf, CheckoutTemplate)
	if tm == nil || tm.Container == nil {
		t.Fatalf("no checkout template")
	}
	c := tm.Container
	if c.Image != "us-docker.pkg.dev/k8s-infra-prow/images/clonerefs:v20240619-cfb8754e0" || c.Command[0] != "clonerefs" {
		t.Errorf("checkout runs %q in %s", c.Command, c.Image)
	}
	var opts clonerefs.Options
	for _, e := range c.Env {
		if e.Name == clonerefs.JSONConfigEnvVar {
			if err := json.Unmarshal([]byte(e.Value), &opts); err != nil {
				t.Fatal(err)
			}
		}
	}
	if opts.SrcRoot != CodeDir || len(opts.GitRefs) != 1 || opts.GitRefs[0].Pulls[0].SHA != "feedbee" || !slices.Contains(opts.KeyFiles, "/secrets/ssh/ssh-secret") || opts.OauthTokenFile != "/secrets/oauth/token" {
		t.Errorf("clonerefs options: %+v", opts)
	}
	if !slices.Contains(c.VolumeMounts, codeMount) {
		t.Errorf("checkout mounts %v, want the claim's code at %s", c.VolumeMounts, CodeDir)
	}
	secrets := map[string]bool{}
	for _, v := range wf.Spec.Volumes {
		if v.Secret != nil {
			secrets[v.Secret.SecretName] = true
		}
	}
	for _, s := range []string{"ssh-secret", "oauth-token", "service-account"} {
		if !secrets[s] {
			t.Errorf("no volume of secret %s in %v", s, wf.Spec.Volumes)
		}
	}

	for _, bad := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"no clonerefs image", func(o *Options) {
			o.JobSpec = `{"type":"periodic","job":"j","buildid":"1","extra_refs":[{"org":"o","repo":"r","base_ref":"main"}]}`
		}, "refs to check out (o/r) and no clonerefs image"},
		{"no refs, no workdir", func(o *Options) {
			o.JobSpec = `{"type":"periodic","job":"j","buildid":"1"}`
		}, "no refs to check out, give the path of the repository in the image"},
		{"no checkout, no workdir", func(o *Options) { o.NoCheckout = true }, "without a checkout"},
		{"a secret named as clonerefs' volume", func(o *Options) {
			o.SecretVolumes = append(o.SecretVolumes, SecretVolume{Secret: "oauth-token", MountPath: "/etc/oauth"})
		}, "volume oauth-token: two volumes"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			o := tc.opts
			o.SecretVolumes = slices.Clone(o.SecretVolumes)
			bad.edit(&o)
			_, _, err := Export(loadPipeline(t, tc.file), o)
			var oe *OptionError
			if !errors.As(err, &oe) || !strings.Contains(err.Error(), bad.want) {
				t.Errorf("err = %v, want an option error with %q", err, bad.want)
			}
		})
	}
}

// The cluster's job preset goes into every step as into a ProwJob's pod:
// its service account, variables and volumes, its cluster provider making
// config/e2e.yaml's local one work; what the options say stays.
func TestPreset(t *testing.T) {
	dirType := corev1.HostPathDirectoryOrCreate
	preset := &jobpreset.Preset{
		ServiceAccountName: "prowctl-e2e",
		Env: []corev1.EnvVar{
			{Name: "GOPROXY", Value: "http://10.0.0.1:3000"},
			{Name: "GOCACHE", Value: "/prowctl/go-build"},
			{Name: "E2E_CLUSTER_PROVIDER", Value: "in-cluster"},
		},
		Volumes:      []corev1.Volume{{Name: "prowctl-go-build", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/root/.cache/prowctl/pod-go-build", Type: &dirType}}}},
		VolumeMounts: []corev1.VolumeMount{{Name: "prowctl-go-build", MountPath: "/prowctl/go-build"}},
	}
	o := Options{Image: testImage, WorkDir: testWorkDir, PipelinePath: "config/e2e.yaml", Registry: "http://10.0.0.1:5000", Preset: preset}
	wf, _, err := Export(loadPipeline(t, "config/e2e.yaml"), o)
	if err != nil {
		t.Fatalf("config/e2e.yaml (provider local) with the preset's in-cluster provider: %v", err)
	}
	if wf.Spec.ServiceAccountName != "prowctl-e2e" {
		t.Errorf("service account %q, want the preset's", wf.Spec.ServiceAccountName)
	}
	want := Volume{Name: "prowctl-go-build", HostPath: &HostPathSource{Path: "/root/.cache/prowctl/pod-go-build", Type: "DirectoryOrCreate"}}
	if !slices.ContainsFunc(wf.Spec.Volumes, func(v Volume) bool { return cmp.Equal(v, want) }) {
		t.Errorf("volumes %+v, want the preset's %+v", wf.Spec.Volumes, want)
	}
	for _, tm := range wf.Spec.Templates {
		if tm.Container == nil {
			continue
		}
		env := map[string]string{}
		for _, e := range tm.Container.Env {
			env[e.Name] = e.Value
		}
		if env["GOPROXY"] != "http://10.0.0.1:3000" || env["E2E_CLUSTER_PROVIDER"] != "in-cluster" || env["GOCACHE"] != "/prowctl/go-build" {
			t.Errorf("%s: env %v", tm.Name, env)
		}
		if !slices.Contains(tm.Container.VolumeMounts, VolumeMount{Name: "prowctl-go-build", MountPath: "/prowctl/go-build"}) {
			t.Errorf("%s: mounts %v", tm.Name, tm.Container.VolumeMounts)
		}
	}

	// The options' own service account, variables and provider stay.
	o.ServiceAccount, o.ClusterProvider = "mine", "kubeconfig"
	o.Env = []EnvVar{{Name: "GOPROXY", Value: "off"}}
	wf, _, err = Export(loadPipeline(t, "config/e2e.yaml"), o)
	if err != nil {
		t.Fatal(err)
	}
	if wf.Spec.ServiceAccountName != "mine" {
		t.Errorf("service account %q, want the options'", wf.Spec.ServiceAccountName)
	}
	for _, tm := range wf.Spec.Templates {
		if tm.Container == nil {
			continue
		}
		var proxies, providers []string
		for _, e := range tm.Container.Env {
			switch e.Name {
			case "GOPROXY":
				proxies = append(proxies, e.Value)
			case "E2E_CLUSTER_PROVIDER":
				providers = append(providers, e.Value)
			}
		}
		if !cmp.Equal(proxies, []string{"off"}) || !cmp.Equal(providers, []string{"kubeconfig"}) {
			t.Errorf("%s: GOPROXY %q, E2E_CLUSTER_PROVIDER %q: want the options' alone", tm.Name, proxies, providers)
		}
	}
}

// A decorated job's Workflow uploads where Prow's sidecar would, with the
// decoration config's credentials: the sidecar uploads only the pod that
// submitted the Workflow.
func TestUploadAsDecorated(t *testing.T) {
	spec := strings.Replace(testJobSpec, `"ssh_key_secrets"`, `"gcs_configuration": {"bucket": "tf-k8s-prow-artifacts", "path_strategy": "explicit"}, "gcs_credentials_secret": "gcs-credentials", "ssh_key_secrets"`, 1)
	o := Options{Image: testImage, PipelinePath: "config/e2e.yaml", JobSpec: spec, Registry: "registry.example.com:5000", ClusterProvider: "in-cluster"}
	wf, warnings, err := Export(loadPipeline(t, "config/e2e.yaml"), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(warnings) > 0 {
		t.Errorf("warnings: %v", warnings)
	}
	for _, tm := range wf.Spec.Templates {
		if tm.Container == nil || tm.Name == CheckoutTemplate {
			continue
		}
		if tm.Name == "upload" && !slices.Equal(tm.Container.Command[len(tm.Container.Command)-2:], []string{"--upload", "gs://tf-k8s-prow-artifacts"}) {
			t.Errorf("upload runs %q", tm.Container.Command)
		}
		if !slices.Contains(tm.Container.Env, EnvVar{Name: "GOOGLE_APPLICATION_CREDENTIALS", Value: GCSCredentialsDir + "/service-account.json"}) {
			t.Errorf("%s: env %v", tm.Name, tm.Container.Env)
		}
		if !slices.ContainsFunc(tm.Container.VolumeMounts, func(m VolumeMount) bool { return m.MountPath == GCSCredentialsDir && m.ReadOnly }) {
			t.Errorf("%s: mounts %v", tm.Name, tm.Container.VolumeMounts)
		}
	}
	if !slices.ContainsFunc(wf.Spec.Volumes, func(v Volume) bool { return v.Secret != nil && v.Secret.SecretName == "gcs-credentials" }) {
		t.Errorf("volumes %+v", wf.Spec.Volumes)
	}
}

// templateNamed is wf's template of that name, nil when it has none.
func templateNamed(wf *Workflow, name string) *Template {
	for i := range wf.Spec.Templates {
		if wf.Spec.Templates[i].Name == name {
			return &wf.Spec.Templates[i]
		}
	}
	return nil
}
