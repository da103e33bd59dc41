package mkpj

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/suggest"
)

// Job is one job of the config that a name may refer to.
type Job struct {
	Type prowapi.ProwJobType
	// Repo is "org/repo" for presubmits and postsubmits, empty for periodics.
	Repo       string
	Presubmit  *config.Presubmit
	Postsubmit *config.Postsubmit
	Periodic   *config.Periodic
}

// Base returns the fields all job types share.
func (j Job) Base() config.JobBase {
	switch {
	case j.Presubmit != nil:
		return j.Presubmit.JobBase
	case j.Postsubmit != nil:
		return j.Postsubmit.JobBase
	default:
		return j.Periodic.JobBase
	}
}

// CouldRun says whether the job runs against branch; periodics always do.
func (j Job) CouldRun(branch string) bool {
	switch {
	case j.Presubmit != nil:
		return j.Presubmit.CouldRun(branch)
	case j.Postsubmit != nil:
		return j.Postsubmit.CouldRun(branch)
	default:
		return true
	}
}

func (j Job) String() string {
	where := j.Base().SourcePath
	if where == "" {
		where = "the Prow config"
	}
	s := string(j.Type)
	if j.Repo != "" {
		s += " of " + j.Repo
	}
	if b := branchesOf(j); b != "" {
		s += " (" + b + ")"
	}
	return s + " in " + where
}

func branchesOf(j Job) string {
	var br config.Brancher
	switch {
	case j.Presubmit != nil:
		br = j.Presubmit.Brancher
	case j.Postsubmit != nil:
		br = j.Postsubmit.Brancher
	default:
		return ""
	}
	var parts []string
	if len(br.Branches) > 0 {
		parts = append(parts, "branches "+strings.Join(br.Branches, ", "))
	}
	if len(br.SkipBranches) > 0 {
		parts = append(parts, "skip_branches "+strings.Join(br.SkipBranches, ", "))
	}
	return strings.Join(parts, "; ")
}

// Query selects a job by name and, when the name alone is ambiguous, by repo,
// type and base branch.
type Query struct {
	Name string
	// Repo is "org/repo"; empty matches any repo.
	Repo string
	// Type is presubmit, postsubmit or periodic; empty matches any type.
	Type prowapi.ProwJobType
	// BaseRef, when set, drops jobs whose branch filters exclude it.
	BaseRef string
}

// Matches lists every job of c called q.Name in a stable order: presubmits
// and postsubmits by repo, then periodics, each in config file order.
func Matches(c *config.Config, name string) []Job {
	var out []Job
	for _, repo := range slices.Sorted(maps.Keys(c.PresubmitsStatic)) {
		for i := range c.PresubmitsStatic[repo] {
			if p := &c.PresubmitsStatic[repo][i]; p.Name == name {
				out = append(out, Job{Type: prowapi.PresubmitJob, Repo: repo, Presubmit: p})
			}
		}
	}
	for _, repo := range slices.Sorted(maps.Keys(c.PostsubmitsStatic)) {
		for i := range c.PostsubmitsStatic[repo] {
			if p := &c.PostsubmitsStatic[repo][i]; p.Name == name {
				out = append(out, Job{Type: prowapi.PostsubmitJob, Repo: repo, Postsubmit: p})
			}
		}
	}
	for i := range c.Periodics {
		if p := &c.Periodics[i]; p.Name == name {
			out = append(out, Job{Type: prowapi.PeriodicJob, Periodic: p})
		}
	}
	return out
}

// Names lists the names of every job of c, sorted and unique.
func Names(c *config.Config) []string {
	set := map[string]bool{}
	for _, jobs := range c.PresubmitsStatic {
		for _, j := range jobs {
			set[j.Name] = true
		}
	}
	for _, jobs := range c.PostsubmitsStatic {
		for _, j := range jobs {
			set[j.Name] = true
		}
	}
	for _, j := range c.Periodics {
		set[j.Name] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// NotFoundError says no job has the name asked for.
type NotFoundError struct {
	Name string
	// Suggestion is the closest job name, if any is close.
	Suggestion string
}

func (e *NotFoundError) Error() string {
	if e.Suggestion != "" {
		return fmt.Sprintf("no job %s; did you mean %s?", e.Name, e.Suggestion)
	}
	return fmt.Sprintf("no job %s in the job config", e.Name)
}

// BranchError says no job of the name runs on the base ref asked for.
type BranchError struct {
	Name, BaseRef string
	// Jobs are the jobs of the name, repo and type asked for.
	Jobs []Job
}

func (e *BranchError) Error() string {
	return fmt.Sprintf("job %s does not run on branch %s: it is the %s", e.Name, e.BaseRef, listJobs(e.Jobs))
}

// Find returns the one job q selects among candidates (the Matches of
// q.Name), or an error that says which flag picks one.
func Find(candidates []Job, q Query) (Job, error) {
	if len(candidates) == 0 {
		return Job{}, &NotFoundError{Name: q.Name}
	}
	var jobs []Job
	for _, j := range candidates {
		if q.Repo != "" && j.Repo != q.Repo {
			continue
		}
		if q.Type != "" && j.Type != q.Type {
			continue
		}
		jobs = append(jobs, j)
	}
	if len(jobs) == 0 {
		return Job{}, fmt.Errorf("job %s is not a %s: it is the %s", q.Name, describeQuery(q), listJobs(candidates))
	}
	filtered := jobs
	if q.BaseRef != "" {
		filtered = nil
		for _, j := range jobs {
			if j.CouldRun(q.BaseRef) {
				filtered = append(filtered, j)
			}
		}
		if len(filtered) == 0 {
			return Job{}, &BranchError{Name: q.Name, BaseRef: q.BaseRef, Jobs: jobs}
		}
	}
	if len(filtered) == 1 {
		return filtered[0], nil
	}
	repos, types := map[string]bool{}, map[prowapi.ProwJobType]bool{}
	for _, j := range filtered {
		repos[j.Repo] = true
		types[j.Type] = true
	}
	switch {
	case len(repos) > 1:
		return Job{}, fmt.Errorf("job %s is in %d repos: set --repo to one of %s (%s)", q.Name, len(repos), strings.Join(slices.Sorted(maps.Keys(repos)), ", "), listJobs(filtered))
	case len(types) > 1:
		return Job{}, fmt.Errorf("job %s has %d types: set --type (%s)", q.Name, len(types), listJobs(filtered))
	case q.BaseRef == "":
		return Job{}, fmt.Errorf("job %s has one config per branch: set --base-ref (%s)", q.Name, listJobs(filtered))
	default:
		return Job{}, fmt.Errorf("job %s is configured %d times for branch %s (%s)", q.Name, len(filtered), q.BaseRef, listJobs(filtered))
	}
}

func describeQuery(q Query) string {
	var parts []string
	if q.Type != "" {
		parts = append(parts, string(q.Type))
	} else {
		parts = append(parts, "job")
	}
	if q.Repo != "" {
		parts = append(parts, "of "+q.Repo)
	}
	return strings.Join(parts, " ")
}

func listJobs(jobs []Job) string {
	s := make([]string, len(jobs))
	for i, j := range jobs {
		s[i] = j.String()
	}
	return strings.Join(s, "; ")
}

// Suggest returns the name in names closest to name, or "" when none is
// close enough to be a likely typo. A name that contains the one asked for
// (a missing suffix, say) wins over edit distance.
func Suggest(name string, names []string) string {
	best := ""
	for _, n := range names {
		if strings.Contains(n, name) && (best == "" || len(n) < len(best)) {
			best = n
		}
	}
	if best != "" {
		return best
	}
	bestD := -1
	for _, n := range names {
		if d := suggest.Distance(name, n); bestD < 0 || d < bestD {
			best, bestD = n, d
		}
	}
	if bestD < 0 || bestD > max(2, len(name)/3) {
		return ""
	}
	return best
}
