package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobsecret"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

// MkpjOptions are the flags of `prowctl mkpj`.
type MkpjOptions struct {
	IO *iostreams.IOStreams

	JobConfigPath string
	Job           string
	jobFlags

	GitHubTokenPath string
	GitHubEndpoint  string
	LocalRepo       string
	secretFlags

	Output string
	Create bool
	pjWaitFlags
	Cluster pjClusterFlags
}

func newCmdMkpj(f *Factory, runF func(context.Context, *MkpjOptions) error) *cobra.Command {
	o := &MkpjOptions{IO: f.IO}
	if runF == nil {
		runF = runMkpj
	}
	cmd := &cobra.Command{
		Use:   "mkpj --job NAME [--repo ORG/REPO] [refs flags] [-o yaml|json] [--create [--wait]]",
		Short: "Make the ProwJob Prow would run for a job, and optionally run it",
		Long: `mkpj prints the ProwJob Prow's mkpj makes for a job of the config: the same
spec, labels, annotations and initial state, built with Prow's own code.

Unlike Prow's mkpj, a job name found in several repos, types or per-branch
configs is an error that names the flag (--repo, --type, --base-ref) that picks
one, and branch filters apply. Refs come from the flags, then GitHub
(--github-token-path or --github-endpoint), then a local checkout
(--local-repo: its HEAD is the pull request's head, origin/<base-ref> the base),
then prompts on a terminal. Without a terminal, missing refs are one error
naming the flags that supply them.

With --create the job is created on the cluster (spec.report false unless
--report, so it posts nothing to a real pull request); --wait follows it to its
end.`,
		Example: `  prowctl mkpj --job tf-k8s-presubmit --base-ref master --pull-number 12 --local-repo ~/src/tf-k8s --pull-author alice
  prowctl mkpj --job tf-k8s-periodic --create --wait
  prowctl mkpj --job tf-k8s-postsubmit --base-ref master --base-sha $(git rev-parse origin/master) -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runF(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.Job, "job", "", "name of the job (required)")
	fs.StringVar(&o.JobConfigPath, "job-config-path", pjDefaultJobConfigPath, "job config file or directory")
	o.jobFlags.add(fs)
	fs.StringVar(&o.GitHubTokenPath, "github-token-path", "", "file holding a GitHub token, to read refs from GitHub")
	fs.StringVar(&o.GitHubEndpoint, "github-endpoint", "", "GitHub API endpoint to read refs from (default "+mkpj.DefaultGitHubEndpoint+" when --github-token-path is set)")
	fs.StringVar(&o.LocalRepo, "local-repo", "", "checkout of the job's repo to read base and pull SHAs from with git")
	o.secretFlags.add(fs)
	fs.StringVarP(&o.Output, "output", "o", "yaml", "output format: yaml or json")
	fs.BoolVar(&o.Create, "create", false, "create the ProwJob on the cluster instead of printing it")
	o.pjWaitFlags.add(fs)
	o.Cluster.add(cmd, f)
	markPaths(cmd, "job-config-path", "github-token-path", "local-repo", "secret-file")
	_ = cmd.MarkFlagRequired("job")
	_ = cmd.RegisterFlagCompletionFunc("job", func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		c, err := mkpj.LoadAll(o.Cluster.ConfigPath, o.JobConfigPath)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		return withPrefix(mkpj.Names(c), toComplete), cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("repo", func(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		c, err := mkpj.LoadAll(o.Cluster.ConfigPath, o.JobConfigPath)
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		set := map[string]bool{}
		for r := range c.PresubmitsStatic {
			set[r] = true
		}
		for r := range c.PostsubmitsStatic {
			set[r] = true
		}
		var repos []string
		for r := range set {
			repos = append(repos, r)
		}
		sort.Strings(repos)
		return withPrefix(repos, toComplete), cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("type", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"presubmit", "postsubmit", "periodic"}, cobra.ShellCompDirectiveNoFileComp
	})
	_ = cmd.RegisterFlagCompletionFunc("output", pjCompleteOutput)
	return cmd
}

func withPrefix(names []string, prefix string) []string {
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix) {
			out = append(out, n)
		}
	}
	return out
}

func (o *MkpjOptions) sources() (mkpj.RefSources, error) {
	var src mkpj.RefSources
	if o.GitHubTokenPath != "" || o.GitHubEndpoint != "" {
		src.GitHub = &mkpj.GitHub{Endpoint: o.GitHubEndpoint}
		if o.GitHubTokenPath != "" {
			b, err := os.ReadFile(o.GitHubTokenPath)
			if err != nil {
				return src, fmt.Errorf("--github-token-path: %w", err)
			}
			if src.GitHub.Token = strings.TrimSpace(string(b)); src.GitHub.Token == "" {
				return src, fmt.Errorf("--github-token-path %s: empty file", o.GitHubTokenPath)
			}
		}
	}
	if o.LocalRepo != "" {
		src.Local = &mkpj.LocalRepo{Dir: o.LocalRepo}
	}
	if o.IO.InTTY {
		// Prompts go to standard error so the ProwJob alone reaches
		// standard output.
		src.Prompt = mkpj.NewPrompter(o.IO.In, o.IO.ErrOut)
	}
	return src, nil
}

func runMkpj(ctx context.Context, o *MkpjOptions) error {
	if err := pjCheckOutput(o.Output); err != nil {
		return err
	}
	if o.Wait && !o.Create {
		return usageErrorf("--wait needs --create")
	}
	if (len(o.Secrets) > 0 || len(o.SecretFiles) > 0) && !o.Create {
		return usageErrorf("--secret and --secret-file need --create")
	}
	query, err := o.query(o.Job)
	if err != nil {
		return err
	}
	src, err := o.sources()
	if err != nil {
		return err
	}
	res, err := mkpj.Build(ctx, mkpj.Options{
		ConfigPath:    o.Cluster.ConfigPath,
		JobConfigPath: o.JobConfigPath,
		Query:         query,
		Refs:          o.Refs,
		Sources:       src,
	})
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(o.IO.ErrOut, "prowctl: warning: %s\n", w)
	}
	if !o.Create {
		return mkpj.Print(o.IO.Out, &res.ProwJob, o.Output)
	}
	secrets, flush, err := o.secretFlags.load(o.IO)
	if err != nil {
		return err
	}
	defer flush()
	c, err := o.Cluster.connect(ctx, res.Config, 0)
	if err != nil {
		return err
	}
	// Given Secrets are checked with the rest; without any, the target
	// may be a build cluster whose Secrets this one cannot see.
	if secrets != nil {
		if err := jobsecret.Ensure(ctx, c.Kube, res.ProwJob.Spec.Namespace, "job "+res.ProwJob.Spec.Job, jobsecret.Needed(res.ProwJob.Spec.PodSpec), secrets); err != nil {
			return err
		}
	}
	_, err = prowjob.Submit(ctx, c, &res.ProwJob, prowjob.SubmitOptions{
		FollowOptions: prowjob.FollowOptions{Out: o.IO.Out, ErrOut: o.IO.ErrOut, Timeout: o.Timeout},
		Report:        o.Report,
		Wait:          o.Wait,
	})
	return err
}
