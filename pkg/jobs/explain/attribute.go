package explain

import (
	"encoding/json"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/mkpj"
)

// attributor traces the leaves of one decorated pod spec.
type attributor struct {
	src *sources
	pod *corev1.PodSpec
	// dc is the job's resolved decoration config; nil when undecorated.
	dc *prowapi.DecorationConfig
	// jobContainers is how many of the pod's first containers are the
	// job's: decorate appends the sidecar after them.
	jobContainers int
	// jobInit indexes the job's init containers by name: decorate puts
	// clonerefs before them and its own after.
	jobInit map[string]int
}

func newAttributor(src *sources, job mkpj.Job, pod *corev1.PodSpec, dc *prowapi.DecorationConfig) *attributor {
	spec := job.Base().Spec
	a := &attributor{src: src, pod: pod, dc: dc, jobContainers: len(spec.Containers), jobInit: map[string]int{}}
	for i, c := range spec.InitContainers {
		a.jobInit[c.Name] = i
	}
	return a
}

// walk attributes every leaf of root, the pod spec, in order.
func (a *attributor) walk(root *value) []Field {
	var out []Field
	var rec func(v *value, steps []step)
	rec = func(v *value, steps []step) {
		if v.leaf() {
			s := a.source(steps, v)
			v.src = &s
			out = append(out, Field{Path: pathString(steps), Value: v.plain(), Source: s})
			return
		}
		next := func(s step) []step { return append(steps[:len(steps):len(steps)], s) }
		if v.object {
			for i, k := range v.keys {
				rec(v.vals[i], next(step{key: k}))
			}
			return
		}
		for i, s := range itemSteps(v) {
			rec(v.items[i], next(s))
		}
	}
	rec(root, nil)
	return out
}

// Roles of a container of the pod.
const (
	notContainer = iota
	jobContainer
	jobInitContainer
	utilityContainer
)

// place is where a path is: in which container, if any, and the steps
// within it.
type place struct {
	role int
	// jobIndex is the container's index in the job's own list.
	jobIndex int
	c        *corev1.Container
	rest     []step
}

func (a *attributor) place(steps []step) place {
	if len(steps) < 2 || !steps[1].item {
		return place{rest: steps}
	}
	i := steps[1].index
	switch steps[0].key {
	case "containers":
		c := &a.pod.Containers[i]
		if i < a.jobContainers {
			return place{role: jobContainer, jobIndex: i, c: c, rest: steps[2:]}
		}
		return place{role: utilityContainer, c: c, rest: steps[2:]}
	case "initContainers":
		c := &a.pod.InitContainers[i]
		if j, ok := a.jobInit[c.Name]; ok {
			return place{role: jobInitContainer, jobIndex: j, c: c, rest: steps[2:]}
		}
		return place{role: utilityContainer, c: c, rest: steps[2:]}
	}
	return place{rest: steps}
}

// source decides where the leaf v at steps comes from: the job's spec,
// a preset, the decoration config, else decorate.
func (a *attributor) source(steps []step, v *value) Source {
	p := a.place(steps)
	if js, ok := a.jobSteps(steps, p); ok {
		if n, line := lookup(a.src.job, js); n != nil && same(n, v) {
			return Source{Kind: KindJob, File: a.src.jobFile, Line: line}
		}
	}
	if s, ok := a.preset(steps, p, v); ok {
		return s
	}
	for _, d := range a.derive(steps, p) {
		if s, ok := a.decoration(d, v); ok {
			return s
		}
	}
	return Source{Kind: KindDecorate}
}

// jobSteps is the path in the job's mapping of a pod path: the job's
// containers by their index in its own list, since Prow renames a lone
// container and decorate adds its own around the job's.
func (a *attributor) jobSteps(steps []step, p place) ([]step, bool) {
	spec := step{key: "spec"}
	switch p.role {
	case utilityContainer:
		return nil, false
	case jobContainer:
		return append([]step{spec, {key: "containers"}, {item: true, index: p.jobIndex}}, p.rest...), true
	case jobInitContainer:
		return append([]step{spec, {key: "initContainers"}, {item: true, index: p.jobIndex}}, p.rest...), true
	}
	return append([]step{spec}, steps...), true
}

// preset finds the preset that gave an env var or volume mount of the
// job's containers, or a volume: Prow's mergePreset adds exactly those.
func (a *attributor) preset(steps []step, p place, v *value) (Source, bool) {
	var (
		list, name string
		rest       []step
	)
	switch {
	case p.role == jobContainer && len(p.rest) >= 2 && p.rest[0].key == "env" && p.rest[1].item:
		list, name, rest = "env", p.c.Env[p.rest[1].index].Name, p.rest[2:]
	case p.role == jobContainer && len(p.rest) >= 2 && p.rest[0].key == "volumeMounts" && p.rest[1].item:
		list, name, rest = "volumeMounts", p.c.VolumeMounts[p.rest[1].index].Name, p.rest[2:]
	case p.role == notContainer && len(steps) >= 2 && steps[0].key == "volumes" && steps[1].item:
		list, name, rest = "volumes", a.pod.Volumes[steps[1].index].Name, steps[2:]
	default:
		return Source{}, false
	}
	path := append([]step{{key: list}, {item: true, name: name}}, rest...)
	for _, pr := range a.src.presets {
		if n, line := lookup(pr.node, path); n != nil && same(n, v) {
			return Source{Kind: KindPreset, File: pr.file, Line: line, Labels: pr.labels}, true
		}
	}
	return Source{}, false
}

// derivation is a decoration config field a pod field derives from: unit
// is the field whose setting wins as a whole when Prow merges decoration
// configs, sub the path within it to the value; copied says the pod holds
// the value as the config wrote it.
type derivation struct {
	unit   []string
	sub    []string
	copied bool
}

// The keys of the pod utilities' containers under utility_images and
// resources.
var (
	utilityImage     = map[string]string{"clonerefs": "clonerefs", "initupload": "initupload", "place-entrypoint": "entrypoint", "sidecar": "sidecar"}
	utilityResources = map[string]string{"clonerefs": "clonerefs", "initupload": "initupload", "place-entrypoint": "place_entrypoint", "sidecar": "sidecar"}
)

// derive lists, best first, the decoration config fields a field of the
// pod derives from, following what decorate does with each.
func (a *attributor) derive(steps []step, p place) []derivation {
	if a.dc == nil {
		return nil
	}
	one := func(copied bool, unit ...string) []derivation {
		return []derivation{{unit: unit, copied: copied}}
	}
	r := p.rest
	switch p.role {
	case utilityContainer:
		switch {
		case len(r) == 1 && r[0].key == "image" && utilityImage[p.c.Name] != "":
			return one(true, "utility_images", utilityImage[p.c.Name])
		case len(r) >= 2 && r[0].key == "resources" && utilityResources[p.c.Name] != "":
			return []derivation{{unit: []string{"resources", utilityResources[p.c.Name]}, sub: keys(r[1:]), copied: true}}
		case len(r) >= 2 && r[0].key == "env" && r[1].item:
			switch p.c.Env[r[1].index].Name {
			case "INITUPLOAD_OPTIONS", "SIDECAR_OPTIONS":
				return one(false, "gcs_configuration")
			}
		case len(r) >= 2 && r[0].key == "volumeMounts" && r[1].item:
			return a.secretVolume(p.c.VolumeMounts[r[1].index].Name)
		}
	case jobContainer:
		switch {
		case len(r) >= 2 && r[0].key == "env" && r[1].item && p.c.Env[r[1].index].Name == "ENTRYPOINT_OPTIONS":
			// The entrypoint's options carry the timeout and grace period.
			return []derivation{{unit: []string{"timeout"}}, {unit: []string{"grace_period"}}}
		case pathIs(r, "resources", "requests", "memory"):
			return one(true, "default_memory_request")
		case pathIs(r, "resources", "limits", "memory"):
			return one(false, "set_limit_equals_memory_request")
		}
	case notContainer:
		switch {
		case len(steps) >= 2 && steps[0].key == "volumes" && steps[1].item:
			return a.secretVolume(a.pod.Volumes[steps[1].index].Name)
		case pathIs(steps, "terminationGracePeriodSeconds"):
			// decorate gives the pod the grace period and a fourth more,
			// for the upload.
			return one(false, "grace_period")
		case pathIs(steps, "serviceAccountName"):
			return one(true, "default_service_account_name")
		case pathIs(steps, "securityContext", "runAsUser"):
			return one(true, "run_as_user")
		case pathIs(steps, "securityContext", "runAsGroup"):
			return one(true, "run_as_group")
		case pathIs(steps, "securityContext", "fsGroup"):
			return one(true, "fs_group")
		}
	}
	return nil
}

// secretVolume is the decoration config field behind a volume (or its
// mount) decorate adds for a secret.
func (a *attributor) secretVolume(name string) []derivation {
	field := ""
	switch {
	case name == "gcs-credentials":
		field = "gcs_credentials_secret"
	case name == "s3-credentials":
		field = "s3_credentials_secret"
	case strings.HasPrefix(name, "ssh-keys-"):
		field = "ssh_key_secrets"
	case name == "cookiefile":
		field = "cookiefile_secret"
	case a.dc.OauthTokenSecret != nil && name == a.dc.OauthTokenSecret.Name:
		field = "oauth_token_secret"
	case a.dc.GitHubAppPrivateKeySecret != nil && name == a.dc.GitHubAppPrivateKeySecret.Name:
		field = "github_app_private_key_secret"
	default:
		return nil
	}
	return []derivation{{unit: []string{field}}}
}

// decoration finds who set d's field as Prow merges decoration configs:
// the job's own decoration_config over every default entry, a later entry
// over an earlier one.
func (a *attributor) decoration(d derivation, v *value) (Source, bool) {
	unit := make([]step, len(d.unit))
	for i, k := range d.unit {
		unit[i] = step{key: k}
	}
	at := func(n *yaml.Node, line int) (*yaml.Node, int, bool) {
		if len(d.sub) > 0 {
			sub := make([]step, len(d.sub))
			for i, k := range d.sub {
				sub[i] = step{key: k}
			}
			sn, sl := lookup(n, sub)
			if sn == nil {
				return nil, 0, false
			}
			n, line = sn, sl
		}
		if d.copied && !same(n, v) {
			// Not what the pod holds: the merge went otherwise than
			// traced here, so claim nothing.
			return nil, 0, false
		}
		return n, line, true
	}
	field := strings.Join(append(append([]string{}, d.unit...), d.sub...), ".")
	if n, line := lookup(a.src.job, append([]step{{key: "decoration_config"}}, unit...)); n != nil {
		if _, line, ok := at(n, line); ok {
			return Source{Kind: KindJob, File: a.src.jobFile, Line: line, Field: field}, true
		}
		return Source{}, false
	}
	for i := len(a.src.entries) - 1; i >= 0; i-- {
		e := a.src.entries[i]
		if n, line := lookup(e.config, unit); n != nil {
			if _, line, ok := at(n, line); ok {
				return Source{Kind: KindDecorationDefault, File: a.src.configPath, Line: line, Field: field, Entry: e.name}, true
			}
			return Source{}, false
		}
	}
	return Source{}, false
}

func keys(steps []step) []string {
	out := make([]string, len(steps))
	for i, s := range steps {
		out[i] = s.key
	}
	return out
}

// pathIs says whether steps are exactly the keys given.
func pathIs(steps []step, keys ...string) bool {
	if len(steps) != len(keys) {
		return false
	}
	for i, k := range keys {
		if steps[i].item || steps[i].key != k {
			return false
		}
	}
	return true
}

// same says whether the YAML node n holds the leaf v, as Prow's decoder
// (YAML 1.1 through JSON) and Kubernetes' types read it: 0.5 and 500m are
// one CPU quantity, 0400 an octal mode, yes a boolean.
func same(n *yaml.Node, v *value) bool {
	switch {
	case v.object:
		return n.Kind == yaml.MappingNode && len(n.Content) == 0
	case v.array:
		return n.Kind == yaml.SequenceNode && len(n.Content) == 0
	}
	if n.Kind != yaml.ScalarNode {
		return false
	}
	switch s := v.scalar.(type) {
	case string:
		if n.Value == s {
			return true
		}
		q1, err1 := resource.ParseQuantity(n.Value)
		q2, err2 := resource.ParseQuantity(s)
		return err1 == nil && err2 == nil && q1.Cmp(q2) == 0
	case json.Number:
		if n.Value == s.String() {
			return true
		}
		want, err := s.Int64()
		if err != nil {
			return false
		}
		// Base 0 reads 0400 as octal and 0x1F as hex, as YAML 1.1 does.
		got, err := strconv.ParseInt(n.Value, 0, 64)
		return err == nil && got == want
	case bool:
		switch strings.ToLower(n.Value) {
		case "true", "yes", "y", "on":
			return s
		case "false", "no", "n", "off":
			return !s
		}
		return false
	case nil:
		return n.Value == "" || n.Value == "~" || n.Value == "null"
	}
	return false
}
