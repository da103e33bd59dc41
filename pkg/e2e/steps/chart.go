package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/steps/chart"
)

// buildChartSettings: `uses: build-chart`.
type buildChartSettings struct {
	// Chart is the chart's directory, relative to the run's directory (required).
	Chart string `yaml:"chart"`
	// Repository is the OCI repository the chart is pushed under (default
	// oci://REGISTRY/charts with the run's registry; "" with no registry:
	// only the .tgz is written).
	Repository string `yaml:"repository"`
	// Push false only writes the .tgz.
	Push *bool `yaml:"push"`
	// Image says which image the chart deploys: the same repository or name
	// as build-image's (they run in parallel, so the tag is the commit, not
	// the digest).
	Image struct {
		Repository string `yaml:"repository"`
		Name       string `yaml:"name"`
	} `yaml:"image"`
	// Values are where the image goes in values.yaml (defaults
	// image.repository and image.tag).
	Values struct {
		Repository string `yaml:"repository"`
		Tag        string `yaml:"tag"`
	} `yaml:"values"`
}

type buildChartStep struct{ buildChartSettings }

func newBuildChart(s buildChartSettings, n *yaml.Node) (e2e.Step, error) {
	if s.Chart == "" {
		return nil, settingsError(n, "chart", "missing: the chart's directory")
	}
	if s.Values.Repository == "" {
		s.Values.Repository = "image.repository"
	}
	if s.Values.Tag == "" {
		s.Values.Tag = "image.tag"
	}
	return &buildChartStep{s}, nil
}

// Run packages the chart with its version made from the commit and the
// image stamped in, writes the .tgz under $ARTIFACTS/charts and pushes it.
func (b *buildChartStep) Run(ctx context.Context, env *e2e.Env) error {
	sha, pr, err := revision(ctx, env)
	if err != nil {
		return err
	}
	dir := abs(env, b.Chart)
	src, err := loader.LoadDir(dir)
	if err != nil {
		return fmt.Errorf("chart %s: %w", b.Chart, err)
	}
	name := b.Image.Name
	if name == "" {
		name = src.Name()
	}
	values := map[string]string{b.Values.Tag: sha}
	if repo, err := imageRepository(env, b.Image.Repository, name); err == nil {
		values[b.Values.Repository] = repo
	}
	repository := b.Repository
	if repository == "" {
		if reg := env.State.Lookup(e2e.StateRegistry); reg != "" {
			repository = "oci://" + reg + "/charts"
		}
	}
	if b.Push != nil && !*b.Push {
		repository = ""
	}
	// One chart per build: an earlier build's package left here would be
	// uploaded as this one's.
	dest := filepath.Join(env.Artifacts, "charts")
	if err := os.RemoveAll(dest); err != nil {
		return err
	}
	res, err := chart.Package(chart.Options{
		Dir:         dir,
		Version:     chart.Version(src.Metadata.Version, sha, pr),
		AppVersion:  sha,
		Values:      values,
		Destination: dest,
		Repository:  repository,
		PlainHTTP:   plainHTTP(env, repository),
	})
	if err != nil {
		return err
	}
	ref := res.Path
	if res.Ref != "" {
		ref = res.Ref
		fmt.Fprintf(env.Log, "pushed %s (%s)\n", res.Ref, res.Digest)
	}
	fmt.Fprintf(env.Log, "chart %s %s at %s\n", res.Name, res.Version, res.Path)
	return env.State.Update(func(m map[string]string) {
		m[e2e.StateChart] = ref
		m[StateChartPath] = res.Path
		m[StateChartVersion] = res.Version
	})
}
