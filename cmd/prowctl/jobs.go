package main

import (
	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

func newCmdJobs(streams *iostreams.IOStreams) *cobra.Command {
	return &cobra.Command{Use: "jobs", Short: "(not yet implemented)"}
}
