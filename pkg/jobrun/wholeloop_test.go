package jobrun

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/internal/browser"
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
	if testing.Short() {
		t.Skip("integration test: starts a personal cluster with a real node; runs without -short")
	}
	if os.Geteuid() != 0 {
		t.Fatal("a real node needs root")
	}
	ctx := context.Background()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	prowConfig := filepath.Join(root, "config", "prow", "config.yaml")
	clusterDir := filepath.Join(tmp, "cluster")
	t.Cleanup(func() {
		if _, err := cluster.Down(context.Background(), clusterDir, cluster.DownOptions{StopGrace: 5 * time.Second}); err != nil {
			t.Errorf("down: %v", err)
		}
	})
	// The prowctl the image holds: this checkout's, static.
	bin := filepath.Join(tmp, "prowctl")
	var out bytes.Buffer
	if err := (process.Exec{}).Run(ctx, process.Cmd{Name: "go", Args: []string{"build", "-o", bin, "./cmd/prowctl"}, Dir: root, Env: append(os.Environ(), "CGO_ENABLED=0"), Stdout: &out, Stderr: &out}); err != nil {
		t.Fatalf("go build prowctl: %v\n%s", err, out.String())
	}
	spec, err := jobs.LoadSpec(filepath.Join(root, "config", "tf-k8s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rootfs, err := cluster.Debian.Path(cluster.DefaultToolsDir(), "rootfs.tar")
	if err != nil {
		t.Fatal(err)
	}
	images := func(ctx context.Context, state *cluster.State, names []string) error {
		res, err := jobimage.Build(ctx, jobimage.Options{Names: []string{spec.Image}, Rootfs: rootfs, Prowctl: bin, CacheDir: filepath.Join(tmp, "images"), Runner: process.Exec{}})
		if err != nil {
			return err
		}
		_, err = cluster.LoadBuilt(ctx, state, process.Exec{}, res.Archive, res.ID, []string{spec.Image})
		return err
	}
	presubmit := func(t *testing.T, repo string) (*Result, string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		began := time.Now()
		res, err := Run(ctx, Options{
			Cluster:    cluster.Options{Dir: clusterDir, ProwConfig: prowConfig, Node: cluster.NodeReal, StopWithParent: true},
			ConfigPath: prowConfig, JobConfigPath: filepath.Join(root, "config", "jobs"),
			Query:  mkpj.Query{Name: "tf-k8s-presubmit"},
			Local:  &mkpj.LocalRepo{Dir: repo, Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp}},
			Images: images,
			Out:    &out, ErrOut: &errOut,
			Timeout: 8 * time.Minute,
		})
		t.Logf("the presubmit took %.1fs; progress:\n%s", time.Since(began).Seconds(), errOut.String())
		return res, out.String(), err
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
		nss, err := c.Kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, ns := range nss.Items {
			if strings.HasPrefix(ns.Name, "e2e-") && ns.Status.Phase != "Terminating" {
				t.Errorf("namespace %s is left", ns.Name)
			}
		}
		releases, err := c.Kube.CoreV1().Secrets("").List(ctx, metav1.ListOptions{LabelSelector: "owner=helm"})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range releases.Items {
			t.Errorf("helm release secret %s/%s is left", s.Namespace, s.Name)
		}
		roles, err := c.Kube.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=tf-operator"})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range roles.Items {
			t.Errorf("the chart's ClusterRole %s is left", r.Name)
		}
		ext, err := c.Kube.Discovery().ServerResourcesForGroupVersion("kubeflow.org/v1alpha1")
		if err == nil && len(ext.APIResources) > 0 {
			t.Errorf("the TFJob CRD is left: %v", ext.APIResources)
		}
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
		git := func(args ...string) {
			t.Helper()
			if _, err := process.Output(ctx, process.Exec{}, process.Cmd{Name: "git", Args: args, Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp}}); err != nil {
				t.Fatal(err)
			}
		}
		git("clone", "--quiet", root, repo)
		p := filepath.Join(repo, "testdata", "operator", "reconcile.go")
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		broken := strings.Replace(string(src), "case done == len(pods):", "case false && done == len(pods): // broken: never Succeeded", 1)
		if broken == string(src) {
			t.Fatal("testdata/operator/reconcile.go: no `case done == len(pods):` to break")
		}
		if err := os.WriteFile(p, []byte(broken), 0o644); err != nil {
			t.Fatal(err)
		}
		git("-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-am", "operator: never mark TFJobs Succeeded")

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
		if foreign := b.ForeignRequests(); len(foreign) > 0 {
			t.Errorf("the browser asked hosts other than 127.0.0.1: %v", foreign)
		}
	})
}
