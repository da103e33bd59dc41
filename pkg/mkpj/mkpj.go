// Package mkpj builds the ProwJob Prow would run for a job of the config,
// as Prow's own mkpj does, with a deterministic job lookup and refs read from
// flags, GitHub, a local checkout or a prompt.
package mkpj

import (
	"context"
	"errors"
	"fmt"
	"io"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"
	"sigs.k8s.io/prow/pkg/pjutil"

	"github.com/prowctl/prowctl/pkg/printer"
)

// Options say which job to build and where its config lives.
type Options struct {
	ConfigPath    string
	JobConfigPath string
	Query         Query
	Refs          Refs
	Sources       RefSources
}

// Result is a built ProwJob and what it was built from.
type Result struct {
	ProwJob prowapi.ProwJob
	Job     Job
	Config  *config.Config
	// Warnings are one line each, for standard error: what Prow's mkpj
	// accepts silently but a user likely did not mean.
	Warnings []string
}

// Build loads the part of the config job needs and makes its ProwJob.
func Build(ctx context.Context, o Options) (*Result, error) {
	if o.Query.Name == "" {
		return nil, fmt.Errorf("no job name: set --job")
	}
	if err := o.Refs.Validate(); err != nil {
		return nil, err
	}
	c, complete, err := LoadForJob(o.ConfigPath, o.JobConfigPath, o.Query.Name)
	if err != nil {
		return nil, err
	}
	candidates := Matches(c, o.Query.Name)
	if !complete || len(candidates) == 0 {
		// The fast path found nothing: load everything, both to be sure and
		// to suggest a name.
		if c, err = LoadAll(o.ConfigPath, o.JobConfigPath); err != nil {
			return nil, err
		}
		candidates = Matches(c, o.Query.Name)
		if len(candidates) == 0 {
			return nil, &NotFoundError{Name: o.Query.Name, Suggestion: Suggest(o.Query.Name, Names(c))}
		}
	}
	job, err := Find(candidates, o.Query)
	var be *BranchError
	if errors.As(err, &be) && len(be.Jobs) == 1 {
		// Prow's mkpj makes the ProwJob of a job whatever its branches
		// say; so do we, once the base ref no longer picks among several.
		job, err = be.Jobs[0], nil
	}
	if err != nil {
		return nil, err
	}
	pj, err := NewProwJob(ctx, c, job, o.Refs, o.Sources)
	if err != nil {
		return nil, err
	}
	res := &Result{ProwJob: pj, Job: job, Config: c}
	if r := pj.Spec.Refs; r != nil && job.Periodic == nil && !job.CouldRun(r.BaseRef) {
		res.Warnings = append(res.Warnings, fmt.Sprintf("job %s does not run on branch %s (it is the %s): Prow would not trigger it there; built anyway, as Prow's mkpj does", job.Base().Name, r.BaseRef, job))
	}
	return res, nil
}

// NewProwJob makes the ProwJob for job with refs completed from src, as
// Prow's mkpj does: pjutil's spec for the job type, the job's labels and
// annotations, and the scheduling state when the config enables scheduling.
func NewProwJob(ctx context.Context, c *config.Config, job Job, in Refs, src RefSources) (prowapi.ProwJob, error) {
	spec, err := Spec(ctx, job, in, src)
	if err != nil {
		return prowapi.ProwJob{}, err
	}
	base := job.Base()
	return pjutil.NewProwJob(spec, base.Labels, base.Annotations, pjutil.RequireScheduling(c.Scheduler.Enabled)), nil
}

// Spec makes the ProwJobSpec of job with refs completed from src.
func Spec(ctx context.Context, job Job, in Refs, src RefSources) (prowapi.ProwJobSpec, error) {
	if job.Periodic != nil {
		return pjutil.PeriodicSpec(*job.Periodic), nil
	}
	org, repo, err := config.SplitRepoName(job.Repo)
	if err != nil {
		return prowapi.ProwJobSpec{}, fmt.Errorf("job %s: %w", job.Base().Name, err)
	}
	r, err := Resolve(ctx, job.Base().Name, org, repo, job.Presubmit != nil, in, src)
	if err != nil {
		return prowapi.ProwJobSpec{}, err
	}
	refs := prowapi.Refs{Org: org, Repo: repo, BaseRef: r.BaseRef, BaseSHA: r.BaseSHA}
	if job.Presubmit != nil {
		refs.Pulls = []prowapi.Pull{{Author: r.PullAuthor, Number: r.PullNumber, SHA: r.PullSHA, HeadRef: r.PullHeadRef}}
		return pjutil.PresubmitSpec(*job.Presubmit, refs), nil
	}
	return pjutil.PostsubmitSpec(*job.Postsubmit, refs), nil
}

// Print writes pj as "yaml" (what Prow's mkpj prints; the default) or
// "json", as every prowctl command prints objects.
func Print(w io.Writer, pj *prowapi.ProwJob, format string) error {
	if format == "" {
		format = "yaml"
	}
	if err := printer.Print(w, pj, format); err != nil {
		return fmt.Errorf("print ProwJob: %w", err)
	}
	return nil
}
