package prowjob

import (
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
)

func writeKubeconfig(t *testing.T, server, namespace string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kubeconfig")
	ns := ""
	if namespace != "" {
		ns = "\n    namespace: " + namespace
	}
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: %s
contexts:
- name: personal
  context:
    cluster: c
    user: u%s
current-context: personal
users:
- name: u
  user:
    token: t0ken
`, server, ns)
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// apiserver serves discovery for prow.k8s.io/v1, with or without prowjobs.
func apiserver(t *testing.T, withCRD bool) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/apis/prow.k8s.io/v1" || !withCRD {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"prow.k8s.io/v1","resources":[{"name":"prowjobs","singularName":"prowjob","namespaced":true,"kind":"ProwJob","verbs":["get","list","watch","create"]}]}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestConnect(t *testing.T) {
	srv := apiserver(t, true)
	tests := []struct {
		name    string
		opts    ConnectOptions
		kubeNS  string
		wantNS  string
		wantCtx string
		wantErr string
	}{
		{name: "namespace flag wins", opts: ConnectOptions{Namespace: "mine", DefaultNamespace: "prow"}, kubeNS: "ctxns", wantNS: "mine", wantCtx: "personal"},
		{name: "Prow config's namespace next", opts: ConnectOptions{DefaultNamespace: "prow"}, kubeNS: "ctxns", wantNS: "prow", wantCtx: "personal"},
		{name: "context's namespace last", kubeNS: "ctxns", wantNS: "ctxns", wantCtx: "personal"},
		{name: "unknown context", opts: ConnectOptions{Context: "nope"}, wantErr: `kubeconfig has no context "nope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			o.Kubeconfig = writeKubeconfig(t, srv.URL, tc.kubeNS)
			c, err := Connect(context.Background(), o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Namespace != tc.wantNS || c.Context != tc.wantCtx {
				t.Errorf("namespace %q context %q, want %q %q", c.Namespace, c.Context, tc.wantNS, tc.wantCtx)
			}
		})
	}
}

func TestConnectCRDMissing(t *testing.T) {
	srv := apiserver(t, false)
	_, err := Connect(context.Background(), ConnectOptions{Kubeconfig: writeKubeconfig(t, srv.URL, "")})
	var missing *CRDMissingError
	if !errors.As(err, &missing) || !strings.HasPrefix(err.Error(), "ProwJob CRD not installed on context personal") {
		t.Fatalf("error = %v", err)
	}
}

func TestConnectUnreachable(t *testing.T) {
	// A port nothing listens on: refused at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String()
	l.Close()
	// A server that accepts connections and never answers.
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	go func() {
		for {
			c, err := hang.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	for name, server := range map[string]string{"refused": closed, "silent": "http://" + hang.Addr().String()} {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			_, err := Connect(context.Background(), ConnectOptions{Kubeconfig: writeKubeconfig(t, server, ""), Timeout: time.Second})
			if err == nil || !strings.HasPrefix(err.Error(), "cannot reach the apiserver of context personal ("+server+")") {
				t.Fatalf("error = %v", err)
			}
			if strings.Contains(err.Error(), "t0ken") {
				t.Fatalf("error leaks the token: %v", err)
			}
			if name == "silent" && !strings.Contains(err.Error(), "no answer within 1s") {
				t.Errorf("error = %v, want it to say no answer within 1s", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s, want about the 1s timeout", d)
			}
		})
	}
}
