package jobrun

import (
	"bytes"
	"context"
	"encoding/xml"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/internal/browser"
	"github.com/prowctl/prowctl/internal/operatortest"
	"github.com/prowctl/prowctl/internal/prowctlbin"
	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/jobimage"
	"github.com/prowctl/prowctl/pkg/jobs"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/process"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

// TestWholeLoop runs the tf-k8s presubmit of this repository's own config
// on a personal cluster with a real node, against this checkout: its pod
// (the jobs' image, built by the test with a prowctl built from the
// checkout) runs the e2e pipeline, which builds the operator, deploys it
// into the cluster the pod runs in, tests it and tears it down; Prow's
// sidecar uploads the JUnit to the GCS emulator. Then the same with a
// commit that breaks the operator: the job fails, and Spyglass's JUnit lens
// names the failed test. Both times teardown leaves nothing behind.
func TestWholeLoop(t *testing.T) {
	l := newLoop(t)
	ctx := context.Background()
	root, tmp, clusterDir := l.root, l.tmp, l.clusterDir
	presubmit := func(t *testing.T, repo string) (*Result, string, error) {
		t.Helper()
		res, log, progress, err := l.presubmit(repo)
		t.Logf("progress:\n%s", progress)
		return res, log, err
	}
	nothingLeft := func(t *testing.T) {
		t.Helper()
		state, err := cluster.LoadState(clusterDir)
		if err != nil {
			t.Fatal(err)
		}
		c, err := prowjob.Connect(ctx, prowjob.ConnectOptions{Kubeconfig: state.Kubeconfig, DefaultNamespace: "prow"})
		if err != nil {
			t.Fatal(err)
		}
		operatortest.NothingLeft(t, c.Kube)
	}

	t.Run("passes", func(t *testing.T) {
		res, log, err := presubmit(t, root)
		if err != nil {
			t.Fatalf("%v\nlog:\n%s", err, log)
		}
		if res.ProwJob.Status.State != prowapi.SuccessState {
			t.Fatalf("state %s", res.ProwJob.Status.State)
		}
		for _, want := range []string{"provider in-cluster from $E2E_CLUSTER_PROVIDER", "copied the image to the cluster's registry", "--- PASS: TFJobSucceeds", "e2e: SUCCESS"} {
			if !strings.Contains(log, want) {
				t.Errorf("the job's log lacks %q:\n%s", want, log)
			}
		}
		steps := artifact(t, res, "artifacts/junit_e2e-steps.xml")
		for _, step := range []string{"registry", "build-image", "build-chart", "cluster-up", "deploy", "test", "teardown", "upload"} {
			if !strings.Contains(steps, `<testcase name="`+step+`"`) {
				t.Errorf("junit_e2e-steps.xml lacks %s:\n%s", step, steps)
			}
		}
		if op := artifact(t, res, "artifacts/junit_operator.xml"); !strings.Contains(op, `name="TFJobSucceeds"`) || strings.Contains(op, "<failure") {
			t.Errorf("junit_operator.xml:\n%s", op)
		}
		nothingLeft(t)
	})

	t.Run("a commit that breaks the operator fails it", func(t *testing.T) {
		repo := filepath.Join(tmp, "broken")
		operatortest.BrokenCheckout(t, root, repo, tmp)

		res, log, err := presubmit(t, repo)
		if err == nil || res == nil || res.ProwJob.Status.State != prowapi.FailureState {
			t.Fatalf("err %v, result %+v: want the job failed", err, res)
		}
		if !strings.Contains(log, "--- FAIL: TFJobSucceeds") || !strings.Contains(log, "teardown: passed") {
			t.Errorf("the job's log lacks the failed test or the teardown:\n%s", log)
		}
		nothingLeft(t)

		// Spyglass names the failed test in its JUnit lens.
		b := browser.New(t)
		if err := b.Do(30*time.Second, chromedp.Navigate(res.ProwJob.Status.URL)); err != nil {
			t.Fatal(err)
		}
		for _, l := range []struct{ lens, want string }{{"junit", "TFJobSucceeds"}, {"buildlog", "e2e: FAILURE"}} {
			lens, want := l.lens, l.want
			// Spyglass loads a lens when it scrolls into view.
			frame := `document.querySelector('iframe[data-lens-name="` + lens + `"]')`
			if _, err := browser.Eval[bool](b, `(`+frame+`?.scrollIntoView(), true)`); err != nil {
				t.Fatal(err)
			}
			body := `(` + frame + `?.contentDocument?.body?.innerText ?? "")`
			if lens == "buildlog" {
				// It shows the lines its highlight rules pick; the rest
				// is behind a button.
				show := `[...(` + frame + `?.contentDocument?.querySelectorAll('button') ?? [])].find(x => /Show all hidden lines/.test(x.innerText))`
				if err := b.WaitFor("the build log's button", show+` !== undefined`, 30*time.Second); err != nil {
					t.Fatal(err)
				}
				if _, err := browser.Eval[bool](b, `(`+show+`.click(), true)`); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.WaitFor("the "+lens+" lens to show "+strconv.Quote(want), body+`.includes(`+strconv.Quote(want)+`)`, 30*time.Second); err != nil {
				text, _ := browser.Eval[string](b, body)
				t.Errorf("%v; it shows:\n%.2000s", err, text)
			}
		}
		// Every step is a test of the lens: the passed ones behind their
		// header.
		junit := `document.querySelector('iframe[data-lens-name="junit"]')?.contentDocument`
		expand := `[...(` + junit + `?.querySelectorAll('*') ?? [])].filter(e => e.children.length === 0 && /Tests Passed/.test(e.textContent))`
		if _, err := browser.Eval[bool](b, `(`+expand+`.forEach(e => e.click()), true)`); err != nil {
			t.Fatal(err)
		}
		for _, step := range []string{"registry", "build-image", "build-chart", "cluster-up", "deploy", "teardown", "OperatorAvailable", "DeletingATFJobDeletesItsPods"} {
			if err := b.WaitFor("the JUnit lens to list "+step, `(`+junit+`?.body?.innerText ?? "").includes(`+strconv.Quote(step)+`)`, 15*time.Second); err != nil {
				text, _ := browser.Eval[string](b, `(`+junit+`?.body?.innerText ?? "")`)
				t.Errorf("%v; it shows:\n%.3000s", err, text)
			}
		}
		if foreign := b.ForeignRequests(); len(foreign) > 0 {
			t.Errorf("the browser asked hosts other than 127.0.0.1: %v", foreign)
		}
	})
}

// loop is a personal cluster with a real node, and the jobs' image built
// with a prowctl built from this checkout, for the tf-k8s presubmit.
type loop struct {
	root, tmp, prowConfig, clusterDir string
	images                            func(ctx context.Context, state *cluster.State, names []string) error
}

func newLoop(tb testing.TB) *loop {
	tb.Helper()
	if testing.Short() {
		tb.Skip("integration test: starts a personal cluster with a real node; runs without -short")
	}
	if os.Geteuid() != 0 {
		tb.Fatal("a real node needs root")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		tb.Fatal(err)
	}
	l := &loop{root: root, tmp: tb.TempDir(), prowConfig: filepath.Join(root, "config", "prow", "config.yaml")}
	l.clusterDir = filepath.Join(l.tmp, "cluster")
	tb.Cleanup(func() {
		if _, err := cluster.Down(context.Background(), l.clusterDir, cluster.DownOptions{StopGrace: 5 * time.Second}); err != nil {
			tb.Errorf("down: %v", err)
		}
	})
	// The prowctl the image holds: this checkout's, static.
	bin := prowctlbin.Path(tb)
	spec, err := jobs.LoadSpec(filepath.Join(root, "config", "tf-k8s.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	rootfs, err := cluster.Debian.Path(cluster.DefaultToolsDir(), "rootfs.tar")
	if err != nil {
		tb.Fatal(err)
	}
	l.images = func(ctx context.Context, state *cluster.State, names []string) error {
		res, err := jobimage.Build(ctx, jobimage.Options{Names: []string{spec.Image}, Rootfs: rootfs, Prowctl: bin, CacheDir: filepath.Join(l.tmp, "images"), Runner: process.Exec{}})
		if err != nil {
			return err
		}
		_, err = cluster.LoadBuilt(ctx, state, process.Exec{}, res.Archive, res.ID, []string{spec.Image})
		return err
	}
	return l
}

// presubmit runs the tf-k8s presubmit against the checkout repo, as
// `prowctl run tf-k8s-presubmit --local-repo REPO` does, and returns the
// job's log and the progress lines.
func (l *loop) presubmit(repo string) (*Result, string, string, error) {
	var out, errOut bytes.Buffer
	res, err := Run(context.Background(), Options{
		Cluster:    cluster.Options{Dir: l.clusterDir, ProwConfig: l.prowConfig, Node: cluster.NodeReal, StopWithParent: true},
		ConfigPath: l.prowConfig, JobConfigPath: filepath.Join(l.root, "config", "jobs"),
		Query:   mkpj.Query{Name: "tf-k8s-presubmit"},
		Local:   &mkpj.LocalRepo{Dir: repo, Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + l.tmp}},
		Images:  l.images,
		Out:     &out,
		ErrOut:  &errOut,
		Timeout: 8 * time.Minute,
	})
	return res, out.String(), errOut.String(), err
}

// BenchmarkPresubmit measures the tf-k8s presubmit on the personal cluster
// against this checkout, from `prowctl run` to its result, with the cluster
// up and the image cache warm (issue 12's target: at most 90 s), and
// reports each e2e step's seconds (s/STEP) from the job's JUnit.
func BenchmarkPresubmit(b *testing.B) {
	l := newLoop(b)
	// The first run starts the cluster, builds and loads the image and
	// fills the pods' Go build cache.
	if _, log, progress, err := l.presubmit(l.root); err != nil {
		b.Fatalf("warm-up: %v\n%s\n%s", err, progress, log)
	}
	steps := map[string]float64{}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		res, log, progress, err := l.presubmit(l.root)
		if err != nil {
			b.Fatalf("%v\n%s\n%s", err, progress, log)
		}
		b.StopTimer()
		var suites struct {
			Suites []struct {
				Cases []struct {
					Name string  `xml:"name,attr"`
					Time float64 `xml:"time,attr"`
				} `xml:"testcase"`
			} `xml:"testsuite"`
		}
		if err := xml.Unmarshal([]byte(artifact(b, res, "artifacts/junit_e2e-steps.xml")), &suites); err != nil {
			b.Fatal(err)
		}
		for _, s := range suites.Suites {
			for _, c := range s.Cases {
				steps[c.Name] += c.Time
			}
		}
		b.StartTimer()
	}
	for name, sec := range steps {
		b.ReportMetric(sec/float64(b.N), "s/"+name)
	}
}
