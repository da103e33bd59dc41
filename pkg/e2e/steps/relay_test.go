package steps

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/registry"
)

// TestRelayImage copies a built image, from the run's registry or from an
// OCI layout, into a second registry standing for the cluster's, and checks
// it arrives by the same digest under the same repository and tag.
func TestRelayImage(t *testing.T) {
	ctx := context.Background()
	start := func() string {
		s, err := registry.Start(nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close(ctx) })
		return s.Addr()
	}
	runRegistry, clusterRegistry := start(), start()
	img, err := random.Image(512, 2)
	if err != nil {
		t.Fatal(err)
	}
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	built := runRegistry + "/tf-operator@" + digest.String()
	ref := func(s string) name.Reference {
		r, err := name.ParseReference(s)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := remote.Write(ref(runRegistry+"/tf-operator:"+sha), img); err != nil {
		t.Fatal(err)
	}
	layoutDir := filepath.Join(t.TempDir(), "tf-operator")
	p, err := layout.Write(layoutDir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.AppendImage(img); err != nil {
		t.Fatal(err)
	}
	cluster := map[string]string{StateClusterRegistry: clusterRegistry, StateClusterRegistryPull: "10.88.0.1:5000", e2e.StateImageTag: sha, StateImageDigest: digest.String()}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range cluster {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}

	for _, tc := range []struct {
		name, want string
		st         map[string]string
	}{
		{"from the run's registry", "10.88.0.1:5000/tf-operator", with(e2e.StateImage, built)},
		{"from an OCI layout", "10.88.0.1:5000/tf-operator", with(StateImageLayout, layoutDir)},
		{"no cluster registry: nothing to do", "", map[string]string{e2e.StateImage: built}},
		{"nothing built: nothing to do", "", with()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := relayImage(ctx, tc.st, func(string, ...any) {})
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("repository %q, want %q", got, tc.want)
			}
			if tc.want == "" {
				return
			}
			d, err := remote.Head(ref(clusterRegistry + "/tf-operator:" + sha))
			if err != nil {
				t.Fatal(err)
			}
			if d.Digest != digest {
				t.Errorf("the cluster's registry has %s, want %s", d.Digest, digest)
			}
		})
	}

	if _, err := relayImage(ctx, with(e2e.StateImage, runRegistry+"/gone@"+digest.String()), func(string, ...any) {}); err == nil {
		t.Error("relaying an image that is not there: no error")
	}
}
