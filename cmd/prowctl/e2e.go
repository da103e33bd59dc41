package main

import (
	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

func newCmdE2E(streams *iostreams.IOStreams) *cobra.Command {
	return &cobra.Command{Use: "e2e", Short: "(not yet implemented)"}
}
