package deckproxy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// The Deck recorded in a kubeconfig survives writing and reading it back,
// which is how the cluster hands it to every later command.
func TestKubeconfigURLRoundTrip(t *testing.T) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["local"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:6443"}
	cfg.Contexts["prowctl-local"] = &clientcmdapi.Context{Cluster: "local"}
	cfg.Contexts["other"] = &clientcmdapi.Context{Cluster: "elsewhere"}
	if err := SetKubeconfigURL(cfg, "http://127.0.0.1:4321/"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !bytes.Contains(b, []byte("name: "+KubeconfigExtension)) {
		t.Errorf("kubeconfig has no %s extension:\n%s", KubeconfigExtension, b)
	}
	back, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ context, want string }{
		{"prowctl-local", "http://127.0.0.1:4321/"},
		{"other", ""},
		{"missing", ""},
	} {
		if got := KubeconfigURL(back, tc.context); got != tc.want {
			t.Errorf("KubeconfigURL(%s) = %q, want %q", tc.context, got, tc.want)
		}
	}
}

func TestKubeconfigURLRefusesWhatIsNotAWebAddress(t *testing.T) {
	for _, u := range []string{"javascript:alert(1)", "file:///etc/passwd", "http://", "::"} {
		cfg := clientcmdapi.NewConfig()
		cfg.Clusters["c"] = &clientcmdapi.Cluster{}
		cfg.Contexts["x"] = &clientcmdapi.Context{Cluster: "c"}
		if err := SetKubeconfigURL(cfg, u); err != nil {
			t.Fatal(err)
		}
		if got := KubeconfigURL(cfg, "x"); got != "" {
			t.Errorf("DeckURL with %q = %q, want none", u, got)
		}
	}
}
