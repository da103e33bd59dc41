// Package steps holds the built-in step kinds of the e2e pipeline: registry,
// build-image, build-chart, cluster-up, cluster-down, deploy, test and
// teardown. Builtin returns them, with pkg/e2e's run and upload, as the table
// the pipeline loader is given:
//
//	p, err := e2e.LoadPipeline("config/e2e.yaml", steps.Builtin())
//
// Each kind decodes its `with:` settings strictly, then calls a library
// (image, chart, provider, deploy) that knows nothing of the pipeline; what
// one step hands to the next goes through the run's State.
package steps

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/steps/provider"
	"github.com/prowctl/prowctl/pkg/process"
)

// State keys of this package, beyond the shared ones of pkg/e2e.
const (
	StateImageRepository = "image.repository" // repository the image was pushed to
	StateImageDigest     = "image.digest"     // sha256:... of the image
	StateImageLayout     = "image.layout"     // OCI layout the image went to when there was no registry
	StateChartPath       = "chart.path"       // the packaged .tgz
	StateChartVersion    = "chart.version"
	StateContext         = "cluster.context" // kubeconfig context ("": the current one)
	StateClusterDir      = "cluster.dir"     // private directory of the cluster's files
	// The cluster's own registry, which its nodes pull from: where this
	// process pushes, and the name in the images deployed.
	StateClusterRegistry     = "cluster.registry"
	StateClusterRegistryPull = "cluster.registry.pull"
	StateClusterExtra        = "cluster.extra." // prefix: provider's own facts (project, zone, ...)
	StateCRDs                = "deploy.crds"    // comma-separated CRDs the deploy created
	StateNamespaceMade       = "deploy.namespace-created"
)

// Deps are what the built-in kinds use beyond a step's settings and its Env.
// The zero value is what prowctl uses.
type Deps struct {
	// LocalCluster is the personal cluster the local provider runs
	// (default: pkg/cluster's, which outlives the process so that later
	// steps run by hand find it).
	LocalCluster provider.LocalCluster
	// LocalDir is the personal cluster's directory when a step does not
	// name one (default: cluster.DefaultDir(), where `prowctl cluster up`
	// runs it, so a cluster already up is used).
	LocalDir string
}

// Builtin returns the table of every built-in step kind: run and upload
// (pkg/e2e's own) and registry, build-image, build-chart, cluster-up,
// cluster-down, deploy, test and teardown. A new table each call: a program
// may add kinds of its own to it.
func Builtin() e2e.Kinds { return BuiltinWith(Deps{}) }

// BuiltinWith returns the built-in table with its dependencies given.
func BuiltinWith(d Deps) e2e.Kinds {
	k := e2e.CoreKinds()
	k["registry"] = kind(newRegistry)
	k["build-image"] = kind(newBuildImage)
	k["build-chart"] = kind(newBuildChart)
	k["cluster-up"] = kind(func(s clusterUpSettings, n *yaml.Node) (e2e.Step, error) { return newClusterUp(s, n, d) })
	k["cluster-down"] = kind(func(struct{}, *yaml.Node) (e2e.Step, error) { return clusterDownStep{d}, nil })
	k["deploy"] = kind(newDeploy)
	k["test"] = kind(newTest)
	k["teardown"] = kind(func(s teardownSettings, _ *yaml.Node) (e2e.Step, error) { return &teardownStep{s, d}, nil })
	return k
}

// kind makes a Kind of a constructor taking decoded settings S.
func kind[S any](newStep func(S, *yaml.Node) (e2e.Step, error)) e2e.Kind {
	return e2e.KindFunc(func(n *yaml.Node) (e2e.Step, error) {
		var s S
		if err := e2e.DecodeSettings(n, &s); err != nil {
			return nil, err
		}
		return newStep(s, n)
	})
}

// settingsError points at the settings node (or the step when it has none).
func settingsError(n *yaml.Node, field, format string, args ...any) error {
	return e2e.Errorf(n, "with."+field, format, args...)
}

// abs resolves p against the run's directory.
func abs(env *e2e.Env, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(env.Dir, p)
}

// revision returns the commit under test and the pull request number (0 for
// none): from the job's refs under Prow, else from `git rev-parse HEAD` in
// the run's directory.
func revision(ctx context.Context, env *e2e.Env) (sha string, pr int, err error) {
	if refs := env.Job.Refs; refs != nil {
		if env.Job.Type == prowapi.PresubmitJob && len(refs.Pulls) > 0 {
			return refs.Pulls[0].SHA, refs.Pulls[0].Number, nil
		}
		if refs.BaseSHA != "" {
			return refs.BaseSHA, 0, nil
		}
	}
	sha, err = process.Output(ctx, env.Runner, process.Cmd{
		Name: "git", Args: []string{"rev-parse", "HEAD"}, Dir: env.Dir, Env: env.Environ,
	})
	if err != nil {
		return "", 0, fmt.Errorf("commit under test: no refs in the job spec: %w", err)
	}
	return sha, 0, nil
}

// imageTags are the tags of an image built from commit sha: the commit, and
// pr-N for a pull request.
func imageTags(sha string, pr int) []string {
	tags := []string{sha}
	if pr > 0 {
		tags = append(tags, "pr-"+strconv.Itoa(pr))
	}
	return tags
}

// imageRepository is where build-image pushes and what build-chart stamps:
// the repository setting, else NAME under the run's registry.
func imageRepository(env *e2e.Env, repository, name string) (string, error) {
	if repository != "" {
		return repository, nil
	}
	reg := env.State.Lookup(e2e.StateRegistry)
	if reg == "" {
		return "", fmt.Errorf("no registry: with.repository is unset and no `registry` step ran before this one")
	}
	return reg + "/" + name, nil
}

// plainHTTP says whether a registry reference (host:port[/path], maybe
// oci://) is spoken to over HTTP: on loopback, or the run's registry when
// its registry step was given addr: http://HOST:PORT.
func plainHTTP(env *e2e.Env, ref string) bool {
	if loopback(ref) {
		return true
	}
	reg := env.State.Lookup(e2e.StateRegistry)
	return reg != "" && registryHost(ref) == reg && env.State.Lookup(e2e.StateRegistryScheme) == "http"
}

// registryHost is the host:port of a registry reference.
func registryHost(ref string) string {
	host, _, _ := strings.Cut(strings.TrimPrefix(ref, "oci://"), "/")
	return host
}

// loopback says whether a registry host:port is on this machine, where
// registries speak plain HTTP.
func loopback(hostport string) bool {
	host := registryHost(hostport)
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	return host == "127.0.0.1" || host == "localhost" || host == "[::1]"
}

// workDir is a private directory for a cluster's files (kubeconfigs with
// credentials): never under the artifacts directory, which is uploaded.
func workDir(dir, cluster string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no directory for the cluster's files: set with.dir: %w", err)
	}
	return filepath.Join(cache, "prowctl", "e2e", cluster), nil
}
