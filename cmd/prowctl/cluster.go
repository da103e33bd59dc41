package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/process"
	"github.com/prowctl/prowctl/pkg/shutdown"
)

func newCmdCluster(streams *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Run a personal Prow cluster on this machine",
		Long: `A personal Prow cluster from real components built by ` + "`make tools`" + `: etcd,
kube-apiserver, kube-controller-manager, kube-scheduler, Prow's plank and a node.

With --node real (the default) the node is real: containerd, kubelet and
kube-proxy run job pods for real, with Prow's own pod utilities, and their
artifacts go to a GCS emulator on the cluster. The whole cluster lives in a
network namespace of its own with no route off the machine: pods have no
internet. The host reaches the API server and the GCS emulator through a
forwarder on 127.0.0.1. Needs root.

With --node kwok the node is simulated, on the host's 127.0.0.1: the job's pod
spec, Prow's decoration and the ProwJob state machine are real, the containers
are not executed. A pod made by Prow succeeds after a second; a job labelled
prowctl.dev/simulate-result=failure fails. Fast: for tests of the state machine.`,
	}
	cmd.AddCommand(newCmdClusterUp(streams, nil), newCmdClusterDown(streams, nil), newCmdClusterStatus(streams, nil), newCmdClusterLoad(streams, nil))
	return cmd
}

// ClusterUpOptions are the inputs of `prowctl cluster up`.
type ClusterUpOptions struct {
	IO *iostreams.IOStreams

	Dir        string
	ProwConfig string
	ToolsDir   string
	Timeout    time.Duration
	Node       string
	NoDeck     bool
	With       []string
}

func newCmdClusterUp(streams *iostreams.IOStreams, runF func(*ClusterUpOptions) error) *cobra.Command {
	opts := &ClusterUpOptions{IO: streams}
	cmd := &cobra.Command{
		Use:   "up [--dir DIR] [--prow-config FILE]",
		Short: "Start the personal Prow cluster, or report the one running",
		Long: `Up starts the personal Prow cluster in DIR, installs the ProwJob CRD and the
namespaces of the Prow config, and waits until everything is ready. It writes
DIR/kubeconfig (context ` + cluster.ContextName + `) and each component's log under DIR/logs.

If the cluster in DIR runs, up reports it and changes nothing. What a crashed
run left in DIR is stopped and removed first.`,
		Example: `  make tools
  prowctl cluster up
  export KUBECONFIG=$(prowctl cluster status -o kubeconfig)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, w := range opts.With {
				if w != cluster.ArgoName {
					return usageErrorf("--with %s: the optional components are: %s", w, cluster.ArgoName)
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return clusterUpRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", cluster.DefaultDir(), "the cluster's state directory")
	cmd.Flags().StringVar(&opts.ProwConfig, "prow-config", "config/prow/config.yaml", "the Prow config plank loads")
	cmd.Flags().StringVar(&opts.ToolsDir, "tools", cluster.DefaultToolsDir(), "where `make tools` put the binaries ($PROWCTL_TOOLS)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", 90*time.Second, "how long each component may take to become ready")
	cmd.Flags().StringVar(&opts.Node, "node", cluster.NodeReal, "the node that runs pods: real (containerd and kubelet, in a network namespace of the cluster's own) or kwok (simulated)")
	cmd.Flags().BoolVar(&opts.NoDeck, "no-deck", false, "leave Prow's UI (Deck) out of a real node")
	cmd.Flags().StringSliceVar(&opts.With, "with", nil, "optional components: argo (Argo Workflows' controller and executor, real node only)")
	markPaths(cmd, "dir", "prow-config", "tools")
	return cmd
}

func clusterUpRun(ctx context.Context, opts *ClusterUpOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// Ctrl-C while starting stops what has started: the root's signal
	// cancels ctx, and the watchdog leaves the cleanup its time.
	defer shutdown.Hold(ctx, clusterCleanupGrace)()
	if _, err := os.Stat(opts.ProwConfig); err != nil {
		return fmt.Errorf("the Prow config %s: %w (run in the prowctl checkout or pass --prow-config)", opts.ProwConfig, errors.Unwrap(err))
	}
	start := time.Now()
	state, running, err := cluster.Up(ctx, cluster.Options{
		Dir:          opts.Dir,
		ToolsDir:     opts.ToolsDir,
		ProwConfig:   opts.ProwConfig,
		Progress:     opts.IO.ErrOut,
		ReadyTimeout: opts.Timeout,
		Node:         opts.Node,
		NoDeck:       opts.NoDeck,
		WithArgo:     slices.Contains(opts.With, cluster.ArgoName),
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("interrupted: stopped what had started; logs are in %s: %w", filepath.Join(opts.Dir, "logs"), err)
	}
	if err != nil {
		return err
	}
	out := opts.IO.Out
	if running {
		fmt.Fprintf(out, "The cluster in %s is already running (up since %s).\n", state.Dir, state.Ready.Format(time.RFC3339))
	} else {
		fmt.Fprintf(out, "The cluster is ready in %.1fs (%s).\n", time.Since(start).Seconds(), state.Dir)
	}
	fmt.Fprintf(out, `
Use it:
  export KUBECONFIG=%s   # context %s
  kubectl get prowjobs -n %s
Logs: %s/logs/<component>.log
Stop: prowctl cluster down --dir %s
`, state.Kubeconfig, state.Context, prowJobNamespace(state), state.Dir, state.Dir)
	if addr := state.HostAddr(cluster.DeckProxyName, "http"); addr != "" {
		fmt.Fprintf(out, "Deck: http://%s/ (prowctl open)\n", addr)
	}
	return nil
}

func prowJobNamespace(s *cluster.State) string {
	ns, err := cluster.ReadProwNamespaces(s.ProwConfig)
	if err != nil {
		return "default"
	}
	return ns.ProwJobs
}

// ClusterDownOptions are the inputs of `prowctl cluster down`.
type ClusterDownOptions struct {
	IO *iostreams.IOStreams

	Dir   string
	Keep  bool
	Grace time.Duration
}

func newCmdClusterDown(streams *iostreams.IOStreams, runF func(*ClusterDownOptions) error) *cobra.Command {
	opts := &ClusterDownOptions{IO: streams}
	cmd := &cobra.Command{
		Use:   "down [--dir DIR] [--keep]",
		Short: "Stop the personal Prow cluster and remove its state",
		Long: `Down stops exactly the processes ` + "`prowctl cluster up`" + ` recorded in DIR/state.json
(never by name): SIGTERM, then SIGKILL after the grace period. It then removes
the cluster's files from DIR, unless --keep.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return clusterDownRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", cluster.DefaultDir(), "the cluster's state directory")
	cmd.Flags().BoolVar(&opts.Keep, "keep", false, "keep the state directory (logs, etcd data)")
	cmd.Flags().DurationVar(&opts.Grace, "grace", 10*time.Second, "how long a component may take to exit before it is killed")
	markPaths(cmd, "dir")
	return cmd
}

func clusterDownRun(ctx context.Context, opts *ClusterDownOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// Stopping, once begun, finishes: a half-stopped cluster is worse.
	defer shutdown.Hold(ctx, opts.Grace+graceMargin)()
	state, err := cluster.Down(ctx, opts.Dir, cluster.DownOptions{Keep: opts.Keep, StopGrace: opts.Grace})
	if errors.Is(err, cluster.ErrNoCluster) {
		fmt.Fprintf(opts.IO.Out, "No cluster in %s.\n", opts.Dir)
		return nil
	}
	if err != nil {
		return err
	}
	var pids []string
	for _, p := range state.PIDs() {
		pids = append(pids, fmt.Sprint(p))
	}
	fmt.Fprintf(opts.IO.Out, "Stopped the cluster in %s (pids %s).\n", state.Dir, strings.Join(pids, " "))
	if opts.Keep {
		fmt.Fprintf(opts.IO.Out, "Kept its files; logs are in %s/logs.\n", state.Dir)
	}
	return nil
}

// ClusterStatusOptions are the inputs of `prowctl cluster status`.
type ClusterStatusOptions struct {
	IO *iostreams.IOStreams

	Dir    string
	Output string
}

func newCmdClusterStatus(streams *iostreams.IOStreams, runF func(*ClusterStatusOptions) error) *cobra.Command {
	opts := &ClusterStatusOptions{IO: streams}
	cmd := &cobra.Command{
		Use:   "status [--dir DIR] [-o table|kubeconfig]",
		Short: "Show each component of the personal Prow cluster: pid, health, endpoint",
		Long: `Status shows each component of the cluster in DIR: its pid, whether it is
healthy, and where it listens. It exits 1 when a component is not healthy.
With -o kubeconfig it prints only the path of the cluster's kubeconfig.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Output != "table" && opts.Output != "kubeconfig" {
				return fmt.Errorf("-o %s: want table or kubeconfig", opts.Output)
			}
			if runF != nil {
				return runF(opts)
			}
			return clusterStatusRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", cluster.DefaultDir(), "the cluster's state directory")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "table or kubeconfig")
	markPaths(cmd, "dir")
	return cmd
}

func clusterStatusRun(ctx context.Context, opts *ClusterStatusOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	state, statuses, err := cluster.Status(ctx, opts.Dir, nil)
	if err != nil {
		if errors.Is(err, cluster.ErrNoCluster) {
			return fmt.Errorf("%w: start one with `prowctl cluster up --dir %s`", err, opts.Dir)
		}
		return err
	}
	if opts.Output == "kubeconfig" {
		fmt.Fprintln(opts.IO.Out, state.Kubeconfig)
		return nil
	}
	w := tabwriter.NewWriter(opts.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "COMPONENT\tPID\tHEALTH\tENDPOINT\tVERSION")
	unhealthy := 0
	for _, s := range statuses {
		pid := "-"
		if s.PID != 0 {
			pid = fmt.Sprint(s.PID)
		}
		if !s.Healthy {
			unhealthy++
		}
		version := s.Version
		if version == "" {
			version = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.Name, pid, firstLine(s.Health), s.Endpoint, version)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	node := state.Node
	if node == "" {
		node = cluster.NodeKwok
	}
	fmt.Fprintf(opts.IO.Out, "\nnode: %s\nkubeconfig: %s (context %s)\n", node, state.Kubeconfig, state.Context)
	if unhealthy > 0 {
		return &clusterUnhealthyError{n: unhealthy}
	}
	return nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// clusterUnhealthyError makes status exit 1 after printing the table.
type clusterUnhealthyError struct{ n int }

func (e *clusterUnhealthyError) Error() string { return "" }
func (e *clusterUnhealthyError) ExitCode() int { return 1 }

// ClusterLoadOptions are the inputs of `prowctl cluster load`.
type ClusterLoadOptions struct {
	IO *iostreams.IOStreams

	Source string
	Names  []string
	Dir    string
}

func newCmdClusterLoad(streams *iostreams.IOStreams, runF func(*ClusterLoadOptions) error) *cobra.Command {
	opts := &ClusterLoadOptions{IO: streams}
	cmd := &cobra.Command{
		Use:   "load IMAGE_REF|OCI_LAYOUT_DIR|TARBALL [--name NAME]...",
		Short: "Put an image on the personal cluster's node, under the name a job uses",
		Long: `Load puts an image into the real node's containerd, as ` + "`kind load`" + ` does: the node
has no network, so a job's image must be loaded before the job runs. The source
is a tarball (` + "`docker save`" + `'s format, or an OCI archive), an OCI image layout
directory, or an image reference this machine pulls. --name (repeatable) gives
the names the node knows it by, e.g. the image a job config names; by default
the names the source carries.

A job image tagged :latest (or with imagePullPolicy: Always) is pulled anyway,
and fails: tag it otherwise, or set imagePullPolicy: IfNotPresent.`,
		Example: `  prowctl cluster load builder.tar --name gcr.io/mlkube-testing/builder:v20180207-c4bd9d7b
  prowctl cluster load ./oci-layout
  prowctl cluster load 127.0.0.1:5000/tf-operator:dev`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Source = args[0]
			if runF != nil {
				return runF(opts)
			}
			return clusterLoadRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Dir, "dir", cluster.DefaultDir(), "the cluster's state directory")
	cmd.Flags().StringArrayVar(&opts.Names, "name", nil, "a name the node knows the image by (repeatable)")
	markPaths(cmd, "dir")
	return cmd
}

func clusterLoadRun(ctx context.Context, opts *ClusterLoadOptions) error {
	if ctx == nil {
		ctx = context.Background()
	}
	state, err := cluster.LoadState(opts.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w in %s: start one with `prowctl cluster up --dir %s`", cluster.ErrNoCluster, opts.Dir, opts.Dir)
	}
	if err != nil {
		return err
	}
	loaded, err := cluster.LoadImage(ctx, state, process.Exec{}, opts.Source, opts.Names)
	if err != nil {
		return err
	}
	for _, n := range loaded {
		fmt.Fprintf(opts.IO.Out, "loaded %s\n", n)
	}
	return nil
}
