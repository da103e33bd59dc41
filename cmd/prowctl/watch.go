package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

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
	c, err := o.Cluster.client(ctx)
	if err != nil {
		return err
	}
	_, err = prowjob.Follow(ctx, c, o.Name, prowjob.FollowOptions{Out: o.IO.Out, ErrOut: o.IO.ErrOut, Timeout: o.Timeout})
	return err
}
