package cluster

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/prowctl/prowctl/pkg/imagearchive"
)

// A nodeImage is an image the real node holds before any pod runs, made from
// tools' files: no public registry can be reached from the cluster, and none
// is needed. Layers are the Debian root filesystem (Base), then one per
// static binary, each at /<its name>.
type nodeImage struct {
	// Refs name the image; the first is prowctl's own name for it, the
	// others are names a job or Prow's config may use for it.
	Refs     []string
	Base     bool
	Binaries []toolBinary
	// Entrypoint is the image's; the first binary when empty, and /bin/sh
	// as command when there is none.
	Entrypoint []string
	// Env is the image's environment.
	Env []string
}

type toolBinary struct {
	Tool Tool
	Name string
}

// Image names of the real node's own images.
const imagePrefix = "prowctl.local/"

// SandboxImage is the pause image containerd gives every pod.
func SandboxImage() string { return imagePrefix + "pause:" + Pause.Version }

// DebianImage is a Debian image with a shell and git, for test jobs.
func DebianImage() string { return imagePrefix + "debian:" + Debian.Version }

// UtilityImage is prowctl's name for Prow's pod utility image (clonerefs,
// initupload, entrypoint, sidecar), built from the pinned Prow.
func UtilityImage(name string) string {
	return imagePrefix + name + ":" + strings.TrimPrefix(Prow.Version, "v0.0.0-")
}

// nodeImages are the images the real node starts with: the sandbox, Prow's
// pod utilities (also under the names the Prow config's default decoration
// gives them, so jobs run unchanged), and the Debian base.
func nodeImages(e *Env, utilityRefs map[string]string) []nodeImage {
	path := "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	// The uploads go to the cluster's GCS emulator; Google's storage client
	// takes its address from here, and needs no credentials then.
	gcs := "STORAGE_EMULATOR_HOST=" + e.gcsNodeAddr()
	images := []nodeImage{
		{Refs: []string{SandboxImage()}, Binaries: []toolBinary{{Pause, "pause"}}},
		{Refs: []string{DebianImage()}, Base: true, Env: []string{path}},
	}
	for _, u := range []struct {
		name    string
		base    bool
		uploads bool
		env     []string
	}{
		// "/" on its PATH, as Prow's own images have /ko-app: an Argo
		// Workflow's checkout (pkg/e2e/argo) runs `clonerefs` by name,
		// Argo's executor needing a command.
		{"clonerefs", true, false, []string{path + ":/"}},
		{"initupload", false, true, []string{path, gcs}},
		{"entrypoint", false, false, []string{path}},
		{"sidecar", false, true, []string{path, gcs}},
	} {
		refs := []string{UtilityImage(u.name)}
		if r := utilityRefs[u.name]; r != "" && r != refs[0] {
			refs = append(refs, r)
		}
		im := nodeImage{Refs: refs, Base: u.base, Binaries: []toolBinary{{Prow, u.name}}, Env: u.env}
		if u.uploads {
			im.Binaries = append(im.Binaries, toolBinary{EmuShim, "emushim"})
			im.Entrypoint = []string{"/emushim", "/" + u.name}
		}
		images = append(images, im)
	}
	return images
}

// writeImageArchive writes images as one archive for `ctr import`; the
// Debian root filesystem several of them share is in it once.
func writeImageArchive(ctx context.Context, w io.Writer, images []nodeImage, toolsDir string) error {
	var out []imagearchive.Image
	for _, im := range images {
		a := imagearchive.Image{Refs: im.Refs, Env: im.Env, Entrypoint: im.Entrypoint}
		if im.Base {
			p, err := Debian.Path(toolsDir, "rootfs.tar")
			if err != nil {
				return err
			}
			a.Layers = append(a.Layers, imagearchive.Layer{Path: p})
		}
		for _, bin := range im.Binaries {
			p, err := bin.Tool.Path(toolsDir, bin.Name)
			if err != nil {
				return err
			}
			b, err := binaryLayer(p)
			if err != nil {
				return err
			}
			a.Layers = append(a.Layers, imagearchive.Layer{Bytes: b})
		}
		switch {
		case len(im.Entrypoint) > 0:
		case len(im.Binaries) > 0:
			a.Entrypoint = []string{"/" + im.Binaries[0].Name}
		default:
			a.Cmd = []string{"/bin/sh"}
		}
		out = append(out, a)
	}
	return imagearchive.Write(ctx, w, out)
}

// binaryLayer is a layer tarball with the file at path as /<its name>, and
// /tmp, which Prow's sidecar writes its log to.
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
	if err := tw.WriteHeader(&tar.Header{Name: "tmp/", Mode: 0o1777, Typeflag: tar.TypeDir}); err != nil {
		return nil, err
	}
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

func nodeImagesComponent() Component {
	return Component{
		Name:      NodeImagesName,
		Tool:      Debian,
		ToolFiles: []string{"rootfs.tar"},
		Needs:     []string{ContainerdName, GCSName},
		Setup: func(ctx context.Context, e *Env) error {
			refs, err := configUtilityImages(e.ProwConfig)
			if err != nil {
				return err
			}
			// Two streams, so the writer, ctr and containerd of one keep the
			// second core busy while the other waits on its pipe.
			var base, bare []nodeImage
			for _, im := range nodeImages(e, refs) {
				if im.Base {
					base = append(base, im)
				} else {
					bare = append(bare, im)
				}
			}
			errc := make(chan error, 1)
			go func() { errc <- importImages(ctx, e, base) }()
			return errors.Join(importImages(ctx, e, bare), <-errc)
		},
		Ready: func(ctx context.Context, e *Env) error {
			var out bytes.Buffer
			cmd := ctrCmd(e, "images", "ls", "--quiet")
			cmd.Stdout = &out
			if err := e.Runner.Run(ctx, cmd); err != nil {
				return err
			}
			have := map[string]bool{}
			for _, l := range strings.Split(out.String(), "\n") {
				have[strings.TrimSpace(l)] = true
			}
			for _, im := range nodeImages(e, nil) {
				if !have[im.Refs[0]] && !have["docker.io/"+im.Refs[0]] {
					return fmt.Errorf("image %s is missing", im.Refs[0])
				}
			}
			return nil
		},
		Endpoint: func(e *Env) string {
			var names []string
			for _, im := range nodeImages(e, nil) {
				n := strings.TrimPrefix(im.Refs[0], imagePrefix)
				n, _, _ = strings.Cut(n, ":")
				names = append(names, n)
			}
			return imagePrefix + "{" + strings.Join(names, ",") + "}"
		},
	}
}

// importImages streams images into the node's containerd, where the kubelet
// finds each by each of its names.
func importImages(ctx context.Context, e *Env, images []nodeImage) error {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeImageArchive(ctx, pw, images, e.ToolsDir)) }()
	defer pr.Close()
	_, err := ctrImport(ctx, e, pr)
	return err
}
