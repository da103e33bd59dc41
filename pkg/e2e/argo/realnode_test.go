package argo

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/prowctl/prowctl/internal/operatortest"
	"github.com/prowctl/prowctl/internal/prowctlbin"
	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/steps"
	"github.com/prowctl/prowctl/pkg/process"
)

// TestSubmitOnARealNode runs `prowctl e2e submit --argo --wait` as a user
// does, on a personal cluster with a real node and Argo's controller
// (`prowctl cluster up --with argo`): from a checkout whose commit breaks
// the operator, the repository's pipeline fails its test step, the
// Workflow and prowctl, and the exit handler's teardown removes what deploy
// made; the tf-k8s presubmit generated with runner: argo, run as a Prow
// job, submits the Workflow from its pod and every step Succeeds with e2e
// run's results; SIGTERM during a step stops the Workflow and its exit
// handler still runs. Each is asserted from the
// Workflow's status and the artifacts the upload step put in the cluster's
// GCS emulator, not only from prowctl's output.
func TestSubmitOnARealNode(t *testing.T) {
	ctx := context.Background()
	r := startRealNode(t)
	root, tmp, bin, dir := r.root, r.tmp, r.bin, r.dir

	// The pipeline's steps, in its order: the test cases of e2e run's
	// JUnit.
	p, err := e2e.LoadPipeline(filepath.Join(root, "config", "e2e.yaml"), steps.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range p.Steps {
		names = append(names, s.Name)
	}

	t.Run("a failing step fails it and the exit handler tears down", func(t *testing.T) {
		repo := filepath.Join(tmp, "broken")
		operatortest.BrokenCheckout(t, root, repo, tmp)

		res := r.submit(t, repo)
		if res.exit != 1 {
			t.Fatalf("exit %d, want 1\n%s", res.exit, res.stderr)
		}
		wf := r.workflow(t, res.name)
		if wf.phase != "Failed" || wf.steps["test"] != "Failed" || wf.steps["deploy"] != "Succeeded" || wf.steps["teardown"] != "Succeeded" || wf.steps["upload"] != "Succeeded" {
			t.Errorf("workflow %s %s, steps %v: want Failed, test Failed, deploy, teardown and upload Succeeded", res.name, wf.phase, wf.steps)
		}
		build := r.latestBuild(t)
		if cases, failed := r.junit(t, build, e2e.JUnitFile); !cmp.Equal(cases, names) || !cmp.Equal(failed, []string{"test"}) {
			t.Errorf("%s: cases %v, failed %v; want %v, failed [test]", e2e.JUnitFile, cases, failed, names)
		}
		if log := r.object(t, build, e2e.BuildLogFile); !strings.Contains(log, "[test] --- FAIL: TFJobSucceeds") || !strings.Contains(log, "teardown: passed") {
			t.Errorf("build-log.txt lacks the failed test or the teardown:\n%.3000s", log)
		}
		if _, failed := r.junit(t, build, "junit_operator.xml"); !cmp.Equal(failed, []string{"TFJobSucceeds"}) {
			t.Errorf("junit_operator.xml: failed %v, want [TFJobSucceeds]", failed)
		}
		if fin := r.finished(t, build); fin.Passed == nil || *fin.Passed || fin.Result != "FAILURE" {
			t.Errorf("finished.json: %+v", fin)
		}
		operatortest.NothingLeft(t, r.kube)
	})

	t.Run("the tf-k8s presubmit with runner argo", func(t *testing.T) {
		// The jobs of the repository's spec with runner: argo: the Prow
		// job's pod submits the Workflow to the cluster it runs in and
		// waits for it.
		src, err := os.ReadFile(filepath.Join(root, "config", "tf-k8s.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		spec := strings.Replace(string(src), "\nrunner: e2e\n", "\nrunner: argo\n", 1)
		if spec == string(src) {
			t.Fatal("config/tf-k8s.yaml has no `runner: e2e` line to change")
		}
		specPath := filepath.Join(tmp, "argo", "tf-k8s.yaml")
		jobConfig := filepath.Join(tmp, "argo", "jobs", "tf-k8s.yaml")
		if err := os.MkdirAll(filepath.Dir(jobConfig), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(specPath, []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := process.Output(ctx, process.Exec{}, process.Cmd{Name: bin, Args: []string{"jobs", "generate", "--spec", specPath, "--out", jobConfig}, Dir: root}); err != nil {
			t.Fatalf("jobs generate: %v\n%s", err, out)
		}
		var out bytes.Buffer
		rctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		defer cancel()
		err = process.Exec{}.Run(rctx, process.Cmd{Name: bin, Args: []string{"run", "tf-k8s-presubmit", "--dir", dir, "--job-config-path", filepath.Dir(jobConfig), "--spec", specPath, "--local-repo", root, "--timeout", "14m"}, Dir: root, Stdout: &out, Stderr: &out})
		t.Logf("prowctl run tf-k8s-presubmit:\n%s", out.String())
		if err != nil {
			t.Fatalf("prowctl run: %v", err)
		}
		// The job's log: the Workflow's progress, as submit prints it.
		for _, want := range []string{"workflow test-pods/e2e-tf-k8s-presubmit-", ": Succeeded"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("the job's log lacks %q", want)
			}
		}
		list, err := r.dyn.Resource(WorkflowsResource).Namespace("").List(ctx, metav1.ListOptions{LabelSelector: "prow.k8s.io/job=tf-k8s-presubmit"})
		if err != nil || len(list.Items) != 1 {
			t.Fatalf("workflows of tf-k8s-presubmit: %v, %d", err, len(list.Items))
		}
		want := map[string]string{CheckoutTemplate: "Succeeded"}
		for _, n := range names {
			want[n] = "Succeeded"
		}
		if wf := r.workflow(t, list.Items[0].GetName()); wf.phase != "Succeeded" || !cmp.Equal(wf.steps, want) {
			t.Errorf("workflow %s; its steps (-want +got):\n%s", wf.phase, cmp.Diff(want, wf.steps))
		}
		// The Workflow's upload put the steps' results where Prow's
		// sidecar puts the job's: e2e run's test cases, all passed; the
		// operator's own tests.
		build := r.findBuild(t, "pr-logs/pull/tensorflow_k8s/", "tf-k8s-presubmit")
		if cases, failed := r.junit(t, build, e2e.JUnitFile); !cmp.Equal(cases, names) || len(failed) > 0 {
			t.Errorf("%s: cases %v (failed %v), want %v", e2e.JUnitFile, cases, failed, names)
		}
		if cases, failed := r.junit(t, build, "junit_operator.xml"); len(cases) == 0 || len(failed) > 0 {
			t.Errorf("junit_operator.xml: cases %v, failed %v", cases, failed)
		}
		if log := r.object(t, build, "artifacts/steps/test.log"); !strings.Contains(log, "--- PASS: TFJobSucceeds") {
			t.Errorf("steps/test.log lacks the operator's test:\n%.3000s", log)
		}
		if fin := r.finished(t, build); fin.Passed == nil || !*fin.Passed {
			t.Errorf("finished.json: %+v", fin)
		}
		operatortest.NothingLeft(t, r.kube)
	})

	t.Run("SIGTERM stops the Workflow and its exit handler still runs", func(t *testing.T) {
		var stderr syncBuffer
		started := make(chan struct{})
		stderr.watch("slow: started", started)
		proc, err := process.Exec{}.Start(process.Cmd{Name: bin, Args: r.args("--pipeline", "pkg/e2e/argo/testdata/stop.yaml"), Dir: root, Stdout: io.Discard, Stderr: &stderr, DieWithParent: true})
		if err != nil {
			t.Fatal(err)
		}
		select {
		case <-started:
		case err := <-proc.Exited():
			t.Fatalf("prowctl ended before the step started: %v\n%s", err, stderr.String())
		case <-time.After(5 * time.Minute):
			t.Fatalf("the slow step did not start in 5m:\n%s", stderr.String())
		}
		if err := syscall.Kill(proc.PID(), syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		var exit int
		select {
		case err := <-proc.Exited():
			exit = exitCode(err)
		case <-time.After(5 * time.Minute):
			t.Fatalf("prowctl did not end within 5m of SIGTERM:\n%s", stderr.String())
		}
		name := workflowName(t, stderr.String())
		wf := r.workflow(t, name)
		if exit != 143 || wf.shutdown != "Stop" || wf.phase != "Failed" || wf.steps["slow"] == "Succeeded" || wf.steps["cleanup"] != "Succeeded" || wf.steps["upload"] != "Succeeded" {
			t.Errorf("exit %d; workflow %s %s, shutdown %q, steps %v: want exit 143, Failed, Stop, slow not Succeeded, cleanup and upload Succeeded\n%s", exit, name, wf.phase, wf.shutdown, wf.steps, stderr.String())
		}
		build := r.latestBuild(t)
		if log := r.object(t, build, "artifacts/steps/cleanup.log"); !strings.Contains(log, "cleanup ran") {
			t.Errorf("cleanup.log: %q", log)
		}
		if fin := r.finished(t, build); fin.Passed == nil || *fin.Passed {
			t.Errorf("finished.json: %+v, want not passed", fin)
		}
	})
}

// realNode is the cluster the test submits to, and what it reads back.
type realNode struct {
	// root is the repository's, tmp the test's directory, bin the
	// prowctl under test, dir the cluster's.
	root, tmp, bin, dir string
	gcs, bucket         string
	kube                kubernetes.Interface
	dyn                 dynamic.Interface
}

// startRealNode builds prowctl and starts a personal cluster with a real
// node and Argo with it (`prowctl cluster up --with argo`), stopped when
// the test ends.
func startRealNode(t testing.TB) *realNode {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: a personal cluster with a real node and Argo; runs without -short")
	}
	if os.Geteuid() != 0 {
		t.Fatal("a real node needs root")
	}
	ctx := context.Background()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	// Static: the jobs' image holds this very binary.
	bin := prowctlbin.Path(t)
	dir := filepath.Join(tmp, "cluster")
	t.Cleanup(func() {
		if out, err := process.Output(context.Background(), process.Exec{}, process.Cmd{Name: bin, Args: []string{"cluster", "down", "--dir", dir}}); err != nil {
			t.Errorf("cluster down: %v\n%s", err, out)
		}
	})
	if out, err := process.Output(ctx, process.Exec{}, process.Cmd{Name: bin, Args: []string{"cluster", "up", "--dir", dir, "--with", "argo"}, Dir: root}); err != nil {
		t.Fatalf("cluster up: %v\n%s", err, out)
	}
	r := &realNode{root: root, tmp: tmp, bin: bin, dir: dir}
	state, err := cluster.LoadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", state.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if r.kube, err = kubernetes.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	if r.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		t.Fatal(err)
	}
	store, buckets, err := steps.PersonalStore(context.Background(), dir)
	if err != nil || len(buckets) == 0 {
		t.Fatalf("the cluster's GCS emulator: %v, buckets %v", err, buckets)
	}
	r.gcs, r.bucket = store.GCSEndpoint, buckets[0]
	return r
}

func (r *realNode) args(extra ...string) []string {
	return append([]string{"e2e", "submit", "--argo", "--wait", "--dir", r.dir, "--stop-grace", "3m"}, extra...)
}

type submitted struct {
	name, stderr string
	exit         int
}

// submit runs `prowctl e2e submit --argo --wait` in the checkout repo.
func (r *realNode) submit(t testing.TB, repo string, extra ...string) submitted {
	t.Helper()
	var stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	err := process.Exec{}.Run(ctx, process.Cmd{Name: r.bin, Args: r.args(extra...), Dir: repo, Stdout: io.Discard, Stderr: &stderr})
	t.Logf("prowctl e2e submit --argo --wait:\n%s", stderr.String())
	return submitted{name: workflowName(t, stderr.String()), stderr: stderr.String(), exit: exitCode(err)}
}

var createdLine = regexp.MustCompile(`workflow [-a-z0-9]+/([-a-z0-9]+) created`)

func workflowName(t testing.TB, stderr string) string {
	t.Helper()
	m := createdLine.FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("prowctl said no workflow created:\n%s", stderr)
	}
	return m[1]
}

func exitCode(err error) int {
	var ee interface{ ExitCode() int }
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// workflowState is what the Workflow's status says.
type workflowState struct {
	phase, shutdown string
	steps           map[string]string // task (step) name -> phase of its pod
}

func (r *realNode) workflow(t *testing.T, name string) workflowState {
	t.Helper()
	list, err := r.dyn.Resource(WorkflowsResource).Namespace("").List(context.Background(), metav1.ListOptions{FieldSelector: "metadata.name=" + name})
	if err != nil || len(list.Items) != 1 {
		t.Fatalf("workflow %s: %v (%d found)", name, err, len(list.Items))
	}
	wf := list.Items[0]
	s := workflowState{steps: map[string]string{}}
	s.phase, _, _ = unstructured.NestedString(wf.Object, "status", "phase")
	s.shutdown, _, _ = unstructured.NestedString(wf.Object, "spec", "shutdown")
	nodes, _, _ := unstructured.NestedMap(wf.Object, "status", "nodes")
	for _, n := range nodes {
		m := n.(map[string]any)
		if m["type"] == "Pod" {
			// The exit handler's tasks too: a DAG's task is displayed
			// by its name.
			s.steps[m["displayName"].(string)], _ = m["phase"].(string)
		}
	}
	return s
}

// latestBuild is the GCS path of the local job's last build.
func (r *realNode) latestBuild(t *testing.T) string {
	t.Helper()
	id := strings.TrimSpace(r.object(t, "logs/"+e2e.LocalJob, "latest-build.txt"))
	if id == "" {
		t.Fatal("no latest-build.txt")
	}
	return "logs/" + e2e.LocalJob + "/" + id
}

// findBuild is the GCS path of the one build of job under prefix.
func (r *realNode) findBuild(t *testing.T, prefix, job string) string {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("%s/storage/v1/b/%s/o?prefix=%s", r.gcs, r.bucket, url.QueryEscape(prefix)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var objs struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&objs); err != nil {
		t.Fatal(err)
	}
	builds := map[string]bool{}
	for _, o := range objs.Items {
		if dir, ok := strings.CutSuffix(o.Name, "/finished.json"); ok && strings.Contains(dir, "/"+job+"/") {
			builds[dir] = true
		}
	}
	if len(builds) != 1 {
		t.Fatalf("builds of %s under %s: %v, want one", job, prefix, builds)
	}
	for b := range builds {
		return b
	}
	return ""
}

func (r *realNode) object(t *testing.T, build, name string) string {
	t.Helper()
	u := fmt.Sprintf("%s/storage/v1/b/%s/o/%s?alt=media", r.gcs, r.bucket, url.PathEscape(build+"/"+name))
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("%s/%s: %s %v", build, name, resp.Status, err)
	}
	return string(b)
}

// junit returns the test cases of a JUnit file of the build's artifacts,
// and those that failed.
func (r *realNode) junit(t *testing.T, build, name string) (cases, failed []string) {
	t.Helper()
	var suites struct {
		Suites []struct {
			Cases []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(r.object(t, build, "artifacts/"+name)), &suites); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	for _, s := range suites.Suites {
		for _, c := range s.Cases {
			cases = append(cases, c.Name)
			if c.Failure != nil {
				failed = append(failed, c.Name)
			}
		}
	}
	return cases, failed
}

type finishedJSON struct {
	Passed *bool  `json:"passed"`
	Result string `json:"result"`
}

func (r *realNode) finished(t *testing.T, build string) finishedJSON {
	t.Helper()
	var f finishedJSON
	if err := json.Unmarshal([]byte(r.object(t, build, "finished.json")), &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// syncBuffer is a process's output, read while it runs; watch closes ch
// once the output holds s.
type syncBuffer struct {
	mu   sync.Mutex
	b    bytes.Buffer
	s    string
	ch   chan struct{}
	done bool
}

func (w *syncBuffer) watch(s string, ch chan struct{}) { w.s, w.ch = s, ch }

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if w.ch != nil && !w.done && strings.Contains(w.b.String(), w.s) {
		w.done = true
		close(w.ch)
	}
	return len(p), nil
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// BenchmarkStepOverhead times testdata/overhead.yaml (four chained steps
// that run `true`) on Argo on a real node (`e2e submit --argo --wait`:
// export, the checkout's pod, a pod per step, Argo's scheduling) and with
// `e2e run` in one process, and reports each engine's seconds per step
// (s/step-argo, s/step-run): the overhead a step pays on each.
func BenchmarkStepOverhead(b *testing.B) {
	r := startRealNode(b)
	const pipeline, steps = "pkg/e2e/argo/testdata/overhead.yaml", 4
	// The first submit loads the jobs' image into the node.
	if res := r.submit(b, r.root, "--pipeline", pipeline); res.exit != 0 {
		b.Fatalf("warm-up: exit %d\n%s", res.exit, res.stderr)
	}
	var argoTime, runTime time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		if res := r.submit(b, r.root, "--pipeline", pipeline); res.exit != 0 {
			b.Fatalf("exit %d\n%s", res.exit, res.stderr)
		}
		argoTime += time.Since(start)
		start = time.Now()
		if out, err := process.Output(context.Background(), process.Exec{}, process.Cmd{Name: r.bin, Args: []string{"e2e", "run", "--pipeline", pipeline, "--artifacts", filepath.Join(r.tmp, "run-artifacts")}, Dir: r.root}); err != nil {
			b.Fatalf("e2e run: %v\n%s", err, out)
		}
		runTime += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(argoTime.Seconds()/float64(b.N*steps), "s/step-argo")
	b.ReportMetric(runTime.Seconds()/float64(b.N*steps), "s/step-run")
}
