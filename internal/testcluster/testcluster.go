// Package testcluster gives a package's integration tests a personal Prow
// cluster (pkg/cluster): one cluster per `go test` package run, started by the
// first test that asks for it and stopped when the package's tests end.
//
//	func TestMain(m *testing.M) { testcluster.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		c := testcluster.Get(t) // skips under -short; fails without `make tools`
//		ns := c.Namespace(t)    // a fresh namespace, deleted when the test ends
//		...
//	}
//
// With -short, Get skips the test, so `go test -short ./...` runs the unit
// tests alone. Without -short, a missing binary fails every test that calls
// Get with an error naming `make tools`: CI builds them, so a missing one is a
// broken setup, never a reason to skip.
//
// Plank watches ProwJobs in one namespace only (ProwJobNamespace, "prow") and
// runs their pods in PodNamespace ("test-pods"): tests that create ProwJobs
// share those namespaces and tell their objects apart by name or label.
//
// The cluster's components run in their own process groups and die with the
// test binary (Pdeathsig), so a test binary killed by `go test -timeout`
// leaves none behind. Set PROWCTL_TESTCLUSTER_KEEP=1 to keep the cluster's
// directory (logs, etcd data) after the run; it is kept anyway when a test
// failed, and its path printed.
package testcluster

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	prowv1 "sigs.k8s.io/prow/pkg/client/clientset/versioned/typed/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/cluster"
)

// Cluster is the package's personal Prow cluster.
type Cluster struct {
	// Dir is the cluster's state directory (see pkg/cluster).
	Dir string
	// Kubeconfig is the admin kubeconfig; its current context is Context.
	Kubeconfig string
	Context    string
	// ProwConfig is the Prow config plank runs with (config/prow/config.yaml).
	ProwConfig string
	// ProwJobNamespace is where plank looks for ProwJobs; PodNamespace is
	// where it runs their pods.
	ProwJobNamespace string
	PodNamespace     string
	// State is what `prowctl cluster status` would read: pids, ports.
	State *cluster.State

	config *rest.Config
}

// Config returns a copy of the admin client configuration.
func (c *Cluster) Config() *rest.Config { return rest.CopyConfig(c.config) }

// Kube returns a Kubernetes clientset for the cluster.
func (c *Cluster) Kube(t testing.TB) kubernetes.Interface {
	t.Helper()
	k, err := kubernetes.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// ProwJobs returns a client of the ProwJobs in ProwJobNamespace.
func (c *Cluster) ProwJobs(t testing.TB) prowv1.ProwJobInterface {
	t.Helper()
	p, err := prowv1.NewForConfig(c.Config())
	if err != nil {
		t.Fatal(err)
	}
	return p.ProwJobs(c.ProwJobNamespace)
}

// Namespace creates a namespace for this test alone and deletes it when the
// test ends.
func (c *Cluster) Namespace(t testing.TB) string {
	t.Helper()
	kube := c.Kube(t)
	name := namespaceName(t.Name())
	ctx := context.Background()
	if _, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	t.Cleanup(func() {
		err := kube.CoreV1().Namespaces().Delete(context.Background(), name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete namespace %s: %v", name, err)
		}
	})
	return name
}

var nonName = regexp.MustCompile(`[^a-z0-9]+`)

// namespaceName makes a valid, unique namespace name that still says which
// test made it.
func namespaceName(test string) string {
	base := strings.Trim(nonName.ReplaceAllString(strings.ToLower(test), "-"), "-")
	if len(base) > 50 {
		base = strings.TrimRight(base[:50], "-")
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "t-" + base + "-" + hex.EncodeToString(b)
}

var (
	once     sync.Once
	shared   *Cluster
	startErr error
	inMain   bool
	mu       sync.Mutex // guards stopping against a signal
	tmpDir   string
)

// Main runs the package's tests and then stops the cluster if a test started
// it. It does not return.
func Main(m *testing.M) {
	if !flag.Parsed() {
		flag.Parse()
	}
	inMain = true
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		fmt.Fprintf(os.Stderr, "testcluster: %s: stopping the cluster\n", s)
		stop(false)
		os.Exit(1)
	}()
	code := m.Run()
	stop(code != 0)
	os.Exit(code)
}

// Get returns the package's cluster, starting it on first use. Under -short
// it skips the test; if the cluster cannot start (for one, `make tools` has
// not run) it fails the test with the reason.
func Get(t testing.TB) *Cluster {
	t.Helper()
	if testing.Short() {
		t.Skip("integration test: needs the personal Prow cluster; runs without -short")
	}
	if !inMain {
		t.Fatal("testcluster.Get needs `func TestMain(m *testing.M) { testcluster.Main(m) }` in the package, which stops the cluster")
	}
	once.Do(func() { shared, startErr = start() })
	if startErr != nil {
		t.Fatalf("personal Prow cluster: %v", startErr)
	}
	return shared
}

func start() (*Cluster, error) {
	prowConfig, err := findProwConfig()
	if err != nil {
		return nil, err
	}
	ns, err := cluster.ReadProwNamespaces(prowConfig)
	if err != nil {
		return nil, err
	}
	mu.Lock()
	defer mu.Unlock()
	tmpDir, err = os.MkdirTemp("", "prowctl-testcluster-")
	if err != nil {
		return nil, err
	}
	began := time.Now()
	state, _, err := cluster.Up(context.Background(), cluster.Options{
		Dir:            tmpDir,
		ProwConfig:     prowConfig,
		StopWithParent: true,
	})
	var missing *cluster.MissingToolError
	if errors.As(err, &missing) {
		// Nothing started, nothing to keep.
		os.RemoveAll(tmpDir)
		tmpDir = ""
	}
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "testcluster: cluster ready in %.1fs in %s\n", time.Since(began).Seconds(), tmpDir)
	cfg, err := state.Env().Rest()
	if err != nil {
		return nil, err
	}
	return &Cluster{
		Dir: state.Dir, Kubeconfig: state.Kubeconfig, Context: state.Context,
		ProwConfig: prowConfig, ProwJobNamespace: ns.ProwJobs, PodNamespace: ns.Pods,
		State: state, config: cfg,
	}, nil
}

// stop stops the cluster if one was started; failed keeps its files.
func stop(failed bool) {
	mu.Lock()
	defer mu.Unlock()
	if tmpDir == "" {
		return
	}
	keep := failed || os.Getenv("PROWCTL_TESTCLUSTER_KEEP") != ""
	_, err := cluster.Down(context.Background(), tmpDir, cluster.DownOptions{Keep: keep, StopGrace: 5 * time.Second})
	if err != nil && !errors.Is(err, cluster.ErrNoCluster) {
		fmt.Fprintf(os.Stderr, "testcluster: stop the cluster in %s: %v\n", tmpDir, err)
	}
	if keep {
		fmt.Fprintf(os.Stderr, "testcluster: kept the cluster's files in %s (logs in %s)\n", tmpDir, filepath.Join(tmpDir, "logs"))
	} else {
		os.RemoveAll(tmpDir)
	}
	tmpDir = ""
}

// findProwConfig finds config/prow/config.yaml of the prowctl checkout the
// test runs in, from the package directory up.
func findProwConfig() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if isProwctlRoot(filepath.Join(dir, "go.mod")) {
			return filepath.Join(dir, "config", "prow", "config.yaml"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no prowctl checkout (go.mod of github.com/prowctl/prowctl) above the test's directory")
		}
		dir = parent
	}
}

func isProwctlRoot(gomod string) bool {
	f, err := os.Open(gomod)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); strings.HasPrefix(line, "module ") {
			return strings.TrimSpace(strings.TrimPrefix(line, "module ")) == "github.com/prowctl/prowctl"
		}
	}
	return false
}
