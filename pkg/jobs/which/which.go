// Package which says which presubmits Prow would run for a pull request
// that changes some files: Prow's own decision (pjutil.FilterPresubmits
// with the filter Prow's trigger plugin uses when a pull request opens),
// and for each job the reason, down to the file and the regex.
package which

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/sirupsen/logrus"
	"sigs.k8s.io/prow/pkg/config"
	"sigs.k8s.io/prow/pkg/pjutil"
)

// Job is one presubmit and what Prow would do with it.
type Job struct {
	Name string `json:"name"`
	// Runs is Prow's decision for a pull request opened with the changes.
	Runs bool `json:"runs"`
	// Optional jobs run but do not block merging.
	Optional bool   `json:"optional,omitempty"`
	Reason   string `json:"reason"`
}

// Result is the verdict for one repository and branch.
type Result struct {
	Repo    string   `json:"repo"`
	Branch  string   `json:"branch"`
	Changed []string `json:"changed"`
	Jobs    []Job    `json:"jobs"`
}

// Evaluate decides, for each presubmit of repo (org/repo), whether a pull
// request against branch changing the files changed would run it.
func Evaluate(c *config.Config, repo, branch string, changed []string) (*Result, error) {
	presubmits := c.PresubmitsStatic[repo]
	if len(presubmits) == 0 {
		return nil, fmt.Errorf("no presubmits for %s (repositories with presubmits: %s)", repo, strings.Join(Repos(c), ", "))
	}
	changes := func() ([]string, error) { return changed, nil }
	logger := logrus.New()
	logger.Out = io.Discard
	runs, err := pjutil.FilterPresubmits(pjutil.NewTestAllFilter(), changes, branch, presubmits, logger)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", repo, err)
	}
	run := map[string]bool{}
	for _, p := range runs {
		run[p.Name] = true
	}
	res := &Result{Repo: repo, Branch: branch, Changed: changed}
	for _, p := range presubmits {
		res.Jobs = append(res.Jobs, Job{Name: p.Name, Runs: run[p.Name], Optional: p.Optional, Reason: reason(p, branch, changed, run[p.Name])})
	}
	sort.Slice(res.Jobs, func(i, j int) bool {
		if res.Jobs[i].Runs != res.Jobs[j].Runs {
			return res.Jobs[i].Runs
		}
		return res.Jobs[i].Name < res.Jobs[j].Name
	})
	return res, nil
}

// Repos lists the repositories that have presubmits.
func Repos(c *config.Config) []string {
	var repos []string
	for r, ps := range c.PresubmitsStatic {
		if len(ps) > 0 {
			repos = append(repos, r)
		}
	}
	sort.Strings(repos)
	return repos
}

// reason explains the decision with the same rules, in the order Prow
// applies them: branches, always_run, then the change matcher.
func reason(p config.Presubmit, branch string, changed []string, runs bool) string {
	if !p.CouldRun(branch) {
		return fmt.Sprintf("not on branch %s (%s)", branch, branchRules(p.Brancher))
	}
	if p.AlwaysRun {
		return "always_run"
	}
	switch {
	case p.RunIfChanged != "":
		if f := triggering(p, changed); f != "" {
			return fmt.Sprintf("run_if_changed '%s' matches %s", p.RunIfChanged, f)
		}
		return fmt.Sprintf("run_if_changed '%s' matches no changed file", p.RunIfChanged)
	case p.SkipIfOnlyChanged != "":
		if f := triggering(p, changed); f != "" {
			return fmt.Sprintf("skip_if_only_changed '%s' does not match %s", p.SkipIfOnlyChanged, f)
		}
		if len(changed) == 0 {
			return fmt.Sprintf("skip_if_only_changed '%s': no changed files", p.SkipIfOnlyChanged)
		}
		return fmt.Sprintf("skip_if_only_changed '%s' matches every changed file", p.SkipIfOnlyChanged)
	}
	if runs {
		return "runs"
	}
	return "runs only when asked for (" + trigger(p) + "): no always_run, run_if_changed or skip_if_only_changed"
}

// triggering is the first changed file that alone would run p, by Prow's
// own matcher (for run_if_changed it matches, for skip_if_only_changed it
// does not); "" for none.
func triggering(p config.Presubmit, files []string) string {
	for _, f := range files {
		if p.RunsAgainstChanges([]string{f}) {
			return f
		}
	}
	return ""
}

func branchRules(b config.Brancher) string {
	var parts []string
	if len(b.Branches) > 0 {
		parts = append(parts, "branches: "+strings.Join(b.Branches, ", "))
	}
	if len(b.SkipBranches) > 0 {
		parts = append(parts, "skip_branches: "+strings.Join(b.SkipBranches, ", "))
	}
	return strings.Join(parts, "; ")
}

func trigger(p config.Presubmit) string {
	if p.RerunCommand != "" {
		return p.RerunCommand
	}
	return "/test " + p.Name
}
