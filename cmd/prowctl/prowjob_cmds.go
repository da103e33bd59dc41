package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

// CreateOptions are the flags of `prowctl create`.
type CreateOptions struct {
	IO   *iostreams.IOStreams
	File string
	pjWaitFlags
	Cluster pjClusterFlags
}

func newCmdCreate(streams *iostreams.IOStreams, runF func(context.Context, *CreateOptions) error) *cobra.Command {
	o := &CreateOptions{IO: streams}
	if runF == nil {
		runF = runCreate
	}
	cmd := &cobra.Command{
		Use:   "create -f FILE [--wait]",
		Short: "Create a ProwJob from a file, such as what `prowctl mkpj` printed",
		Long: `create reads one ProwJob (YAML or JSON; unknown fields are errors) and creates it
on the cluster. spec.report is set to false unless --report is given. A name
that already exists is an error: ` + "`prowctl rerun -f FILE`" + ` runs the same job
under a new name.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return interruptible(cmd.Context(), o, runF) },
	}
	cmd.Flags().StringVarP(&o.File, "filename", "f", "", "ProwJob file, - for standard input (required)")
	_ = cmd.MarkFlagRequired("filename")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	o.pjWaitFlags.add(cmd.Flags())
	o.Cluster.add(cmd)
	return cmd
}

// readProwJob reads the ProwJob of -f; "-" is standard input, so mkpj's
// output can be piped in as with kubectl.
func readProwJob(streams *iostreams.IOStreams, path string) (*prowapi.ProwJob, error) {
	if path != "-" {
		return prowjob.ReadFile(path)
	}
	b, err := io.ReadAll(streams.In)
	if err != nil {
		return nil, fmt.Errorf("read standard input: %w", err)
	}
	return prowjob.Decode("standard input", b)
}

func runCreate(ctx context.Context, o *CreateOptions) error {
	pj, err := readProwJob(o.IO, o.File)
	if err != nil {
		return err
	}
	cfg, err := o.Cluster.prowConfig()
	if err != nil {
		return err
	}
	c, err := o.Cluster.connect(ctx, cfg, 0)
	if err != nil {
		return err
	}
	_, err = prowjob.Submit(ctx, c, pj, prowjob.SubmitOptions{
		FollowOptions: prowjob.FollowOptions{Out: o.IO.Out, ErrOut: o.IO.ErrOut, Timeout: o.Timeout},
		Report:        o.Report,
		Wait:          o.Wait,
	})
	return err
}

// RerunOptions are the flags of `prowctl rerun`.
type RerunOptions struct {
	IO            *iostreams.IOStreams
	Name          string
	File          string
	Latest        bool
	JobConfigPath string
	pjWaitFlags
	Cluster pjClusterFlags
}

func newCmdRerun(streams *iostreams.IOStreams, runF func(context.Context, *RerunOptions) error) *cobra.Command {
	o := &RerunOptions{IO: streams}
	if runF == nil {
		runF = runRerun
	}
	cmd := &cobra.Command{
		Use:   "rerun NAME | -f FILE [--latest] [--wait]",
		Short: "Run a ProwJob again under a new name, as Deck's rerun does",
		Long: `rerun creates a copy of a ProwJob (from the cluster, or from a file) under a new
name with a fresh status, as Deck's rerun button does: same spec, labels and
annotations, minus those of the old run's controllers. With --latest the spec
is rebuilt from the current job config with the old job's refs: the way to test
an edited job against the same commit. spec.report is false unless --report.
The old job is left untouched.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Name = args[0]
			}
			if (o.Name == "") == (o.File == "") {
				return errors.New("give either a ProwJob NAME or -f FILE")
			}
			return interruptible(cmd.Context(), o, runF)
		},
	}
	cmd.Flags().StringVarP(&o.File, "filename", "f", "", "ProwJob file to rerun instead of one from the cluster, - for standard input")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	cmd.Flags().BoolVar(&o.Latest, "latest", false, "rebuild the spec from the current job config, with the old refs")
	cmd.Flags().StringVar(&o.JobConfigPath, "job-config-path", pjDefaultJobConfigPath, "job config file or directory, for --latest")
	o.pjWaitFlags.add(cmd.Flags())
	o.Cluster.add(cmd)
	cmd.ValidArgsFunction = o.Cluster.completeProwJobNames
	return cmd
}

func runRerun(ctx context.Context, o *RerunOptions) error {
	var old *prowapi.ProwJob
	var err error
	if o.File != "" {
		if old, err = readProwJob(o.IO, o.File); err != nil {
			return err
		}
	}
	var cfg *config.Config
	if o.Latest {
		name := ""
		if old != nil {
			name = old.Spec.Job
		}
		// The job's name is known only once the old job is read; the
		// Prow config alone gives the namespace meanwhile.
		if name == "" {
			cfg, err = mkpj.LoadProwConfig(o.Cluster.ConfigPath)
		} else {
			cfg, err = loadForRerun(o, name)
		}
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
	if old == nil {
		if old, err = c.Get(ctx, o.Name); err != nil {
			return err
		}
		if o.Latest {
			if cfg, err = loadForRerun(o, old.Spec.Job); err != nil {
				return err
			}
		}
	}
	pj, err := prowjob.NewRerun(old, prowjob.RerunOptions{Config: cfg, Latest: o.Latest, Report: o.Report})
	if err != nil {
		return err
	}
	_, err = prowjob.Submit(ctx, c, &pj, prowjob.SubmitOptions{
		FollowOptions: prowjob.FollowOptions{Out: o.IO.Out, ErrOut: o.IO.ErrOut, Timeout: o.Timeout},
		Report:        o.Report,
		Wait:          o.Wait,
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

// WatchOptions are the flags of `prowctl watch` and `prowctl get -w`.
type WatchOptions struct {
	IO      *iostreams.IOStreams
	Name    string
	Timeout time.Duration
	Cluster pjClusterFlags
}

func newCmdWatch(streams *iostreams.IOStreams, runF func(context.Context, *WatchOptions) error) *cobra.Command {
	o := &WatchOptions{IO: streams}
	if runF == nil {
		runF = runWatch
	}
	cmd := &cobra.Command{
		Use:   "watch NAME [--timeout D]",
		Short: "Follow a ProwJob to its end, printing each change of state",
		Long: `watch follows a ProwJob with the watch API and prints a line for each change of
its state, pod or URL, until it ends: exit 0 on success, 1 on failure, aborted
or error, 2 when --timeout passes first. It resumes across watch expiry and
apiserver restarts.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			return interruptible(cmd.Context(), o, runF)
		},
	}
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 0, "give up after this long and exit 2 (default: no limit)")
	o.Cluster.add(cmd)
	cmd.ValidArgsFunction = o.Cluster.completeProwJobNames
	return cmd
}

func runWatch(ctx context.Context, o *WatchOptions) error {
	cfg, err := o.Cluster.prowConfig()
	if err != nil {
		return err
	}
	c, err := o.Cluster.connect(ctx, cfg, 0)
	if err != nil {
		return err
	}
	_, err = prowjob.Follow(ctx, c, o.Name, prowjob.FollowOptions{Out: o.IO.Out, ErrOut: o.IO.ErrOut, Timeout: o.Timeout})
	return err
}

// GetOptions are the flags of `prowctl get`.
type GetOptions struct {
	IO     *iostreams.IOStreams
	Name   string
	Output string
	Watch  bool
	// Timeout applies to --watch.
	Timeout time.Duration
	Cluster pjClusterFlags
	now     func() time.Time
}

func newCmdGet(streams *iostreams.IOStreams, runF func(context.Context, *GetOptions) error) *cobra.Command {
	o := &GetOptions{IO: streams, now: time.Now}
	if runF == nil {
		runF = runGet
	}
	cmd := &cobra.Command{
		Use:   "get [NAME] [-o yaml|json] [-w]",
		Short: "List ProwJobs, or show one",
		Long: `get prints the ProwJobs of the namespace as a table (name, job, type, state,
age, duration), oldest first, or one ProwJob; -o yaml|json prints the objects.
get -w NAME is prowctl watch NAME.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.Name = args[0]
			}
			return interruptible(cmd.Context(), o, runF)
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: yaml or json (default a table)")
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "follow the ProwJob NAME to its end (see prowctl watch)")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 0, "with -w, give up after this long and exit 2")
	_ = cmd.RegisterFlagCompletionFunc("output", pjCompleteOutput)
	o.Cluster.add(cmd)
	cmd.ValidArgsFunction = o.Cluster.completeProwJobNames
	return cmd
}

func runGet(ctx context.Context, o *GetOptions) error {
	if err := pjCheckOutput(o.Output); err != nil {
		return err
	}
	if o.Watch {
		if o.Name == "" {
			return errors.New("get -w needs a ProwJob NAME")
		}
		if o.Output != "" {
			return errors.New("get -w prints state changes: drop -o")
		}
		return runWatch(ctx, &WatchOptions{IO: o.IO, Name: o.Name, Timeout: o.Timeout, Cluster: o.Cluster})
	}
	cfg, err := o.Cluster.prowConfig()
	if err != nil {
		return err
	}
	c, err := o.Cluster.connect(ctx, cfg, 0)
	if err != nil {
		return err
	}
	var pjs []prowapi.ProwJob
	if o.Name != "" {
		pj, err := c.Get(ctx, o.Name)
		if err != nil {
			return err
		}
		pjs = []prowapi.ProwJob{*pj}
	} else if pjs, err = c.List(ctx); err != nil {
		return err
	}
	if o.Output != "" {
		return prowjob.PrintObjects(o.IO.Out, pjs, o.Name != "", o.Output)
	}
	if len(pjs) == 0 {
		fmt.Fprintf(o.IO.ErrOut, "No ProwJobs in namespace %s.\n", c.Namespace)
		return nil
	}
	return prowjob.PrintTable(o.IO.Out, pjs, o.now())
}
