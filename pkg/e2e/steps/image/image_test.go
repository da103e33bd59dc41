package image

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/prowctl/prowctl/pkg/process"
	"github.com/prowctl/prowctl/pkg/registry"
)

func startRegistry(t testing.TB) string {
	t.Helper()
	s, err := registry.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Close(ctx)
	})
	return s.Addr()
}

// fakeGo answers `go build -o OUT PKG` by writing content to OUT.
func fakeGo(content []byte) *process.Recorder {
	return &process.Recorder{Fn: func(_ context.Context, c process.Cmd) error {
		for i, a := range c.Args {
			if a == "-o" {
				return os.WriteFile(c.Args[i+1], content, 0o755)
			}
		}
		return nil
	}}
}

func TestBuildPushesImageWithEntrypointAndBinary(t *testing.T) {
	addr := startRegistry(t)
	bin := []byte("\x7fELF not really a program")
	runner := fakeGo(bin)
	res, err := Build(context.Background(), Options{
		Package:    "./testdata/operator",
		Dir:        "/src",
		Env:        []string{"HOME=/home/x", "CGO_ENABLED=1"},
		Repository: addr + "/tf-operator",
		Tags:       []string{"0123abcd", "pr-7"},
		Labels:     map[string]string{"org.opencontainers.image.revision": "0123abcd"},
		Keychain:   authn.NewMultiKeychain(), // no credentials needed on loopback
		Runner:     runner,
	})
	if err != nil {
		t.Fatal(err)
	}

	cmds := runner.Cmds()
	if len(cmds) != 1 {
		t.Fatalf("ran %q, want one go build", runner.Calls())
	}
	c := cmds[0]
	out := c.Args[3]
	if filepath.Base(out) != "operator" {
		t.Errorf("go build -o %s: want a file named operator", out)
	}
	if diff := cmp.Diff([]string{"build", "-trimpath", "-o", out, "./testdata/operator"}, c.Args); diff != "" {
		t.Errorf("go args (-want +got):\n%s", diff)
	}
	if c.Name != "go" || c.Dir != "/src" {
		t.Errorf("ran %s in %q, want go in /src", c.Name, c.Dir)
	}
	// The later CGO_ENABLED wins in os/exec: the image must be static.
	wantEnv := []string{"HOME=/home/x", "CGO_ENABLED=1", "CGO_ENABLED=0", "GOOS=linux", "GOARCH=" + runtime.GOARCH}
	if diff := cmp.Diff(wantEnv, c.Env); diff != "" {
		t.Errorf("go env (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Dir(out)); !os.IsNotExist(err) {
		t.Errorf("build dir %s left behind", filepath.Dir(out))
	}

	if !strings.HasPrefix(res.Ref, addr+"/tf-operator@sha256:") || !strings.HasSuffix(res.Ref, res.Digest) {
		t.Errorf("Ref = %q, want %s/tf-operator@%s", res.Ref, addr, res.Digest)
	}
	if diff := cmp.Diff([]string{addr + "/tf-operator:0123abcd", addr + "/tf-operator:pr-7"}, res.Tagged); diff != "" {
		t.Errorf("Tagged (-want +got):\n%s", diff)
	}
	for _, ref := range append([]string{res.Ref}, res.Tagged...) {
		checkImage(t, ref, res.Digest, "/operator", bin)
	}
}

// checkImage pulls ref and checks digest, config and the one layer.
func checkImage(t *testing.T, ref, digest, entrypoint string, bin []byte) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(r)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if d, _ := img.Digest(); d.String() != digest {
		t.Errorf("%s: digest %s, want %s", ref, d, digest)
	}
	if mt, _ := img.MediaType(); mt != types.OCIManifestSchema1 {
		t.Errorf("%s: media type %s, want OCI", ref, mt)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{entrypoint}, cf.Config.Entrypoint); diff != "" {
		t.Errorf("%s: entrypoint (-want +got):\n%s", ref, diff)
	}
	if cf.OS != "linux" || cf.Architecture != runtime.GOARCH {
		t.Errorf("%s: platform %s/%s, want linux/%s", ref, cf.OS, cf.Architecture, runtime.GOARCH)
	}
	files := layerFiles(t, img)
	want := map[string]string{strings.TrimPrefix(entrypoint, "/"): "-rwxr-xr-x " + string(bin)}
	if diff := cmp.Diff(want, files, cmp.Transformer("short", shorten)); diff != "" {
		t.Errorf("%s: layer files (-want +got):\n%s", ref, diff)
	}
}

func shorten(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if len(v) > 64 {
			v = v[:64]
		}
		out[k] = v
	}
	return out
}

// layerFiles returns "mode content" by path of the image's only layer.
func layerFiles(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v; want 1", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		io.Copy(&b, tr)
		files[h.Name] = h.FileInfo().Mode().String() + " " + b.String()
	}
	return files
}

func TestBuildIsReproducible(t *testing.T) {
	addr := startRegistry(t)
	opts := Options{Package: "./x", Repository: addr + "/xx", Tags: []string{"a"}, Binary: "bin/x", Runner: fakeGo([]byte("same"))}
	first, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	opts.Tags = []string{"b"}
	second, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if first.Digest != second.Digest {
		t.Errorf("same binary, digests %s and %s", first.Digest, second.Digest)
	}
	checkImage(t, second.Tagged[0], first.Digest, "/bin/x", []byte("same"))
}

func TestBuildLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "image")
	opts := Options{Package: "./x", Layout: dir, Tags: []string{"abc", "pr-1"}, Runner: fakeGo([]byte("bin"))}
	res, err := Build(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Ref != dir+"@"+res.Digest {
		t.Errorf("Ref = %q", res.Ref)
	}
	// Again, as a re-run would: the tags move, nothing piles up.
	if _, err := Build(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := p.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range m.Manifests {
		got = append(got, d.Annotations[refName]+" "+d.Digest.String())
	}
	want := []string{"abc " + res.Digest, "pr-1 " + res.Digest}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("layout index (-want +got):\n%s", diff)
	}
	img, err := p.Image(m.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	if files := layerFiles(t, img); files["operator"] != "-rwxr-xr-x bin" {
		t.Errorf("layer files %v", files)
	}
}

func TestBuildErrors(t *testing.T) {
	failing := &process.Recorder{Fn: func(context.Context, process.Cmd) error { return io.ErrUnexpectedEOF }}
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no repository", Options{Package: "./x", Tags: []string{"a"}}, "one of repository or layout"},
		{"repository and layout", Options{Package: "./x", Repository: "127.0.0.1:1/xx", Layout: "/tmp/x", Tags: []string{"a"}}, "one of repository or layout"},
		{"bad tag", Options{Package: "./x", Repository: "127.0.0.1:1/xx", Tags: []string{"a b"}}, `tag "a b"`},
		{"build fails", Options{Package: "./x", Repository: "127.0.0.1:1/xx", Tags: []string{"a"}, Runner: failing}, "build ./x: unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(context.Background(), tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestBuildRealOperator builds the fixture operator with the real go tool.
func TestBuildRealOperator(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: builds the fixture operator")
	}
	addr := startRegistry(t)
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Build(context.Background(), Options{
		Package:    "./testdata/operator",
		Dir:        root,
		Repository: addr + "/tf-operator",
		Tags:       []string{"test"},
		Runner:     process.Exec{},
		Log:        testWriter{t},
	})
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.ParseReference(res.Ref)
	if err != nil {
		t.Fatal(err)
	}
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	got := layerFiles(t, img)["operator"]
	if !strings.HasPrefix(got, "-rwxr-xr-x \x7fELF") || len(got) < 1<<20 {
		t.Errorf("operator in image: %d bytes starting %q, want a static ELF program", len(got), got[:min(len(got), 20)])
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
