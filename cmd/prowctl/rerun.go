package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

// RerunOptions are the flags of `prowctl rerun`.
type RerunOptions struct {
	IO            *iostreams.IOStreams
	Name          string
	File          string
	Latest        bool
	Last          bool
	JobConfigPath string
	pjWaitFlags
	Cluster pjClusterFlags
}

func newCmdRerun(f *Factory, runF func(context.Context, *RerunOptions) error) *cobra.Command {
	o := &RerunOptions{IO: f.IO}
	if runF == nil {
		runF = runRerun
	}
	cmd := &cobra.Command{
		Use:   "rerun NAME | JOB --last | -f FILE [--latest] [--wait]",
		Short: "Run a ProwJob again under a new name, as Deck's rerun does",
		Long: `rerun creates a copy of a ProwJob (from the cluster, or from a file) under a new
name with a fresh status, as Deck's rerun button does: same spec, labels and
annotations, minus those of the old run's controllers. With --latest the spec
is rebuilt from the current job config with the old job's refs: the way to test
an edited job against the same commit. spec.report is false unless --report.
The old job is left untouched.

With --last the argument is a job's name and its newest ProwJob is rerun: the
same refs (a local checkout's commit on the personal cluster's git server
included) and overrides; the Secrets prowctl run --secret wrote stay in the
job's namespace, so it gets them again.`,
		Example: `  prowctl rerun 7d9903dd-8279-4a3d-99ba-5ac00bed809d --wait
  prowctl rerun tf-k8s-presubmit --last --wait
  prowctl rerun tf-k8s-presubmit --last --latest   # the same commit, the job as the config now has it`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Name = args[0]
			}
			if (o.Name == "") == (o.File == "") {
				return usageErrorf("give either a ProwJob NAME or -f FILE")
			}
			if o.Last && o.File != "" {
				return usageErrorf("--last takes a job's name, not -f")
			}
			return runF(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVarP(&o.File, "filename", "f", "", "ProwJob file to rerun instead of one from the cluster, - for standard input")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	cmd.Flags().BoolVar(&o.Last, "last", false, "NAME is a job: rerun its newest ProwJob")
	cmd.Flags().BoolVar(&o.Latest, "latest", false, "rebuild the spec from the current job config, with the old refs")
	cmd.Flags().StringVar(&o.JobConfigPath, "job-config-path", pjDefaultJobConfigPath, "job config file or directory, for --latest")
	markPaths(cmd, "job-config-path")
	o.pjWaitFlags.add(cmd.Flags())
	o.Cluster.add(cmd, f)
	cmd.ValidArgsFunction = o.Cluster.completeProwJobNames
	return cmd
}

func runRerun(ctx context.Context, o *RerunOptions) error {
	var old *prowapi.ProwJob
	if o.File != "" {
		var err error
		if old, err = readProwJob(ctx, o.IO.In, o.File); err != nil {
			return err
		}
	}
	// The Prow config gives the namespace and the scheduling setting; with
	// --latest it must exist, as the job's config is read next to it.
	var cfg *config.Config
	var err error
	if o.Latest {
		cfg, err = mkpj.LoadProwConfig(o.Cluster.ConfigPath)
	} else {
		cfg, err = o.Cluster.prowConfig()
	}
	if err != nil {
		return err
	}
	c, err := o.Cluster.connect(ctx, cfg, 0)
	if err != nil {
		return err
	}
	if o.Last {
		last, err := c.LastRun(ctx, o.Name)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.IO.ErrOut, "the last run of %s: %s (%s, created %s)\n", o.Name, last.Name, last.Status.State, last.CreationTimestamp.UTC().Format(time.RFC3339))
		o.Name = last.Name
	}
	_, err = prowjob.Rerun(ctx, c, prowjob.RerunRequest{
		Name:         o.Name,
		Old:          old,
		RerunOptions: prowjob.RerunOptions{Config: cfg, Latest: o.Latest, Report: o.Report},
		JobConfig:    func(job string) (*config.Config, error) { return loadForRerun(o, job) },
		Follow:       prowjob.FollowOptions{Out: o.IO.Out, ErrOut: o.IO.ErrOut, Timeout: o.Timeout},
		Wait:         o.Wait,
	})
	return err
}

func loadForRerun(o *RerunOptions, job string) (*config.Config, error) {
	c, complete, err := mkpj.LoadForJob(o.Cluster.ConfigPath, o.JobConfigPath, job)
	if err != nil {
		return nil, err
	}
	if !complete {
		return mkpj.LoadAll(o.Cluster.ConfigPath, o.JobConfigPath)
	}
	return c, nil
}
