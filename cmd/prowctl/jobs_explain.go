package main

import (
	"context"

	"github.com/spf13/cobra"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobs/explain"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/printer"
)

// JobsExplainOptions are the inputs of `prowctl jobs explain`.
type JobsExplainOptions struct {
	IO *iostreams.IOStreams

	Job           string
	ConfigPath    string
	JobConfigPath string
	Repo          string
	Type          string
	BaseRef       string
	Output        string
}

// newCmdJobsExplain builds the command; runF replaces jobsExplainRun in
// tests of flag parsing.
func newCmdJobsExplain(f *Factory, runF func(context.Context, *JobsExplainOptions) error) *cobra.Command {
	o := &JobsExplainOptions{IO: f.IO}
	if runF == nil {
		runF = jobsExplainRun
	}
	cmd := &cobra.Command{
		Use:   "explain JOB [--repo ORG/REPO] [--type TYPE] [--base-ref BRANCH] [-o text|yaml|json]",
		Short: "Print the pod Prow runs for a job, with where each field comes from",
		Long: `explain prints the pod spec Prow runs for a job, built with Prow's own code:
the ProwJob pjutil makes for the job as Prow's loader resolved it (presets
applied, decoration defaults merged), turned into a pod by decorate's
ProwJobToPod (the pod utilities added). Each line ends with the source of its
field: the job's own file:line, a preset (file:line and the labels that
selected it), the entry of plank's default decoration config (or the job's own
decoration_config) it derives from, or Prow's decorate.

The refs the job is built with are placeholders; they show only in the values
of the pod utilities' environment. -o json and -o yaml list every field as
{path, value, source}.`,
		Example: `  prowctl jobs explain tf-k8s-presubmit
  prowctl jobs explain tf-k8s-periodic -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Job = args[0]
			if err := checkTextOutput(o.Output); err != nil {
				return err
			}
			switch prowapi.ProwJobType(o.Type) {
			case "", prowapi.PresubmitJob, prowapi.PostsubmitJob, prowapi.PeriodicJob:
			default:
				return usageErrorf("--type %s: use presubmit, postsubmit or periodic", o.Type)
			}
			return runF(cmd.Context(), o)
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
			if len(args) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			c, err := mkpj.LoadAll(o.ConfigPath, o.JobConfigPath)
			if err != nil {
				return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
			}
			return withPrefix(mkpj.Names(c), toComplete), cobra.ShellCompDirectiveNoFileComp
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.ConfigPath, "config-path", pjDefaultConfigPath, "Prow config file")
	fs.StringVar(&o.JobConfigPath, "job-config-path", pjDefaultJobConfigPath, "job config file or directory")
	fs.StringVar(&o.Repo, "repo", "", "ORG/REPO of the job, when its name is in several repos")
	fs.StringVar(&o.Type, "type", "", "presubmit, postsubmit or periodic, when the name has several types")
	fs.StringVar(&o.BaseRef, "base-ref", "", "the branch, when the job has one config per branch (default: the first branch the job names)")
	fs.StringVarP(&o.Output, "output", "o", "text", "text, yaml or json")
	markPaths(cmd, "config-path", "job-config-path")
	_ = cmd.RegisterFlagCompletionFunc("output", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"text", "yaml", "json"}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func jobsExplainRun(ctx context.Context, o *JobsExplainOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	res, err := explain.Explain(ctx, explain.Options{
		ConfigPath:    o.ConfigPath,
		JobConfigPath: o.JobConfigPath,
		Query:         mkpj.Query{Name: o.Job, Repo: o.Repo, Type: prowapi.ProwJobType(o.Type), BaseRef: o.BaseRef},
	})
	if err != nil {
		return err
	}
	if o.Output == "text" {
		return res.WriteText(o.IO.Out)
	}
	return printer.Print(o.IO.Out, res.Fields, o.Output)
}
