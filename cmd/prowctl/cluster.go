package main

import (
	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

func newCmdCluster(streams *iostreams.IOStreams) *cobra.Command {
	return &cobra.Command{Use: "cluster", Short: "(not yet implemented)"}
}
