// Package rehearse runs the jobs a config change touches before it merges,
// as OpenShift's pj-rehearse does for its own configs, for any Prow config:
// each touched job (pkg/jobs/touched) becomes a rehearsal ProwJob, built as
// Prow's mkpj builds the job at the change's head, renamed so that its
// history, artifacts and status context can never be mistaken for the real
// job's, and never reporting. It is `prowctl rehearse`.
package rehearse

import (
	"context"
	"fmt"
	"strconv"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"
	"sigs.k8s.io/prow/pkg/pjutil"

	"github.com/prowctl/prowctl/pkg/jobs/touched"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

// The labels and annotations of rehearsals, and those a job carries to
// change how it is rehearsed.
const (
	// Prefix starts the job name of every rehearsal.
	Prefix = "rehearse-"
	// LabelRehearsal is "true" on every rehearsal ProwJob (and so on its
	// pod): `-l prowctl.dev/rehearsal=true` selects them all.
	LabelRehearsal = "prowctl.dev/rehearsal"
	// LabelOf names the rehearsed job (cut to a label value's 63
	// characters as Prow cuts its own job label); AnnotationOf in full.
	LabelOf      = "prowctl.dev/rehearsal-of"
	AnnotationOf = "prowctl.dev/rehearsal-of"
	// LabelOptOut "false" on a job: it is never rehearsed (a job that
	// cannot run twice at once, or needs what only production has).
	LabelOptOut = "prowctl.dev/rehearse"
	// LabelPublishes "true" on a postsubmit or periodic: it publishes
	// (pushes images, releases, writes to shared buckets), so it is
	// rehearsed only when the user allows publishing.
	LabelPublishes = "prowctl.dev/publishes"
	// DefaultLimit is how many rehearsals one run makes unless raised: a
	// preset change can touch hundreds of jobs.
	DefaultLimit = 20
)

// Options say what to rehearse and against which refs.
type Options struct {
	// Changes are the touched jobs (touched.Jobs of base and Head).
	Changes []touched.Change
	// Head is the config after the change: rehearsals run its jobs.
	Head *config.Config
	// Refs are what presubmits run against (a pull request) and
	// postsubmits against (its base); Sources fill in what they lack.
	Refs    mkpj.Refs
	Sources mkpj.RefSources
	// Limit refuses a plan of more rehearsals; 0 means DefaultLimit.
	Limit int
	// AllowPublishing rehearses jobs labelled LabelPublishes too.
	AllowPublishing bool
}

// Plan is what a rehearsal run does.
type Plan struct {
	// Rehearsals are the ProwJobs to create, one per touched job that can
	// be rehearsed, in the order of the changes.
	Rehearsals []Rehearsal `json:"rehearsals"`
	// Skipped are touched jobs that are not rehearsed, with why.
	Skipped []Skipped `json:"skipped"`
	// Removed are the jobs the change removes: listed, never run.
	Removed []touched.Change `json:"removed"`
}

// Rehearsal is one touched job and the ProwJob that rehearses it.
type Rehearsal struct {
	touched.Change
	ProwJob prowapi.ProwJob `json:"prowjob"`
}

// Skipped is a touched job that is not rehearsed.
type Skipped struct {
	touched.Change
	Reason string `json:"reason"`
}

// LimitError refuses a plan larger than the limit.
type LimitError struct{ N, Limit int }

func (e *LimitError) Error() string {
	return fmt.Sprintf("the change touches %d jobs to rehearse, more than the limit of %d: raise --limit to rehearse them all, or see them with --dry-run", e.N, e.Limit)
}

// ExitCode is 2: nothing ran, the command line must change.
func (e *LimitError) ExitCode() int { return 2 }

// NewPlan makes the rehearsal of every touched job that can be rehearsed.
// It creates nothing; an error means no plan (a job whose refs cannot be
// had, too many jobs).
func NewPlan(ctx context.Context, o Options) (*Plan, error) {
	p := &Plan{Rehearsals: []Rehearsal{}, Skipped: []Skipped{}, Removed: []touched.Change{}}
	for _, ch := range o.Changes {
		if ch.Status == touched.Removed {
			p.Removed = append(p.Removed, ch)
			continue
		}
		job, ok := find(o.Head, ch)
		if !ok {
			return nil, fmt.Errorf("job %s (%s %s) is touched but not in the head config", ch.Job, ch.Type, ch.Repo)
		}
		if why := skipReason(job, o.AllowPublishing); why != "" {
			p.Skipped = append(p.Skipped, Skipped{Change: ch, Reason: why})
			continue
		}
		pj, err := prowJob(ctx, o, job)
		if err != nil {
			return nil, err
		}
		p.Rehearsals = append(p.Rehearsals, Rehearsal{Change: ch, ProwJob: pj})
	}
	limit := o.Limit
	if limit == 0 {
		limit = DefaultLimit
	}
	if len(p.Rehearsals) > limit {
		return p, &LimitError{N: len(p.Rehearsals), Limit: limit}
	}
	return p, nil
}

// skipReason says why job is not rehearsed, "" when it is.
func skipReason(job mkpj.Job, allowPublishing bool) string {
	labels := job.Base().Labels
	if labels[LabelOptOut] == "false" {
		return fmt.Sprintf("opted out: labelled %s: \"false\"", LabelOptOut)
	}
	if job.Presubmit == nil && labels[LabelPublishes] == "true" && !allowPublishing {
		return fmt.Sprintf("publishes (labelled %s: \"true\"): rehearse it with --allow-publishing", LabelPublishes)
	}
	return ""
}

// find is the job of c that ch names.
func find(c *config.Config, ch touched.Change) (mkpj.Job, bool) {
	switch prowapi.ProwJobType(ch.Type) {
	case prowapi.PresubmitJob:
		ps := c.PresubmitsStatic[ch.Repo]
		for i := range ps {
			if ps[i].Name == ch.Job {
				return mkpj.Job{Repo: ch.Repo, Presubmit: &ps[i]}, true
			}
		}
	case prowapi.PostsubmitJob:
		ps := c.PostsubmitsStatic[ch.Repo]
		for i := range ps {
			if ps[i].Name == ch.Job {
				return mkpj.Job{Repo: ch.Repo, Postsubmit: &ps[i]}, true
			}
		}
	case prowapi.PeriodicJob:
		for i := range c.Periodics {
			if c.Periodics[i].Name == ch.Job {
				return mkpj.Job{Periodic: &c.Periodics[i]}, true
			}
		}
	}
	return mkpj.Job{}, false
}

// Name is the job name of the rehearsal of job: the pull request's number
// in it when there is one, as pj-rehearse names them, so that two pull
// requests' rehearsals keep apart histories.
func Name(job string, pull int) string {
	if pull > 0 {
		return Prefix + strconv.Itoa(pull) + "-" + job
	}
	return Prefix + job
}

// prowJob builds the rehearsal of job: the spec mkpj builds (a
// presubmit's with the pull request, a postsubmit's with its base, a
// periodic's with its own extra_refs) under the rehearsal's name and
// context, not reporting, labelled.
func prowJob(ctx context.Context, o Options, job mkpj.Job) (prowapi.ProwJob, error) {
	base := job.Base()
	in := o.Refs
	if job.Presubmit == nil {
		// A postsubmit runs against the base alone.
		in.PullNumber, in.PullSHA, in.PullAuthor, in.PullHeadRef = 0, "", "", ""
	}
	spec, err := mkpj.Spec(ctx, job, in, o.Sources)
	if err != nil {
		return prowapi.ProwJob{}, fmt.Errorf("rehearse %s: %w", base.Name, err)
	}
	pull := 0
	if spec.Refs != nil && len(spec.Refs.Pulls) > 0 {
		pull = spec.Refs.Pulls[0].Number
	}
	spec.Job = Name(base.Name, pull)
	// The status context can never be the real job's, even if a
	// reporter ignored report: false.
	spec.Context = "rehearse/" + base.Name
	spec.Report = false
	spec.ReporterConfig = nil
	labels := map[string]string{LabelRehearsal: "true", LabelOf: prowjob.LabelValue(base.Name)}
	for k, v := range base.Labels {
		labels[k] = v
	}
	annotations := map[string]string{AnnotationOf: base.Name}
	for k, v := range base.Annotations {
		annotations[k] = v
	}
	return pjutil.NewProwJob(spec, labels, annotations, pjutil.RequireScheduling(o.Head.Scheduler.Enabled)), nil
}
