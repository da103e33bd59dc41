package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prowctl/prowctl/internal/gcstest"
	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/iostreams"
)

func TestE2EStore(t *testing.T) {
	server := gcstest.Start(t, "tf-k8s-prow-artifacts")
	gcs, _ := strconv.Atoi(server.URL()[strings.LastIndex(server.URL(), ":")+1:])
	up := t.TempDir()
	b, _ := json.Marshal(cluster.State{Dir: up, Components: []cluster.ComponentState{
		{Name: cluster.ForwarderName, Ports: map[string]int{cluster.GCSName: gcs}},
		{Name: cluster.DeckProxyName, Ports: map[string]int{"http": 4242}},
	}})
	if err := os.WriteFile(filepath.Join(up, "state.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	personal := e2e.Store{GCSEndpoint: server.URL(), Deck: "http://127.0.0.1:4242/"}

	for _, tc := range []struct {
		name, gcs, upload, dir, emulatorEnv string
		want                                e2e.Store
		errOut, err                         string
	}{
		{name: "auto, cluster up", gcs: "auto", upload: "gs://tf-k8s-prow-artifacts/x", dir: up, want: personal,
			errOut: "upload: gs:// goes to the personal cluster's GCS emulator at " + server.URL() + " (--gcs google for Google's)\n"},
		{name: "auto, no cluster", gcs: "auto", upload: "gs://tf-k8s-prow-artifacts", dir: t.TempDir()},
		{name: "auto, not gs", gcs: "auto", upload: "/tmp/out", dir: up},
		{name: "auto, STORAGE_EMULATOR_HOST wins", gcs: "auto", upload: "gs://tf-k8s-prow-artifacts", dir: up, emulatorEnv: "http://127.0.0.1:1"},
		{name: "auto, bucket the emulator lacks", gcs: "auto", upload: "gs://my-bucket/tf-k8s", dir: up,
			err: `--upload gs://my-bucket/tf-k8s: the personal cluster's GCS emulator (` + server.URL() + `) has no bucket "my-bucket" (it has tf-k8s-prow-artifacts; the Prow config's plank.default_decoration_configs name them); --gcs google uploads to Google's GCS`},
		{name: "google", gcs: "google", upload: "gs://tf-k8s-prow-artifacts", dir: up},
		{name: "explicit emulator", gcs: "http://127.0.0.1:9/", upload: "gs://b", dir: up, want: e2e.Store{GCSEndpoint: "http://127.0.0.1:9"}},
		{name: "bad value", gcs: "gs://x", upload: "gs://b", dir: up, err: `--gcs "gs://x": want auto, google or http://HOST:PORT`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			streams, _, _, errOut := iostreams.Test()
			o := newE2ERunOptions(streams)
			o.GCS, o.Upload, o.ClusterDir = tc.gcs, tc.upload, tc.dir
			o.Getenv = func(k string) string {
				if k == "STORAGE_EMULATOR_HOST" {
					return tc.emulatorEnv
				}
				return ""
			}
			got, err := e2eStore(context.Background(), o)
			if gotErr := ""; err != nil {
				gotErr = err.Error()
				if gotErr != tc.err {
					t.Errorf("error %q, want %q", gotErr, tc.err)
				}
			} else if tc.err != "" {
				t.Errorf("no error, want %q", tc.err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("store (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.errOut, errOut.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
		})
	}
}
