// Package image builds a Go program into an OCI image and pushes it, without
// a Docker daemon: `go build` for the binary, go-containerregistry to
// assemble the image and talk to the registry.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/match"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/prowctl/prowctl/pkg/process"
)

// Options say what to build and where to push it.
type Options struct {
	// Package is the Go package of the program ("./testdata/operator"),
	// built in Dir with CGO_ENABLED=0.
	Package string
	Dir     string
	// Env is the environment of `go build` (nil: the process's own).
	Env []string
	// GOOS and GOARCH of the image; empty means linux and this machine's
	// architecture.
	GOOS, GOARCH string
	// Binary is the program's path in the image and its entrypoint
	// (default /operator).
	Binary string
	// Base is the image the binary goes on; empty means an empty image.
	Base string
	// Repository is where the image goes ("127.0.0.1:5000/tf-operator").
	Repository string
	// PlainHTTP pushes to Repository over HTTP (a registry on loopback
	// needs not say so: go-containerregistry talks HTTP to it anyway).
	PlainHTTP bool
	// Layout, when Repository is empty, is a directory the image is written
	// to as an OCI image layout instead (for runs without a registry).
	Layout string
	// Tags to push; the first is written, the rest point at the same digest.
	Tags []string
	// Labels go into the image config (e.g. org.opencontainers.image.revision).
	Labels map[string]string
	// Keychain resolves registry credentials; nil means authn.DefaultKeychain
	// (the Docker config file and its credential helpers).
	Keychain authn.Keychain
	// Runner runs `go build`; Log gets its output.
	Runner process.Runner
	Log    io.Writer
}

// Result is what was pushed.
type Result struct {
	// Ref is the image by digest: repository@sha256:...
	Ref    string
	Digest string
	// Tagged are the full references of the tags pushed.
	Tagged []string
}

// Build compiles the program, assembles the image and pushes it with every tag.
func Build(ctx context.Context, o Options) (Result, error) {
	if o.Package == "" || (o.Repository == "") == (o.Layout == "") || len(o.Tags) == 0 {
		return Result{}, fmt.Errorf("build image: package, one of repository or layout, and at least one tag are required")
	}
	if o.Repository == "" {
		return buildLayout(ctx, o)
	}
	var nameOpts []name.Option
	if o.PlainHTTP {
		nameOpts = append(nameOpts, name.Insecure)
	}
	repo, err := name.NewRepository(o.Repository, nameOpts...)
	if err != nil {
		return Result{}, fmt.Errorf("build image: repository %q: %w", o.Repository, err)
	}
	tags := make([]name.Tag, len(o.Tags))
	for i, t := range o.Tags {
		if tags[i], err = name.NewTag(repo.Name()+":"+t, nameOpts...); err != nil {
			return Result{}, fmt.Errorf("build image: tag %q: %w", t, err)
		}
	}
	keychain := o.Keychain
	if keychain == nil {
		keychain = authn.DefaultKeychain
	}
	remoteOpts := []remote.Option{remote.WithContext(ctx), remote.WithAuthFromKeychain(keychain)}

	bin, err := compile(ctx, o)
	if err != nil {
		return Result{}, err
	}
	img, err := Assemble(ctx, bin, o, remoteOpts)
	if err != nil {
		return Result{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return Result{}, fmt.Errorf("build image: %w", err)
	}
	if err := remote.Write(tags[0], img, remoteOpts...); err != nil {
		return Result{}, fmt.Errorf("push %s: %w", tags[0], err)
	}
	res := Result{Ref: repo.Digest(digest.String()).String(), Digest: digest.String(), Tagged: []string{tags[0].String()}}
	for _, t := range tags[1:] {
		if err := remote.Tag(t, img, remoteOpts...); err != nil {
			return Result{}, fmt.Errorf("push %s: %w", t, err)
		}
		res.Tagged = append(res.Tagged, t.String())
	}
	return res, nil
}

// refName is the OCI annotation naming an image of a layout by its tag.
const refName = "org.opencontainers.image.ref.name"

// buildLayout writes the image into the OCI layout o.Layout, annotated with
// its tags; Ref is LAYOUT@DIGEST.
func buildLayout(ctx context.Context, o Options) (Result, error) {
	bin, err := compile(ctx, o)
	if err != nil {
		return Result{}, err
	}
	img, err := Assemble(ctx, bin, o, []remote.Option{remote.WithContext(ctx)})
	if err != nil {
		return Result{}, err
	}
	digest, err := img.Digest()
	if err != nil {
		return Result{}, fmt.Errorf("build image: %w", err)
	}
	p, err := layout.FromPath(o.Layout)
	if err != nil {
		if p, err = layout.Write(o.Layout, empty.Index); err != nil {
			return Result{}, fmt.Errorf("image layout %s: %w", o.Layout, err)
		}
	}
	res := Result{Ref: o.Layout + "@" + digest.String(), Digest: digest.String()}
	for _, t := range o.Tags {
		if err := p.ReplaceImage(img, match.Annotation(refName, t), layout.WithAnnotations(map[string]string{refName: t})); err != nil {
			return Result{}, fmt.Errorf("image layout %s: %w", o.Layout, err)
		}
		res.Tagged = append(res.Tagged, o.Layout+":"+t)
	}
	return res, nil
}

func (o Options) platform() (goos, goarch string) {
	goos, goarch = o.GOOS, o.GOARCH
	if goos == "" {
		goos = "linux"
	}
	if goarch == "" {
		goarch = runtime.GOARCH
	}
	return goos, goarch
}

func (o Options) binary() string {
	if o.Binary == "" {
		return "/operator"
	}
	return path.Clean("/" + o.Binary)
}

// compile runs go build and returns the binary.
func compile(ctx context.Context, o Options) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "prowctl-image-")
	if err != nil {
		return nil, fmt.Errorf("build image: %w", err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, path.Base(o.binary()))
	env := o.Env
	if env == nil {
		env = os.Environ()
	}
	goos, goarch := o.platform()
	env = append(append([]string(nil), env...), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	logw := o.Log
	if logw == nil {
		logw = io.Discard
	}
	cmd := process.Cmd{
		Name:   "go",
		Args:   []string{"build", "-trimpath", "-o", out, o.Package},
		Dir:    o.Dir,
		Env:    env,
		Stdout: logw,
		Stderr: logw,
	}
	if err := o.Runner.Run(ctx, cmd); err != nil {
		return nil, fmt.Errorf("build %s: %w", o.Package, err)
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", o.Package, err)
	}
	return bin, nil
}

// Assemble puts bin at o.Binary on the base image (or an empty one) and
// makes it the entrypoint. Built on an empty image, the result uses OCI
// media types and carries no timestamps, so the same binary gives the same
// digest.
func Assemble(ctx context.Context, bin []byte, o Options, remoteOpts []remote.Option) (v1.Image, error) {
	goos, goarch := o.platform()
	var base v1.Image = mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	layerType := types.OCILayer
	if o.Base != "" {
		ref, err := name.ParseReference(o.Base)
		if err != nil {
			return nil, fmt.Errorf("base image %q: %w", o.Base, err)
		}
		opts := append(append([]remote.Option(nil), remoteOpts...), remote.WithPlatform(v1.Platform{OS: goos, Architecture: goarch}))
		if base, err = remote.Image(ref, opts...); err != nil {
			return nil, fmt.Errorf("base image %s: %w", ref, err)
		}
		if mt, err := base.MediaType(); err == nil && mt == types.DockerManifestSchema2 {
			layerType = types.DockerLayer
		}
	}
	layerTar, err := tarFile(o.binary(), bin)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(layerType))
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: layer, History: v1.History{CreatedBy: "prowctl e2e build-image " + o.Package}})
	if err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = goos, goarch
	cf.Config.Entrypoint = []string{o.binary()}
	cf.Config.Cmd = nil
	if len(o.Labels) > 0 {
		if cf.Config.Labels == nil {
			cf.Config.Labels = map[string]string{}
		}
		for k, v := range o.Labels {
			cf.Config.Labels[k] = v
		}
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("image config: %w", err)
	}
	return img, nil
}

// tarFile returns a tar holding data as an executable at file.
func tarFile(file string, data []byte) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	hdr := &tar.Header{
		Name:     strings.TrimPrefix(file, "/"), // layer paths are relative to /
		Mode:     0o755,
		Size:     int64(len(data)),
		Typeflag: tar.TypeReg,
		Format:   tar.FormatPAX,
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	if _, err := tw.Write(data); err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("image layer: %w", err)
	}
	return buf.Bytes(), nil
}
