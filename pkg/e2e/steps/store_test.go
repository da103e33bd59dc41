package steps

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prowctl/prowctl/internal/gcstest"
	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/e2e"
)

// writeState writes the state file of a cluster whose host ports (the
// forwarder's) are gcs and deck (0: none).
func writeState(t *testing.T, gcs, deck int) string {
	t.Helper()
	dir := t.TempDir()
	s := cluster.State{Dir: dir, Node: "real", Components: []cluster.ComponentState{
		{Name: cluster.GCSName, Ports: map[string]int{"http": 1}},
		{Name: cluster.ForwarderName, Ports: map[string]int{cluster.GCSName: gcs}},
	}}
	if deck != 0 {
		s.Components = append(s.Components, cluster.ComponentState{Name: cluster.DeckProxyName, Ports: map[string]int{"http": deck}})
	}
	b, _ := json.Marshal(s)
	if err := os.WriteFile(filepath.Join(dir, "state.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func port(t *testing.T, rawURL string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(strings.TrimPrefix(rawURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

func TestPersonalStore(t *testing.T) {
	server := gcstest.Start(t, "tf-k8s-prow-artifacts")
	gcs := port(t, server.URL())

	store, buckets, err := PersonalStore(context.Background(), writeState(t, gcs, 4242))
	if err != nil {
		t.Fatal(err)
	}
	want := e2e.Store{GCSEndpoint: "http://127.0.0.1:" + strconv.Itoa(gcs), Deck: "http://127.0.0.1:4242/"}
	if diff := cmp.Diff(want, store); diff != "" {
		t.Errorf("store (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"tf-k8s-prow-artifacts"}, buckets); diff != "" {
		t.Errorf("buckets (-want +got):\n%s", diff)
	}

	// Without Deck (--no-deck): the emulator alone.
	if store, _, err := PersonalStore(context.Background(), writeState(t, gcs, 0)); err != nil || store.Deck != "" {
		t.Errorf("no deck: %+v, %v", store, err)
	}

	// No cluster at all: the file is missing, which callers tell apart.
	if _, _, err := PersonalStore(context.Background(), t.TempDir()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("no cluster: %v, want ErrNotExist", err)
	}

	// Something else answers on the recorded port: not taken for the
	// emulator.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte(`{"kind":"other"}`)) }))
	defer other.Close()
	if _, _, err := PersonalStore(context.Background(), writeState(t, port(t, other.URL), 0)); err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("foreign server: %v", err)
	}
}
