// Command prowctl authors, lints and tests Prow jobs: see README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/redact"
	"github.com/prowctl/prowctl/pkg/shutdown"
)

func main() {
	// Prow validates crons with robfig/cron, which reports a bad one through
	// the standard logger (log.Panicf, then recovers); the reason reaches
	// the user inside the returned error, so the log line is only noise.
	log.SetOutput(io.Discard)
	if code, ok := cluster.MainIfSelf(os.Args[1:], os.Stderr); ok {
		os.Exit(code)
	}
	os.Exit(run(os.Args[1:], iostreams.System()))
}

// run is prowctl with args: signals, the root command, the exit code. The
// watchdog may end the process itself, when a command does not return
// within its grace after a signal.
func run(args []string, streams *iostreams.IOStreams) int {
	// Every message goes through one redaction, whoever prints it.
	streams.ErrOut = redact.Writer(streams.ErrOut)

	// Prow's interrupts package, linked in with its config loader, calls
	// signal.Notify for SIGINT and SIGTERM in an init goroutine and only
	// logs the first: the signals no longer kill the process. Reset drops
	// that registration; ours is the only one left, for the whole run.
	signal.Reset(os.Interrupt, syscall.SIGTERM)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	w := &shutdown.Watchdog{Exit: os.Exit, ErrOut: streams.ErrOut, BeforeExit: shutdown.KillChildren}
	ctx := w.Start(context.Background(), sigs)

	root := newRootCmd(newFactory(streams))
	root.SetArgs(args)
	return execute(ctx, root, w, streams.ErrOut)
}

// execute runs root and returns the exit code, printing the error once:
// 128+signal after SIGINT/SIGTERM (w may be nil in tests), else the
// error's own code.
func execute(ctx context.Context, root *cobra.Command, w *shutdown.Watchdog, errOut io.Writer) int {
	err := root.ExecuteContext(ctx)
	if w != nil && w.Signal() != nil {
		msg := "interrupted by " + shutdown.SignalName(w.Signal())
		if err != nil && err.Error() != "" && !errors.Is(err, context.Canceled) {
			msg += ": " + err.Error()
		}
		fmt.Fprintln(errOut, "prowctl: "+redact.String(msg))
		return w.ExitCode()
	}
	if err == nil {
		return 0
	}
	var ec exitCoder
	if !errors.As(err, &ec) || ec.Error() != "" {
		fmt.Fprintf(errOut, "prowctl: %s\n", redact.String(err.Error()))
	}
	return exitCode(err)
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
