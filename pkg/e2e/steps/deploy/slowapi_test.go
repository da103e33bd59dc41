package deploy

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/prowctl/prowctl/internal/testcluster"
)

func TestMain(m *testing.M) { testcluster.Main(m) }

// Helm reads the API server's OpenAPI document to validate a chart's
// objects, and a server that just took a new CRD can be slow to make it.
// A request may take as long as the deploy has, not client-go's 32 s: with
// the document 8 s away, a deploy given 3 s fails on that request, and one
// given a minute installs the chart. (The old code waited 8 s whatever the
// deploy's time, and would give up after 32 s whatever the deploy's time.)
// The other requests are not delayed: 3 s is far more than they take.
func TestSlowOpenAPIDocument(t *testing.T) {
	c := testcluster.Get(t)
	kubeconfig := slowOpenAPI(t, c.Config(), 8*time.Second)
	chart := configMapChart(t)

	ns := c.Namespace(t)
	_, err := Deploy(context.Background(), Options{Target: Target{Kubeconfig: kubeconfig, Namespace: ns, Release: "short"}, Chart: chart, Timeout: 3 * time.Second})
	// The request's own timeout, whichever of client-go's two timers for
	// it (the HTTP client's, the request context's) fires first.
	if err == nil || !strings.Contains(err.Error(), "/openapi/v2?timeout=3s") {
		t.Errorf("deploy with 3s against an 8s OpenAPI document: %v; want the read of /openapi/v2 with timeout=3s to fail", err)
	}

	ns = c.Namespace(t)
	res, err := Deploy(context.Background(), Options{Target: Target{Kubeconfig: kubeconfig, Namespace: ns, Release: "long"}, Chart: chart, Timeout: time.Minute})
	if err != nil {
		t.Fatalf("deploy with 1m against an 8s OpenAPI document: %v", err)
	}
	if res.Revision != 1 {
		t.Errorf("revision %d, want 1", res.Revision)
	}
	if _, err := c.Kube(t).CoreV1().ConfigMaps(ns).Get(context.Background(), "slow-api", metav1.GetOptions{}); err != nil {
		t.Errorf("the chart's ConfigMap: %v", err)
	}
}

// slowOpenAPI serves the API server of cfg on a loopback port, plain HTTP,
// answering GET /openapi/v2 only after delay, and returns a kubeconfig for
// it.
func slowOpenAPI(t *testing.T, cfg *rest.Config, delay time.Duration) string {
	t.Helper()
	target, err := url.Parse(cfg.Host)
	if err != nil {
		t.Fatal(err)
	}
	transport, err := rest.TransportFor(cfg)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = transport
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/openapi/v2" {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		proxy.ServeHTTP(w, r)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })

	kc := clientcmdapi.NewConfig()
	kc.Clusters["slow"] = &clientcmdapi.Cluster{Server: "http://" + l.Addr().String()}
	kc.AuthInfos["slow"] = &clientcmdapi.AuthInfo{}
	kc.Contexts["slow"] = &clientcmdapi.Context{Cluster: "slow", AuthInfo: "slow"}
	kc.CurrentContext = "slow"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// configMapChart writes a chart of one ConfigMap: nothing for helm to wait
// for but the request under test.
func configMapChart(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "slow-api")
	files := map[string]string{
		"Chart.yaml":          "apiVersion: v2\nname: slow-api\nversion: 0.1.0\n",
		"templates/data.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: slow-api\ndata:\n  release: {{ .Release.Name }}\n",
	}
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
