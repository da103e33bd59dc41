package jobrun

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/jobdebug"
	"github.com/prowctl/prowctl/pkg/jobsecret"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/process"
	"github.com/prowctl/prowctl/pkg/prowjob"
	"github.com/prowctl/prowctl/pkg/redact"
)

// The test binary serves the cluster's components that are prowctl itself.
func TestMain(m *testing.M) {
	// A real node's components that are prowctl itself run this binary
	// (Options.Executable).
	if code, ok := cluster.MainIfSelf(os.Args[1:], os.Stderr); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// jobConfig has a presubmit of tensorflow/k8s that runs the checkout's
// hello.sh, and periodics with an image loaded by the test and one that is
// nowhere.
const jobConfig = `presubmits:
  tensorflow/k8s:
  - name: local-presubmit
    always_run: true
    decorate: true
    spec:
      containers:
      - image: %[1]s
        command:
        - /bin/bash
        - -c
        - |
          cd /home/prow/go/src/github.com/tensorflow/k8s
          bash hello.sh
  - name: local-fails
    always_run: true
    decorate: true
    spec:
      containers:
      - image: %[1]s
        command: [/bin/bash, -c, 'echo failing on purpose; exit 1']
        env:
        - {name: FROM_THE_JOB, value: job-env-value}
periodics:
- name: loaded-image
  interval: 24h
  decorate: true
  spec:
    containers:
    - image: gcr.io/prowctl-test/hello:v1
      command: [/bin/bash, /hello.sh]
- name: too-big
  interval: 24h
  decorate: true
  spec:
    containers:
    - image: %[1]s
      command: [/bin/true]
      resources:
        requests:
          cpu: "512"
- name: reads-secrets
  interval: 24h
  decorate: true
  spec:
    containers:
    - image: %[1]s
      command: [/bin/bash, -c, 'echo "token $TOKEN"; echo "password $(cat /etc/creds/password)"']
      env:
      - name: TOKEN
        valueFrom:
          secretKeyRef: {name: api, key: token}
      volumeMounts:
      - {name: creds, mountPath: /etc/creds}
    volumes:
    - name: creds
      secret: {secretName: creds}
- name: missing-image
  interval: 24h
  decorate: true
  spec:
    containers:
    - image: gcr.io/prowctl-test/nowhere:v1
      command: [/bin/true]
`

// The jobs of jobConfig on one personal cluster with a real node.
func TestRun(t *testing.T) {
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
	prowConfig := filepath.Join(root, "config", "prow", "config.yaml")
	clusterDir := filepath.Join(tmp, "cluster")
	t.Cleanup(func() {
		if _, err := cluster.Down(context.Background(), clusterDir, cluster.DownOptions{StopGrace: 5 * time.Second}); err != nil {
			t.Errorf("down: %v", err)
		}
	})
	runWith := func(t *testing.T, job string, local *mkpj.LocalRepo, secrets *jobsecret.Given) (*Result, string, string, error) {
		t.Helper()
		var out, errOut bytes.Buffer
		// As prowctl run masks them: the given values, in all it prints.
		m := redact.NewMasker(secrets.Values())
		mOut, mErrOut := m.Writer(&out), m.Writer(&errOut)
		began := time.Now()
		res, err := Run(context.Background(), Options{
			Cluster: cluster.Options{
				Dir: clusterDir, ProwConfig: prowConfig,
				Node: cluster.NodeReal, StopWithParent: true,
			},
			ConfigPath: prowConfig, JobConfigPath: jobs,
			Query: mkpj.Query{Name: job}, Local: local,
			Out: mOut, ErrOut: mErrOut,
			Timeout: 2 * time.Minute,
			Secrets: secrets,
		})
		mOut.Flush()
		mErrOut.Flush()
		t.Logf("run %s took %.1fs; progress:\n%s", job, time.Since(began).Seconds(), errOut.String())
		return res, out.String(), errOut.String(), err
	}
	// connect reaches the ProwJobs of the tests' cluster.
	connect := func(t *testing.T) *prowjob.Client {
		t.Helper()
		state, err := cluster.LoadState(clusterDir)
		if err != nil {
			t.Fatal(err)
		}
		c, err := prowjob.Connect(context.Background(), prowjob.ConnectOptions{Kubeconfig: state.Kubeconfig, DefaultNamespace: "prow"})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	run := func(t *testing.T, job string, local *mkpj.LocalRepo) (*Result, string, string, error) {
		t.Helper()
		return runWith(t, job, local, nil)
	}

	// Against a local checkout with an uncommitted change: the job clones
	// the change from the cluster's git server, its log streams to Out,
	// and the artifacts are in the GCS emulator.
	t.Run("local repo", func(t *testing.T) {
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
		// Not "master": the git server's HEAD must follow the branch.
		git("init", "-q", "-b", "main")
		write := func(content string) {
			if err := os.WriteFile(filepath.Join(repo, "hello.sh"), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		write("echo committed version\n")
		git("add", "hello.sh")
		git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "hello")
		write("echo uncommitted version; echo fine\n")

		res, out, errOut, err := run(t, "local-presubmit", &mkpj.LocalRepo{Dir: repo, Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp}})
		if err != nil {
			t.Fatal(err)
		}
		if res.ProwJob.Status.State != prowapi.SuccessState {
			t.Errorf("state %s", res.ProwJob.Status.State)
		}
		if !strings.Contains(out, "uncommitted version\nfine\n") {
			t.Errorf("the test log on Out is not the uncommitted script's output:\n%s", out)
		}
		if !strings.Contains(errOut, "artifacts: "+res.Artifacts) || !strings.HasPrefix(res.Artifacts, "gs://") {
			t.Errorf("artifacts %q not reported:\n%s", res.Artifacts, errOut)
		}
		if log := artifact(t, res, "build-log.txt"); !strings.Contains(log, "uncommitted version") {
			t.Errorf("build-log.txt in the emulator: %s", log)
		}
		if st := git("status", "--porcelain"); st != "M hello.sh" {
			t.Errorf("git status after the run: %q", st)
		}
	})

	// A job whose image is not on the node fails at once, naming the image
	// and the command that loads it; the ProwJob is aborted.
	t.Run("missing image", func(t *testing.T) {
		began := time.Now()
		res, _, _, err := run(t, "missing-image", nil)
		var ie *ImageError
		if !errors.As(err, &ie) || ie.Image != "gcr.io/prowctl-test/nowhere:v1" || !strings.Contains(err.Error(), "prowctl cluster load gcr.io/prowctl-test/nowhere:v1") {
			t.Fatalf("error %v, want an *ImageError naming the image and the load command", err)
		}
		if d := time.Since(began); d > 45*time.Second {
			t.Errorf("took %s to say so", d)
		}
		c := connect(t)
		pj, err := c.Get(context.Background(), res.ProwJob.Name)
		if err != nil {
			t.Fatal(err)
		}
		if pj.Status.State != prowapi.AbortedState {
			t.Errorf("the ProwJob is %s, want aborted", pj.Status.State)
		}
	})

	// A job reading a Secret through env and a volume: without them it
	// does not start, naming them; with them it runs, and its streamed log
	// shows *** where it printed them.
	t.Run("secrets", func(t *testing.T) {
		_, _, _, err := run(t, "reads-secrets", nil)
		var me *jobsecret.MissingError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), "api/token (env TOKEN of container test), creds (volume creds); give them with --secret api/token=FILE --secret creds/KEY=FILE") {
			t.Fatalf("without secrets: %v, want a *MissingError naming api/token and creds", err)
		}
		// Refused before the ProwJob was made.
		c := connect(t)
		if l, err := c.ListSelected(context.Background(), "prow.k8s.io/job=reads-secrets"); err != nil || len(l) != 0 {
			t.Errorf("ProwJobs of a job refused: %d (%v)", len(l), err)
		}
		var given jobsecret.Given
		token := filepath.Join(tmp, "token")
		if err := os.WriteFile(token, []byte("t0ken-value-1"), 0o600); err != nil {
			t.Fatal(err)
		}
		env := filepath.Join(tmp, "creds.env")
		if err := os.WriteFile(env, []byte("creds/password=pa55word-2\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := given.AddFlag("api/token=" + token); err != nil {
			t.Fatal(err)
		}
		if err := given.AddEnvFile(env); err != nil {
			t.Fatal(err)
		}
		res, out, errOut, err := runWith(t, "reads-secrets", nil, &given)
		if err != nil {
			t.Fatal(err)
		}
		if res.ProwJob.Status.State != prowapi.SuccessState {
			t.Errorf("state %s", res.ProwJob.Status.State)
		}
		if !strings.Contains(out, "token ***\npassword ***\n") {
			t.Errorf("the streamed log does not show *** for the secrets:\n%s", out)
		}
		if strings.Contains(out+errOut, "t0ken-value") || strings.Contains(out+errOut, "pa55word") {
			t.Errorf("a secret's value was printed")
		}
		// The job really read them: its own log, in the emulator, has
		// them (that is the job's artifact, not something prowctl wrote).
		if log := artifact(t, res, "build-log.txt"); !strings.Contains(log, "token t0ken-value-1\npassword pa55word-2") {
			t.Errorf("build-log.txt: %q", log)
		}
	})

	// A failed job's copy: the command runs in the checked-out repo, with
	// the job's env, and the copy goes when it ends.
	t.Run("debug", func(t *testing.T) {
		repo := filepath.Join(tmp, "debugged")
		if err := os.MkdirAll(repo, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, "notes.txt"), []byte("checked out for debugging\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "notes.txt"}, {"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "notes"}} {
			if _, err := process.Output(context.Background(), process.Exec{}, process.Cmd{Name: "git", Args: append([]string{"-C", repo}, args...)}); err != nil {
				t.Fatal(err)
			}
		}
		res, _, _, err := run(t, "local-fails", &mkpj.LocalRepo{Dir: repo, Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + tmp, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}})
		var fe *prowjob.FailedError
		if !errors.As(err, &fe) {
			t.Fatalf("err %v, want the job to fail", err)
		}
		c := connect(t)
		var out, errOut bytes.Buffer
		err = jobdebug.Run(context.Background(), c, res.ProwJob.Name, jobdebug.Options{
			Command: []string{"/bin/sh", "-c", "pwd; cat notes.txt; echo \"env $FROM_THE_JOB\"; exit 7"},
			Out:     &out, ErrOut: &errOut, StartTimeout: 2 * time.Minute,
		})
		t.Logf("debug:\n%s%s", out.String(), errOut.String())
		var ee *jobdebug.ExitError
		if !errors.As(err, &ee) || ee.Code != 7 {
			t.Fatalf("err %v, want the command's exit 7", err)
		}
		if want := "/home/prow/go/src/github.com/tensorflow/k8s\nchecked out for debugging\nenv job-env-value\n"; out.String() != want {
			t.Errorf("output %q, want %q", out.String(), want)
		}
		pods, err := c.Kube.CoreV1().Pods("test-pods").List(context.Background(), metav1.ListOptions{LabelSelector: jobdebug.LabelOf + "=" + res.ProwJob.Name})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil {
				t.Errorf("the debug pod %s is left", p.Name)
			}
		}
	})

	// A pod that asks for more than the node has fails at once.
	t.Run("too big", func(t *testing.T) {
		_, _, _, err := run(t, "too-big", nil)
		var se *SchedulingError
		if !errors.As(err, &se) || !strings.Contains(err.Error(), "request 512100m cpu in all") {
			t.Fatalf("error %v, want a *SchedulingError naming the cpu request", err)
		}
	})

	// An image loaded from a tarball under the name the job uses runs
	// unchanged.
	t.Run("loaded image", func(t *testing.T) {
		state, err := cluster.LoadState(clusterDir)
		if err != nil {
			t.Fatal(err)
		}
		tarPath := filepath.Join(tmp, "hello.tar")
		writeHelloImage(t, tarPath, "gcr.io/prowctl-test/hello:v1")
		loaded, err := cluster.LoadImage(context.Background(), state, process.Exec{}, tarPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(loaded) != 1 || !strings.HasSuffix(loaded[0], "gcr.io/prowctl-test/hello:v1") {
			t.Errorf("loaded %v", loaded)
		}
		res, out, _, err := run(t, "loaded-image", nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.ProwJob.Status.State != prowapi.SuccessState || !strings.Contains(out, "hello from a loaded image") {
			t.Errorf("state %s, log %q", res.ProwJob.Status.State, out)
		}
	})
}

// writeHelloImage writes a docker-archive of an image named ref: the Debian
// base of `make tools` with /hello.sh on top.
func writeHelloImage(t *testing.T, path, ref string) {
	t.Helper()
	rootfs, err := cluster.Debian.Path(cluster.DefaultToolsDir(), "rootfs.tar")
	if err != nil {
		t.Fatal(err)
	}
	base, err := tarball.LayerFromFile(rootfs, tarball.WithCompressionLevel(gzip.BestSpeed))
	if err != nil {
		t.Fatal(err)
	}
	var script bytes.Buffer
	tw := tar.NewWriter(&script)
	body := "echo hello from a loaded image\n"
	tw.WriteHeader(&tar.Header{Name: "hello.sh", Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write([]byte(body))
	tw.Close()
	top, err := tarball.LayerFromReader(bytes.NewReader(script.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, base, top)
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := img.ConfigFile()
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(path, tag, img); err != nil {
		t.Fatal(err)
	}
}

// artifact reads one of the job's artifacts from the GCS emulator, through
// the forwarder on the host's loopback.
func artifact(t testing.TB, res *Result, object string) string {
	t.Helper()
	bucketURL, _, _ := strings.Cut(res.ArtifactsURL, "/o?prefix=")
	_, dir, _ := strings.Cut(strings.TrimPrefix(res.Artifacts, "gs://"), "/")
	resp, err := http.Get(bucketURL + "/o/" + url.PathEscape(dir+"/"+object) + "?alt=media")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s/%s: %s", res.Artifacts, object, resp.Status)
	}
	return string(b)
}

// The example jobs name the Debian image the cluster holds.
func TestExampleJobsUseTheClustersImage(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "config", "examples", "local-jobs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	images, ours := strings.Count(string(b), "image: "), strings.Count(string(b), "image: "+cluster.DebianImage())
	if images == 0 || ours != images {
		t.Errorf("config/examples/local-jobs.yaml names %s in %d of its %d images, want all (update it with the Debian tool's version)", cluster.DebianImage(), ours, images)
	}
}
