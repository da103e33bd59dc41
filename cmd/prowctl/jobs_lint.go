package main

import (
	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

func newCmdJobsLint(streams *iostreams.IOStreams) *cobra.Command {
	return &cobra.Command{Use: "lint", Short: "(not yet implemented)"}
}
