// Package jobs turns the short tf-k8s spec (config/tf-k8s.yaml) into Prow job
// config: a standalone generated file, or the tf-k8s entries of a shared
// monolithic config.yaml edited in place without touching any other byte.
package jobs

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// Job types a spec may name.
const (
	TypePresubmit  = "presubmit"
	TypePostsubmit = "postsubmit"
	TypePeriodic   = "periodic"
)

// Runners a spec may name, and the pipeline they run by default.
const (
	RunnerE2E       = "e2e"
	RunnerArgo      = "argo"
	DefaultPipeline = "config/e2e.yaml"
)

// Lint policy scopes and severities (the lint package interprets them).
const (
	ScopeOwned = "owned"
	ScopeAll   = "all"

	SeverityError   = "error"
	SeverityWarning = "warning"
	SeverityOff     = "off"
)

// Spec is what is specific to one repository's Prow jobs (config/tf-k8s.yaml).
// Everything else in the generated job config is derived from it.
type Spec struct {
	// Path is the file the spec was loaded from; generated headers name it.
	Path string `yaml:"-"`

	// Repo is "org/repo": every presubmit and postsubmit of it is owned.
	Repo string `yaml:"repo"`
	// Branches the presubmits and postsubmits run on.
	Branches []string `yaml:"branches"`
	// PeriodicPrefix marks periodics as owned by name (e.g. "tf-k8s-").
	PeriodicPrefix string `yaml:"periodic_prefix"`

	// Image is the test image, pinned by tag or digest.
	Image string `yaml:"image"`
	// Command is what every job's container runs; or, instead, Runner.
	Command []string `yaml:"command"`
	// Runner is how the jobs run the e2e pipeline at Pipeline when Command
	// is not given: RunnerE2E in the job's own pod, or RunnerArgo as an
	// Argo Workflow with a pod per step (see JobCommand).
	Runner string `yaml:"runner"`
	// Pipeline is the e2e pipeline a Runner runs (default
	// DefaultPipeline), at its path in the repository.
	Pipeline string `yaml:"pipeline"`
	// Presets are the preset labels the jobs carry (label -> value).
	Presets map[string]string `yaml:"presets"`
	// Decorate turns on Prow's pod utilities; defaults to true.
	Decorate *bool `yaml:"decorate"`
	// Resources of the test container.
	Resources Resources `yaml:"resources"`
	// Testgrid places the jobs on a dashboard.
	Testgrid Testgrid `yaml:"testgrid"`

	Jobs []Job `yaml:"jobs"`

	// Lint configures `prowctl jobs lint`'s policy rules.
	Lint LintSpec `yaml:"lint"`

	// src and root place Prow's objections to the generated config on the
	// spec's lines (prowcheck.go).
	src  string
	root *yaml.Node
}

// Resources are Kubernetes resource quantities by name (cpu, memory).
type Resources struct {
	Requests map[string]string `yaml:"requests"`
	Limits   map[string]string `yaml:"limits"`
}

// Testgrid names where the jobs' results show up.
type Testgrid struct {
	Dashboard  string `yaml:"dashboard"`
	AlertEmail string `yaml:"alert_email"`
}

// Job is one Prow job of the spec.
type Job struct {
	Name string `yaml:"name"`
	// Type is presubmit, postsubmit or periodic.
	Type string `yaml:"type"`

	// Presubmits only.
	AlwaysRun    bool   `yaml:"always_run"`
	RunIfChanged string `yaml:"run_if_changed"`
	Optional     bool   `yaml:"optional"`
	Context      string `yaml:"context"`

	// Periodics only: exactly one of Interval and Cron.
	Interval string `yaml:"interval"`
	Cron     string `yaml:"cron"`

	// Branches overrides the spec's branches (presubmits, postsubmits).
	Branches []string `yaml:"branches"`
	// ExtraRefs are cloned before the job runs (periodics get no source otherwise).
	ExtraRefs []Ref `yaml:"extra_refs"`

	// Tab is the testgrid tab name; defaults to the job name.
	Tab         string `yaml:"tab"`
	Description string `yaml:"description"`
}

// Ref is a repository a job clones.
type Ref struct {
	Org     string `yaml:"org"`
	Repo    string `yaml:"repo"`
	BaseRef string `yaml:"base_ref"`
	// PathAlias clones into $GOPATH/src/<path_alias> instead of org/repo.
	PathAlias string `yaml:"path_alias"`
	WorkDir   bool   `yaml:"workdir"`
}

// LintSpec is the lint policy: per-rule severity overrides and scope.
type LintSpec struct {
	// Rules maps a rule id to error, warning or off.
	Rules map[string]string `yaml:"rules"`
	// Scope is owned (default: policy on the jobs the spec owns) or all.
	Scope string `yaml:"scope"`
}

// Error is a problem at a position in a YAML file: "file:line:col: field: message".
type Error = yamlpos.Error

// Errors are several positioned problems, one per line.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// LoadSpec reads and validates a spec file.
func LoadSpec(path string) (*Spec, error) {
	data, err := yamlpos.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read spec: %w", err)
	}
	// Cleaned, so "./config/tf-k8s.yaml" and "config/tf-k8s.yaml" generate
	// the same header.
	s, err := ParseSpec(filepath.ToSlash(filepath.Clean(path)), data)
	if err != nil {
		return nil, err
	}
	if rel, ok := RepoRelative(path); ok {
		s.Path = rel
	}
	return s, nil
}

// RepoRelative is path relative to the root of the git repository holding
// it, false outside one. The generated header names the spec this way, so it does not depend on
// the directory generate runs in, nor on an absolute --spec: otherwise
// --verify run elsewhere reports the committed file out of date.
func RepoRelative(path string) (string, bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", false
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, ".git")); err == nil {
			rel, err := filepath.Rel(dir, abs)
			return filepath.ToSlash(rel), err == nil
		}
		if filepath.Dir(dir) == dir {
			return "", false
		}
	}
}

// ParseSpec decodes a spec strictly (unknown fields, duplicate keys, wrong
// types are errors with positions) and validates it. file names the source in
// errors.
func ParseSpec(file string, data []byte) (*Spec, error) {
	root, err := parseYAML(file, data)
	if err != nil {
		return nil, err
	}
	if root == nil {
		return nil, &Error{File: file, Line: 1, Column: 1, Msg: "spec is empty; it needs at least repo, image, command and jobs"}
	}
	s := &Spec{Path: file}
	if err := yamlpos.Decode(file, root, s); err != nil {
		return nil, err
	}
	s.setDefaults()
	s.src, s.root = file, root
	if errs := s.validate(root, file); len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

// parseYAML parses the one YAML document of data into its root node, nil
// when the file holds none; errors are positioned (see yamlpos).
func parseYAML(file string, data []byte) (*yaml.Node, error) {
	return yamlpos.Parse(file, data)
}

func (s *Spec) setDefaults() {
	if s.Decorate == nil {
		t := true
		s.Decorate = &t
	}
	if s.Lint.Scope == "" {
		s.Lint.Scope = ScopeOwned
	}
}

var (
	repoRE    = regexp.MustCompile(`^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$`)
	jobNameRE = regexp.MustCompile(`^[A-Za-z0-9-._]+$`)
)

// validate checks what decoding cannot: required fields, job types, intervals,
// duplicate names. It returns every problem, each at the position of its field.
func (s *Spec) validate(root *yaml.Node, file string) Errors {
	var errs Errors
	at := func(path []string, field, format string, args ...any) {
		n := lookup(root, path...)
		e := &Error{File: file, Line: 1, Column: 1, Field: field, Msg: fmt.Sprintf(format, args...)}
		if n != nil {
			e.Line, e.Column = n.Line, n.Column
		}
		errs = append(errs, e)
	}
	if s.Repo == "" {
		at(nil, "repo", "required: the repository as org/repo")
	} else if !repoRE.MatchString(s.Repo) {
		at([]string{"repo"}, "repo", "%q is not org/repo", s.Repo)
	}
	if len(s.Branches) == 0 {
		at(nil, "branches", "required: the branches presubmits and postsubmits run on")
	}
	if s.Image == "" {
		at(nil, "image", "required: the test image, pinned by tag or digest")
	} else if msg := imagePinProblem(s.Image); msg != "" {
		at([]string{"image"}, "image", "%s", msg)
	}
	switch {
	case len(s.Command) > 0 && s.Runner != "":
		at([]string{"runner"}, "runner", "give runner or command, not both: the runner makes the command")
	case len(s.Command) > 0 && s.Pipeline != "":
		at([]string{"pipeline"}, "pipeline", "only with runner: command says what the jobs run")
	case len(s.Command) == 0 && s.Runner == "":
		at(nil, "command", "required: what every job's container runs, or runner: %s or %s to run the e2e pipeline", RunnerE2E, RunnerArgo)
	case s.Runner != "" && s.Runner != RunnerE2E && s.Runner != RunnerArgo:
		at([]string{"runner"}, "runner", "%q is not one of %s, %s", s.Runner, RunnerE2E, RunnerArgo)
	}
	for k, v := range s.Resources.Requests {
		if v == "" {
			at([]string{"resources", "requests", k}, "resources.requests."+k, "empty quantity")
		}
	}
	switch s.Lint.Scope {
	case ScopeOwned, ScopeAll:
	default:
		at([]string{"lint", "scope"}, "lint.scope", "%q is not one of owned, all", s.Lint.Scope)
	}
	for _, id := range slices.Sorted(maps.Keys(s.Lint.Rules)) {
		switch s.Lint.Rules[id] {
		case SeverityError, SeverityWarning, SeverityOff:
		default:
			at([]string{"lint", "rules", id}, "lint.rules."+id, "%q is not one of error, warning, off", s.Lint.Rules[id])
		}
	}
	if len(s.Jobs) == 0 {
		at([]string{"jobs"}, "jobs", "the spec names no jobs; add at least one under jobs:")
	}
	seen := map[string]int{}
	for i, j := range s.Jobs {
		idx := strconv.Itoa(i)
		field := fmt.Sprintf("jobs[%d]", i)
		jat := func(key, format string, args ...any) {
			path := []string{"jobs", idx}
			f := field
			if key != "" {
				if lookup(root, "jobs", idx, key) != nil {
					path = append(path, key)
				}
				f += "." + key
			}
			at(path, f, format, args...)
		}
		switch {
		case j.Name == "":
			jat("name", "required")
		case !jobNameRE.MatchString(j.Name):
			jat("name", "%q may hold only letters, digits, '-', '.' and '_'", j.Name)
		case len(j.Name) > 63:
			jat("name", "%q is %d characters; Prow job names are at most 63", j.Name, len(j.Name))
		}
		if first, dup := seen[j.Name]; dup && j.Name != "" {
			jat("name", "duplicate job name %q (also jobs[%d])", j.Name, first)
		} else {
			seen[j.Name] = i
		}
		switch j.Type {
		case TypePresubmit, TypePostsubmit:
			if j.Interval != "" || j.Cron != "" {
				jat(pick(j.Interval != "", "interval", "cron"), "only periodics have an interval or cron; this is a %s", j.Type)
			}
			if j.Type == TypePresubmit && j.AlwaysRun && j.RunIfChanged != "" {
				jat("run_if_changed", "always_run and run_if_changed are mutually exclusive")
			}
			if j.Type == TypePresubmit && j.RunIfChanged != "" {
				if _, err := regexp.Compile(j.RunIfChanged); err != nil {
					jat("run_if_changed", "invalid regular expression: %v", err)
				}
			}
			if j.Type == TypePostsubmit && (j.AlwaysRun || j.Optional || j.Context != "") {
				jat("", "always_run, optional and context apply to presubmits only")
			}
		case TypePeriodic:
			switch {
			case j.Interval == "" && j.Cron == "":
				jat("interval", "a periodic needs an interval (e.g. 8h) or a cron")
			case j.Interval != "" && j.Cron != "":
				jat("cron", "interval and cron are mutually exclusive")
			case j.Interval != "":
				if d, err := time.ParseDuration(j.Interval); err != nil || d <= 0 {
					jat("interval", "%q is not a positive duration like 8h or 30m", j.Interval)
				}
			}
			if j.AlwaysRun || j.Optional || j.RunIfChanged != "" || j.Context != "" || len(j.Branches) > 0 {
				jat("", "always_run, optional, run_if_changed, context and branches do not apply to periodics")
			}
			if j.Name != "" && !s.OwnsPeriodic(j.Name, j.clonedRepos()) {
				jat("name", "periodic %q neither starts with periodic_prefix %q nor clones %s; the spec could not find it again in a shared config", j.Name, s.PeriodicPrefix, s.Repo)
			}
		case "":
			jat("type", "required: one of presubmit, postsubmit, periodic")
		default:
			jat("type", "%q is not one of presubmit, postsubmit, periodic", j.Type)
		}
		for k, r := range j.ExtraRefs {
			if r.Org == "" || r.Repo == "" || r.BaseRef == "" {
				at([]string{"jobs", idx, "extra_refs", strconv.Itoa(k)}, fmt.Sprintf("%s.extra_refs[%d]", field, k), "org, repo and base_ref are required")
			}
		}
	}
	return errs
}

func pick(c bool, a, b string) string {
	if c {
		return a
	}
	return b
}

// imagePinProblem says why an image reference is not pinned, "" when it is.
func imagePinProblem(image string) string {
	if strings.Contains(image, "@sha256:") {
		return ""
	}
	name := image
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	_, tag, ok := strings.Cut(name, ":")
	switch {
	case !ok || tag == "":
		return fmt.Sprintf("%q has no tag; pin it by tag or digest", image)
	case tag == "latest":
		return fmt.Sprintf("%q uses :latest; pin it by tag or digest", image)
	}
	return ""
}

// JobCommand is what every job's container runs: Command, or the
// Runner's command for Pipeline. An Argo job submits a Workflow to the
// cluster the job runs in and waits for it, so the job's result is the
// Workflow's.
func (s *Spec) JobCommand() []string {
	if len(s.Command) > 0 {
		return s.Command
	}
	pipeline := s.Pipeline
	if pipeline == "" {
		pipeline = DefaultPipeline
	}
	if s.Runner == RunnerArgo {
		return []string{"prowctl", "e2e", "submit", "--argo", "--wait", "--pipeline", pipeline}
	}
	return []string{"prowctl", "e2e", "run", "--pipeline", pipeline}
}

// lookup follows mapping keys and sequence indexes from n; nil if absent.
func lookup(n *yaml.Node, path ...string) *yaml.Node {
	for _, p := range path {
		for n != nil && n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		if n == nil {
			return nil
		}
		switch n.Kind {
		case yaml.MappingNode:
			var next *yaml.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == p {
					next = n.Content[i+1]
					if next.Kind == yaml.ScalarNode && next.Tag == "!!null" {
						next = n.Content[i] // point at the key of an empty value
					}
					break
				}
			}
			n = next
		case yaml.SequenceNode:
			i, err := strconv.Atoi(p)
			if err != nil || i < 0 || i >= len(n.Content) {
				return nil
			}
			n = n.Content[i]
		default:
			return nil
		}
	}
	return n
}

func (j Job) clonedRepos() []string {
	var repos []string
	for _, r := range j.ExtraRefs {
		repos = append(repos, r.Org+"/"+r.Repo)
	}
	return repos
}

// OwnsRepo reports whether presubmits and postsubmits keyed by orgRepo
// ("org/repo") belong to the spec: all of its repository's do.
func (s *Spec) OwnsRepo(orgRepo string) bool {
	return orgRepo == s.Repo
}

// OwnsPeriodic reports whether a periodic belongs to the spec: its name carries
// the spec's prefix, or it clones the spec's repository (clonedRepos are the
// "org/repo" of its extra_refs).
func (s *Spec) OwnsPeriodic(name string, clonedRepos []string) bool {
	if s.PeriodicPrefix != "" && strings.HasPrefix(name, s.PeriodicPrefix) {
		return true
	}
	for _, r := range clonedRepos {
		if r == s.Repo {
			return true
		}
	}
	return false
}

// JobNames lists the spec's job names of one type, in spec order.
func (s *Spec) JobNames(jobType string) []string {
	var names []string
	for _, j := range s.Jobs {
		if j.Type == jobType {
			names = append(names, j.Name)
		}
	}
	return names
}
