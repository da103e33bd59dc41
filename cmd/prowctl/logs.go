package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

// LogsOptions are the flags of `prowctl logs`.
type LogsOptions struct {
	IO        *iostreams.IOStreams
	Name      string
	Follow    bool
	Container string
	Cluster   pjClusterFlags
}

func newCmdLogs(f *Factory, runF func(context.Context, *LogsOptions) error) *cobra.Command {
	o := &LogsOptions{IO: f.IO}
	if runF == nil {
		runF = runLogs
	}
	cmd := &cobra.Command{
		Use:   "logs NAME [-f] [-c CONTAINER]",
		Short: "Print the log of a ProwJob's pod",
		Long: `logs prints the log of the test container of the ProwJob's pod, or of another
container with -c: clonerefs, initupload, place-entrypoint or sidecar, Prow's
pod utilities. With -f it waits for the pod and the container to start and
streams the log until the container ends.`,
		Example: `  prowctl logs 7d9903dd-8279-4a3d-99ba-5ac00bed809d -f
  prowctl logs 7d9903dd-8279-4a3d-99ba-5ac00bed809d -c sidecar`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Name = args[0]
			return runF(cmd.Context(), o)
		},
	}
	cmd.Flags().BoolVarP(&o.Follow, "follow", "f", false, "stream the log until the container ends")
	cmd.Flags().StringVarP(&o.Container, "container", "c", "test", "container of the pod")
	o.Cluster.add(cmd, f)
	cmd.ValidArgsFunction = o.Cluster.completeProwJobNames
	return cmd
}

func runLogs(ctx context.Context, o *LogsOptions) error {
	c, err := o.Cluster.client(ctx)
	if err != nil {
		return err
	}
	return prowjob.Logs(ctx, c, o.Name, o.IO.Out, prowjob.LogsOptions{Container: o.Container, Follow: o.Follow})
}
