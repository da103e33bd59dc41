package steps

import (
	"context"
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/steps/image"
)

// buildImageSettings: `uses: build-image`.
type buildImageSettings struct {
	// Package is the Go package of the operator, relative to the run's
	// directory (required).
	Package string `yaml:"package"`
	// Repository to push to; default NAME under the run's registry.
	Repository string `yaml:"repository"`
	// Name of the image under the run's registry (default: the package's
	// last element).
	Name string `yaml:"name"`
	// Binary is the program's path in the image, its entrypoint (default /operator).
	Binary string `yaml:"binary"`
	// Base image (default: none, an empty image).
	Base string `yaml:"base"`
	// Platform as os/arch (default linux and this machine's architecture).
	Platform string `yaml:"platform"`
	// Tags pushed besides the commit and pr-N.
	Tags []string `yaml:"tags"`
}

func (s buildImageSettings) name() string {
	if s.Name != "" {
		return s.Name
	}
	return path.Base(s.Package)
}

type buildImageStep struct{ buildImageSettings }

func newBuildImage(s buildImageSettings, n *yaml.Node) (e2e.Step, error) {
	if s.Package == "" {
		return nil, settingsError(n, "package", "missing: the Go package of the program to build")
	}
	if s.Platform != "" {
		if goos, goarch, ok := strings.Cut(s.Platform, "/"); !ok || goos == "" || goarch == "" {
			return nil, settingsError(n, "platform", "%q: want os/arch, e.g. linux/amd64", s.Platform)
		}
	}
	return &buildImageStep{s}, nil
}

// Run builds and pushes the image, tagged with the commit (and pr-N), and
// records it by digest.
func (b *buildImageStep) Run(ctx context.Context, env *e2e.Env) error {
	sha, pr, err := revision(ctx, env)
	if err != nil {
		return err
	}
	// With no registry the image goes into an OCI layout in the artifacts,
	// so the step also runs alone, by hand.
	repo, err := imageRepository(env, b.Repository, b.name())
	layoutDir := ""
	if err != nil {
		layoutDir = filepath.Join(env.Artifacts, "image")
		fmt.Fprintf(env.Log, "%v; writing the image to %s\n", err, layoutDir)
	}
	goos, goarch, _ := strings.Cut(b.Platform, "/")
	res, err := image.Build(ctx, image.Options{
		Package:    b.Package,
		Dir:        env.Dir,
		Env:        env.Environ,
		GOOS:       goos,
		GOARCH:     goarch,
		Binary:     b.Binary,
		Base:       b.Base,
		Repository: repo,
		PlainHTTP:  plainHTTP(env, repo),
		Layout:     layoutDir,
		Tags:       append(imageTags(sha, pr), b.Tags...),
		Labels:     map[string]string{"org.opencontainers.image.revision": sha},
		Runner:     env.Runner,
		Log:        env.Log,
	})
	if err != nil {
		return err
	}
	verb := "pushed"
	if layoutDir != "" {
		verb = "wrote"
	}
	for _, t := range res.Tagged {
		fmt.Fprintf(env.Log, "%s %s\n", verb, t)
	}
	fmt.Fprintf(env.Log, "image %s\n", res.Ref)
	if layoutDir != "" {
		return env.State.Update(func(m map[string]string) {
			m[StateImageLayout] = layoutDir
			m[e2e.StateImageTag] = sha
			m[StateImageDigest] = res.Digest
		})
	}
	return env.State.Update(func(m map[string]string) {
		m[e2e.StateImage] = res.Ref
		m[e2e.StateImageTag] = sha
		m[StateImageRepository] = repo
		m[StateImageDigest] = res.Digest
	})
}
