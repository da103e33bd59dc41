package cluster

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrv1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	prowclient "sigs.k8s.io/prow/pkg/client/clientset/versioned"
	prowv1 "sigs.k8s.io/prow/pkg/client/clientset/versioned/typed/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"
	"sigs.k8s.io/prow/pkg/pjutil"

	"github.com/prowctl/prowctl/internal/prowctlbin"
	"github.com/prowctl/prowctl/pkg/jobimage"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/process"
)

// upRealNode starts a cluster with a real node (and Argo) in a fresh
// directory and stops it when the test ends, asserting it leaves nothing
// behind. It starts it where a `cluster up` was killed halfway (SIGKILL,
// its components left running): the up stops them, ends what they started
// and starts afresh, so the tests run on a cluster recovered from that,
// and down must leave nothing of either.
func upRealNode(t *testing.T) (*State, kubernetes.Interface) {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: starts a personal cluster with a real node; runs without -short")
	}
	if os.Geteuid() != 0 {
		t.Fatal("a real node needs root (network namespace, cgroups, containerd)")
	}
	dir := t.TempDir()
	if d := os.Getenv("PROWCTL_TEST_KEEP_DIR"); d != "" {
		// Kept after the test, to read the components' logs.
		dir = d
	}
	before := takeFootprint(t)
	// Until Up has returned a state, a failure (of the killed up or of Up)
	// would leave the killed up's components running: this stops them.
	var state *State
	t.Cleanup(func() {
		if state != nil {
			return
		}
		if _, err := Down(context.Background(), dir, DownOptions{StopGrace: 5 * time.Second, Keep: true}); err != nil {
			t.Logf("down after a failed up: %v", err)
		}
		if pids := clusterPIDs(ClusterID(dir), ""); len(pids) > 0 {
			t.Errorf("processes of the cluster left after a failed up: %v", pids)
		}
	})
	stale := killedUp(t, dir)
	began := time.Now()
	var progressBuf bytes.Buffer
	state, running, err := Up(context.Background(), Options{
		Dir: dir, ProwConfig: prowConfigForTest(t), Node: NodeReal, WithArgo: true,
		StopWithParent: true, Progress: &progressBuf,
	})
	t.Logf("up in %.1fs:\n%s", time.Since(began).Seconds(), progressBuf.String())
	if err != nil {
		state = nil
		t.Fatalf("up after a killed up: %v", err)
	}
	if running || !strings.Contains(progressBuf.String(), "cleaning up the stale cluster state") {
		t.Errorf("up did not clean the stale state first:\n%s", progressBuf.String())
	}
	// Every process of the cluster is the new up's.
	old := map[int]bool{}
	for _, c := range stale.Components {
		if c.Process != nil {
			old[c.Process.PID] = true
		}
	}
	for _, pid := range clusterPIDs(ClusterID(dir), "") {
		if old[pid] {
			t.Errorf("pid %d of the killed up still runs", pid)
		}
	}
	t.Cleanup(func() {
		// Held open, the namespaces keep their numbers their own once
		// the cluster is gone: the kernel would give them to the next
		// new namespace, another test's pod.
		ns := state.holdNamespace()
		defer ns.release()
		netFile, err := os.Open(state.Env().NS.Net)
		if err != nil {
			t.Fatal(err)
		}
		defer netFile.Close()
		netNS, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", netFile.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Down(context.Background(), dir, DownOptions{StopGrace: 5 * time.Second, Keep: t.Failed()}); err != nil {
			t.Errorf("down: %v", err)
		}
		assertNothingLeft(t, dir, ns.mountNS())
		if pids := inNamespace("net", netNS); len(pids) > 0 {
			t.Errorf("processes still hold the cluster's network namespace %s: %v", netNS, pids)
		}
		if diff := cmp.Diff(before, takeFootprint(t)); diff != "" {
			t.Errorf("the cluster changed the host (-before +after):\n%s", diff)
		}
	})
	kube, err := kubernetesFor(state)
	if err != nil {
		t.Fatal(err)
	}
	return state, kube
}

func kubernetesFor(s *State) (kubernetes.Interface, error) {
	cfg, err := s.Env().Rest()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// prowConfigForTest is the repository's Prow config.
func prowConfigForTest(t testing.TB) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "config", "prow", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// assertNothingLeft checks that no process, mount, cgroup or network
// namespace of the cluster in dir survives it, nor the host's directory its
// volumes were bound on, unless another cluster binds its own there.
// mountNS must be held (holdNamespace) until it returns.
func assertNothingLeft(t *testing.T, dir, mountNS string) {
	t.Helper()
	if pids := clusterPIDs(ClusterID(dir), mountNS); len(pids) > 0 {
		t.Errorf("processes of the cluster still run: %v", pids)
	}
	if cg := ClusterCgroups(dir); len(cg) > 0 {
		t.Errorf("cgroups of the cluster remain: %v", cg)
	}
	mounts, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(mounts), "\n") {
		if strings.Contains(l, dir) {
			t.Errorf("a mount of the cluster remains on the host: %s", l)
		}
	}
	if _, err := os.Stat(hostPathVolumes); err == nil {
		if inUse, err := volumesMounted(); err != nil || !inUse {
			t.Errorf("%s remains on the host, and no cluster binds its volumes there (%v)", hostPathVolumes, err)
		}
	}
	var links bytes.Buffer
	if err := (process.Exec{}).Run(context.Background(), process.Cmd{Name: "ip", Args: []string{"-o", "link"}, Stdout: &links}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cni0", "prowctl0", "veth"} {
		if strings.Contains(links.String(), name) {
			t.Errorf("the host has a %s link after down:\n%s", name, links.String())
		}
	}
}

// runPod runs a pod to its end and returns it with its log.
func runPod(t *testing.T, kube kubernetes.Interface, ns string, pod *corev1.Pod) (*corev1.Pod, string) {
	t.Helper()
	ctx := context.Background()
	p, err := kube.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wait := 60 * time.Second
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil && time.Duration(*d)*time.Second > wait {
		wait = time.Duration(*d) * time.Second
	}
	deadline := time.Now().Add(wait)
	for p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
		if time.Now().After(deadline) {
			t.Fatalf("pod %s still %s after %s: %+v", p.Name, p.Status.Phase, wait, p.Status)
		}
		time.Sleep(200 * time.Millisecond)
		if p, err = kube.CoreV1().Pods(ns).Get(ctx, pod.Name, metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	logs, err := kube.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
	if err != nil {
		t.Fatalf("logs of %s: %v", p.Name, err)
	}
	return p, string(logs)
}

// One personal cluster with a real node, recovered from a killed up, for
// the subtests: pods, decorated jobs one at a time and in a burst, Deck,
// Argo. Down at the end must leave nothing.
func TestRealNode(t *testing.T) {
	state, kube := upRealNode(t)
	t.Run("pods", func(t *testing.T) { testPods(t, state, kube) })
	t.Run("registry", func(t *testing.T) { testRegistry(t, state, kube) })
	t.Run("job image", func(t *testing.T) { testJobImage(t, state, kube) })
	t.Run("decorated jobs", func(t *testing.T) { testDecoratedJobs(t, state) })
	// These wait on Deck's 30 s reload and on Argo's pods far more than
	// on the CPU, and share nothing (names, namespaces, volumes): side by
	// side, as many at once as -parallel allows.
	t.Run("side by side", func(t *testing.T) {
		t.Run("deck", func(t *testing.T) { t.Parallel(); testDeck(t, state) })
		t.Run("argo", func(t *testing.T) { t.Parallel(); testArgo(t, state, kube) })
		t.Run("argo volume", func(t *testing.T) { t.Parallel(); testArgoVolume(t, state, kube) })
	})
}

// The real node runs a pod's command: its exit code decides the phase and
// its output is the log; the cluster's namespace has no default route.
func testPods(t *testing.T, state *State, kube kubernetes.Interface) {

	routes, err := NamespaceRoutes(context.Background(), state.Env())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if strings.HasPrefix(r, "default") {
			t.Errorf("the cluster's namespace has a default route: %s", r)
		}
	}
	t.Logf("routes in the cluster's namespace:\n%s", strings.Join(routes, "\n"))

	ns := "default"
	for _, tc := range []struct {
		name    string
		script  string
		phase   corev1.PodPhase
		wantLog string
	}{
		{"ok", "echo hello from $(hostname)", corev1.PodSucceeded, "hello from ok\n"},
		{"fail", "echo failing >&2; exit 1", corev1.PodFailed, "failing\n"},
		// The API server through the kubernetes Service (kube-proxy's
		// rules), with bash's /dev/tcp: the image has no curl.
		{"service", "exec 3<>/dev/tcp/$KUBERNETES_SERVICE_HOST/$KUBERNETES_SERVICE_PORT && echo connected", corev1.PodSucceeded, "connected\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Name: tc.name},
				Spec: corev1.PodSpec{
					RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{Name: "c", Image: DebianImage(), ImagePullPolicy: corev1.PullNever,
						Command: []string{"/bin/bash", "-c", tc.script}}},
					ActiveDeadlineSeconds: ptr(int64(60)),
				},
			}
			got, log := runPod(t, kube, ns, pod)
			if got.Status.Phase != tc.phase {
				t.Errorf("phase %s, want %s: %+v", got.Status.Phase, tc.phase, got.Status.ContainerStatuses)
			}
			if log != tc.wantLog {
				t.Errorf("log %q, want %q", log, tc.wantLog)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// testJobImage builds the tf-k8s jobs' image (pkg/jobimage) with a prowctl
// built here, loads it (a second load of the same image is skipped) and runs
// it: git, prowctl and the Go toolchain are there, the toolchain's programs
// run and it finds the standard library's sources. (Compiling in the pod is
// left to the whole-loop tests: with an empty build cache the standard
// library alone takes a minute and more on 2 cores.)
func testJobImage(t *testing.T, state *State, kube kubernetes.Interface) {
	ctx := context.Background()
	dir := t.TempDir()
	bin := prowctlbin.Path(t)
	rootfs, err := Debian.Path(state.ToolsDir, "rootfs.tar")
	if err != nil {
		t.Fatal(err)
	}
	const name = "prowctl.test/tf-k8s-job:v1"
	began := time.Now()
	res, err := jobimage.Build(ctx, jobimage.Options{Names: []string{name}, Rootfs: rootfs, Prowctl: bin, CacheDir: filepath.Join(dir, "cache"), Runner: process.Exec{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built %s in %s", res.ID, time.Since(began).Round(time.Millisecond))
	began = time.Now()
	for i, want := range []bool{true, false} {
		loaded, err := LoadBuilt(ctx, state, process.Exec{}, res.Archive, res.ID, []string{name})
		if err != nil {
			t.Fatal(err)
		}
		if loaded != want {
			t.Errorf("load %d: loaded %v, want %v", i+1, loaded, want)
		}
		t.Logf("load %d: %s", i+1, time.Since(began).Round(time.Millisecond))
		began = time.Now()
	}
	script := `set -e
git --version
go version
command -v prowctl
prowctl --help | head -1
go tool compile -V
go list -f '{{.Dir}}' fmt`
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "job-image"},
		Spec: corev1.PodSpec{
			RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "c", Image: name, ImagePullPolicy: corev1.PullNever,
				Command: []string{"/bin/bash", "-c", script}}},
			ActiveDeadlineSeconds: ptr(int64(120)),
		},
	}
	got, log := runPod(t, kube, "default", pod)
	if got.Status.Phase != corev1.PodSucceeded {
		t.Fatalf("phase %s: %s", got.Status.Phase, log)
	}
	for _, want := range []string{"git version 2.", "go version " + runtime.Version() + " linux/amd64", "/usr/local/bin/prowctl\nAuthor, lint and test Prow jobs", "compile version " + runtime.Version(), "/usr/local/go/src/fmt"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

// testRegistry pushes an image from the host to the cluster's registry and
// runs it: the node pulls it (imagePullPolicy Always) by the registry's
// in-cluster name, over plain HTTP, as an e2e deploy's operator is pulled.
func testRegistry(t *testing.T, state *State, kube kubernetes.Interface) {
	push, pull := state.ImageRegistry()
	if !strings.HasPrefix(push, "127.0.0.1:") || !strings.HasPrefix(pull, nodeIP+":") {
		t.Fatalf("ImageRegistry() = %q, %q: want the forwarder's loopback port and the node's address", push, pull)
	}
	// The pause binary, alone in an image: it runs until it is stopped.
	bin, err := Pause.Path(state.ToolsDir, "pause")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	var layerTar bytes.Buffer
	tw := tar.NewWriter(&layerTar)
	if err := tw.WriteHeader(&tar.Header{Name: "pause", Mode: 0o755, Size: int64(len(b))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(layerTar.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	if img, err = mutate.Config(img, ggcrv1.Config{Entrypoint: []string{"/pause"}}); err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	tag, err := name.NewTag(push+"/registry-test:1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		t.Fatalf("push to the cluster's registry: %v", err)
	}

	ctx := context.Background()
	ref := pull + "/registry-test@" + digest.String()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "from-registry"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: ref, ImagePullPolicy: corev1.PullAlways}},
		},
	}
	if _, err := kube.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	defer kube.CoreV1().Pods("default").Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		p, err := kube.CoreV1().Pods("default").Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cs := p.Status.ContainerStatuses; len(cs) == 1 && cs[0].State.Running != nil {
			if !strings.Contains(cs[0].ImageID, digest.String()) {
				t.Errorf("running image %s, want %s", cs[0].ImageID, digest)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod of %s not running after 60s: %+v", ref, p.Status)
		}
	}
}

// A decorated job runs with Prow's own pod utilities: the command's output,
// finished.json and the JUnit it wrote reach the GCS emulator where Spyglass
// reads them, and the ProwJob's state follows the command's exit code; ten
// created at once all end as their commands say.
// decoratedJobs creates decorated periodics on a cluster and waits for them.
type decoratedJobs struct {
	cfg     *config.Config
	pjs     prowv1.ProwJobInterface
	gcsBase string
	bucket  string
}

func newDecoratedJobs(t testing.TB, state *State) *decoratedJobs {
	t.Helper()
	cfg, err := mkpj.LoadProwConfig(state.ProwConfig)
	if err != nil {
		t.Fatal(err)
	}
	env := state.Env()
	restCfg, err := env.Rest()
	if err != nil {
		t.Fatal(err)
	}
	pjClient, err := prowclient.NewForConfig(restCfg)
	if err != nil {
		t.Fatal(err)
	}
	return &decoratedJobs{
		cfg: cfg, pjs: pjClient.ProwV1().ProwJobs(cfg.ProwJobNamespace),
		gcsBase: "http://" + state.HostAddr(GCSName, "http"),
		bucket:  cfg.Plank.DefaultDecorationConfigs[0].Config.GCSConfiguration.Bucket,
	}
}

// create makes the ProwJob of a decorated periodic whose command prints its
// name, writes a JUnit and exits with exit.
func (d *decoratedJobs) create(t testing.TB, name string, exit int) string {
	t.Helper()
	return d.createScript(t, name, fmt.Sprintf(`echo "output of %s"
mkdir -p "$ARTIFACTS"
printf '<testsuite name="s" tests="1"><testcase name="c"/></testsuite>\n' > "$ARTIFACTS/junit_%s.xml"
exit %d`, name, name, exit))
}

// createScript makes the ProwJob of a decorated periodic that runs script
// with bash.
func (d *decoratedJobs) createScript(t testing.TB, name, script string) string {
	t.Helper()
	p := config.Periodic{Interval: "24h", JobBase: config.JobBase{
		Name:          name,
		UtilityConfig: config.UtilityConfig{Decorate: ptr(true)},
		Spec: &corev1.PodSpec{Containers: []corev1.Container{{
			Image: DebianImage(), Command: []string{"/bin/bash", "-c", script},
		}}},
	}}
	if err := d.cfg.DefaultPeriodic(&p); err != nil {
		t.Fatal(err)
	}
	pj := pjutil.NewProwJob(pjutil.PeriodicSpec(p), nil, nil)
	if _, err := d.pjs.Create(context.Background(), &pj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return pj.Name
}

// wait waits for the ProwJob name to end.
func (d *decoratedJobs) wait(t testing.TB, name string, timeout time.Duration) *prowapi.ProwJob {
	t.Helper()
	began := time.Now()
	for {
		got, err := d.pjs.Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Complete() {
			return got
		}
		if time.Since(began) > timeout {
			t.Fatalf("ProwJob %s (%s) still %s after %s: %s", name, got.Spec.Job, got.Status.State, timeout, got.Status.Description)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func testDecoratedJobs(t *testing.T, state *State) {
	env := state.Env()
	d := newDecoratedJobs(t, state)
	cfg, gcsBase, bucket := d.cfg, d.gcsBase, d.bucket
	create, wait := d.create, d.wait
	check := func(t *testing.T, got *prowapi.ProwJob, exit int) {
		t.Helper()
		want := map[int]prowapi.ProwJobState{0: prowapi.SuccessState, 1: prowapi.FailureState}[exit]
		if got.Status.State != want {
			t.Errorf("%s: state %s (%s), want %s", got.Spec.Job, got.Status.State, got.Status.Description, want)
			describePod(t, env, cfg.PodNamespace, got.Status.PodName)
		}
		prefix := "logs/" + got.Spec.Job + "/" + got.Status.BuildID + "/"
		if log := gcsObject(t, gcsBase, bucket, prefix+"build-log.txt"); !strings.Contains(log, "output of "+got.Spec.Job) {
			t.Errorf("%s: build-log.txt does not hold the command's output:\n%s", got.Spec.Job, log)
		}
		finished := gcsObject(t, gcsBase, bucket, prefix+"finished.json")
		wantResult := map[int]string{0: `"result":"SUCCESS"`, 1: `"result":"FAILURE"`}[exit]
		if !strings.Contains(strings.ReplaceAll(finished, " ", ""), wantResult) {
			t.Errorf("%s: finished.json %s, want %s", got.Spec.Job, finished, wantResult)
		}
		if junit := gcsObject(t, gcsBase, bucket, prefix+"artifacts/junit_"+got.Spec.Job+".xml"); !strings.Contains(junit, `<testcase name="c"/>`) {
			t.Errorf("%s: junit: %s", got.Spec.Job, junit)
		}
		gcsObject(t, gcsBase, bucket, prefix+"started.json")
	}

	for _, tc := range []struct {
		name string
		exit int
	}{
		{"decorated-ok", 0},
		{"decorated-fail", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			began := time.Now()
			got := wait(t, create(t, tc.name, tc.exit), 90*time.Second)
			t.Logf("%s: %s in %.1fs", tc.name, got.Status.State, time.Since(began).Seconds())
			check(t, got, tc.exit)
		})
	}

	t.Run("burst of 10", func(t *testing.T) {
		began := time.Now()
		names := map[string]int{}
		for i := range 10 {
			names[create(t, fmt.Sprintf("burst-%d", i), i%2)] = i % 2
		}
		for name, exit := range names {
			check(t, wait(t, name, 3*time.Minute), exit)
		}
		t.Logf("10 jobs created at once all ended in %.1fs", time.Since(began).Seconds())
	})
}

// gcsObject reads an object from the cluster's GCS emulator through the
// forwarder on the host's loopback.
func gcsObject(t *testing.T, base, bucket, name string) string {
	t.Helper()
	resp, err := http.Get(base + "/storage/v1/b/" + bucket + "/o/" + url.PathEscape(name) + "?alt=media")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Errorf("gs://%s/%s: %s", bucket, name, resp.Status)
		return ""
	}
	return string(b)
}

// describePod logs a pod's containers' states and logs, for a failure.
func describePod(t *testing.T, env *Env, ns, name string) {
	t.Helper()
	kube, err := env.kube()
	if err != nil {
		t.Log(err)
		return
	}
	pod, err := kube.CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Log(err)
		return
	}
	for _, cs := range append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		logs, _ := kube.CoreV1().Pods(ns).GetLogs(name, &corev1.PodLogOptions{Container: cs.Name}).DoRaw(context.Background())
		t.Logf("container %s: %+v\n%s", cs.Name, cs.State, logs)
	}
}

const upProcessEnv = "PROWCTL_TEST_UP_DIR"

// killedUp runs `cluster up` of a real node in dir in a process of its own
// (TestMain), kills it with SIGKILL once the node's runtime and the API
// server run, and returns the state it left.
func killedUp(t *testing.T, dir string) *State {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	up, err := process.Exec{}.Start(process.Cmd{Name: self, Env: append(os.Environ(), upProcessEnv+"="+dir, "PROWCTL_TEST_PROW_CONFIG="+prowConfigForTest(t))})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	var stale *State
	for {
		if s, err := LoadState(dir); err == nil && hasProcess(s, KubeletName) {
			stale = s
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(up.PID(), syscall.SIGKILL)
			t.Fatal("the up process never started the kubelet")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := syscall.Kill(up.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-up.Exited()
	if len(clusterPIDs(ClusterID(dir), stale.MountNS)) == 0 {
		t.Fatal("nothing of the killed up runs: the recovery proves nothing")
	}
	return stale
}

func hasProcess(s *State, component string) bool {
	for _, c := range s.Components {
		if c.Name == component && c.Process != nil {
			return true
		}
	}
	return false
}

// BenchmarkRealNodeUp measures `cluster up --node real` from nothing to
// ready: the node Ready, its images imported, the ProwJob CRD established,
// Deck serving (target 20 s); and Down.
func BenchmarkRealNodeUp(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Fatal("a real node needs root")
	}
	var total time.Duration
	for i := 0; i < b.N; i++ {
		dir := filepath.Join(b.TempDir(), "cluster")
		start := time.Now()
		state, _, err := Up(context.Background(), Options{Dir: dir, ProwConfig: prowConfigForTest(b), Node: NodeReal, StopWithParent: true})
		if err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		ns := state.holdNamespace()
		if _, err := Down(context.Background(), dir, DownOptions{StopGrace: 5 * time.Second}); err != nil {
			b.Fatal(err)
		}
		if pids := clusterPIDs(ClusterID(dir), ns.mountNS()); len(pids) > 0 {
			b.Fatalf("processes left: %v", pids)
		}
		ns.release()
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s-to-ready/op")
}

// BenchmarkDecoratedJob measures a decorated job on the real node, from the
// ProwJob's creation to success, Prow's own utilities included (target 8 s).
func BenchmarkDecoratedJob(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Fatal("a real node needs root")
	}
	dir := filepath.Join(b.TempDir(), "cluster")
	state, _, err := Up(context.Background(), Options{Dir: dir, ProwConfig: prowConfigForTest(b), Node: NodeReal, StopWithParent: true})
	if err != nil {
		b.Fatal(err)
	}
	defer Down(context.Background(), dir, DownOptions{StopGrace: 5 * time.Second})
	d := newDecoratedJobs(b, state)
	b.ResetTimer()
	var total time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		pj := d.wait(b, d.create(b, fmt.Sprintf("bench-%d", i), 0), 2*time.Minute)
		total += time.Since(start)
		if pj.Status.State != prowapi.SuccessState {
			b.Fatalf("%s: %s", pj.Name, pj.Status.State)
		}
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s-to-success/op")
}

// footprint is what a cluster must not change outside its directory: the
// host's firewall rules and the default paths of kubelet, containerd and
// CNI (which the cluster's flags and private mounts move elsewhere).
type footprint struct {
	IPTables string
	Paths    map[string]bool
}

func takeFootprint(t *testing.T) footprint {
	t.Helper()
	f := footprint{Paths: map[string]bool{}}
	for _, p := range []string{"/var/lib/kubelet", "/var/lib/containerd", "/var/lib/cni", "/run/containerd",
		"/var/log/pods", "/var/log/containers", "/opt/containerd", "/etc/cni/net.d", "/run/prowctl"} {
		_, err := os.Stat(p)
		f.Paths[p] = err == nil
	}
	var out bytes.Buffer
	if err := (process.Exec{}).Run(context.Background(), process.Cmd{Name: "iptables-save", Stdout: &out}); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(out.String(), "\n") {
		// Comments carry the time of the dump.
		if !strings.HasPrefix(l, "#") {
			f.IPTables += l + "\n"
		}
	}
	return f
}

// inNamespace lists the processes in the namespace of the given kind whose
// /proc/PID/ns link reads id.
func inNamespace(kind, id string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range entries {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		if l, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, kind)); err == nil && l == id {
			pids = append(pids, pid)
		}
	}
	return pids
}
