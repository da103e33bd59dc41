package main

import (
	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

// newCmdsMkpj returns mkpj, create, rerun, watch and get.
func newCmdsMkpj(streams *iostreams.IOStreams) []*cobra.Command {
	return nil
}
