package main

import (
	"context"
	"os"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobdebug"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

// DebugOptions are the flags of `prowctl debug`.
type DebugOptions struct {
	IO      *iostreams.IOStreams
	Name    string
	Command []string
	Shell   string
	Keep    bool
	Timeout time.Duration
	Cluster pjClusterFlags
}

func newCmdDebug(f *Factory, runF func(context.Context, *DebugOptions) error) *cobra.Command {
	o := &DebugOptions{IO: f.IO}
	if runF == nil {
		runF = runDebug
	}
	cmd := &cobra.Command{
		Use:   "debug NAME [-- COMMAND...]",
		Short: "Open a shell in a copy of a ProwJob's test container",
		Long: `debug starts a copy of the ProwJob's test container, as Prow's decoration
builds it (same image, env, volumes and working directory; the job's refs
checked out again by clonerefs), with its command replaced by a wait, and
opens a shell in it: look around where the job failed. With -- COMMAND the
command runs instead of the shell, and debug exits with its exit code.

The copy is a pod of its own named debug-NAME-..., labelled
` + jobdebug.LabelOf + `=NAME and without created-by-prow, so plank and sinker
leave it alone; it uploads nothing, and is deleted when the shell exits (not
with --keep). A copy prowctl could not delete ends by itself after 6 hours.`,
		Example: `  prowctl debug 7d9903dd-8279-4a3d-99ba-5ac00bed809d
  prowctl debug 7d9903dd-8279-4a3d-99ba-5ac00bed809d -- cat /logs/clone.json
  prowctl debug 7d9903dd-8279-4a3d-99ba-5ac00bed809d --shell /bin/bash`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if at := cmd.ArgsLenAtDash(); at > 1 || (at < 0 && len(args) > 1) {
				return usageErrorf("one ProwJob name, then -- COMMAND: got %v", args)
			}
			o.Name, o.Command = args[0], args[1:]
			return runF(cmd.Context(), o)
		},
	}
	cmd.Flags().StringVar(&o.Shell, "shell", "/bin/sh", "the shell to open")
	cmd.Flags().BoolVar(&o.Keep, "keep", false, "leave the copy running when the shell exits")
	cmd.Flags().DurationVar(&o.Timeout, "timeout", 5*time.Minute, "how long the copy may take to start (image, checkout)")
	o.Cluster.add(cmd, f)
	cmd.ValidArgsFunction = o.Cluster.completeProwJobNames
	return cmd
}

func runDebug(ctx context.Context, o *DebugOptions) error {
	c, err := o.Cluster.client(ctx)
	if err != nil {
		return err
	}
	return debugJob(ctx, c, o.IO, o.Name, o.Command, o.Shell, o.Keep, o.Timeout)
}

// debugJob opens the shell (or runs command) in a copy of ProwJob name's
// test container; for an interactive shell the terminal goes raw while the
// shell runs.
func debugJob(ctx context.Context, c *prowjob.Client, streams *iostreams.IOStreams, name string, command []string, shell string, keep bool, timeout time.Duration) error {
	do := jobdebug.Options{
		Command: command, Shell: shell, Keep: keep, StartTimeout: timeout,
		In: streams.In, Out: streams.Out, ErrOut: streams.ErrOut,
	}
	in, isFile := streams.In.(*os.File)
	if len(command) == 0 && streams.InTTY && streams.OutTTY && isFile {
		do.TTY = true
		// The terminal itself: a shell's prompt has no newline, and the
		// secrets' masking (run --debug-on-failure --secret) holds back
		// a line until it ends. The shell is the job's environment: its
		// secrets are there to read anyway.
		do.Out = os.Stdout
		fd := int(in.Fd())
		do.Size = func() (uint16, uint16, bool) {
			w, h, err := term.GetSize(fd)
			return uint16(w), uint16(h), err == nil
		}
		do.Raw = func() func() {
			prev, err := term.MakeRaw(fd)
			if err != nil {
				return func() {}
			}
			return func() { term.Restore(fd, prev) }
		}
	}
	return jobdebug.Run(ctx, c, name, do)
}
