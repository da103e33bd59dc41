package jobrun

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/process"
)

// The test binary serves the cluster's components that are prowctl itself.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && strings.HasPrefix(os.Args[1], "__prowctl-") {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		_, err := cluster.ServeSelf(ctx, os.Args[1:], os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// jobConfig is a presubmit of tensorflow/k8s that runs the checkout's
// hello.sh, and writes a JUnit.
const jobConfig = `presubmits:
  tensorflow/k8s:
  - name: local-presubmit
    always_run: true
    decorate: true
    spec:
      containers:
      - image: %s
        command:
        - /bin/bash
        - -c
        - |
          cd /home/prow/go/src/github.com/tensorflow/k8s
          bash hello.sh
`

// run against a local checkout with an uncommitted change: the job clones
// the change from the cluster's git server, its log streams to Out, and the
// artifacts are in the GCS emulator.
func TestRunLocalRepo(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: starts a personal cluster with a real node; runs without -short")
	}
	if os.Geteuid() != 0 {
		t.Fatal("a real node needs root")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	jobs := filepath.Join(tmp, "jobs.yaml")
	if err := os.WriteFile(jobs, []byte(fmt.Sprintf(jobConfig, cluster.DebianImage())), 0o644); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(tmp, "k8s")
	git := func(args ...string) string {
		t.Helper()
		out, err := process.Output(context.Background(), process.Exec{}, process.Cmd{Name: "git", Args: append([]string{"-C", repo}, args...)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if err := os.MkdirAll(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	git("init", "-q", "-b", "master")
	write := func(content string) {
		if err := os.WriteFile(filepath.Join(repo, "hello.sh"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("echo committed version\n")
	git("add", "hello.sh")
	git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "hello")
	write("echo uncommitted version; echo fine\n")

	clusterDir := filepath.Join(tmp, "cluster")
	t.Cleanup(func() {
		if _, err := cluster.Down(context.Background(), clusterDir, cluster.DownOptions{StopGrace: 5 * time.Second}); err != nil {
			t.Errorf("down: %v", err)
		}
	})
	var out, errOut bytes.Buffer
	began := time.Now()
	res, err := Run(context.Background(), Options{
		Cluster: cluster.Options{
			Dir: clusterDir, ProwConfig: filepath.Join(root, "config", "prow", "config.yaml"),
			Node: cluster.NodeReal, StopWithParent: true,
		},
		ConfigPath:    filepath.Join(root, "config", "prow", "config.yaml"),
		JobConfigPath: jobs,
		Query:         mkpj.Query{Name: "local-presubmit"},
		Local:         &mkpj.LocalRepo{Dir: repo, Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp}},
		Out:           &out, ErrOut: &errOut,
		Timeout: 2 * time.Minute,
	})
	t.Logf("run took %.1fs; progress:\n%s", time.Since(began).Seconds(), errOut.String())
	if err != nil {
		t.Fatal(err)
	}
	if res.ProwJob.Status.State != prowapi.SuccessState {
		t.Errorf("state %s", res.ProwJob.Status.State)
	}
	if got := out.String(); !strings.Contains(got, "uncommitted version\nfine\n") {
		t.Errorf("the test log on Out is not the uncommitted script's output:\n%s", got)
	}
	if !strings.Contains(errOut.String(), "artifacts: "+res.Artifacts) || !strings.HasPrefix(res.Artifacts, "gs://") {
		t.Errorf("artifacts %q not reported:\n%s", res.Artifacts, errOut.String())
	}
	// The listing URL names the emulator's bucket endpoint; read one object.
	bucketURL, _, _ := strings.Cut(res.ArtifactsURL, "/o?prefix=")
	object := strings.TrimPrefix(res.Artifacts, "gs://tf-k8s-prow-artifacts/") + "/build-log.txt"
	resp, err := http.Get(bucketURL + "/o/" + url.PathEscape(object) + "?alt=media")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), "uncommitted version") {
		t.Errorf("build-log.txt in the emulator: %s %s", resp.Status, b)
	}
	// The checkout is as it was.
	if st := git("status", "--porcelain"); st != "M hello.sh" {
		t.Errorf("git status after the run: %q", st)
	}
}
