package steps

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/steps/provider"
)

// clusterUpSettings: `uses: cluster-up`.
type clusterUpSettings struct {
	// Provider is local (default), kubeconfig, in-cluster, gke or kind.
	// $E2E_CLUSTER_PROVIDER, when set, overrides it: the personal
	// cluster's jobs get in-cluster that way (its job preset,
	// kube-public/prowctl-job-preset).
	Provider string `yaml:"provider"`
	// Name of the cluster (default e2e-JOB-BUILD, at most 40 characters).
	Name string `yaml:"name"`
	// Dir is a private directory for the cluster's kubeconfig (default
	// ~/.cache/prowctl/e2e/NAME).
	Dir string `yaml:"dir"`

	Kubeconfig struct {
		Path    string `yaml:"path"`
		Context string `yaml:"context"`
	} `yaml:"kubeconfig"`
	Local struct {
		// Dir of the personal cluster (default: the one `prowctl cluster
		// up` uses). A cluster already running there is used and left
		// running.
		Dir string `yaml:"dir"`
		// ProwConfig its Prow components load (default config/prow/config.yaml).
		ProwConfig string `yaml:"prowConfig"`
		// Node is the kind of node a cluster the run starts gets: real
		// (default: pods run for real, from the cluster's registry) or
		// kwok (simulated: nothing runs, no root needed).
		Node string `yaml:"node"`
	} `yaml:"local"`
	GKE struct {
		Project     string   `yaml:"project"`
		Zone        string   `yaml:"zone"`
		Region      string   `yaml:"region"`
		NumNodes    int      `yaml:"numNodes"`
		MachineType string   `yaml:"machineType"`
		Version     string   `yaml:"version"`
		ExtraArgs   []string `yaml:"extraArgs"`
	} `yaml:"gke"`
	Kind struct {
		Image  string `yaml:"image"`
		Config string `yaml:"config"`
		Wait   string `yaml:"wait"`
	} `yaml:"kind"`
}

var providers = []string{"gke", "in-cluster", "kind", "kubeconfig", "local"}

// ProviderEnv overrides the cluster-up step's provider: where the pipeline
// runs decides, not the spec (a laptop: local; a pod of the personal
// cluster: in-cluster).
const ProviderEnv = "E2E_CLUSTER_PROVIDER"

// clusterName is what GKE accepts (and kind too).
var clusterName = regexp.MustCompile(`^[a-z]([-a-z0-9]*[a-z0-9])?$`)

type clusterUpStep struct {
	s    clusterUpSettings
	deps Deps
}

func newClusterUp(s clusterUpSettings, n *yaml.Node, d Deps) (e2e.Step, error) {
	if s.Provider == "" {
		s.Provider = "local"
	}
	if !contains(providers, s.Provider) {
		return nil, settingsError(n, "provider", "unknown provider %q (known: %s)", s.Provider, strings.Join(providers, ", "))
	}
	// Settings of another provider are a mistake worth reporting.
	for _, p := range []struct {
		name string
		set  bool
	}{
		{"kubeconfig", s.Kubeconfig.Path != "" || s.Kubeconfig.Context != ""},
		{"local", s.Local.Dir != "" || s.Local.ProwConfig != "" || s.Local.Node != ""},
		{"gke", s.GKE.Project != "" || s.GKE.Zone != "" || s.GKE.Region != "" || s.GKE.NumNodes != 0 || s.GKE.MachineType != "" || s.GKE.Version != "" || len(s.GKE.ExtraArgs) > 0},
		{"kind", s.Kind.Image != "" || s.Kind.Config != "" || s.Kind.Wait != ""},
	} {
		if p.set && p.name != s.Provider {
			return nil, settingsError(n, p.name, "settings for provider %s, but provider is %s", p.name, s.Provider)
		}
	}
	if s.Provider == "gke" && (s.GKE.Project == "" || (s.GKE.Zone == "") == (s.GKE.Region == "")) {
		return nil, settingsError(n, "gke", "want project and one of zone or region")
	}
	if s.Local.Node != "" && s.Local.Node != cluster.NodeReal && s.Local.Node != cluster.NodeKwok {
		return nil, settingsError(n, "local", "node %q: want %s or %s", s.Local.Node, cluster.NodeReal, cluster.NodeKwok)
	}
	if s.Name != "" && (!clusterName.MatchString(s.Name) || len(s.Name) > provider.MaxNameLen) {
		return nil, settingsError(n, "name", "%q: want lowercase letters, digits and '-', at most %d characters", s.Name, provider.MaxNameLen)
	}
	return &clusterUpStep{s, d}, nil
}

// provider returns the provider called name, configured from s.
func (d Deps) provider(name string, s clusterUpSettings, env *e2e.Env) provider.Provider {
	switch name {
	case "kubeconfig":
		return provider.Kubeconfig{Path: abs(env, s.Kubeconfig.Path), Context: s.Kubeconfig.Context}
	case "gke":
		g := s.GKE
		return provider.GKE{Project: g.Project, Zone: g.Zone, Region: g.Region, NumNodes: g.NumNodes, MachineType: g.MachineType, Version: g.Version, ExtraArgs: g.ExtraArgs, Runner: env.Runner}
	case "kind":
		return provider.Kind{Image: s.Kind.Image, Config: abs(env, s.Kind.Config), Wait: s.Kind.Wait, Runner: env.Runner}
	case "in-cluster":
		return provider.InCluster{}
	default:
		dir := abs(env, s.Local.Dir)
		if dir == "" {
			dir = d.LocalDir
		}
		if dir == "" {
			dir = cluster.DefaultDir()
		}
		prowConfig := s.Local.ProwConfig
		if prowConfig == "" {
			prowConfig = "config/prow/config.yaml"
		}
		local := d.LocalCluster
		if local == nil {
			local = localCluster{}
		}
		node := s.Local.Node
		if node == "" {
			node = cluster.NodeReal
		}
		return provider.Local{Dir: dir, ProwConfig: abs(env, prowConfig), Node: node, Cluster: local}
	}
}

// Run gets the cluster and records it; a cluster the run created is
// recorded even when creating it failed, so teardown deletes what is left.
func (c *clusterUpStep) Run(ctx context.Context, env *e2e.Env) error {
	name := c.s.Name
	if name == "" {
		name = provider.Name(env.Job.Job, env.Job.BuildID, provider.MaxNameLen)
	}
	dir, err := workDir(abs(env, c.s.Dir), name)
	if err != nil {
		return err
	}
	req := provider.Request{
		Env:   provider.Env{Dir: dir, Environ: env.Environ, Log: env.Log},
		Name:  name,
		Job:   env.Job.Job,
		Build: env.Job.BuildID,
	}
	prov := c.s.Provider
	if p := env.Getenv(ProviderEnv); p != "" && p != prov {
		if !contains(providers, p) {
			return fmt.Errorf("$%s: unknown provider %q (known: %s)", ProviderEnv, p, strings.Join(providers, ", "))
		}
		fmt.Fprintf(env.Log, "provider %s from $%s (the pipeline says %s)\n", p, ProviderEnv, prov)
		prov = p
	}
	cl, upErr := c.deps.provider(prov, c.s, env).Up(ctx, req)
	if cl.Provider != "" {
		if err := saveCluster(env.State, cl, dir); err != nil {
			return err
		}
	}
	if upErr != nil {
		return upErr
	}
	how := "using"
	if cl.Created {
		how = "created"
	}
	fmt.Fprintf(env.Log, "%s %s cluster %s; kubeconfig %s\n", how, cl.Provider, cl.Name, cl.Kubeconfig)
	return nil
}

// clusterDownStep: `uses: cluster-down`, no settings: everything it needs is
// in the state cluster-up wrote.
type clusterDownStep struct{ deps Deps }

func (c clusterDownStep) Run(ctx context.Context, env *e2e.Env) error {
	done, err := clusterDown(ctx, env, c.deps)
	if err != nil {
		return err
	}
	if done == "" {
		return e2e.Skip("no cluster of this run to delete")
	}
	fmt.Fprintln(env.Log, done)
	return nil
}

// clusterDown deletes the recorded cluster if the run created it and then
// forgets it, so running it again does nothing. It says what it did ("" for
// nothing).
func clusterDown(ctx context.Context, env *e2e.Env, d Deps) (string, error) {
	st, err := env.State.All()
	if err != nil {
		return "", err
	}
	cl, dir, ok := loadCluster(st)
	if !ok {
		return "", nil
	}
	if !cl.Created {
		return "", forgetCluster(env.State)
	}
	p := d.provider(cl.Provider, clusterUpSettings{}, env)
	if err := p.Down(ctx, provider.Env{Dir: dir, Environ: env.Environ, Log: env.Log}, cl); err != nil {
		return "", err
	}
	return fmt.Sprintf("deleted %s cluster %s", cl.Provider, cl.Name), forgetCluster(env.State)
}

func saveCluster(s *e2e.State, c provider.Cluster, dir string) error {
	return s.Update(func(m map[string]string) {
		m[e2e.StateProvider] = c.Provider
		m[e2e.StateCluster] = c.Name
		m[e2e.StateKubeconfig] = c.Kubeconfig
		m[StateContext] = c.Context
		m[e2e.StateCreated] = fmt.Sprint(c.Created)
		m[StateClusterDir] = dir
		if c.Registry.Push != "" {
			m[StateClusterRegistry], m[StateClusterRegistryPull] = c.Registry.Push, c.Registry.Pull
		}
		for k, v := range c.Extra {
			m[StateClusterExtra+k] = v
		}
	})
}

func loadCluster(m map[string]string) (provider.Cluster, string, bool) {
	if m[e2e.StateProvider] == "" {
		return provider.Cluster{}, "", false
	}
	c := provider.Cluster{
		Provider:   m[e2e.StateProvider],
		Name:       m[e2e.StateCluster],
		Kubeconfig: m[e2e.StateKubeconfig],
		Context:    m[StateContext],
		Created:    m[e2e.StateCreated] == "true",
		Registry:   provider.Registry{Push: m[StateClusterRegistry], Pull: m[StateClusterRegistryPull]},
		Extra:      map[string]string{},
	}
	for k, v := range m {
		if rest, ok := strings.CutPrefix(k, StateClusterExtra); ok {
			c.Extra[rest] = v
		}
	}
	return c, m[StateClusterDir], true
}

func forgetCluster(s *e2e.State) error {
	return s.Update(func(m map[string]string) {
		for k := range m {
			if k == e2e.StateKubeconfig || k == e2e.StateCluster || strings.HasPrefix(k, "cluster.") {
				delete(m, k)
			}
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
