package provider

import (
	"context"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
)

// apiWithHosting is an API server (TLS) that answers the KEP-1755
// ConfigMap with data, or 404 when data is empty; it records the bearer
// token it was given.
func apiWithHosting(t *testing.T, data string, token *string) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*token = r.Header.Get("Authorization")
		if r.URL.Path != "/api/v1/namespaces/kube-public/configmaps/local-registry-hosting" || data == "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"local-registry-hosting","namespace":"kube-public"},"data":{"localRegistryHosting.v1":` + data + `}}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// serviceAccount writes a pod's service account directory trusting srv.
func serviceAccount(t *testing.T, srv *httptest.Server) string {
	dir := t.TempDir()
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	for name, body := range map[string][]byte{"token": []byte("sa-token"), "ca.crt": ca, "namespace": []byte("test-pods")} {
		if err := os.WriteFile(filepath.Join(dir, name), body, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestInCluster(t *testing.T) {
	hosting := `"host: \"127.0.0.1:30001\"\nhostFromContainerRuntime: \"10.88.0.1:5000\"\nhostFromClusterNetwork: \"10.88.0.1:5000\"\n"`
	for _, tc := range []struct {
		name         string
		data         string
		wantRegistry Registry
	}{
		{"a cluster with a registry", hosting, Registry{Push: "10.88.0.1:5000", Pull: "10.88.0.1:5000"}},
		{"a cluster without", "", Registry{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var token string
			srv := apiWithHosting(t, tc.data, &token)
			host, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "https://"))
			req := request(t.TempDir())
			req.Environ = []string{"KUBERNETES_SERVICE_HOST=" + host, "KUBERNETES_SERVICE_PORT=" + port}
			c, err := InCluster{SADir: serviceAccount(t, srv)}.Up(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if c.Created || c.Provider != "in-cluster" {
				t.Errorf("cluster %+v: want in-cluster, not created", c)
			}
			if diff := cmp.Diff(tc.wantRegistry, c.Registry); diff != "" {
				t.Errorf("registry (-want +got):\n%s", diff)
			}
			if token != "Bearer sa-token" {
				t.Errorf("the API server got %q, want the service account's token", token)
			}
			cfg, err := clientcmd.LoadFromFile(c.Kubeconfig)
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Contexts[cfg.CurrentContext].Namespace; got != "test-pods" {
				t.Errorf("kubeconfig namespace %q, want the pod's", got)
			}
			if err := (InCluster{}).Down(context.Background(), Env{}, c); err != nil {
				t.Errorf("down: %v", err)
			}
		})
	}
}

func TestInClusterOutsideAPod(t *testing.T) {
	req := request(t.TempDir())
	req.Environ = []string{"HOME=/root"}
	_, err := InCluster{SADir: t.TempDir()}.Up(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "in-cluster: not in a pod") {
		t.Fatalf("err = %v", err)
	}
	req.Environ = []string{"KUBERNETES_SERVICE_HOST=10.0.0.1", "KUBERNETES_SERVICE_PORT=443"}
	_, err = InCluster{SADir: t.TempDir()}.Up(context.Background(), req)
	if err == nil || !strings.Contains(err.Error(), "no service account in the pod") {
		t.Fatalf("err = %v", err)
	}
}
