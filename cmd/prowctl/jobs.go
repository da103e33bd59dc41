package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobs"
	"github.com/prowctl/prowctl/pkg/shutdown"
)

func newCmdJobs(f *Factory) *cobra.Command {
	cmd := &cobra.Command{Use: "jobs", Short: "Generate, update and lint Prow job config"}
	cmd.AddCommand(newCmdJobsLint(f.IO))
	cmd.AddCommand(newCmdJobsGenerate(f.IO, nil))
	cmd.AddCommand(newCmdJobsWhich(f.IO, nil))
	cmd.AddCommand(newCmdJobsDiff(f.IO, nil))
	cmd.AddCommand(newCmdJobsExplain(f, nil))
	return cmd
}

// JobsGenerateOptions are the inputs of `prowctl jobs generate`.
type JobsGenerateOptions struct {
	IO *iostreams.IOStreams

	SpecPath string
	Out      string
	InPlace  string
	Verify   bool
}

// newCmdJobsGenerate builds the command; runF replaces jobsGenerateRun in
// tests of flag parsing.
func newCmdJobsGenerate(streams *iostreams.IOStreams, runF func(*JobsGenerateOptions) error) *cobra.Command {
	opts := &JobsGenerateOptions{IO: streams}
	cmd := &cobra.Command{
		Use:   "generate [--spec FILE] [--out FILE | --in-place CONFIG] [--verify]",
		Short: "Write the spec's Prow jobs to a generated file or into a shared config",
		Long: `Generate writes the Prow jobs described by the spec (default ` + jobs.DefaultSpecPath + `).

Without --in-place it writes a standalone job config file (default ` + jobs.DefaultOutPath + `).
With --in-place CONFIG it replaces only the spec's entries inside a shared Prow
config.yaml (the repository's presubmits and postsubmits and the periodics the
spec owns) and leaves every other byte of the file as it was.

With --verify it writes nothing: it exits 0 when the file is up to date, else
prints a unified diff of what would change and exits 1.`,
		Example: `  prowctl jobs generate
  prowctl jobs generate --verify
  prowctl jobs generate --in-place ../test-infra/prow/config.yaml --verify`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("in-place") && opts.InPlace == "" {
				// An empty path (an unset variable in CI) must not mean "not given".
				return &lintExitError{code: 2, msg: "--in-place needs the path of a shared Prow config"}
			}
			if opts.InPlace != "" && cmd.Flags().Changed("out") {
				return fmt.Errorf("--out and --in-place are exclusive: one names a generated file, the other a shared config to edit")
			}
			if runF != nil {
				return runF(opts)
			}
			return jobsGenerateRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.SpecPath, "spec", jobs.DefaultSpecPath, "the jobs spec")
	cmd.Flags().StringVar(&opts.Out, "out", jobs.DefaultOutPath, "the generated job config file")
	cmd.Flags().StringVar(&opts.InPlace, "in-place", "", "edit the spec's entries inside this shared Prow config instead of writing --out")
	cmd.Flags().BoolVar(&opts.Verify, "verify", false, "write nothing; exit 1 with a diff when the file is out of date")
	markPaths(cmd, "spec", "out", "in-place")
	return cmd
}

func jobsGenerateRun(ctx context.Context, opts *JobsGenerateOptions) error {
	spec, err := jobs.LoadSpec(opts.SpecPath)
	if err != nil {
		return err
	}
	target := jobs.Target{Path: opts.Out}
	if opts.InPlace != "" {
		target = jobs.Target{Path: opts.InPlace, InPlace: true}
	}
	change, err := jobs.Plan(spec, target)
	if err != nil {
		return err
	}
	if opts.Verify {
		if change.UpToDate() {
			fmt.Fprintf(opts.IO.Out, "%s is up to date with %s\n", target.Path, opts.SpecPath)
			return nil
		}
		fmt.Fprint(opts.IO.Out, change.Diff())
		return &jobs.OutOfDateError{Path: target.Path, Command: regenerateCommand(opts)}
	}
	// Once started, the write runs to its end (it replaces the file
	// atomically) even after a signal; a signal before it writes nothing.
	if err := ctx.Err(); err != nil {
		return err
	}
	release := shutdown.Hold(ctx, writeGrace)
	wrote, err := change.Write()
	release()
	if err != nil {
		return err
	}
	if wrote {
		fmt.Fprintf(opts.IO.Out, "wrote %s\n", target.Path)
	} else {
		fmt.Fprintf(opts.IO.Out, "%s is up to date with %s\n", target.Path, opts.SpecPath)
	}
	return nil
}

// writeGrace bounds how long a started write may delay the exit after a
// signal: a job config is written in milliseconds.
const writeGrace = 5 * time.Second

// regenerateCommand is the command line that brings the target up to date.
func regenerateCommand(opts *JobsGenerateOptions) string {
	cmd := "prowctl jobs generate"
	if opts.SpecPath != jobs.DefaultSpecPath {
		cmd += " --spec " + opts.SpecPath
	}
	switch {
	case opts.InPlace != "":
		cmd += " --in-place " + opts.InPlace
	case opts.Out != jobs.DefaultOutPath:
		cmd += " --out " + opts.Out
	}
	return cmd
}
