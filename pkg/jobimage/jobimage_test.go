package jobimage

import (
	"archive/tar"
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/prowctl/prowctl/pkg/process"
)

const goVer = "go1.26.8"

// fixture writes a toolchain module zip, a root filesystem and a prowctl
// binary, and returns options building from them with a fake `go mod
// download` that counts its calls.
func fixture(t *testing.T) (Options, *int) {
	t.Helper()
	dir := t.TempDir()
	mod := ToolchainModule(goVer)
	zipPath := filepath.Join(dir, "toolchain.zip")
	f, err := os.Create(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for name, body := range map[string]string{"bin/go": "go binary", "pkg/tool/linux_amd64/compile": "compiler", "src/fmt/print.go": "package fmt", "VERSION": goVer} {
		w, err := zw.Create(mod + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, body)
	}
	if err := errors.Join(zw.Close(), f.Close()); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(dir, "rootfs.tar")
	rf, err := os.Create(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(rf)
	tw.WriteHeader(&tar.Header{Name: "bin/", Mode: 0o755, Typeflag: tar.TypeDir})
	if err := errors.Join(tw.Close(), rf.Close()); err != nil {
		t.Fatal(err)
	}
	prowctl := filepath.Join(dir, "prowctl")
	if err := os.WriteFile(prowctl, []byte("\x7fELF prowctl v1"), 0o755); err != nil {
		t.Fatal(err)
	}
	calls := 0
	runner := &process.Recorder{Fn: func(_ context.Context, c process.Cmd) error {
		calls++
		if diff := cmp.Diff([]string{"mod", "download", "-json", mod}, c.Args); c.Name != "go" || diff != "" {
			return fmt.Errorf("unexpected command %s %v", c.Name, c.Args)
		}
		fmt.Fprintf(c.Stdout, `{"Path": "golang.org/toolchain", "Zip": %q}`, zipPath)
		return nil
	}}
	return Options{
		Names: []string{"gcr.io/mlkube-testing/builder:v1"}, Rootfs: rootfs, GoVersion: goVer, Prowctl: prowctl,
		CacheDir: filepath.Join(dir, "cache"), Runner: runner,
	}, &calls
}

// files lists a layer's entries as name → mode.
func files(t *testing.T, r io.Reader) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			out[h.Name] = h.Mode
		}
	}
}

func TestBuild(t *testing.T) {
	ctx := context.Background()
	o, calls := fixture(t)
	res, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Cached || !strings.HasPrefix(res.ID, "sha256:") {
		t.Fatalf("first build: %+v", res)
	}
	tag, _ := name.NewTag(o.Names[0])
	img, err := tarball.ImageFromPath(res.Archive, &tag)
	if err != nil {
		t.Fatal(err)
	}
	id, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	if id.String() != res.ID {
		t.Errorf("ID %s, but the archive's config is %s", res.ID, id)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 3 {
		t.Fatalf("layers: %d, %v; want base, toolchain, prowctl", len(layers), err)
	}
	want := []map[string]int64{
		{},
		{"usr/local/go/bin/go": 0o755, "usr/local/go/pkg/tool/linux_amd64/compile": 0o755, "usr/local/go/src/fmt/print.go": 0o644, "usr/local/go/VERSION": 0o644},
		{"usr/local/bin/prowctl": 0o755},
	}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want[i], files(t, rc)); diff != "" {
			t.Errorf("layer %d files (-want +got):\n%s", i, diff)
		}
		rc.Close()
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range []string{"GOTOOLCHAIN=local", "CGO_ENABLED=0"} {
		if !strings.Contains(strings.Join(cf.Config.Env, " "), e) {
			t.Errorf("env %v lacks %s", cf.Config.Env, e)
		}
	}
	if !strings.HasPrefix(cf.Config.Env[0], "PATH=/usr/local/go/bin:") {
		t.Errorf("env %v: the toolchain is not first on PATH", cf.Config.Env)
	}

	again, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Cached || again.ID != res.ID || again.Archive != res.Archive || *calls != 1 {
		t.Errorf("unchanged rebuild: %+v after %d downloads; want the cached %s and one download", again, *calls, res.ID)
	}

	if err := os.WriteFile(o.Prowctl, []byte("\x7fELF prowctl v2"), 0o755); err != nil {
		t.Fatal(err)
	}
	changed, err := Build(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if changed.Cached || changed.ID == res.ID {
		t.Errorf("a new prowctl: %+v, want a new image", changed)
	}
	if _, err := os.Stat(res.Archive); !os.IsNotExist(err) {
		t.Errorf("the previous archive %s is still there: %v", res.Archive, err)
	}
}

func TestBuildErrors(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		edit func(*Options)
		want string
	}{
		{"bad Go version", func(o *Options) { o.GoVersion = "1.26" }, `Go version "1.26": want a release`},
		{"no name", func(o *Options) { o.Names = nil }, "no name"},
		{"not a binary", func(o *Options) { os.WriteFile(o.Prowctl, []byte("#!/bin/sh"), 0o755) }, "is not an ELF binary"},
		{"no rootfs", func(o *Options) { o.Rootfs += ".missing" }, "run `make tools`"},
		{"the proxy has no such toolchain", func(o *Options) {
			o.Runner = &process.Recorder{Fn: func(_ context.Context, c process.Cmd) error {
				fmt.Fprint(c.Stdout, `{"Error": "golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64: not found"}`)
				return errors.New("exit status 1")
			}}
		}, "go mod download golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64: golang.org/toolchain@v0.0.1-go1.26.8.linux-amd64: not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, _ := fixture(t)
			tc.edit(&o)
			_, err := Build(ctx, o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if left, _ := filepath.Glob(filepath.Join(o.CacheDir, "*.tar")); len(left) > 0 {
				t.Errorf("files left in the cache: %v", left)
			}
		})
	}
}
