package steps

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/chart/loader"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/steps/chart"
	"github.com/prowctl/prowctl/pkg/process"
)

const sha = "0123456789abcdef0123456789abcdef01234567"

// newStep builds a step of kind, from the built-in table, from its `with:` YAML.
func newStep(t *testing.T, kind, with string) e2e.Step {
	t.Helper()
	return newStepOf(t, Builtin(), kind, with)
}

func newStepOf(t *testing.T, kinds e2e.Kinds, kind, with string) e2e.Step {
	t.Helper()
	st, err := buildStep(kinds, kind, with)
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	return st
}

func buildStep(kinds e2e.Kinds, kind, with string) (e2e.Step, error) {
	k, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("kind %s not in the table", kind)
	}
	var node *yaml.Node
	if with != "" {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(with), &doc); err != nil {
			return nil, err
		}
		node = doc.Content[0]
	}
	return k.New(node)
}

// fakeTools answers git rev-parse and go build like the real tools would.
func fakeTools() *process.Recorder {
	return &process.Recorder{Fn: func(_ context.Context, c process.Cmd) error {
		switch {
		case c.Name == "git":
			fmt.Fprintln(c.Stdout, sha)
		case c.Name == "go":
			for i, a := range c.Args {
				if a == "-o" {
					return os.WriteFile(c.Args[i+1], []byte("binary"), 0o755)
				}
			}
		}
		return nil
	}}
}

type testEnv struct {
	*e2e.Env
	log  *bytes.Buffer
	exit func(context.Context) error
}

func newEnv(t *testing.T, runner process.Runner) testEnv {
	t.Helper()
	var log bytes.Buffer
	env, exit := e2e.NewTestEnv(t.TempDir(), &log, runner)
	t.Cleanup(func() {
		if err := exit(context.Background()); err != nil {
			t.Errorf("at exit: %v", err)
		}
	})
	return testEnv{env, &log, exit}
}

func run(t *testing.T, env testEnv, st e2e.Step) {
	t.Helper()
	if err := st.Run(context.Background(), env.Env); err != nil {
		t.Fatalf("%v\nlog:\n%s", err, env.log)
	}
}

func state(t *testing.T, env testEnv) map[string]string {
	t.Helper()
	m, err := env.State.All()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSettingsErrors(t *testing.T) {
	for _, tc := range []struct {
		kind, with, want string
	}{
		{"build-image", "repository: x", "with.package: missing"},
		{"build-image", "package: ./x\nplatform: linux", `with.platform: "linux": want os/arch`},
		{"build-image", "package: ./x\nbogus: 1", "with.bogus: unknown field"},
		{"build-chart", "push: false", "with.chart: missing"},
		{"cluster-up", "provider: aks", `with.provider: unknown provider "aks" (known: gke, in-cluster, kind, kubeconfig, local)`},
		{"cluster-up", "provider: gke\ngke: {zone: z}", "with.gke: want project and one of zone or region"},
		{"cluster-up", "provider: kind\ngke: {project: p}", "with.gke: settings for provider gke, but provider is kind"},
		{"cluster-up", "gke: {project: p, zone: z}", "with.gke: settings for provider gke, but provider is local"},
		{"cluster-up", "local: {node: vm}", `with.local: node "vm": want real or kwok`},
		{"cluster-up", "provider: kind\nlocal: {node: kwok}", "with.local: settings for provider local, but provider is kind"},
		{"cluster-up", "provider: kind\nname: Bad_Name", `with.name: "Bad_Name": want lowercase`},
		{"cluster-up", "provider: gke\ngke: {project: p, zone: z, nodes: 3}", "with.gke.nodes: unknown field"},
		{"cluster-down", "provider: gke", "with.provider: unknown field"},
		{"registry", "addr: http://10.0.0.1:5000/v2", `with.addr: "http://10.0.0.1:5000/v2": want HOST:PORT, or http://HOST:PORT`},
		{"deploy", "values: {image..tag: x}", `with.values: bad key "image..tag"`},
		{"test", "junit: [x]", "with.command: missing"},
		{"test", "command: make e2e\njunit: ['[']", `with.junit: bad glob "["`},
	} {
		t.Run(tc.kind+" "+tc.with, func(t *testing.T) {
			_, err := buildStep(Builtin(), tc.kind, tc.with)
			var pe *e2e.PositionError
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a position error containing %q", err, tc.want)
			}
			if pe.Line == 0 {
				t.Errorf("err %v has no line", err)
			}
		})
	}
}

func TestRevision(t *testing.T) {
	for _, tc := range []struct {
		name    string
		job     *prowapi.Refs
		typ     prowapi.ProwJobType
		wantSHA string
		wantPR  int
		git     bool
	}{
		{"presubmit", &prowapi.Refs{BaseSHA: "base", Pulls: []prowapi.Pull{{Number: 7, SHA: "head"}}}, prowapi.PresubmitJob, "head", 7, false},
		{"postsubmit", &prowapi.Refs{BaseSHA: "base"}, prowapi.PostsubmitJob, "base", 0, false},
		{"periodic without refs", nil, prowapi.PeriodicJob, sha, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runner := fakeTools()
			env := newEnv(t, runner)
			env.Job.Type, env.Job.Refs = tc.typ, tc.job
			gotSHA, gotPR, err := revision(context.Background(), env.Env)
			if err != nil {
				t.Fatal(err)
			}
			if gotSHA != tc.wantSHA || gotPR != tc.wantPR {
				t.Errorf("revision = %s, %d; want %s, %d", gotSHA, gotPR, tc.wantSHA, tc.wantPR)
			}
			wantCalls := []string{}
			if tc.git {
				wantCalls = []string{"git rev-parse HEAD"}
			}
			if diff := cmp.Diff(wantCalls, runner.Calls()); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRevisionWithoutGit(t *testing.T) {
	runner := &process.Recorder{Fn: func(_ context.Context, c process.Cmd) error {
		fmt.Fprintln(c.Stderr, "fatal: not a git repository (or any of the parent directories): .git")
		return errors.New("git: exit status 128")
	}}
	env := newEnv(t, runner)
	_, _, err := revision(context.Background(), env.Env)
	want := "commit under test: no refs in the job spec: git rev-parse HEAD: fatal: not a git repository (or any of the parent directories): .git"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// TestRegistryBuildImageBuildChart runs the registry, build-image and
// build-chart steps of a presubmit against the in-process registry and pulls
// what they pushed.
func TestRegistryBuildImageBuildChart(t *testing.T) {
	runner := fakeTools()
	env := newEnv(t, runner)
	env.Job.Type = prowapi.PresubmitJob
	env.Job.Refs = &prowapi.Refs{Org: "kubeflow", Repo: "tf-operator", BaseSHA: "base", Pulls: []prowapi.Pull{{Number: 7, SHA: sha}}}

	run(t, env, newStep(t, "registry", ""))
	reg := state(t, env)[e2e.StateRegistry]
	if !strings.HasPrefix(reg, "127.0.0.1:") {
		t.Fatalf("registry %q, want one on 127.0.0.1", reg)
	}
	run(t, env, newStep(t, "build-image", "package: ./testdata/operator\nname: tf-operator"))
	chartDir, _ := filepath.Abs("../../../testdata/chart/tf-operator")
	run(t, env, newStep(t, "build-chart", "chart: "+chartDir))

	st := state(t, env)
	digest := st[StateImageDigest]
	version := "0.1.0-pr.7.g0123456789ab"
	want := map[string]string{
		e2e.StateRegistry:    reg,
		e2e.StateImage:       reg + "/tf-operator@" + digest,
		e2e.StateImageTag:    sha,
		StateImageRepository: reg + "/tf-operator",
		StateImageDigest:     digest,
		e2e.StateChart:       "oci://" + reg + "/charts/tf-operator:" + version,
		StateChartPath:       filepath.Join(env.Artifacts, "charts", "tf-operator-"+version+".tgz"),
		StateChartVersion:    version,
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}
	for _, tag := range []string{sha, "pr-7"} {
		ref, err := name.ParseReference(reg + "/tf-operator:" + tag)
		if err != nil {
			t.Fatal(err)
		}
		img, err := remote.Image(ref)
		if err != nil {
			t.Fatalf("pull %s: %v", ref, err)
		}
		if d, _ := img.Digest(); d.String() != digest {
			t.Errorf("%s: digest %s, want %s", ref, d, digest)
		}
		cf, _ := img.ConfigFile()
		if cf.Config.Labels["org.opencontainers.image.revision"] != sha {
			t.Errorf("%s: labels %v, want the revision", ref, cf.Config.Labels)
		}
	}
	path, err := chart.Pull(st[e2e.StateChart], t.TempDir(), true, "")
	if err != nil {
		t.Fatal(err)
	}
	ch, err := loader.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	img := ch.Values["image"].(map[string]any)
	if img["repository"] != reg+"/tf-operator" || img["tag"] != sha || ch.Metadata.AppVersion != sha {
		t.Errorf("chart image %v appVersion %s: want %s/tf-operator:%s", img, ch.Metadata.AppVersion, reg, sha)
	}
	calls := runner.Calls()
	if len(calls) != 1 || !strings.HasPrefix(calls[0], "go build") {
		t.Errorf("calls %q: want go build and no git (the job's refs give the commit)", calls)
	}

	// The registry stops with the run.
	if err := env.exit(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Head(mustRef(t, st[e2e.StateImage])); err == nil {
		t.Errorf("registry still serves after the run ended")
	}
	if reg := state(t, env)[e2e.StateRegistry]; reg != "" {
		t.Errorf("state still names the stopped registry %s", reg)
	}
}

func mustRef(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBuildImageWithoutRegistryWritesLayout(t *testing.T) {
	env := newEnv(t, fakeTools())
	run(t, env, newStep(t, "build-image", "package: ./x"))
	st := state(t, env)
	dir := filepath.Join(env.Artifacts, "image")
	if st[StateImageLayout] != dir || st[e2e.StateImageTag] != sha || !strings.HasPrefix(st[StateImageDigest], "sha256:") || st[e2e.StateImage] != "" {
		t.Errorf("state %v: want the image in the layout %s", st, dir)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		t.Errorf("layout: %v", err)
	}
	if !strings.Contains(env.log.String(), "no registry: with.repository is unset and no `registry` step ran before this one; writing the image to "+dir) {
		t.Errorf("log:\n%s", env.log)
	}
}

func TestBuildChartWithoutRegistryWritesTgz(t *testing.T) {
	env := newEnv(t, fakeTools())
	chartDir, _ := filepath.Abs("../../../testdata/chart/tf-operator")
	run(t, env, newStep(t, "build-chart", "chart: "+chartDir+"\nimage: {repository: gcr.io/p/op}"))
	st := state(t, env)
	path := filepath.Join(env.Artifacts, "charts", "tf-operator-0.1.0-g0123456789ab.tgz")
	if st[e2e.StateChart] != path || st[StateChartPath] != path {
		t.Errorf("state %v: want chart at %s", st, path)
	}
	ch, err := loader.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if img := ch.Values["image"].(map[string]any); img["repository"] != "gcr.io/p/op" || img["tag"] != sha {
		t.Errorf("values.image = %v", img)
	}
}

func TestClusterUpDownGKE(t *testing.T) {
	runner := &process.Recorder{}
	env := newEnv(t, runner)
	env.Job.Job, env.Job.BuildID = "periodic-tf-k8s-gke", "1234"
	dir := filepath.Join(t.TempDir(), "work")
	run(t, env, newStep(t, "cluster-up", "provider: gke\ndir: "+dir+"\ngke: {project: p, zone: z, numNodes: 2}"))
	want := map[string]string{
		e2e.StateProvider:       "gke",
		e2e.StateCluster:        "e2e-periodic-tf-k8s-gke-1234",
		e2e.StateKubeconfig:     filepath.Join(dir, "kubeconfig"),
		StateContext:            "",
		e2e.StateCreated:        "true",
		StateClusterDir:         dir,
		"cluster.extra.project": "p",
		"cluster.extra.zone":    "z",
		"cluster.extra.region":  "",
	}
	if diff := cmp.Diff(want, state(t, env)); diff != "" {
		t.Errorf("state (-want +got):\n%s", diff)
	}

	// cluster-down in another process: only the state file carries over.
	runner2 := &process.Recorder{}
	env2 := newEnv(t, runner2)
	env2.State = env.State
	run(t, env2, newStep(t, "cluster-down", ""))
	err := newStep(t, "cluster-down", "").Run(context.Background(), env2.Env)
	if !errors.Is(err, e2e.ErrSkip) {
		t.Errorf("second cluster-down: %v, want a skip", err)
	}
	wantCalls := []string{
		"gcloud container clusters create e2e-periodic-tf-k8s-gke-1234 --project=p --zone=z --num-nodes=2 --labels=created-by=prowctl,job=periodic-tf-k8s-gke,build=1234 --quiet",
		"gcloud container clusters get-credentials e2e-periodic-tf-k8s-gke-1234 --project=p --zone=z",
	}
	if diff := cmp.Diff(wantCalls, runner.Calls()); diff != "" {
		t.Errorf("cluster-up calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"gcloud container clusters delete e2e-periodic-tf-k8s-gke-1234 --project=p --zone=z --quiet"}, runner2.Calls()); diff != "" {
		t.Errorf("cluster-down calls (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{}, state(t, env2)); diff != "" {
		t.Errorf("state after cluster-down (-want +got):\n%s", diff)
	}
}

func TestClusterUpFailureIsTornDown(t *testing.T) {
	runner := &process.Recorder{Fn: func(ctx context.Context, c process.Cmd) error {
		if len(c.Args) > 0 && c.Args[0] == "create" {
			<-ctx.Done() // interrupted, as by SIGTERM
			return ctx.Err()
		}
		return nil
	}}
	env := newEnv(t, runner)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := newStep(t, "cluster-up", "provider: kind\ndir: "+t.TempDir()).Run(ctx, env.Env)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want the context's", err)
	}
	run(t, env, newStep(t, "teardown", ""))
	calls := runner.Calls()
	if len(calls) != 2 || !strings.HasPrefix(calls[1], "kind delete cluster --name e2e-local-e2e-1 --kubeconfig ") {
		t.Errorf("calls %q: want kind create then kind delete", calls)
	}
	if !strings.Contains(env.log.String(), "deleted kind cluster e2e-local-e2e-1") {
		t.Errorf("log:\n%s", env.log)
	}
}

func TestClusterUpKubeconfigIsNotDeleted(t *testing.T) {
	runner := &process.Recorder{}
	env := newEnv(t, runner)
	kc := filepath.Join(t.TempDir(), "config")
	os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: mine, context: {cluster: c, user: u}}]
current-context: mine
`), 0o600)
	run(t, env, newStep(t, "cluster-up", "provider: kubeconfig\nkubeconfig: {path: "+kc+"}"))
	st := state(t, env)
	if st[e2e.StateKubeconfig] != kc || st[StateContext] != "mine" || st[e2e.StateCreated] != "false" {
		t.Errorf("state %v", st)
	}
	err := newStep(t, "teardown", "").Run(context.Background(), env.Env)
	if !errors.Is(err, e2e.ErrSkip) {
		t.Errorf("teardown: %v, want a skip", err)
	}
	if len(runner.Calls()) != 0 {
		t.Errorf("ran %q", runner.Calls())
	}
	if _, err := os.Stat(kc); err != nil {
		t.Errorf("kubeconfig: %v", err)
	}
}

func TestTestStepCollectsJUnit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		command string
		wantErr string
		want    []string
	}{
		{"pass", `test "$KUBECONFIG" = /kc && test "$E2E_NAMESPACE" = e2e-1 && echo '<testsuite name="a"/>' > "$JUNIT_DIR/junit_a.xml" && mkdir -p out && echo '<testsuite name="b"/>' > out/report.xml`, "", []string{"junit_a.xml", "junit_report.xml"}},
		{"fail still collects", `echo '<testsuite name="a"/>' > "$JUNIT_DIR/junit_a.xml"; exit 3`, "test command: sh: exit status 3", []string{"junit_a.xml"}},
		{"pass without junit", `true`, "test command passed but wrote no JUnit file matching out/*.xml", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, process.Exec{})
			env.State.Update(func(m map[string]string) {
				m[e2e.StateKubeconfig] = "/kc"
				m[e2e.StateNamespace] = "e2e-1"
			})
			err := newStep(t, "test", "command: '"+strings.ReplaceAll(tc.command, "'", "''")+"'\njunit: [out/*.xml]").Run(context.Background(), env.Env)
			if fmt.Sprint(err) != tc.wantErr && !(err == nil && tc.wantErr == "") {
				t.Errorf("err = %v, want %q\nlog:\n%s", err, tc.wantErr, env.log)
			}
			var got []string
			for _, w := range tc.want {
				b, err := os.ReadFile(filepath.Join(env.Artifacts, w))
				if err != nil {
					t.Errorf("%s: %v", w, err)
				}
				if !bytes.HasPrefix(b, []byte("<testsuite")) {
					t.Errorf("%s: %q", w, b)
				}
				got = append(got, w)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("collected (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCollectJUnitNames(t *testing.T) {
	src, art := t.TempDir(), t.TempDir()
	for _, f := range []string{"a/junit.xml", "b/junit.xml", "c/junit_x.xml", "c/results.xml"} {
		os.MkdirAll(filepath.Join(src, filepath.Dir(f)), 0o755)
		os.WriteFile(filepath.Join(src, f), []byte(f), 0o644)
	}
	got, err := collectJUnit(src, []string{"*/junit*.xml", "c/*.xml"}, art)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"junit_test.xml", "junit_test_2.xml", "junit_x.xml", "junit_results.xml"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if b, _ := os.ReadFile(filepath.Join(art, "junit_test_2.xml")); string(b) != "b/junit.xml" {
		t.Errorf("junit_test_2.xml holds %q", b)
	}
}

func TestNamespaceName(t *testing.T) {
	for build, want := range map[string]string{"1793651234567890123": "e2e-1793651234567890123", "20261125_15:07": "e2e-20261125-15-07"} {
		if got := namespaceName(build); got != want {
			t.Errorf("namespaceName(%q) = %q, want %q", build, got, want)
		}
	}
}

// $E2E_CLUSTER_PROVIDER chooses the provider over the pipeline's.
func TestClusterProviderFromEnv(t *testing.T) {
	for _, tc := range []struct{ value, want string }{
		{"aks", `$E2E_CLUSTER_PROVIDER: unknown provider "aks"`},
		// Outside a pod, in-cluster says so: the override took effect.
		{"in-cluster", "in-cluster: not in a pod"},
	} {
		env := newEnv(t, fakeTools())
		env.Environ = []string{ProviderEnv + "=" + tc.value}
		err := newStepOf(t, Builtin(), "cluster-up", "provider: kubeconfig").Run(context.Background(), env.Env)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s=%s: err = %v, want %q", ProviderEnv, tc.value, err, tc.want)
		}
	}
}

// A registry step given addr: http://HOST:PORT makes every later step
// speak plain HTTP to that registry, and only to it.
func TestPlainHTTPRegistry(t *testing.T) {
	// 127.0.0.2 is not one of the loopback names the steps speak HTTP to
	// unasked: a registry there is as a cluster's on a private address.
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &httptest.Server{Listener: l, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v2/" {
			http.NotFound(w, r)
		}
	})}}
	srv.Start()
	defer srv.Close()
	addr := l.Addr().String()

	env := newEnv(t, nil)
	if err := newStep(t, "registry", "addr: "+addr).Run(context.Background(), env.Env); err == nil {
		t.Errorf("addr: %s (HTTPS) reached a plain HTTP registry", addr)
	}
	run(t, env, newStep(t, "registry", "addr: http://"+addr))
	if got := state(t, env); got[e2e.StateRegistry] != addr || got[e2e.StateRegistryScheme] != "http" {
		t.Errorf("state %v: want registry %s, scheme http", got, addr)
	}
	for ref, want := range map[string]bool{
		addr + "/tf-operator":                   true,
		"oci://" + addr + "/charts/tf-operator": true,
		"127.0.0.2:1/tf-operator":               false,
		"registry.example.com/tf-operator":      false,
		"127.0.0.1:5000/tf-operator":            true,
	} {
		if got := plainHTTP(env.Env, ref); got != want {
			t.Errorf("plainHTTP(%s) = %v, want %v", ref, got, want)
		}
	}
}
