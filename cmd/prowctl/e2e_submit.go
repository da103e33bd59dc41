package main

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"

	"github.com/prowctl/prowctl/pkg/e2e/argo"
	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/prowjob"
	"github.com/prowctl/prowctl/pkg/shutdown"
)

// E2ESubmitOptions are the flags of `prowctl e2e submit`: export's, and the
// cluster and the wait.
type E2ESubmitOptions struct {
	E2EExportOptions
	Wait       bool
	Kubeconfig string
	Context    string
	StopGrace  time.Duration
}

func newCmdE2ESubmit(streams *iostreams.IOStreams, runF func(context.Context, *E2ESubmitOptions) error) *cobra.Command {
	o := &E2ESubmitOptions{E2EExportOptions: E2EExportOptions{IO: streams, Getenv: os.Getenv, Output: "yaml"}}
	if runF == nil {
		runF = runE2ESubmit
	}
	cmd := &cobra.Command{
		Use:   "submit --argo [--wait] [export's flags] [--kubeconfig FILE] [--context C] [-n NS]",
		Short: "Run the pipeline on Argo Workflows: export it and create the Workflow",
		Long: `submit --argo creates the Workflow ` + "`prowctl e2e export --argo`" + ` prints (same flags)
on the cluster of --kubeconfig/--context, in -n (default: the context's
namespace). With --wait it follows the Workflow, a line per step as ` + "`e2e run`" + `
prints them, and exits 0 when it Succeeded, 1 when it Failed; on Ctrl-C or
SIGTERM it stops the Workflow the Argo way (spec.shutdown: Stop: the exit
handler, teardown and upload, still runs) and follows it to its end, within
--stop-grace.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !o.Argo {
				return usageErrorf("submit needs an engine: give --argo (Argo Workflows, the only one for now)")
			}
			o.JobSpecSet = cmd.Flags().Changed("job-spec")
			return runF(cmd.Context(), o)
		},
	}
	o.addFlags(cmd)
	// -o is export's; submit prints progress.
	_ = cmd.Flags().MarkHidden("output")
	cmd.Flags().BoolVar(&o.Wait, "wait", false, "follow the Workflow to its end: exit 0 if it Succeeded, 1 if not")
	cmd.Flags().StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	cmd.Flags().StringVar(&o.Context, "context", "", "kubeconfig context (default its current context)")
	cmd.Flags().DurationVar(&o.StopGrace, "stop-grace", 10*time.Minute, "after Ctrl-C, how long the stopped Workflow's exit handler may run")
	markPaths(cmd, "kubeconfig")
	return cmd
}

func runE2ESubmit(ctx context.Context, o *E2ESubmitOptions) error {
	cfg, ns, err := prowjob.RestConfig(prowjob.ConnectOptions{Kubeconfig: o.Kubeconfig, Context: o.Context, Namespace: o.Workflow.Namespace})
	if err != nil {
		return err
	}
	o.Workflow.Namespace = ns
	wf, err := o.workflow()
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	// After a signal, the stop and the exit handler take their time.
	defer shutdown.Hold(ctx, o.StopGrace+5*time.Second)()
	_, err = argo.Submit(ctx, dyn, ns, wf, argo.SubmitOptions{Out: o.IO.ErrOut, Wait: o.Wait, StopGrace: o.StopGrace})
	return err
}
