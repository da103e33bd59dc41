package chart

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/prowctl/prowctl/pkg/registry"
)

const fixture = "../../../../testdata/chart/tf-operator"

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		base, sha string
		pr        int
		want      string
	}{
		{"0.1.0", "0123456789abcdef0123", 0, "0.1.0-g0123456789ab"},
		{"0.1.0", "0123456789abcdef0123", 7, "0.1.0-pr.7.g0123456789ab"},
		{"1.2.3", "abc", 0, "1.2.3-gabc"},
	} {
		if got := Version(tc.base, tc.sha, tc.pr); got != tc.want {
			t.Errorf("Version(%q, %q, %d) = %q, want %q", tc.base, tc.sha, tc.pr, got, tc.want)
		}
	}
}

func TestStampValuesKeepsCommentsAndQuotes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "values.yaml")
	in := "# Image.\nimage:\n  repository: x # where\n  tag: latest\nreplicas: 1\n"
	if err := os.WriteFile(path, []byte(in), 0o644); err != nil {
		t.Fatal(err)
	}
	err := stampValues(path, map[string]string{"image.repository": "127.0.0.1:5000/op", "image.tag": "0123", "extra.deep.key": "true"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	want := `# Image.
image:
  repository: 127.0.0.1:5000/op # where
  tag: "0123"
replicas: 1
extra:
  deep:
    key: "true"
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("values.yaml (-want +got):\n%s", diff)
	}
	if err := stampValues(path, map[string]string{"replicas.x": "1"}); err == nil || !strings.Contains(err.Error(), "values.yaml: replicas.x: not a mapping") {
		t.Errorf("stamping into a scalar: err = %v", err)
	}
}

func TestPackageWritesTgzOnly(t *testing.T) {
	dest := t.TempDir()
	res, err := Package(Options{Dir: fixture, Version: "0.1.0-gabc", Destination: dest})
	if err != nil {
		t.Fatal(err)
	}
	want := Result{Name: "tf-operator", Version: "0.1.0-gabc", Path: filepath.Join(dest, "tf-operator-0.1.0-gabc.tgz")}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	// The source chart is untouched.
	ch, err := loader.Load(fixture)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Metadata.Version != "0.1.0" {
		t.Errorf("source chart version changed to %s", ch.Metadata.Version)
	}
}

func TestPackageBadVersion(t *testing.T) {
	_, err := Package(Options{Dir: fixture, Version: "not-semver", Destination: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "package chart "+fixture) {
		t.Errorf("err = %v, want a package error naming the chart", err)
	}
}

// TestPackagePushPull pushes the stamped chart to a registry on loopback and
// pulls it back.
func TestPackagePushPull(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: OCI registry on loopback")
	}
	srv, err := registry.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Close(ctx)
	})
	creds := filepath.Join(t.TempDir(), "registry.json")
	res, err := Package(Options{
		Dir:             fixture,
		Version:         Version("0.1.0", "0123456789abcdef", 7),
		AppVersion:      "0123456789abcdef",
		Values:          map[string]string{"image.repository": srv.Addr() + "/tf-operator", "image.tag": "0123456789abcdef", "image.digest": "sha256:feed"},
		Destination:     t.TempDir(),
		Repository:      "oci://" + srv.Addr() + "/charts",
		PlainHTTP:       true,
		CredentialsFile: creds,
	})
	if err != nil {
		t.Fatal(err)
	}
	wantRef := "oci://" + srv.Addr() + "/charts/tf-operator:0.1.0-pr.7.g0123456789ab"
	if res.Ref != wantRef || !strings.HasPrefix(res.Digest, "sha256:") {
		t.Errorf("pushed %q (%q), want %q by a sha256 digest", res.Ref, res.Digest, wantRef)
	}

	path, err := Pull(res.Ref, t.TempDir(), true, creds)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := loader.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Metadata.Version != "0.1.0-pr.7.g0123456789ab" || ch.Metadata.AppVersion != "0123456789abcdef" {
		t.Errorf("pulled chart version %q appVersion %q", ch.Metadata.Version, ch.Metadata.AppVersion)
	}
	wantImage := map[string]any{"repository": srv.Addr() + "/tf-operator", "tag": "0123456789abcdef", "digest": "sha256:feed", "pullPolicy": "IfNotPresent"}
	if diff := cmp.Diff(wantImage, ch.Values["image"]); diff != "" {
		t.Errorf("pulled values.image (-want +got):\n%s", diff)
	}
	var crds []string
	for _, f := range ch.CRDObjects() {
		crds = append(crds, f.Filename)
	}
	if diff := cmp.Diff([]string{"tf-operator/crds/tfjobs.yaml"}, crds); diff != "" {
		t.Errorf("pulled CRDs (-want +got):\n%s", diff)
	}
}
