package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobdebug"
	"github.com/prowctl/prowctl/pkg/jobimage"
	"github.com/prowctl/prowctl/pkg/jobrun"
	"github.com/prowctl/prowctl/pkg/jobs"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/process"
	"github.com/prowctl/prowctl/pkg/prowjob"
	"github.com/prowctl/prowctl/pkg/shutdown"
)

// RunOptions are the flags of `prowctl run`.
type RunOptions struct {
	IO *iostreams.IOStreams

	Job           string
	ConfigPath    string
	JobConfigPath string
	jobFlags
	LocalRepo string

	Dir      string
	ToolsDir string
	Node     string
	Timeout  time.Duration
	Spec     string
	secretFlags
	DebugOnFailure bool
	DebugShell     string
}

func newCmdRun(f *Factory, runF func(context.Context, *RunOptions) error) *cobra.Command {
	o := &RunOptions{IO: f.IO}
	if runF == nil {
		runF = runRun
	}
	cmd := &cobra.Command{
		Use:   "run JOB [--local-repo DIR] [refs flags]",
		Short: "Run a job of the config on the personal cluster and stream its log",
		Long: `run brings the personal Prow cluster up if it is not running (a real node, as
` + "`prowctl cluster up`" + `), builds the job's ProwJob exactly as mkpj does, creates it,
streams the test container's log, says where the artifacts are, and exits 0
when the job succeeded, 1 when it failed.

With --local-repo the job runs against a checkout as it is on disk: its
commits, and its uncommitted changes as one more commit on HEAD, are published
to the cluster's git server, and the job's refs clone from there. For a
presubmit that commit is the pull request's head (pull number 1 and author
"prowctl" unless given) and --base-ref (default origin's default branch, else
the branch checked out) its base; for a postsubmit it is the base. Your
checkout, index and branches stay as they are.

Pods on the personal cluster have no network beyond it: a job that downloads
from the internet fails there; run it on a real cluster (prowctl mkpj --create
--kubeconfig ...).`,
		Example: `  prowctl run tf-k8s-presubmit --local-repo ~/src/tf-k8s
  prowctl run tf-k8s-periodic`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Job = args[0]
			return runF(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.ConfigPath, "config-path", pjDefaultConfigPath, "Prow config file")
	fs.StringVar(&o.JobConfigPath, "job-config-path", pjDefaultJobConfigPath, "job config file or directory")
	o.jobFlags.add(fs)
	fs.StringVar(&o.LocalRepo, "local-repo", "", "checkout of the job's repo to run against, uncommitted changes included")
	fs.StringVar(&o.Dir, "dir", cluster.DefaultDir(), "the personal cluster's state directory")
	fs.StringVar(&o.ToolsDir, "tools", cluster.DefaultToolsDir(), "where `make tools` put the binaries ($PROWCTL_TOOLS)")
	fs.StringVar(&o.Node, "node", cluster.NodeReal, "the node, if run starts the cluster: real or kwok")
	fs.DurationVar(&o.Timeout, "timeout", 0, "give up waiting for the job after this long (exit 2); 0 waits as long as it runs")
	fs.StringVar(&o.Spec, "spec", defaultJobSpec, "the tf-k8s jobs' spec: a job running its image gets it built and loaded first (prowctl image build --load)")
	o.secretFlags.add(fs)
	fs.BoolVar(&o.DebugOnFailure, "debug-on-failure", false, "when the job fails, open a shell in a copy of its test container (prowctl debug)")
	fs.StringVar(&o.DebugShell, "debug-shell", "/bin/sh", "the shell of --debug-on-failure")
	markPaths(cmd, "config-path", "job-config-path", "local-repo", "dir", "tools", "spec", "secret-file")
	return cmd
}

func runRun(ctx context.Context, o *RunOptions) error {
	query, err := o.query(o.Job)
	if err != nil {
		return err
	}
	secrets, flush, err := o.secretFlags.load(o.IO)
	if err != nil {
		return err
	}
	defer flush()
	// Ctrl-C while the cluster starts stops what started.
	defer shutdown.Hold(ctx, clusterCleanupGrace)()
	opts := jobrun.Options{
		Cluster: cluster.Options{
			Dir: o.Dir, ToolsDir: o.ToolsDir, ProwConfig: o.ConfigPath, Node: o.Node,
			Progress: o.IO.ErrOut,
		},
		ConfigPath: o.ConfigPath, JobConfigPath: o.JobConfigPath,
		Query:   query,
		Refs:    o.Refs,
		Out:     o.IO.Out,
		ErrOut:  o.IO.ErrOut,
		Timeout: o.Timeout,
		Secrets: secrets,
	}
	if o.LocalRepo != "" {
		opts.Local = &mkpj.LocalRepo{Dir: o.LocalRepo, Env: os.Environ()}
	}
	if specGiven(o.Spec) {
		opts.Images = func(ctx context.Context, state *cluster.State, images []string) error {
			return jobImage(ctx, o.Spec, o.ToolsDir, o.IO.ErrOut, state, images)
		}
	}
	res, err := jobrun.Run(ctx, opts)
	var failed *prowjob.FailedError
	if o.DebugOnFailure && errors.As(err, &failed) && res != nil && ctx.Err() == nil {
		fmt.Fprintf(o.IO.ErrOut, "%v: opening a shell in a copy of its test container (--debug-on-failure)\n", err)
		state, serr := cluster.LoadState(o.Dir)
		if serr != nil {
			return errors.Join(err, serr)
		}
		c, cerr := prowjob.Connect(ctx, prowjob.ConnectOptions{Kubeconfig: state.Kubeconfig, Context: state.Context, Namespace: res.ProwJob.Namespace})
		if cerr != nil {
			return errors.Join(err, cerr)
		}
		if derr := debugJob(ctx, c, o.IO, res.ProwJob.Name, nil, o.DebugShell, false, 5*time.Minute); derr != nil {
			var exit *jobdebug.ExitError
			if !errors.As(derr, &exit) {
				fmt.Fprintf(o.IO.ErrOut, "debug: %v\n", derr)
			}
		}
	}
	return err
}

// defaultJobSpec is where the tf-k8s jobs' spec is in their config repo.
const defaultJobSpec = "config/tf-k8s.yaml"

// specGiven: a spec named on the command line must exist; the default one
// only matters in a repo that has it.
func specGiven(spec string) bool {
	_, err := os.Stat(spec)
	return err == nil || spec != defaultJobSpec
}

// jobImage builds the tf-k8s jobs' image, with this prowctl, and loads it
// when a job about to run on the real node runs it: what `prowctl image
// build --load` does.
func jobImage(ctx context.Context, specPath, toolsDir string, errOut io.Writer, state *cluster.State, images []string) error {
	spec, err := jobs.LoadSpec(specPath)
	if err != nil {
		return err
	}
	// A simulated node runs no image.
	if state.Node != cluster.NodeReal || !slices.Contains(images, spec.Image) {
		return nil
	}
	bin, err := os.Executable()
	if err != nil {
		return err
	}
	res, err := buildJobImage(ctx, toolsDir, jobimage.DefaultCacheDir(), "", bin, spec.Image, errOut)
	if err != nil {
		return err
	}
	loaded, err := cluster.LoadBuilt(ctx, state, process.Exec{}, res.Archive, res.ID, []string{spec.Image})
	if err != nil {
		return err
	}
	if loaded {
		fmt.Fprintf(errOut, "image %s: loaded into the node\n", spec.Image)
	}
	return nil
}
