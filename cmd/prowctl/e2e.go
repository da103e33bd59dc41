package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/steps"
	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/shutdown"
)

func newCmdE2E(streams *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "e2e",
		Short: "Run the end-to-end pipeline of the tf-k8s jobs (config/e2e.yaml)",
		Long: `e2e runs a pipeline of steps (build the operator image and chart, bring up a
cluster, deploy, test, tear down, upload results) as a DAG: in parallel where
the needs allow, finalizers (always: true) last and always, results in Prow's
artifact layout. Inside a Prow job it reads JOB_SPEC and ARTIFACTS; outside, a
local periodic-style build writing to ./_artifacts.`,
	}
	cmd.AddCommand(newCmdE2ERun(streams, nil), newCmdE2ERetry(streams, nil), newCmdE2EStep(streams, nil), newCmdE2EGraph(streams, nil),
		newCmdE2EExport(streams, nil), newCmdE2ESubmit(streams, nil))
	return cmd
}

// E2ERunOptions are what `prowctl e2e run` and `prowctl e2e step` need: the
// flags, bound straight onto the library's Invocation, and the streams.
type E2ERunOptions struct {
	IO *iostreams.IOStreams
	e2e.Invocation
	// GCS says where gs:// uploads go: "auto", "google" or an emulator's
	// http://HOST:PORT; ClusterDir is the personal cluster "auto" looks for.
	GCS        string
	ClusterDir string
	// Getenv reads the environment (STORAGE_EMULATOR_HOST).
	Getenv func(string) string
}

// newE2ERunOptions returns the options before flags are parsed: prowctl's
// own step kinds.
func newE2ERunOptions(streams *iostreams.IOStreams) *E2ERunOptions {
	return &E2ERunOptions{IO: streams, Invocation: e2e.Invocation{Kinds: steps.Builtin()}, Getenv: os.Getenv}
}

// e2eVerb says which flags a verb of `prowctl e2e` takes.
type e2eVerb int

const (
	e2eRunVerb   e2eVerb = iota // the whole pipeline, or some of it
	e2eRetryVerb                // what failed: no --only, --skip
	e2eStepVerb                 // one step: no scheduling flags
)

func addE2EFlags(cmd *cobra.Command, o *E2ERunOptions, verb e2eVerb) {
	fs := cmd.Flags()
	fs.StringVar(&o.Pipeline, "pipeline", e2e.DefaultPipeline, "pipeline spec")
	fs.StringVar(&o.Artifacts, "artifacts", "", "artifacts directory (default $ARTIFACTS, else ./_artifacts)")
	fs.StringVar(&o.Upload, "upload", "", "upload results to gs://BUCKET[/prefix], s3://BUCKET[/prefix] or a directory (used by upload steps)")
	fs.StringVar(&o.GCS, "gcs", "auto", "where gs:// uploads go: auto (the personal cluster's GCS emulator when it is up, else Google's), google, or an emulator's http://HOST:PORT")
	fs.StringVar(&o.ClusterDir, "cluster-dir", cluster.DefaultDir(), "the personal cluster --gcs auto looks for")
	markPaths(cmd, "pipeline", "artifacts", "upload", "cluster-dir")
	if verb == e2eStepVerb {
		fs.BoolVar(&o.StepResults, "results", false, "the pipeline runs a step per process (a pod per step, as `e2e export --argo` has it): write started.json when there is none, and before an upload step finished.json and the JUnit from the steps' record")
		return
	}
	if verb == e2eRunVerb {
		fs.StringSliceVar(&o.Only, "only", nil, "run only these steps (comma-separated)")
		fs.StringSliceVar(&o.Skip, "skip", nil, "leave out these steps (comma-separated)")
		fs.BoolVar(&o.FromFailed, "from-failed", false, "retry the last run in the artifacts directory: run what failed or was skipped because of a failure, and the finalizers; reuse what passed (as `e2e retry`)")
	}
	fs.IntVar(&o.Parallelism, "parallelism", 0, "steps to run at once (default: number of CPUs)")
	fs.DurationVar(&o.GracePeriod, "grace-period", 0, "after SIGINT/SIGTERM, how long finalizers may take (default: 9/10 of a decorated job's grace period, else 30s)")
}

func newCmdE2ERun(streams *iostreams.IOStreams, runF func(context.Context, *E2ERunOptions) error) *cobra.Command {
	o := newE2ERunOptions(streams)
	if runF == nil {
		runF = runE2E
	}
	cmd := &cobra.Command{
		Use:   "run [--pipeline config/e2e.yaml] [--only A,B] [--skip C] [--from-failed] [--upload DEST]",
		Short: "Run the pipeline",
		Long: `run runs every step of the pipeline (or --only some, or all but --skip). A
failed step skips what needs it; finalizers run last whatever happened, and
still run after SIGINT/SIGTERM, within --grace-period. Each step's output goes
to ARTIFACTS/steps/NAME.log; ARTIFACTS also gets build-log.txt,
junit_e2e-steps.xml, started.json and finished.json. The exit code is 0 only
if every step that was not skipped passed.

A whole run starts a new build and a fresh state file; with --only or --skip
the run carries on the last build's state (image, chart, kubeconfig).
--from-failed retries the last run instead (see prowctl e2e retry --help).`,
		Example: `  prowctl e2e run
  prowctl e2e run --only build-image,build-chart
  prowctl e2e run --from-failed
  prowctl e2e run --upload gs://my-bucket/tf-k8s
  prowctl e2e run --pipeline testdata/e2e-run.yaml --upload /tmp/gcs`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.FromFailed && (len(o.Only) > 0 || len(o.Skip) > 0) {
				return usageErrorf("--from-failed runs what failed in the last run: drop --only and --skip")
			}
			return runF(cmd.Context(), o)
		},
	}
	addE2EFlags(cmd, o, e2eRunVerb)
	return cmd
}

func newCmdE2ERetry(streams *iostreams.IOStreams, runF func(context.Context, *E2ERunOptions) error) *cobra.Command {
	o := newE2ERunOptions(streams)
	o.FromFailed = true
	if runF == nil {
		runF = runE2E
	}
	cmd := &cobra.Command{
		Use:   "retry [--pipeline config/e2e.yaml] [--artifacts DIR] [--upload DEST]",
		Short: "Run again what failed in the last run (e2e run --from-failed)",
		Long: `retry reads the state file of the last run (ARTIFACTS/e2e-state.json) and runs,
as the same build, the steps that failed, those skipped because a step they
need failed, and the finalizers; the steps that passed are not run, and what
they handed on (image, chart, cluster) stays in the state for the rest. A step
that passed runs again too when its definition in the pipeline changed (kind,
with:, run:, dir:, needs:, env:; not timeout: or retries:), when what it
handed on is gone from the state (a teardown deleted the cluster, the run's
own registry stopped with it), or when a step it needs runs again; the output
says why for each. The last attempt's build log, started/finished.json, JUnit and the logs
of the steps run again move to ARTIFACTS/attempt-N/.

With nothing failed it says so and exits 0; with no state file it exits 2.`,
		Example: `  prowctl e2e retry
  prowctl e2e retry --artifacts /tmp/e2e-run --upload gs://my-bucket/tf-k8s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runF(cmd.Context(), o) },
	}
	addE2EFlags(cmd, o, e2eRetryVerb)
	return cmd
}

func newCmdE2EStep(streams *iostreams.IOStreams, runF func(context.Context, *E2ERunOptions) error) *cobra.Command {
	o := newE2ERunOptions(streams)
	if runF == nil {
		runF = runE2E
	}
	cmd := &cobra.Command{
		Use:   "step NAME",
		Short: "Run one step of the pipeline by itself",
		Long: `step runs one step alone, without what it needs: what earlier steps handed on
(image, chart, kubeconfig) comes from the state file in the artifacts
directory, and what this step hands on goes there, so steps can run one by
one, by hand, in separate processes.

With --results, every step of one build runs this way (a pod per step, as
` + "`e2e export --argo`" + ` runs them) and the results are theirs: the first writes
started.json, and an upload step uploads finished.json and the JUnit built
from what each step's process recorded in the state file.`,
		Example: `  prowctl e2e step cluster-up
  prowctl e2e step deploy
  prowctl e2e step teardown`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Step = args[0]
			return runF(cmd.Context(), o)
		},
	}
	addE2EFlags(cmd, o, e2eStepVerb)
	return cmd
}

// e2eFailedError sets the exit code of a pipeline that ran but did not pass;
// the progress output already said why.
type e2eFailedError struct{}

func (e2eFailedError) Error() string { return "" }
func (e2eFailedError) ExitCode() int { return 1 }

func runE2E(ctx context.Context, o *E2ERunOptions) error {
	// Prow aborts a job with SIGTERM, then SIGKILL after its grace period:
	// the root's signal cancels the steps, the finalizers get their time
	// (pkg/e2e bounds them), and a second signal ends the process at once.
	defer shutdown.Hold(ctx, e2eGrace(o.GracePeriod))()
	inv := o.Invocation
	inv.Out, inv.TTY = o.IO.Out, o.IO.OutTTY
	store, err := e2eStore(ctx, o)
	if err != nil {
		return err
	}
	inv.Store = store
	rep, err := e2e.Invoke(ctx, inv)
	switch {
	case errors.Is(err, e2e.ErrNothingToRetry):
		fmt.Fprintln(o.IO.Out, err)
		return nil
	case errors.Is(err, e2e.ErrNoPreviousRun):
		return usageErrorf("%v", err)
	case err != nil:
		return err
	}
	if !rep.Passed() {
		return e2eFailedError{}
	}
	return nil
}

// e2eStore works out where gs:// uploads go. With --gcs auto, a run on
// the machine of a personal cluster uploads to its emulator, where its Deck
// shows the run: the gs:// path is the one a Prow job would use, and nothing
// leaves the machine by surprise.
func e2eStore(ctx context.Context, o *E2ERunOptions) (e2e.Store, error) {
	switch {
	case o.GCS == "google":
		return e2e.Store{}, nil
	case o.GCS == "auto":
	default:
		u, err := url.Parse(o.GCS)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return e2e.Store{}, usageErrorf("--gcs %q: want auto, google or http://HOST:PORT", o.GCS)
		}
		return e2e.Store{GCSEndpoint: strings.TrimSuffix(o.GCS, "/")}, nil
	}
	bucket, ok := strings.CutPrefix(o.Upload, "gs://")
	if !ok || o.Getenv("STORAGE_EMULATOR_HOST") != "" {
		// Not GCS, or the storage client's own emulator setting.
		return e2e.Store{}, nil
	}
	bucket, _, _ = strings.Cut(bucket, "/")
	store, buckets, err := steps.PersonalStore(ctx, o.ClusterDir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			fmt.Fprintf(o.IO.ErrOut, "upload: no personal cluster to upload to (%v): gs:// is Google's GCS\n", err)
		}
		return e2e.Store{}, nil
	}
	if !slices.Contains(buckets, bucket) {
		return e2e.Store{}, fmt.Errorf("--upload %s: the personal cluster's GCS emulator (%s) has no bucket %q (it has %s; the Prow config's plank.default_decoration_configs name them); --gcs google uploads to Google's GCS",
			o.Upload, store.GCSEndpoint, bucket, strings.Join(buckets, ", "))
	}
	fmt.Fprintf(o.IO.ErrOut, "upload: gs:// goes to the personal cluster's GCS emulator at %s (--gcs google for Google's)\n", store.GCSEndpoint)
	return store, nil
}

// E2EGraphOptions are the flags of `prowctl e2e graph`.
type E2EGraphOptions struct {
	IO       *iostreams.IOStreams
	Pipeline string
	Output   string
}

func newCmdE2EGraph(streams *iostreams.IOStreams, runF func(*E2EGraphOptions) error) *cobra.Command {
	o := &E2EGraphOptions{IO: streams}
	if runF == nil {
		runF = runE2EGraph
	}
	cmd := &cobra.Command{
		Use:   "graph [-o text|dot]",
		Short: "Show the pipeline's steps, stages and needs",
		Example: `  prowctl e2e graph
  prowctl e2e graph -o dot | dot -Tsvg > e2e.svg`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error { return runF(o) },
	}
	cmd.Flags().StringVar(&o.Pipeline, "pipeline", e2e.DefaultPipeline, "pipeline spec")
	cmd.Flags().StringVarP(&o.Output, "output", "o", "text", "text or dot")
	markPaths(cmd, "pipeline")
	return cmd
}

func runE2EGraph(o *E2EGraphOptions) error {
	if o.Output != "text" && o.Output != "dot" {
		return fmt.Errorf("-o %q: want text or dot", o.Output)
	}
	p, err := e2e.LoadPipeline(o.Pipeline, steps.Builtin())
	if err != nil {
		return err
	}
	return e2e.WriteGraph(o.IO.Out, p, o.Output)
}
