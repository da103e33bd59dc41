package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobs/touched"
	"github.com/prowctl/prowctl/pkg/printer"
	"github.com/prowctl/prowctl/pkg/process"
)

// JobsDiffOptions are the inputs of `prowctl jobs diff`.
type JobsDiffOptions struct {
	IO *iostreams.IOStreams

	ConfigPath    string
	JobConfigPath string
	Base          string
	Head          string
	RepoDir       string
	Output        string
	Runner        process.Runner
}

func newCmdJobsDiff(streams *iostreams.IOStreams, runF func(context.Context, *JobsDiffOptions) error) *cobra.Command {
	o := &JobsDiffOptions{IO: streams, Runner: process.Exec{}}
	if runF == nil {
		runF = jobsDiffRun
	}
	cmd := &cobra.Command{
		Use:   "diff [--base REF] [--head REF]",
		Short: "List the jobs a config change touches, with what changed in each",
		Long: `diff loads the Prow config and job config at --base (a git ref of the checkout;
default: where HEAD forked from origin's default branch, else HEAD) and at
--head (a ref; default: the work tree, uncommitted changes included) with
Prow's own loader, reading the refs' trees from git (your work tree is left
alone), and compares the ProwJob spec Prow would build for each job (presets
applied, decoration defaults merged). A job is touched when it is new, or its
spec changed; re-indenting, reordering or moving a job between files touches
nothing, a changed preset touches every job it applies to. Removed jobs are
listed as removed. Each changed job lists its changed fields, old -> new.`,
		Example: `  prowctl jobs diff
  prowctl jobs diff --base origin/master --head HEAD -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTextOutput(o.Output); err != nil {
				return err
			}
			return runF(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.ConfigPath, "config-path", pjDefaultConfigPath, "Prow config file (a path in the checkout)")
	fs.StringVar(&o.JobConfigPath, "job-config-path", pjDefaultJobConfigPath, "job config file or directory (a path in the checkout)")
	fs.StringVar(&o.Base, "base", "", "git ref of the config before the change (default: the fork point from origin's default branch, else HEAD)")
	fs.StringVar(&o.Head, "head", "", "git ref of the config after the change (default: the work tree)")
	fs.StringVar(&o.RepoDir, "repo-dir", ".", "the checkout")
	fs.StringVarP(&o.Output, "output", "o", "text", "text, yaml or json")
	markPaths(cmd, "config-path", "job-config-path", "repo-dir")
	return cmd
}

func jobsDiffRun(ctx context.Context, o *JobsDiffOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ch, err := loadConfigChange(ctx, o.Runner, o.RepoDir, o.Base, o.Head, o.ConfigPath, o.JobConfigPath)
	if err != nil {
		return err
	}
	base, head := ch.baseName, ch.headName
	changes, err := ch.configs.Jobs(ctx)
	if err != nil {
		return err
	}
	if o.Output != "text" {
		if changes == nil {
			changes = []touched.Change{}
		}
		return printer.Print(o.IO.Out, changes, o.Output)
	}
	if len(changes) == 0 {
		fmt.Fprintf(o.IO.Out, "no job touched between %s and %s\n", base, head)
		return nil
	}
	fmt.Fprintf(o.IO.Out, "%d job(s) touched between %s and %s:\n", len(changes), base, head)
	for _, c := range changes {
		repo := c.Repo
		if repo == "" {
			repo = "-"
		}
		fmt.Fprintf(o.IO.Out, "%-8s %-10s %s %s\n", c.Status, c.Type, repo, c.Job)
		for _, f := range c.Diff {
			fmt.Fprintf(o.IO.Out, "           %s: %s -> %s\n", f.Path, orAbsent(f.Old), orAbsent(f.New))
		}
	}
	return nil
}

func orAbsent(v string) string {
	if v == "" {
		return "(absent)"
	}
	return v
}

// configChange is the config at both ends of a change.
type configChange struct {
	base, head         *config.Config
	baseName, headName string
	// configs compares them, knowing what the base took from the head.
	configs *touched.Configs
}

// loadConfigChange loads the config of the checkout in repoDir at base (a
// ref; "" for the fork point, see defaultDiffBase) and at head (a ref; ""
// for the work tree). A head config Prow refuses is a *headConfigError.
func loadConfigChange(ctx context.Context, runner process.Runner, repoDir, base, head, configPath, jobConfigPath string) (*configChange, error) {
	if base == "" {
		base = defaultDiffBase(ctx, runner, repoDir)
	}
	ch := &configChange{baseName: base, headName: "the work tree"}
	if head != "" {
		ch.headName = head
	}
	// Each load is most of the command's time; the loader runs them side
	// by side, the base taking from the head what they share.
	l := &touched.Loader{Runner: runner, RepoDir: repoDir, ConfigPath: configPath, JobConfigPath: jobConfigPath}
	cs, err := l.Configs(ctx, base, head)
	var he *touched.HeadError
	if errors.As(err, &he) {
		return nil, &headConfigError{err: he.Err, worktree: head == ""}
	}
	if err != nil {
		return nil, err
	}
	ch.base, ch.head, ch.configs = cs.Base, cs.Head, cs
	return ch, nil
}

// headConfigError is a head config Prow refuses.
type headConfigError struct {
	err      error
	worktree bool
}

func (e *headConfigError) Error() string { return e.err.Error() }
func (e *headConfigError) Unwrap() error { return e.err }

// defaultDiffBase is where HEAD forked from origin's default branch, else
// HEAD itself (the work tree's uncommitted changes).
func defaultDiffBase(ctx context.Context, runner process.Runner, dir string) string {
	git := func(args ...string) (string, error) { return gitOutput(ctx, runner, dir, args...) }
	if def, err := git("rev-parse", "--abbrev-ref", "origin/HEAD"); err == nil && def != "" {
		if fork, err := git("merge-base", def, "HEAD"); err == nil {
			return strings.TrimSpace(fork)
		}
	}
	return "HEAD"
}
