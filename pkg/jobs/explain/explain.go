// Package explain says where every field of the pod Prow runs for a job
// comes from. The pod is Prow's own: the ProwJob pjutil builds for the job
// as Prow's loader resolved it (presets applied, decoration defaults
// merged), decorated by Prow's decorate.ProwJobToPod (pod utilities added).
// Each leaf of its spec is traced, by the YAML of the config files, to the
// job's own spec, a preset and the labels that selected it, the entry of
// plank's default decoration config (or the job's decoration_config) it
// derives from, or, failing those, to decorate itself.
package explain

import (
	"context"
	"errors"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"
	"sigs.k8s.io/prow/pkg/pod-utils/decorate"

	"github.com/prowctl/prowctl/pkg/mkpj"
)

// Options say which job to explain and where its config lives.
type Options struct {
	ConfigPath string
	// JobConfigPath is a job config file or directory; "" when every job
	// is in the Prow config.
	JobConfigPath string
	Query         mkpj.Query
}

// Kinds of source.
const (
	// KindJob is the job's own entry in its job config file, spec or
	// decoration_config.
	KindJob = "job"
	// KindPreset is a preset the job's labels select.
	KindPreset = "preset"
	// KindDecorationDefault is an entry of plank's default decoration
	// config in the Prow config.
	KindDecorationDefault = "decoration-default"
	// KindDecorate is Prow's decorate package: the pod utilities and what
	// ProwJobToPod adds to every pod.
	KindDecorate = "decorate"
)

// Source is where a field of the pod comes from.
type Source struct {
	Kind string `json:"kind"`
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	// Labels are the labels of the preset, all of which the job carries.
	Labels map[string]string `json:"labels,omitempty"`
	// Field is the decoration config field the value derives from, as the
	// config spells it (utility_images.clonerefs), for a decoration default
	// and for the job's own decoration_config.
	Field string `json:"field,omitempty"`
	// Entry names a default decoration config entry by what it matches:
	// "*", an org or org/repo, and a cluster when it names one.
	Entry string `json:"entry,omitempty"`
}

// Field is one leaf of the pod spec: its path (JSON names; list items by
// their name when every item has a distinct one, else by index), its value
// and its source.
type Field struct {
	Path   string `json:"path"`
	Value  any    `json:"value"`
	Source Source `json:"source"`
}

// Result is the explained pod of one job.
type Result struct {
	Job mkpj.Job
	// JobFile and JobLine are where the job is defined.
	JobFile string
	JobLine int
	// Refs are the refs the ProwJob was built with: placeholders, since the
	// pod's shape does not depend on them.
	Refs mkpj.Refs
	// Pod is the spec decorate.ProwJobToPod made.
	Pod corev1.PodSpec
	// Fields are the pod spec's leaves, in the order the spec prints.
	Fields []Field

	tree *value
}

// Placeholders for what Prow fills in when it runs a job; they show in the
// values of the pod utilities' environment only.
const (
	PlaceholderSHA       = "0000000000000000000000000000000000000000"
	PlaceholderPull      = 1
	PlaceholderAuthor    = "prowctl"
	PlaceholderProwJobID = "00000000-0000-0000-0000-000000000000"
	PlaceholderBuildID   = "0"
)

// Explain loads the config, builds the pod Prow would run for the job
// o.Query names and traces every field of its spec to its source.
func Explain(ctx context.Context, o Options) (*Result, error) {
	if o.Query.Name == "" {
		return nil, errors.New("no job name")
	}
	c, job, err := find(o)
	if err != nil {
		return nil, err
	}
	base := job.Base()
	if base.Spec == nil {
		agent := base.Agent
		if agent == "" {
			agent = string(prowapi.KubernetesAgent)
		}
		return nil, fmt.Errorf("job %s (%s) has no pod spec (agent %s): there is no pod to explain", base.Name, job, agent)
	}
	refs := placeholderRefs(job, o.Query.BaseRef)
	pj, err := mkpj.NewProwJob(ctx, c, job, refs, mkpj.RefSources{})
	if err != nil {
		return nil, err
	}
	// Plank names the ProwJob and gives it a build ID; fixed values keep
	// the output the same from one run to the next.
	pj.Name = PlaceholderProwJobID
	pj.Status.BuildID = PlaceholderBuildID
	pod, err := decorate.ProwJobToPod(pj)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", base.Name, err)
	}
	src, err := readSources(c, o, job)
	if err != nil {
		return nil, err
	}
	tree, err := toValue(pod.Spec)
	if err != nil {
		return nil, fmt.Errorf("job %s: %w", base.Name, err)
	}
	a := newAttributor(src, job, &pod.Spec, pj.Spec.DecorationConfig)
	res := &Result{Job: job, JobFile: src.jobFile, JobLine: src.job.Line, Refs: refs, Pod: pod.Spec, tree: tree}
	res.Fields = a.walk(tree)
	return res, nil
}

// find loads the config and the one job o.Query selects, as mkpj.Build
// does: the job's files first, everything when that finds nothing (to be
// sure, and to suggest a name).
func find(o Options) (*config.Config, mkpj.Job, error) {
	c, complete, err := mkpj.LoadForJob(o.ConfigPath, o.JobConfigPath, o.Query.Name)
	if err != nil {
		return nil, mkpj.Job{}, err
	}
	candidates := mkpj.Matches(c, o.Query.Name)
	if !complete || len(candidates) == 0 {
		if c, err = mkpj.LoadAll(o.ConfigPath, o.JobConfigPath); err != nil {
			return nil, mkpj.Job{}, err
		}
		candidates = mkpj.Matches(c, o.Query.Name)
		if len(candidates) == 0 {
			return nil, mkpj.Job{}, &mkpj.NotFoundError{Name: o.Query.Name, Suggestion: mkpj.Suggest(o.Query.Name, mkpj.Names(c))}
		}
	}
	job, err := mkpj.Find(candidates, o.Query)
	var be *mkpj.BranchError
	if errors.As(err, &be) && len(be.Jobs) == 1 {
		// One config of the name: its pod is the same on any branch.
		job, err = be.Jobs[0], nil
	}
	return c, job, err
}

// placeholderRefs are refs a job can be built with: baseRef when given,
// else the first branch the job names literally, else main.
func placeholderRefs(job mkpj.Job, baseRef string) mkpj.Refs {
	if job.Periodic != nil {
		return mkpj.Refs{}
	}
	if baseRef == "" {
		baseRef = "main"
		var branches []string
		if job.Presubmit != nil {
			branches = job.Presubmit.Branches
		} else {
			branches = job.Postsubmit.Branches
		}
		for _, b := range branches {
			// A regex is no branch name.
			if !strings.ContainsAny(b, `^$*+?()[]{}|\`) {
				baseRef = b
				break
			}
		}
	}
	r := mkpj.Refs{BaseRef: baseRef, BaseSHA: PlaceholderSHA}
	if job.Presubmit != nil {
		r.PullNumber, r.PullSHA, r.PullAuthor = PlaceholderPull, PlaceholderSHA, PlaceholderAuthor
	}
	return r
}
