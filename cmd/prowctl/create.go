package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

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

func runCreate(ctx context.Context, o *CreateOptions) error {
	pj, err := readProwJob(ctx, o.IO.In, o.File)
	if err != nil {
		return err
	}
	c, err := o.Cluster.client(ctx)
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
