// Command prowctl authors, lints and tests Prow jobs: see README.md.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

func main() {
	streams := iostreams.System()
	cmd := newRootCmd(streams)
	if err := cmd.Execute(); err != nil {
		var ec exitCoder
		if !errors.As(err, &ec) || ec.Error() != "" {
			fmt.Fprintf(streams.ErrOut, "prowctl: %v\n", err)
		}
		os.Exit(exitCode(err))
	}
}

// exitCoder is an error that chooses the process exit code (lint's 1 vs 2,
// watch's 2 on timeout). An empty message means "already reported".
type exitCoder interface {
	error
	ExitCode() int
}

func exitCode(err error) int {
	var ec exitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	return 1
}
