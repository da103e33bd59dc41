// Package imagearchive writes images as one docker-archive tarball (`docker
// save`'s format), which containerd's `ctr import` reads, with layers left
// uncompressed: go-containerregistry's tarball writer gzips every layer,
// which for a root filesystem of hundreds of megabytes costs seconds at each
// write, and containerd takes uncompressed layers as they are. A layer that
// several images share is written once.
package imagearchive

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

// A Layer is an uncompressed layer tarball: a file (Path) or bytes.
type Layer struct {
	Path  string
	Bytes []byte
	// DiffID is its sha256:... digest when known (a cached file's);
	// computed while writing when empty.
	DiffID string
}

// An Image is a list of layers, bottom first, and its configuration.
type Image struct {
	// Refs are the names it is imported under.
	Refs   []string
	Layers []Layer
	// Entrypoint, Cmd, Env and WorkingDir are the image's configuration.
	Entrypoint, Cmd, Env []string
	WorkingDir           string
}

// Write writes images to w as one archive; it stops with ctx's error when
// ctx ends (layers are hundreds of megabytes).
func Write(ctx context.Context, w io.Writer, images []Image) error {
	tw := tar.NewWriter(w)
	type written struct{ name, diffID string }
	byPath := map[string]written{}
	var manifest []map[string]any
	n := 0
	for i, im := range images {
		var diffIDs, names []string
		for _, l := range im.Layers {
			if w, ok := byPath[l.Path]; ok && l.Path != "" {
				diffIDs, names = append(diffIDs, w.diffID), append(names, w.name)
				continue
			}
			name := fmt.Sprintf("layer-%d.tar", n)
			n++
			var sum string
			var err error
			if l.Path != "" {
				sum, err = copyFile(ctx, tw, name, l.Path)
			} else {
				sum, err = writeBytes(tw, name, l.Bytes)
			}
			if err != nil {
				return err
			}
			if l.DiffID != "" && l.DiffID != sum {
				return fmt.Errorf("layer %s changed: its digest is %s, not %s", l.Path, sum, l.DiffID)
			}
			if l.Path != "" {
				byPath[l.Path] = written{name, sum}
			}
			diffIDs, names = append(diffIDs, sum), append(names, name)
		}
		cfg, err := Config(im, diffIDs)
		if err != nil {
			return err
		}
		cfgName := fmt.Sprintf("config-%d.json", i)
		if _, err := writeBytes(tw, cfgName, cfg); err != nil {
			return err
		}
		manifest = append(manifest, map[string]any{"Config": cfgName, "RepoTags": im.Refs, "Layers": names})
	}
	b, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	if _, err := writeBytes(tw, "manifest.json", b); err != nil {
		return err
	}
	return tw.Close()
}

// Config is the image's configuration JSON for layers with the given
// digests: the same bytes for the same image, so its digest is the image's
// identity (what `ctr images ls` and the kubelet call the image ID).
func Config(im Image, diffIDs []string) ([]byte, error) {
	config := map[string]any{"Env": im.Env}
	if len(im.Entrypoint) > 0 {
		config["Entrypoint"] = im.Entrypoint
	}
	if len(im.Cmd) > 0 {
		config["Cmd"] = im.Cmd
	}
	if im.WorkingDir != "" {
		config["WorkingDir"] = im.WorkingDir
	}
	return json.Marshal(map[string]any{
		"architecture": "amd64",
		"os":           "linux",
		"created":      time.Unix(0, 0).UTC(),
		"config":       config,
		"rootfs":       map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
}

func writeBytes(tw *tar.Writer, name string, b []byte) (string, error) {
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
		return "", err
	}
	if _, err := tw.Write(b); err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}

func copyFile(ctx context.Context, tw *tar.Writer, name, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: st.Size(), Typeflag: tar.TypeReg}); err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(io.MultiWriter(tw, h), Reader(ctx, f)); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// Reader reads r until ctx ends, then fails with ctx's error: a copy of a
// big layer stops at Ctrl-C.
func Reader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// FileDigest is the sha256:... digest of the file at path.
func FileDigest(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, Reader(ctx, f)); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}
