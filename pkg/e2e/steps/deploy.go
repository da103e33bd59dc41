package steps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/steps/chart"
	"github.com/prowctl/prowctl/pkg/e2e/steps/deploy"
)

// deploySettings: `uses: deploy`.
type deploySettings struct {
	// Chart to install: a path relative to the run's directory or an
	// oci:// reference (default: what build-chart recorded).
	Chart string `yaml:"chart"`
	// Release name (default: the chart's name).
	Release string `yaml:"release"`
	// Namespace of the run (default e2e-BUILD).
	Namespace string `yaml:"namespace"`
	// Values set by dotted path ("replicas: 2", "image.pullPolicy: Never"),
	// typed as YAML types them.
	Values map[string]any `yaml:"values"`
	// DigestValue is where the image digest build-image recorded goes
	// (default image.digest; "-" for nowhere).
	DigestValue string `yaml:"digestValue"`
	// RepositoryValue is where the repository of the cluster's registry
	// goes when the image is copied there (default image.repository).
	RepositoryValue string `yaml:"repositoryValue"`
}

type deployStep struct{ deploySettings }

func newDeploy(s deploySettings, n *yaml.Node) (e2e.Step, error) {
	if s.DigestValue == "" {
		s.DigestValue = "image.digest"
	}
	if s.RepositoryValue == "" {
		s.RepositoryValue = "image.repository"
	}
	for k := range s.Values {
		if k == "" || strings.HasPrefix(k, ".") || strings.HasSuffix(k, ".") || strings.Contains(k, "..") {
			return nil, settingsError(n, "values", "bad key %q: want a dotted path like image.tag", k)
		}
	}
	return &deployStep{s}, nil
}

// Run installs or upgrades the chart into the run's namespace and waits, up
// to the step's timeout, for its CRDs and Deployments. What it created is
// recorded as it goes, for teardown.
func (d *deployStep) Run(ctx context.Context, env *e2e.Env) error {
	st, err := env.State.All()
	if err != nil {
		return err
	}
	kubeconfig := st[e2e.StateKubeconfig]
	if kubeconfig == "" {
		return fmt.Errorf("no cluster: run a cluster-up step before deploy")
	}
	path, err := d.chartPath(env, st)
	if err != nil {
		return err
	}
	values := map[string]any{}
	for k, v := range d.Values {
		setDotted(values, k, v)
	}
	if digest := st[StateImageDigest]; digest != "" && d.DigestValue != "-" {
		if _, set := d.Values[d.DigestValue]; !set {
			setDotted(values, d.DigestValue, digest)
		}
		// Where the cluster's nodes can pull it from, if not from where
		// it was built to.
		repo, err := relayImage(ctx, st, func(format string, args ...any) { fmt.Fprintf(env.Log, format, args...) })
		if err != nil {
			return err
		}
		if _, set := d.Values[d.RepositoryValue]; repo != "" && !set {
			setDotted(values, d.RepositoryValue, repo)
		}
	}
	namespace := d.Namespace
	if namespace == "" {
		namespace = namespaceName(env.Job.BuildID)
	}
	res, err := deploy.Deploy(ctx, deploy.Options{
		Target: deploy.Target{
			Kubeconfig: kubeconfig,
			Context:    st[StateContext],
			Namespace:  namespace,
			Release:    d.Release,
			Log:        env.Log,
		},
		Chart:  path,
		Values: values,
	})
	// Record whatever was created, even on failure: teardown reads it.
	if serr := saveDeploy(env.State, res); serr != nil {
		return errors.Join(err, serr)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Log, "release %s revision %d in namespace %s; CRDs created: %s; deployments available: %s\n",
		res.Release, res.Revision, namespace, list(res.CRDs), list(res.Deployments))
	return nil
}

// chartPath returns a local .tgz or directory to install.
func (d *deployStep) chartPath(env *e2e.Env, st map[string]string) (string, error) {
	ref := d.Chart
	if ref == "" {
		// The .tgz build-chart wrote works in a later process too, when
		// the run's registry is gone.
		if p := st[StateChartPath]; p != "" {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		ref = st[e2e.StateChart]
	}
	if ref == "" {
		return "", fmt.Errorf("no chart: set with.chart or run a build-chart step before deploy")
	}
	if !strings.HasPrefix(ref, "oci://") {
		return abs(env, ref), nil
	}
	dir, err := os.MkdirTemp("", "prowctl-chart-")
	if err != nil {
		return "", err
	}
	env.AtExit(func(context.Context) error { return os.RemoveAll(dir) })
	return chart.Pull(ref, dir, plainHTTP(env, ref), "")
}

func saveDeploy(s *e2e.State, r deploy.Result) error {
	if r.Release == "" {
		return nil
	}
	return s.Update(func(m map[string]string) {
		// A second deploy (an upgrade) finds the CRDs and namespace the
		// first one made: they stay the run's to delete.
		crds := r.CRDs
		if m[e2e.StateRelease] == r.Release && m[e2e.StateNamespace] == r.Namespace {
			if prev := m[StateCRDs]; prev != "" {
				crds = union(strings.Split(prev, ","), crds)
			}
			r.NamespaceCreated = r.NamespaceCreated || m[StateNamespaceMade] == "true"
		}
		m[e2e.StateRelease] = r.Release
		m[e2e.StateNamespace] = r.Namespace
		m[StateCRDs] = strings.Join(crds, ",")
		m[StateNamespaceMade] = fmt.Sprint(r.NamespaceCreated)
	})
}

// undeploy removes what the recorded deploy created and forgets it. It says
// what it did ("" for nothing).
func undeploy(ctx context.Context, env *e2e.Env) (string, error) {
	st, err := env.State.All()
	if err != nil {
		return "", err
	}
	if st[e2e.StateRelease] == "" {
		return "", nil
	}
	r := deploy.Result{
		Target: deploy.Target{
			Kubeconfig: st[e2e.StateKubeconfig],
			Context:    st[StateContext],
			Namespace:  st[e2e.StateNamespace],
			Release:    st[e2e.StateRelease],
			Log:        env.Log,
		},
		NamespaceCreated: st[StateNamespaceMade] == "true",
	}
	if crds := st[StateCRDs]; crds != "" {
		r.CRDs = strings.Split(crds, ",")
	}
	if err := deploy.Undeploy(ctx, r); err != nil {
		return "", err
	}
	if err := forgetDeploy(env.State); err != nil {
		return "", err
	}
	msg := fmt.Sprintf("uninstalled %s from %s; deleted CRDs: %s", r.Release, r.Namespace, list(r.CRDs))
	if r.NamespaceCreated {
		msg += "; deleted namespace " + r.Namespace
	}
	return msg, nil
}

// namespaceName is the run's namespace: e2e-BUILD, a valid DNS label.
func namespaceName(build string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(build) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	ns := strings.Trim("e2e-"+b.String(), "-")
	if len(ns) > 63 {
		ns = strings.TrimRight(ns[:63], "-")
	}
	return ns
}

// setDotted sets m[a][b][c] = v for key "a.b.c".
func setDotted(m map[string]any, key string, v any) {
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[p] = next
		}
		m = next
	}
	m[parts[len(parts)-1]] = v
}

func list(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	s = append([]string(nil), s...)
	sort.Strings(s)
	return strings.Join(s, ", ")
}

func forgetDeploy(s *e2e.State) error {
	return s.Delete(e2e.StateRelease, e2e.StateNamespace, StateCRDs, StateNamespaceMade)
}

func union(a, b []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range append(append([]string(nil), a...), b...) {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
