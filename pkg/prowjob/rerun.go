package prowjob

import (
	"context"
	"fmt"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"
	"sigs.k8s.io/prow/pkg/github"
	"sigs.k8s.io/prow/pkg/kube"
	"sigs.k8s.io/prow/pkg/pjutil"

	"github.com/prowctl/prowctl/pkg/mkpj"
)

// controllerOwned are labels and annotations that describe one run, set by
// Prow's controllers or kubectl; a rerun must not inherit them.
var controllerOwned = map[string]bool{
	kube.ProwBuildIDLabel:                              true,
	kube.ProwJobIDLabel:                                true,
	kube.PlankVersionLabel:                             true,
	"kubectl.kubernetes.io/last-applied-configuration": true,
}

// componentSpecified are the labels and annotations Deck carries over from the
// old job when it rebuilds a rerun from the current config: they say which
// event or change the job was for.
var componentSpecified = map[string]bool{
	kube.GerritRevision:     true,
	kube.GerritPatchset:     true,
	kube.GerritReportLabel:  true,
	github.EventGUID:        true,
	kube.CreatedByTideLabel: true,
	kube.GerritID:           true,
	kube.GerritInstance:     true,
}

// RerunOptions say how to rerun a job.
type RerunOptions struct {
	// Config is the current Prow config: its scheduler setting decides the
	// initial state and, with Latest, its jobs the new spec. Nil means
	// scheduling disabled.
	Config *config.Config
	// Latest rebuilds the spec from Config with the old job's refs, as
	// Deck's rerun with mode=latest does.
	Latest bool
	// Report keeps spec.report as the job says; otherwise it is false so
	// the rerun posts no status to GitHub.
	Report bool
}

// NewRerun returns a new ProwJob that runs old again, as Deck's rerun does:
// pjutil.NewProwJob with the old spec, labels and annotations, so a new
// name and a fresh status (triggered or scheduling, started now). Labels
// and annotations of the old run's controllers are dropped.
func NewRerun(old *prowapi.ProwJob, o RerunOptions) (prowapi.ProwJob, error) {
	scheduling := o.Config != nil && o.Config.Scheduler.Enabled
	var pj prowapi.ProwJob
	if o.Latest {
		if o.Config == nil {
			return prowapi.ProwJob{}, fmt.Errorf("rerun --latest of %s: no config", old.Name)
		}
		spec, labels, annotations, err := latestSpec(o.Config, old)
		if err != nil {
			return prowapi.ProwJob{}, fmt.Errorf("rerun --latest of %s: %w", old.Name, err)
		}
		for k, v := range old.Labels {
			if componentSpecified[k] {
				labels = with(labels, k, v)
			}
		}
		for k, v := range old.Annotations {
			if componentSpecified[k] {
				annotations = with(annotations, k, v)
			}
		}
		pj = pjutil.NewProwJob(spec, labels, annotations, pjutil.RequireScheduling(scheduling))
	} else {
		pj = pjutil.NewProwJob(old.Spec, without(old.Labels, controllerOwned), without(old.Annotations, controllerOwned), pjutil.RequireScheduling(scheduling))
	}
	if !o.Report {
		pj.Spec.Report = false
	}
	return pj, nil
}

// latestSpec finds old's job in c as Deck does: by name, type, repo and the
// branch of old's refs, and builds its spec with old's refs.
func latestSpec(c *config.Config, old *prowapi.ProwJob) (prowapi.ProwJobSpec, map[string]string, map[string]string, error) {
	q := mkpj.Query{Name: old.Spec.Job, Type: old.Spec.Type}
	switch old.Spec.Type {
	case prowapi.PresubmitJob, prowapi.PostsubmitJob:
		r := old.Spec.Refs
		if r == nil || r.Org == "" || r.Repo == "" || r.BaseRef == "" {
			return prowapi.ProwJobSpec{}, nil, nil, fmt.Errorf("%s job has no refs with org, repo and base ref", old.Spec.Type)
		}
		q.Repo, q.BaseRef = r.Org+"/"+r.Repo, r.BaseRef
	case prowapi.PeriodicJob:
	default:
		return prowapi.ProwJobSpec{}, nil, nil, fmt.Errorf("cannot rebuild a %q job from config", old.Spec.Type)
	}
	candidates := mkpj.Matches(c, q.Name)
	if len(candidates) == 0 {
		return prowapi.ProwJobSpec{}, nil, nil, &mkpj.NotFoundError{Name: q.Name, Suggestion: mkpj.Suggest(q.Name, mkpj.Names(c))}
	}
	job, err := mkpj.Find(candidates, q)
	if err != nil {
		return prowapi.ProwJobSpec{}, nil, nil, err
	}
	base := job.Base()
	switch {
	case job.Presubmit != nil:
		return pjutil.PresubmitSpec(*job.Presubmit, *old.Spec.Refs), base.Labels, base.Annotations, nil
	case job.Postsubmit != nil:
		return pjutil.PostsubmitSpec(*job.Postsubmit, *old.Spec.Refs), base.Labels, base.Annotations, nil
	default:
		return pjutil.PeriodicSpec(*job.Periodic), base.Labels, base.Annotations, nil
	}
}

// with returns a copy of m with k set to v; m may belong to the config.
func with(m map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(m)+1)
	for mk, mv := range m {
		out[mk] = mv
	}
	out[k] = v
	return out
}

func without(m map[string]string, drop map[string]bool) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if !drop[k] {
			out[k] = v
		}
	}
	return out
}

// RerunRequest is one rerun: which job, and how to run it again.
type RerunRequest struct {
	// Name is the ProwJob on the cluster to rerun, unless Old is set (a
	// ProwJob read from a file).
	Name string
	Old  *prowapi.ProwJob
	RerunOptions
	// JobConfig loads the config that holds job, for Latest; nil keeps
	// RerunOptions.Config.
	JobConfig func(job string) (*config.Config, error)
	// Follow says where to print and, with Wait, how long to follow.
	Follow FollowOptions
	Wait   bool
}

// Rerun runs a ProwJob again under a new name, as Deck's rerun does: it
// reads the old job from the cluster (unless r.Old is given), rebuilds it
// (with r.Latest, from the job's current config), creates the new one and,
// with r.Wait, follows it to its end. The old job is left untouched.
func Rerun(ctx context.Context, c *Client, r RerunRequest) (*prowapi.ProwJob, error) {
	old := r.Old
	if old == nil {
		if r.Name == "" {
			return nil, fmt.Errorf("rerun: no ProwJob name")
		}
		var err error
		if old, err = c.Get(ctx, r.Name); err != nil {
			return nil, err
		}
	}
	o := r.RerunOptions
	if o.Latest && r.JobConfig != nil {
		cfg, err := r.JobConfig(old.Spec.Job)
		if err != nil {
			return nil, err
		}
		o.Config = cfg
	}
	pj, err := NewRerun(old, o)
	if err != nil {
		return nil, err
	}
	return Submit(ctx, c, &pj, SubmitOptions{FollowOptions: r.Follow, Report: o.Report, Wait: r.Wait})
}
