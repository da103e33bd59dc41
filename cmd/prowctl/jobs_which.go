package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobs/which"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/printer"
	"github.com/prowctl/prowctl/pkg/process"
)

// JobsWhichOptions are the inputs of `prowctl jobs which`.
type JobsWhichOptions struct {
	IO *iostreams.IOStreams

	ConfigPath    string
	JobConfigPath string
	Repo          string
	Branch        string
	Changed       []string
	Base          string
	RepoDir       string
	Output        string
	Runner        process.Runner
}

func newCmdJobsWhich(streams *iostreams.IOStreams, runF func(context.Context, *JobsWhichOptions) error) *cobra.Command {
	o := &JobsWhichOptions{IO: streams, Runner: process.Exec{}}
	if runF == nil {
		runF = jobsWhichRun
	}
	cmd := &cobra.Command{
		Use:   "which (--changed FILE... | --base REF) [--repo ORG/REPO] [--branch B]",
		Short: "List the presubmits a pull request changing these files would run, and why",
		Long: `which evaluates the presubmits of a repository as Prow's trigger does when a pull
request opens (Prow's own code: branches, always_run, run_if_changed,
skip_if_only_changed), for the files given with --changed or the files the
checkout in --repo-dir changed since it forked from --base (committed,
uncommitted and new), and says for each job why it runs or not: which file
matched which regex. Optional jobs run but do not block a merge. Jobs that run
only when asked for (/test) are listed as not running.`,
		Example: `  prowctl jobs which --changed docs/README.md,config/e2e.yaml
  prowctl jobs which --base origin/master --repo tensorflow/k8s -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if (len(o.Changed) == 0) == (o.Base == "") {
				return usageErrorf("give the changed files with --changed FILE,... or a --base REF to diff against, not both (see %s --help)", cmd.CommandPath())
			}
			if err := checkTextOutput(o.Output); err != nil {
				return err
			}
			return runF(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.ConfigPath, "config-path", pjDefaultConfigPath, "Prow config file")
	fs.StringVar(&o.JobConfigPath, "job-config-path", pjDefaultJobConfigPath, "job config file or directory")
	fs.StringVar(&o.Repo, "repo", "", "org/repo of the pull request (default: the only repository with presubmits)")
	fs.StringVar(&o.Branch, "branch", "", "the pull request's base branch (default: the first branch the repository's presubmits name, else main)")
	fs.StringSliceVar(&o.Changed, "changed", nil, "changed files, relative to the repository's root (comma-separated or repeated)")
	fs.StringVar(&o.Base, "base", "", "a git ref: the changed files are those the checkout changed since it forked from it")
	fs.StringVar(&o.RepoDir, "repo-dir", ".", "the checkout --base diffs")
	fs.StringVarP(&o.Output, "output", "o", "text", "text, yaml or json")
	markPaths(cmd, "config-path", "job-config-path", "repo-dir")
	return cmd
}

func jobsWhichRun(ctx context.Context, o *JobsWhichOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	c, err := mkpj.LoadAll(o.ConfigPath, o.JobConfigPath)
	if err != nil {
		return err
	}
	repo := o.Repo
	if repo == "" {
		repos := which.Repos(c)
		if len(repos) != 1 {
			return usageErrorf("--repo: %d repositories have presubmits (%s): say which", len(repos), strings.Join(repos, ", "))
		}
		repo = repos[0]
	}
	branch := o.Branch
	if branch == "" {
		branch = defaultBranch(c.PresubmitsStatic[repo])
	}
	changed := o.Changed
	if o.Base != "" {
		if changed, err = changedSince(ctx, o.Runner, o.RepoDir, o.Base); err != nil {
			return err
		}
	}
	res, err := which.Evaluate(c, repo, branch, changed)
	if err != nil {
		return err
	}
	if o.Output != "text" {
		return printer.Print(o.IO.Out, res, o.Output)
	}
	runs := 0
	for _, j := range res.Jobs {
		if j.Runs {
			runs++
		}
	}
	fmt.Fprintf(o.IO.Out, "%s@%s, %d changed file(s): %d of %d presubmits run\n", res.Repo, res.Branch, len(res.Changed), runs, len(res.Jobs))
	w := tabwriter.NewWriter(o.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "RUNS\tJOB\tWHY")
	for _, j := range res.Jobs {
		yes := "no"
		if j.Runs {
			yes = "yes"
			if j.Optional {
				yes = "yes (optional)"
			}
		}
		fmt.Fprintf(w, "%s\t%s\t%s\n", yes, j.Name, j.Reason)
	}
	return w.Flush()
}

// defaultBranch is the first branch the presubmits name, else main.
func defaultBranch(ps []config.Presubmit) string {
	var names []string
	for _, p := range ps {
		names = append(names, p.Branches...)
	}
	sort.Strings(names)
	for _, n := range names {
		if !strings.ContainsAny(n, `^$*+?()[]{}|\`) {
			return n
		}
	}
	return "main"
}

// changedSince lists the files the checkout in dir changed since it forked
// from base: committed, uncommitted and untracked.
func changedSince(ctx context.Context, runner process.Runner, dir, base string) ([]string, error) {
	git := func(args ...string) (string, error) { return gitOutput(ctx, runner, dir, args...) }
	fork, err := git("merge-base", base, "HEAD")
	if err != nil {
		// %v: git's exit code is not this command's.
		return nil, fmt.Errorf("--base %s: %v", base, err)
	}
	// NUL-separated, root-relative: names with spaces or non-ASCII
	// letters as they are, from any directory of the checkout.
	diff, err := git("diff", "--name-only", "-z", strings.TrimSpace(fork))
	if err != nil {
		return nil, fmt.Errorf("--base %s: %v", base, err)
	}
	untracked, err := git("ls-files", "--others", "--exclude-standard", "--full-name", "-z")
	if err != nil {
		return nil, fmt.Errorf("--repo-dir %s: %v", dir, err)
	}
	seen := map[string]bool{}
	var files []string
	for _, f := range strings.Split(diff+"\x00"+untracked, "\x00") {
		if f != "" && !seen[f] {
			seen[f] = true
			files = append(files, f)
		}
	}
	sort.Strings(files)
	return files, nil
}

// gitOutput runs git in the checkout dir and returns its output.
func gitOutput(ctx context.Context, runner process.Runner, dir string, args ...string) (string, error) {
	return process.Output(ctx, runner, process.Cmd{Name: "git", Args: append([]string{"-C", dir}, args...)})
}
