package cluster

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// A nodeImage is an image the real node needs before any pod runs, made from
// one static binary of a tool: no public registry can be reached from the
// cluster, and none is needed.
type nodeImage struct {
	Ref    string
	Tool   Tool
	Binary string
}

func nodeImages() []nodeImage {
	return []nodeImage{{Ref: SandboxImage(), Tool: Pause, Binary: "pause"}}
}

func nodeImagesComponent() Component {
	return Component{
		Name:      NodeImagesName,
		Tool:      Pause,
		ToolFiles: []string{"pause"},
		Needs:     []string{ContainerdName},
		Setup: func(ctx context.Context, e *Env) error {
			if err := os.MkdirAll(e.Path(NodeImagesName), 0o700); err != nil {
				return err
			}
			for _, im := range nodeImages() {
				bin, err := im.Tool.Path(e.ToolsDir, im.Binary)
				if err != nil {
					return err
				}
				tarPath := e.Path(NodeImagesName, im.Binary+".tar")
				if err := writeBinaryImage(tarPath, im.Ref, bin); err != nil {
					return fmt.Errorf("image %s: %w", im.Ref, err)
				}
				if err := importImage(ctx, e, tarPath); err != nil {
					return fmt.Errorf("image %s: %w", im.Ref, err)
				}
			}
			return nil
		},
		Endpoint: func(e *Env) string {
			var refs []string
			for _, im := range nodeImages() {
				refs = append(refs, im.Ref)
			}
			return strings.Join(refs, ", ")
		},
	}
}

// importImage loads an image tarball into the node's containerd, where the
// kubelet finds it by name.
func importImage(ctx context.Context, e *Env, tarPath string) error {
	var out bytes.Buffer
	cmd := ctrCmd(e, "images", "import", "--platform", "linux/amd64", tarPath)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := e.Runner.Run(ctx, cmd); err != nil {
		return fmt.Errorf("ctr images import: %w: %s", err, strings.TrimSpace(out.String()))
	}
	return nil
}

// writeBinaryImage writes a docker-archive tarball of an image holding only
// the binary at /<name>, which is its entrypoint.
func writeBinaryImage(tarPath, ref, binary string) error {
	tag, err := name.NewTag(ref)
	if err != nil {
		return err
	}
	layerTar, err := binaryLayer(binary)
	if err != nil {
		return err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", "amd64"
	cf.Config = v1.Config{Entrypoint: []string{"/" + filepath.Base(binary)}}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return err
	}
	tmp := tarPath + ".tmp"
	if err := tarball.WriteToFile(tmp, tag, img); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, tarPath)
}

// binaryLayer is a layer tarball with the file at path as /<its name>.
func binaryLayer(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{Name: filepath.Base(path), Mode: 0o755, Size: st.Size(), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := io.Copy(tw, f); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
