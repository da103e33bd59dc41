package main

import (
	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

func newCmdJobs(streams *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{Use: "jobs", Short: "Generate, update and lint Prow job config"}
	cmd.AddCommand(newCmdJobsLint(streams))
	return cmd
}
