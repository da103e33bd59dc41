package argo

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/e2e"
)

// The kinds of pkg/e2e/steps (steps.BuiltinWith) whose settings decide
// whether a step works in a pod of its own.
const (
	registryKind   = "registry"
	buildImageKind = "build-image"
	buildChartKind = "build-chart"
	clusterUpKind  = "cluster-up"
)

// argoName is what Argo accepts as a template's and a DAG task's name; a
// task's may not begin with a digit either.
var argoName = regexp.MustCompile(`^[a-zA-Z][-a-zA-Z0-9]*$`)

// checkNames reports the steps Argo could not name a task and a template
// after.
func checkNames(p *e2e.Pipeline, checkout *checkoutTask) []*e2e.PositionError {
	var errs []*e2e.PositionError
	for _, s := range p.Steps {
		field := "steps[" + s.Name + "].name"
		switch {
		case s.Name == MainTemplate || s.Name == FinalizersTemplate:
			errs = append(errs, errorAt(stepNode(s), field, "%q is the name of one of the Workflow's DAG templates (%s, %s): rename the step", s.Name, MainTemplate, FinalizersTemplate))
		case s.Name == CheckoutTemplate && checkout != nil:
			errs = append(errs, errorAt(stepNode(s), field, "%q is the name of the Workflow's first task, which clones the job's refs: rename the step, or export without the checkout", s.Name))
		case !argoName.MatchString(s.Name) || len(s.Name) > 128:
			errs = append(errs, errorAt(stepNode(s), field, "%q: Argo names a task after its step with letters, digits and '-', starting with a letter (at most 128): rename the step", s.Name))
		}
	}
	return errs
}

// checkAcrossPods reports the steps that cannot work in a pod of their own:
// those that keep what later steps use in their process, or reach it on
// their pod's loopback, or leave it in their pod's file system outside the
// Workflow's volume. A step's options can make up for some (Registry,
// ClusterProvider, Upload).
//
// Not checked: what run: steps and the test kind's command do. A command
// that starts a server in the background for later steps fails the same
// way.
func checkAcrossPods(p *e2e.Pipeline, o Options) []*e2e.PositionError {
	var errs []*e2e.PositionError
	add := func(n *yaml.Node, field, format string, args ...any) {
		errs = append(errs, errorAt(n, field, format, args...))
	}
	const onLoopback = "is on loopback, which is each step's own pod"
	for _, s := range p.Steps {
		at := "steps[" + s.Name + "]"
		switch s.Uses {
		case registryKind:
			if o.Registry != "" {
				continue
			}
			switch addr := setting(s, "addr"); {
			case addr == nil || addr.Value == "":
				add(settingsNode(s), at, "without addr: it starts a registry in the step's process, which ends with the step's pod, on a loopback no other pod reaches: give it addr: HOST:PORT, a registry the pods reach, or export with --registry HOST:PORT")
			case loopback(addr.Value):
				add(addr, at+".with.addr", "%s %s: give a registry the pods reach, or export with --registry HOST:PORT", addr.Value, onLoopback)
			}
		case buildImageKind, buildChartKind:
			if r := setting(s, "repository"); r != nil && loopback(r.Value) {
				add(r, at+".with.repository", "%s %s: push to a registry the pods reach, or leave repository: out (the run's registry)", r.Value, onLoopback)
			}
		case clusterUpKind:
			if o.ClusterProvider == "" {
				prov := settingValue(s, "provider")
				if prov == "" {
					prov = "local"
				}
				n := setting(s, "provider")
				if n == nil {
					n = settingsNode(s)
				}
				const fix = "use provider in-cluster, kubeconfig or gke, or export with --cluster-provider in-cluster (the cluster the Workflow runs in)"
				switch prov {
				case "local":
					add(n, at+".with.provider", "local: the personal cluster would run in the step's pod and end with it: %s", fix)
				case "kind":
					add(n, at+".with.provider", "kind: its cluster would run in the step's pod (its Docker), its API server on that pod's loopback: %s", fix)
				}
			}
			if d := setting(s, "dir"); d != nil && d.Value != "" && !strings.HasPrefix(d.Value+"/", CacheDir+"/") {
				add(d, at+".with.dir", "the cluster's kubeconfig would stay in the step's pod: leave dir: out (the Workflow keeps the default, under $XDG_CACHE_HOME, on its volume)")
			}
		case e2e.UploadKindName:
			if o.Upload != "" {
				continue
			}
			env := map[string]string{}
			for _, e := range o.Env {
				env[e.Name] = e.Value
			}
			to := setting(s, "to")
			if to == nil {
				continue
			}
			dest := os.Expand(to.Value, func(k string) string { return env[k] })
			if dest != "" && !strings.HasPrefix(dest, "gs://") && !strings.HasPrefix(dest, "s3://") {
				add(to, at+".with.to", "uploads to %s, a directory of the step's pod, gone with it: upload to gs:// or s3://, or export with --upload gs://BUCKET[/prefix]", dest)
			}
		}
	}
	return errs
}

// registryPipeline is the one-step pipeline a registry step runs with the
// export's registry: the step as the pipeline has it, with that addr:. Its
// timeout and retries stay, since `e2e step` applies them.
func registryPipeline(pipelinePath string, s *e2e.StepSpec, registry string) (string, error) {
	type step struct {
		Name    string `yaml:"name"`
		Uses    string `yaml:"uses"`
		Timeout string `yaml:"timeout,omitempty"`
		Retries int    `yaml:"retries,omitempty"`
		With    struct {
			Addr string `yaml:"addr"`
		} `yaml:"with"`
	}
	st := step{Name: s.Name, Uses: s.Uses, Retries: s.Retries}
	if s.Timeout > 0 {
		st.Timeout = s.Timeout.String()
	}
	st.With.Addr = registry
	var b strings.Builder
	fmt.Fprintf(&b, "# Step %s of %s (line %d), with the registry prowctl e2e export was given.\n", s.Name, pipelinePath, s.Line)
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(struct {
		Steps []step `yaml:"steps"`
	}{[]step{st}}); err != nil {
		return "", fmt.Errorf("registry step %s: %w", s.Name, err)
	}
	return b.String(), enc.Close()
}

// loopback says whether a registry address (host[:port], maybe with
// oci:// and a path) is on loopback. pkg/e2e/steps has its own, for
// choosing plain HTTP; this one also knows 127.0.0.0/8.
func loopback(addr string) bool {
	host := strings.TrimPrefix(addr, "oci://")
	host, _, _ = strings.Cut(host, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// setting is the value node of key in s's with:, nil when it has none.
func setting(s *e2e.StepSpec, key string) *yaml.Node {
	if s.With == nil || s.With.Kind != yaml.MappingNode {
		return nil
	}
	if n := e2e.ValueNode(s.With, key); n != s.With {
		return n
	}
	return nil
}

// settingValue is the scalar value of key in s's with:, "" when unset.
func settingValue(s *e2e.StepSpec, key string) string {
	if n := setting(s, key); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// settingsNode is where a problem with a step's settings is: its with:, or
// the step when it has none.
func settingsNode(s *e2e.StepSpec) *yaml.Node {
	if s.With != nil {
		return s.With
	}
	return stepNode(s)
}

func stepNode(s *e2e.StepSpec) *yaml.Node {
	return &yaml.Node{Line: s.Line, Column: s.Column}
}

func errorAt(n *yaml.Node, field, format string, args ...any) *e2e.PositionError {
	return &e2e.PositionError{Line: n.Line, Column: n.Column, Field: field, Msg: fmt.Sprintf(format, args...)}
}
