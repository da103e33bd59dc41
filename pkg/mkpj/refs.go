package mkpj

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Refs are the git refs a presubmit or postsubmit runs against: the base
// branch and, for presubmits, one pull request.
type Refs struct {
	BaseRef     string
	BaseSHA     string
	PullNumber  int
	PullSHA     string
	PullAuthor  string
	PullHeadRef string
}

// RefSources fill in the refs the flags left out. Each is optional; they are
// asked in order GitHub, local checkout, prompt.
type RefSources struct {
	GitHub *GitHub
	Local  *LocalRepo
	// Prompt asks the user on a terminal; nil when not interactive.
	Prompt *Prompter
}

var (
	shaRE    = regexp.MustCompile(`^([0-9a-f]{40}|[0-9a-f]{64})$`)
	authorRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\[bot\])?$`)
)

func validSHA(s string) error {
	if !shaRE.MatchString(s) {
		return fmt.Errorf("%q is not a full commit SHA (40 hex digits; `git rev-parse` prints one)", s)
	}
	return nil
}

func validRef(s string) error {
	if s == "" || strings.ContainsAny(s, " \t~^:?*[\\") || strings.Contains(s, "..") ||
		strings.HasPrefix(s, "-") || strings.HasPrefix(s, "/") || strings.HasSuffix(s, "/") ||
		strings.HasSuffix(s, ".lock") || strings.Contains(s, "@{") {
		return fmt.Errorf("%q is not a valid git branch name", s)
	}
	return nil
}

func validAuthor(s string) error {
	if !authorRE.MatchString(s) {
		return fmt.Errorf("%q is not a GitHub login", s)
	}
	return nil
}

func validNumber(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "#"))
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%q is not a pull request number", s)
	}
	return n, nil
}

// Validate checks the refs that are set; unset ones are left to Resolve.
func (r Refs) Validate() error {
	var errs []string
	check := func(flag, v string, f func(string) error) {
		if v == "" {
			return
		}
		if err := f(v); err != nil {
			errs = append(errs, fmt.Sprintf("--%s: %v", flag, err))
		}
	}
	check("base-ref", r.BaseRef, validRef)
	check("base-sha", r.BaseSHA, validSHA)
	check("pull-sha", r.PullSHA, validSHA)
	check("pull-author", r.PullAuthor, validAuthor)
	check("pull-head-ref", r.PullHeadRef, validRef)
	if r.PullNumber < 0 {
		errs = append(errs, fmt.Sprintf("--pull-number: %d is not a pull request number", r.PullNumber))
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid refs: %s", strings.Join(errs, "; "))
	}
	return nil
}

// MissingRefsError lists the flags that would supply the refs a job needs.
type MissingRefsError struct {
	Job   string
	Flags []string
}

func (e *MissingRefsError) Error() string {
	return fmt.Sprintf("job %s needs refs: set %s (or --local-repo DIR to read SHAs from a checkout, --github-token-path to read them from GitHub)",
		e.Job, strings.Join(e.Flags, ", "))
}

// Resolve fills in the refs that job needs and in lacks, from src. Like
// Prow's mkpj it reads a pull request's author and SHAs, and the base SHA of
// a branch, from GitHub; it can also read them from a local checkout, and it
// prompts on a terminal. Without a terminal, missing refs are one error
// naming the flags that would supply them.
func Resolve(ctx context.Context, job, org, repo string, presubmit bool, in Refs, src RefSources) (Refs, error) {
	if err := in.Validate(); err != nil {
		return Refs{}, err
	}
	r := in
	var err error
	if presubmit && r.PullNumber == 0 && src.Prompt != nil {
		if r.PullNumber, err = src.Prompt.Number("PR Number"); err != nil {
			return Refs{}, err
		}
	}
	if presubmit && r.PullNumber != 0 && src.GitHub != nil && (r.PullAuthor == "" || r.PullSHA == "" || r.BaseRef == "" || r.BaseSHA == "") {
		pr, err := src.GitHub.PullRequest(ctx, org, repo, r.PullNumber)
		if err != nil {
			return Refs{}, err
		}
		fill(&r.PullAuthor, pr.User.Login)
		fill(&r.PullSHA, pr.Head.SHA)
		fill(&r.BaseRef, pr.Base.Ref)
		fill(&r.BaseSHA, pr.Base.SHA)
	}
	if src.Local != nil {
		if err := src.Local.fill(ctx, &r, presubmit); err != nil {
			return Refs{}, err
		}
	}
	if r.BaseRef == "" && src.Prompt != nil {
		if r.BaseRef, err = src.Prompt.Ask("Base ref (e.g. main)", validRef); err != nil {
			return Refs{}, err
		}
	}
	if r.BaseRef != "" && r.BaseSHA == "" && src.GitHub != nil {
		if r.BaseSHA, err = src.GitHub.BranchSHA(ctx, org, repo, r.BaseRef); err != nil {
			return Refs{}, err
		}
	}
	if r.BaseRef != "" && r.BaseSHA == "" && src.Local != nil {
		if r.BaseSHA, err = src.Local.BranchSHA(ctx, r.BaseRef); err != nil {
			return Refs{}, err
		}
	}
	if src.Prompt != nil {
		for _, p := range []struct {
			v     *string
			label string
			valid func(string) error
			want  bool
		}{
			{&r.BaseSHA, "Base SHA", validSHA, true},
			{&r.PullSHA, "PR head SHA", validSHA, presubmit},
			{&r.PullAuthor, "PR author (GitHub login)", validAuthor, presubmit},
		} {
			if !p.want || *p.v != "" {
				continue
			}
			if *p.v, err = src.Prompt.Ask(p.label, p.valid); err != nil {
				return Refs{}, err
			}
		}
	}
	var missing []string
	if r.BaseRef == "" {
		missing = append(missing, "--base-ref")
	}
	if r.BaseSHA == "" {
		missing = append(missing, "--base-sha")
	}
	if presubmit {
		if r.PullNumber == 0 {
			missing = append(missing, "--pull-number")
		}
		if r.PullSHA == "" {
			missing = append(missing, "--pull-sha")
		}
		if r.PullAuthor == "" {
			missing = append(missing, "--pull-author")
		}
	}
	if len(missing) > 0 {
		return Refs{}, &MissingRefsError{Job: job, Flags: missing}
	}
	if err := r.Validate(); err != nil {
		return Refs{}, err
	}
	return r, nil
}

func fill(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}
