package main

import (
	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

func newRootCmd(streams *iostreams.IOStreams) *cobra.Command {
	root := &cobra.Command{
		Use:           "prowctl",
		Short:         "Author, lint and test Prow jobs",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(streams.In)
	root.SetOut(streams.Out)
	root.SetErr(streams.ErrOut)
	// Each noun lives in its own file of this package and owns its wiring.
	root.AddCommand(
		newCmdJobs(streams),
		newCmdCluster(streams),
		newCmdE2E(streams),
	)
	for _, c := range newCmdsMkpj(streams) {
		root.AddCommand(c)
	}
	return root
}
