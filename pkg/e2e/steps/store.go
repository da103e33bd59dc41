package steps

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/e2e"
)

// PersonalStore is the store of the personal Prow cluster whose state is in
// dir, as the host reaches it: its GCS emulator and, unless it runs without
// one, its Deck; with the emulator's buckets. An error says there is no
// cluster there or its emulator does not answer.
func PersonalStore(ctx context.Context, dir string) (e2e.Store, []string, error) {
	state, err := cluster.LoadState(dir)
	if err != nil {
		return e2e.Store{}, nil, err
	}
	addr := state.HostAddr(cluster.GCSName, "http")
	if addr == "" {
		return e2e.Store{}, nil, fmt.Errorf("the cluster in %s has no GCS emulator (a kwok node)", dir)
	}
	endpoint := "http://" + addr
	buckets, err := listBuckets(ctx, endpoint)
	if err != nil {
		return e2e.Store{}, nil, fmt.Errorf("the GCS emulator of the cluster in %s does not answer: %w", dir, err)
	}
	s := e2e.Store{GCSEndpoint: endpoint}
	if deck := state.HostAddr(cluster.DeckProxyName, "http"); deck != "" {
		s.Deck = "http://" + deck + "/"
	}
	return s, buckets, nil
}

// listBuckets lists the buckets of a GCS emulator at endpoint; doubling as
// the check that it is one.
func listBuckets(ctx context.Context, endpoint string) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/storage/v1/b", nil)
	if err != nil {
		return nil, err
	}
	// Loopback: no proxy, whatever the environment says.
	resp, err := (&http.Client{Transport: &http.Transport{}}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	var list struct {
		Kind  string `json:"kind"`
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &list) != nil || list.Kind != "storage#buckets" {
		return nil, fmt.Errorf("%s/storage/v1/b answered %s, not a bucket list", endpoint, resp.Status)
	}
	var names []string
	for _, b := range list.Items {
		names = append(names, b.Name)
	}
	return names, nil
}
