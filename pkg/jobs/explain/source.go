package explain

import (
	"bytes"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/jobconfig"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// sources are the YAML nodes a job's pod can come from.
type sources struct {
	configPath string
	jobFile    string
	// job is the job's mapping in jobFile.
	job *yaml.Node
	// presets are the presets the job's labels select, in Prow's order.
	presets []presetNode
	// entries are the default decoration config entries that match the
	// job, in Prow's merge order (a later one overrides an earlier one).
	entries []entryNode
}

type presetNode struct {
	file   string
	node   *yaml.Node
	labels map[string]string
}

type entryNode struct {
	// config is the entry's DecorationConfig mapping.
	config *yaml.Node
	name   string
}

// readSources parses the Prow config and the job config files Prow read
// for job, with positions.
func readSources(c *config.Config, o Options, job mkpj.Job) (*sources, error) {
	s := &sources{configPath: o.ConfigPath}
	files := map[string]*yaml.Node{}
	parse := func(path string, data []byte) (*yaml.Node, error) {
		if root, ok := files[path]; ok {
			return root, nil
		}
		if data == nil {
			var err error
			if data, err = jobconfig.ReadFile(path); err != nil {
				return nil, err
			}
		}
		// Prow decodes the first document only.
		doc, err := yamlpos.ParseFirst(path, data)
		if err != nil {
			return nil, err
		}
		var root *yaml.Node
		if len(doc.Content) > 0 {
			root = resolve(doc.Content[0])
		}
		files[path] = root
		return root, nil
	}
	prow, err := parse(o.ConfigPath, nil)
	if err != nil {
		return nil, err
	}

	base := job.Base()
	s.jobFile = base.SourcePath
	if s.jobFile == "" {
		s.jobFile = o.ConfigPath
	}
	root, err := parse(s.jobFile, nil)
	if err != nil {
		return nil, err
	}
	if s.job, err = jobNode(c, root, s.jobFile, job); err != nil {
		return nil, err
	}

	// Presets sit in the Prow config and in any job config file.
	s.addPresets(o.ConfigPath, prow, base.Labels)
	if o.JobConfigPath != "" {
		l, err := jobconfig.Files(o.JobConfigPath)
		if err != nil {
			return nil, err
		}
		for _, path := range l.Files {
			if path == o.ConfigPath {
				continue
			}
			data, err := jobconfig.ReadFile(path)
			if err != nil {
				return nil, err
			}
			if !bytes.Contains(data, []byte("presets")) {
				continue
			}
			root, err := parse(path, data)
			if err != nil {
				return nil, err
			}
			s.addPresets(path, root, base.Labels)
		}
	}

	if s.entries, err = decorationEntries(c, prow, o.ConfigPath, job); err != nil {
		return nil, err
	}
	return s, nil
}

// addPresets adds the presets of root whose labels the job carries, as
// Prow's mergePreset selects them.
func (s *sources) addPresets(file string, root *yaml.Node, jobLabels map[string]string) {
	_, list := get(root, "presets")
	if list == nil || list.Kind != yaml.SequenceNode {
		return
	}
	for _, p := range list.Content {
		p = resolve(p)
		labels := map[string]string{}
		_, ln := get(p, "labels")
		if ln != nil && ln.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(ln.Content); i += 2 {
				labels[ln.Content[i].Value] = resolve(ln.Content[i+1]).Value
			}
		}
		selected := true
		for k, v := range labels {
			if jv, ok := jobLabels[k]; !ok || jv != v {
				selected = false
			}
		}
		if selected {
			s.presets = append(s.presets, presetNode{file: file, node: p, labels: labels})
		}
	}
}

// jobNode finds job's mapping in the file root: the one of its name, type
// and repo that Prow read in the same place among them.
func jobNode(c *config.Config, root *yaml.Node, file string, job mkpj.Job) (*yaml.Node, error) {
	name := job.Base().Name
	var (
		list *yaml.Node
		nth  int
	)
	sameFile := func(b config.JobBase) bool { return b.Name == name && b.SourcePath == job.Base().SourcePath }
	switch {
	case job.Presubmit != nil:
		_, repos := get(root, "presubmits")
		_, list = get(repos, job.Repo)
		for i := range c.PresubmitsStatic[job.Repo] {
			p := &c.PresubmitsStatic[job.Repo][i]
			if p == job.Presubmit {
				break
			}
			if sameFile(p.JobBase) {
				nth++
			}
		}
	case job.Postsubmit != nil:
		_, repos := get(root, "postsubmits")
		_, list = get(repos, job.Repo)
		for i := range c.PostsubmitsStatic[job.Repo] {
			p := &c.PostsubmitsStatic[job.Repo][i]
			if p == job.Postsubmit {
				break
			}
			if sameFile(p.JobBase) {
				nth++
			}
		}
	default:
		_, list = get(root, "periodics")
		for i := range c.Periodics {
			p := &c.Periodics[i]
			if p == job.Periodic {
				break
			}
			if sameFile(p.JobBase) {
				nth++
			}
		}
	}
	if list != nil && list.Kind == yaml.SequenceNode {
		for _, n := range list.Content {
			n = resolve(n)
			if _, v := get(n, "name"); v != nil && v.Value == name {
				if nth == 0 {
					return n, nil
				}
				nth--
			}
		}
	}
	return nil, fmt.Errorf("%s: no %s named %s in the file Prow read it from: was the file changed meanwhile?", file, job.Type, name)
}

// decorationEntries pairs the default decoration config entries Prow
// finalized (c.Plank.DefaultDecorationConfigs, in its merge order) with
// their nodes in the Prow config, and keeps those that match the job.
func decorationEntries(c *config.Config, prow *yaml.Node, configPath string, job mkpj.Job) ([]entryNode, error) {
	if job.Base().DecorationConfig == nil {
		return nil, nil
	}
	_, plank := get(prow, "plank")
	repo := job.Repo
	if job.Periodic != nil {
		// Prow matches a periodic by its first extra ref.
		repo = ""
		if refs := job.Periodic.ExtraRefs; len(refs) > 0 {
			repo = refs[0].Org + "/" + refs[0].Repo
		}
	}
	var out []entryNode
	k, list := get(plank, "default_decoration_config_entries")
	if list != nil && list.Kind == yaml.SequenceNode && len(c.Plank.DefaultDecorationConfigEntries) > 0 {
		if len(list.Content) != len(c.Plank.DefaultDecorationConfigs) {
			return nil, yamlpos.At(configPath, k, "plank.default_decoration_config_entries", "%d entries in the file, %d in what Prow loaded: was the file changed meanwhile?", len(list.Content), len(c.Plank.DefaultDecorationConfigs))
		}
		for i, e := range c.Plank.DefaultDecorationConfigs {
			if !entryMatches(e, repo, job.Base().Cluster) {
				continue
			}
			_, cfg := get(resolve(list.Content[i]), "config")
			out = append(out, entryNode{config: cfg, name: entryName(e)})
		}
		return out, nil
	}
	_, m := get(plank, "default_decoration_configs")
	for _, e := range c.Plank.DefaultDecorationConfigs {
		if !entryMatches(e, repo, job.Base().Cluster) {
			continue
		}
		_, cfg := get(m, e.OrgRepo)
		out = append(out, entryNode{config: cfg, name: entryName(e)})
	}
	return out, nil
}

// entryMatches asks Prow's own matcher whether e applies to a job of repo
// on cluster: merged alone, a matching entry gives its config, any other
// nothing.
func entryMatches(e *config.DefaultDecorationConfigEntry, repo, cluster string) bool {
	if e == nil || e.Config == nil {
		return false
	}
	p := config.Plank{DefaultDecorationConfigs: []*config.DefaultDecorationConfigEntry{e}}
	return !reflect.DeepEqual(p.GuessDefaultDecorationConfig(repo, cluster), &prowapi.DecorationConfig{})
}

func entryName(e *config.DefaultDecorationConfigEntry) string {
	name := e.OrgRepo
	if name == "" {
		name = "*"
	}
	if e.Cluster != "" && e.Cluster != "*" {
		name += ", cluster " + e.Cluster
	}
	return name
}

// resolve follows aliases and steps into a document.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && (n.Kind == yaml.AliasNode || n.Kind == yaml.DocumentNode) {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		} else if len(n.Content) > 0 {
			n = n.Content[0]
		} else {
			return nil
		}
	}
	return n
}

// get returns the key and value nodes of key in the mapping n, as Prow's
// decoder reads it: the last of repeated keys, then keys merged with "<<"
// (the first merged mapping that has it); a key spelled in another case
// as the JSON decoder Prow uses accepts it. nil, nil when there is none.
func get(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for _, fold := range []bool{false, true} {
		var k, v *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			kn := n.Content[i]
			if kn.Value == key || fold && strings.EqualFold(kn.Value, key) {
				k, v = kn, n.Content[i+1]
			}
		}
		if k != nil {
			return k, resolve(v)
		}
	}
	_, m := getMerge(n)
	if m == nil {
		return nil, nil
	}
	srcs := []*yaml.Node{m}
	if m.Kind == yaml.SequenceNode {
		srcs = m.Content
	}
	for _, src := range srcs {
		if k, v := get(src, key); k != nil {
			return k, v
		}
	}
	return nil, nil
}

func getMerge(n *yaml.Node) (*yaml.Node, *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Value == "<<" && k.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
			return k, resolve(n.Content[i+1])
		}
	}
	return nil, nil
}

// step is one step of a path in the pod spec: a key, or a list item by
// index and, when the list's items have distinct names, by name.
type step struct {
	key   string
	index int
	name  string
	item  bool
}

func (s step) String() string {
	switch {
	case !s.item:
		return s.key
	case s.name != "":
		return "[" + s.name + "]"
	default:
		return "[" + strconv.Itoa(s.index) + "]"
	}
}

func pathString(steps []step) string {
	var b strings.Builder
	for i, s := range steps {
		if !s.item && i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s.String())
	}
	return b.String()
}

// lookup follows steps from n: keys in mappings, items by name when the
// step has one, else by index. It returns the node at the end and the
// line that names it (a key's line, else the node's own); nil when the path
// leaves the YAML.
func lookup(n *yaml.Node, steps []step) (*yaml.Node, int) {
	n = resolve(n)
	if n == nil {
		return nil, 0
	}
	line := n.Line
	for _, s := range steps {
		switch {
		case !s.item:
			k, v := get(n, s.key)
			if k == nil {
				return nil, 0
			}
			n, line = v, k.Line
		default:
			if n.Kind != yaml.SequenceNode {
				return nil, 0
			}
			var next *yaml.Node
			if s.name != "" {
				for _, e := range n.Content {
					if _, v := get(e, "name"); v != nil && v.Kind == yaml.ScalarNode && v.Value == s.name {
						next = resolve(e)
					}
				}
			} else if s.index < len(n.Content) {
				next = resolve(n.Content[s.index])
			}
			if next == nil {
				return nil, 0
			}
			n, line = next, next.Line
		}
		if n == nil {
			return nil, 0
		}
	}
	return n, line
}

// sortedLabels is labels as `a: "x", b: "y"`.
func sortedLabels(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %q", k, labels[k])
	}
	return strings.Join(parts, ", ")
}
