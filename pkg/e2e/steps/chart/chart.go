// Package chart packages a helm chart with the helm SDK, stamping its version
// and the image it deploys, and pushes it to an OCI registry.
package chart

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/registry"
)

// Options say what to package and where it goes.
type Options struct {
	// Dir is the chart's directory.
	Dir string
	// Version and AppVersion replace the chart's own when set. Version must
	// be SemVer; see Version for one made from a commit.
	Version, AppVersion string
	// Values are set in the packaged values.yaml, by dotted path
	// ("image.tag"), keeping the file's comments and order.
	Values map[string]string
	// Destination is the directory the .tgz is written to.
	Destination string
	// Repository is the OCI repository the chart is pushed under
	// ("127.0.0.1:5000/charts"; an "oci://" prefix is allowed): the chart
	// lands at Repository/NAME:VERSION. Empty: only write the .tgz.
	Repository string
	// PlainHTTP talks HTTP to the registry: for a registry on loopback.
	PlainHTTP bool
	// CredentialsFile is helm's registry config (empty: helm's default,
	// falling back to the Docker config).
	CredentialsFile string
}

// Result is what was packaged and pushed.
type Result struct {
	Name, Version string
	// Path is the .tgz written to Destination.
	Path string
	// Ref is "oci://HOST/REPO/NAME:VERSION" when pushed, "" otherwise.
	Ref    string
	Digest string
}

// Package stamps and packages the chart, then pushes it when o.Repository is set.
func Package(o Options) (Result, error) {
	src, err := filepath.Abs(o.Dir)
	if err != nil {
		return Result{}, fmt.Errorf("package chart: %w", err)
	}
	// Stamp a copy: helm packages values.yaml as it is on disk.
	tmp, err := os.MkdirTemp("", "prowctl-chart-")
	if err != nil {
		return Result{}, fmt.Errorf("package chart: %w", err)
	}
	defer os.RemoveAll(tmp)
	work := filepath.Join(tmp, filepath.Base(src))
	if err := os.CopyFS(work, os.DirFS(src)); err != nil {
		return Result{}, fmt.Errorf("package chart %s: %w", o.Dir, err)
	}
	if len(o.Values) > 0 {
		if err := stampValues(filepath.Join(work, "values.yaml"), o.Values); err != nil {
			return Result{}, fmt.Errorf("package chart %s: %w", o.Dir, err)
		}
	}
	if err := os.MkdirAll(o.Destination, 0o755); err != nil {
		return Result{}, fmt.Errorf("package chart: %w", err)
	}
	pkg := action.NewPackage()
	pkg.Version, pkg.AppVersion, pkg.Destination = o.Version, o.AppVersion, o.Destination
	path, err := pkg.Run(work, nil)
	if err != nil {
		return Result{}, fmt.Errorf("package chart %s: %w", o.Dir, err)
	}
	ch, err := loader.Load(path)
	if err != nil {
		return Result{}, fmt.Errorf("package chart %s: %w", o.Dir, err)
	}
	res := Result{Name: ch.Name(), Version: ch.Metadata.Version, Path: path}
	if o.Repository == "" {
		return res, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Result{}, fmt.Errorf("push chart: %w", err)
	}
	client, err := newClient(o.PlainHTTP, o.CredentialsFile)
	if err != nil {
		return Result{}, err
	}
	ref := fmt.Sprintf("%s/%s:%s", strings.TrimSuffix(strings.TrimPrefix(o.Repository, "oci://"), "/"), res.Name, res.Version)
	pushed, err := client.Push(data, ref)
	if err != nil {
		return Result{}, fmt.Errorf("push chart %s: %w", ref, err)
	}
	res.Ref, res.Digest = "oci://"+ref, pushed.Manifest.Digest
	return res, nil
}

// Pull fetches the chart at ref ("oci://HOST/REPO/NAME:VERSION") and writes
// it as a .tgz into dir, returning its path.
func Pull(ref, dir string, plainHTTP bool, credentialsFile string) (string, error) {
	client, err := newClient(plainHTTP, credentialsFile)
	if err != nil {
		return "", err
	}
	res, err := client.Pull(strings.TrimPrefix(ref, "oci://"))
	if err != nil {
		return "", fmt.Errorf("pull chart %s: %w", ref, err)
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%s.tgz", res.Chart.Meta.Name, res.Chart.Meta.Version))
	if err := os.WriteFile(path, res.Chart.Data, 0o644); err != nil {
		return "", fmt.Errorf("pull chart %s: %w", ref, err)
	}
	return path, nil
}

func newClient(plainHTTP bool, credentialsFile string) (*registry.Client, error) {
	opts := []registry.ClientOption{registry.ClientOptCredentialsFile(credentialsFile)}
	if plainHTTP {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	client, err := registry.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("helm registry client: %w", err)
	}
	return client, nil
}

// Version returns a chart version for a build of commit sha on top of the
// chart's base version: "0.1.0-g0123abcd" (SemVer: a prerelease identifier
// must not be all digits with a leading zero, hence the "g"), or with a pull
// request "0.1.0-pr.7.g0123abcd". Versions are OCI tags too, so no "+".
func Version(base, sha string, pr int) string {
	if len(sha) > 12 {
		sha = sha[:12]
	}
	if pr > 0 {
		return fmt.Sprintf("%s-pr.%d.g%s", base, pr, sha)
	}
	return fmt.Sprintf("%s-g%s", base, sha)
}

// stampValues sets each dotted path of values in the YAML file, creating
// mappings on the way, keeping comments and the order of keys.
func stampValues(path string, values map[string]string) error {
	b, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	for _, key := range slices.Sorted(maps.Keys(values)) {
		if err := setPath(doc.Content[0], strings.Split(key, "."), values[key]); err != nil {
			return fmt.Errorf("%s: %s: %w", filepath.Base(path), key, err)
		}
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func setPath(m *yaml.Node, path []string, value string) error {
	if m.Kind != yaml.MappingNode {
		return fmt.Errorf("not a mapping at line %d", m.Line)
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value != path[0] {
			continue
		}
		if len(path) == 1 {
			m.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value, LineComment: m.Content[i+1].LineComment}
			return nil
		}
		return setPath(m.Content[i+1], path[1:], value)
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: path[0]}
	if len(path) == 1 {
		m.Content = append(m.Content, key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: value})
		return nil
	}
	child := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	m.Content = append(m.Content, key, child)
	return setPath(child, path[1:], value)
}
