package imagearchive

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func layerTar(t *testing.T, file, content string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: file, Mode: 0o644, Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestWriteReadsBackWithSharedLayerOnce writes two images sharing a file
// layer, reads each back with go-containerregistry's docker-archive reader
// and checks their layers and configuration, and that the shared layer is
// in the archive once.
func TestWriteReadsBackWithSharedLayerOnce(t *testing.T) {
	base := filepath.Join(t.TempDir(), "base.tar")
	if err := os.WriteFile(base, layerTar(t, "etc/os-release", "debian"), 0o644); err != nil {
		t.Fatal(err)
	}
	baseDigest, err := FileDigest(context.Background(), base)
	if err != nil {
		t.Fatal(err)
	}
	images := []Image{
		{Refs: []string{"example.com/aa:1"}, Layers: []Layer{{Path: base, DiffID: baseDigest}, {Bytes: layerTar(t, "a", "A")}}, Entrypoint: []string{"/a"}, Env: []string{"PATH=/bin"}},
		{Refs: []string{"example.com/bb:1", "bb:latest"}, Layers: []Layer{{Path: base}}, Cmd: []string{"/bin/sh"}, WorkingDir: "/work"},
	}
	var archive bytes.Buffer
	if err := Write(context.Background(), &archive, images); err != nil {
		t.Fatal(err)
	}

	var names []string
	tr := tar.NewReader(bytes.NewReader(archive.Bytes()))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
	}
	if diff := cmp.Diff([]string{"layer-0.tar", "layer-1.tar", "config-0.json", "config-1.json", "manifest.json"}, names); diff != "" {
		t.Errorf("archive entries (-want +got):\n%s", diff)
	}

	opener := func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(archive.Bytes())), nil }
	for _, tc := range []struct {
		ref        string
		layers     int
		entrypoint []string
		cmd        []string
		workingDir string
	}{
		{"example.com/aa:1", 2, []string{"/a"}, nil, ""},
		{"bb:latest", 1, nil, []string{"/bin/sh"}, "/work"},
	} {
		tag, err := name.NewTag(tc.ref)
		if err != nil {
			t.Fatal(err)
		}
		img, err := tarball.Image(opener, &tag)
		if err != nil {
			t.Fatalf("%s: %v", tc.ref, err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if len(cf.RootFS.DiffIDs) != tc.layers || cf.RootFS.DiffIDs[0].String() != baseDigest {
			t.Errorf("%s: diff IDs %v, want %d starting with the base %s", tc.ref, cf.RootFS.DiffIDs, tc.layers, baseDigest)
		}
		if diff := cmp.Diff(tc.entrypoint, cf.Config.Entrypoint); diff != "" {
			t.Errorf("%s: entrypoint (-want +got):\n%s", tc.ref, diff)
		}
		if diff := cmp.Diff(tc.cmd, cf.Config.Cmd); diff != "" {
			t.Errorf("%s: cmd (-want +got):\n%s", tc.ref, diff)
		}
		if cf.Config.WorkingDir != tc.workingDir {
			t.Errorf("%s: working dir %q, want %q", tc.ref, cf.Config.WorkingDir, tc.workingDir)
		}
	}
}

func TestWriteRefusesAChangedLayer(t *testing.T) {
	base := filepath.Join(t.TempDir(), "base.tar")
	if err := os.WriteFile(base, layerTar(t, "x", "1"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(context.Background(), io.Discard, []Image{{Refs: []string{"x:1"}, Layers: []Layer{{Path: base, DiffID: "sha256:0000"}}}})
	if err == nil || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("err = %v, want the layer reported changed", err)
	}
}

func TestWriteStopsWhenCancelled(t *testing.T) {
	base := filepath.Join(t.TempDir(), "base.tar")
	if err := os.WriteFile(base, layerTar(t, "x", strings.Repeat("x", 1<<20)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Write(ctx, io.Discard, []Image{{Refs: []string{"xx:1"}, Layers: []Layer{{Path: base}}}}); err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("err = %v, want the context's", err)
	}
}
