package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

// newCmdsProwJob returns the verbs on ProwJobs of a cluster: create, rerun,
// watch and get.
func newCmdsProwJob(f *Factory) []*cobra.Command {
	return []*cobra.Command{
		newCmdCreate(f, nil),
		newCmdRerun(f, nil),
		newCmdWatch(f, nil),
		newCmdGet(f, nil),
	}
}

// CreateOptions are the flags of `prowctl create`.
type CreateOptions struct {
	IO   *iostreams.IOStreams
	File string
	pjWaitFlags
	Cluster pjClusterFlags
}

func newCmdCreate(f *Factory, runF func(context.Context, *CreateOptions) error) *cobra.Command {
	o := &CreateOptions{IO: f.IO}
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
		RunE: func(cmd *cobra.Command, _ []string) error { return runF(cmd.Context(), o) },
	}
	cmd.Flags().StringVarP(&o.File, "filename", "f", "", "ProwJob file, - for standard input (required)")
	_ = cmd.MarkFlagRequired("filename")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
	o.pjWaitFlags.add(cmd.Flags())
	o.Cluster.add(cmd, f)
	return cmd
}

// maxProwJobBytes bounds what create and rerun read: the apiserver stores
// objects of at most 1.5 MiB, so a larger input is no ProwJob it would take,
// and an endless one (a device) ends with an error instead of all memory.
const maxProwJobBytes = 3 << 20

// readProwJob reads the ProwJob of -f; "-" is standard input, so mkpj's
// output can be piped in as with kubectl. A read that blocks (an idle pipe)
// ends when ctx does.
func readProwJob(ctx context.Context, in io.Reader, path string) (*prowapi.ProwJob, error) {
	name, r := "standard input", in
	if path != "-" {
		// Stat first: opening a FIFO would block until it has a writer.
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			return nil, usageErrorf("-f %s: not a regular file (%s): give a ProwJob file, or - for standard input", path, fileKind(fi.Mode()))
		}
		file, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		name, r = path, file
	}
	b, err := readAll(ctx, r, maxProwJobBytes)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return prowjob.Decode(name, b)
}

// readAll reads r to its end, at most limit bytes, or until ctx ends. The
// read itself cannot be interrupted: it is left to the process's exit.
func readAll(ctx context.Context, r io.Reader, limit int64) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(io.LimitReader(r, limit+1))
		ch <- result{b, err}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.err == nil && int64(len(res.b)) > limit {
			return nil, fmt.Errorf("larger than %d MiB: a ProwJob is at most 1.5 MiB", limit>>20)
		}
		return res.b, res.err
	}
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}

func runCreate(ctx context.Context, o *CreateOptions) error {
	pj, err := readProwJob(ctx, o.IO.In, o.File)
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

func newCmdRerun(f *Factory, runF func(context.Context, *RerunOptions) error) *cobra.Command {
	o := &RerunOptions{IO: f.IO}
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
				return usageErrorf("give either a ProwJob NAME or -f FILE")
			}
			return runF(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVarP(&o.File, "filename", "f", "", "ProwJob file to rerun instead of one from the cluster, - for standard input")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
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

// WatchOptions are the flags of `prowctl watch` and `prowctl get -w`.
type WatchOptions struct {
	IO      *iostreams.IOStreams
	Name    string
	Timeout time.Duration
	Cluster pjClusterFlags
}

func newCmdWatch(f *Factory, runF func(context.Context, *WatchOptions) error) *cobra.Command {
	o := &WatchOptions{IO: f.IO}
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
			return runF(cmd.Context(), o)
		},
	}
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 0, "give up after this long and exit 2 (default: no limit)")
	o.Cluster.add(cmd, f)
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

func newCmdGet(f *Factory, runF func(context.Context, *GetOptions) error) *cobra.Command {
	o := &GetOptions{IO: f.IO, now: f.Now}
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
			return runF(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVarP(&o.Output, "output", "o", "", "output format: yaml or json (default a table)")
	cmd.Flags().BoolVarP(&o.Watch, "watch", "w", false, "follow the ProwJob NAME to its end (see prowctl watch)")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 0, "with -w, give up after this long and exit 2")
	_ = cmd.RegisterFlagCompletionFunc("output", pjCompleteOutput)
	o.Cluster.add(cmd, f)
	cmd.ValidArgsFunction = o.Cluster.completeProwJobNames
	return cmd
}

func runGet(ctx context.Context, o *GetOptions) error {
	if err := pjCheckOutput(o.Output); err != nil {
		return err
	}
	if o.Watch {
		if o.Name == "" {
			return usageErrorf("get -w needs a ProwJob NAME")
		}
		if o.Output != "" {
			return usageErrorf("get -w prints state changes: drop -o")
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
