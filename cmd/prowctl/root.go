package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/printer"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

// Factory is what commands take from outside their flags: the streams, how
// to reach a cluster, the clock. main uses the real ones; tests build
// commands over fakes (a client over a fake clientset, a fixed clock), so
// every run function runs without a cluster.
type Factory struct {
	IO *iostreams.IOStreams
	// Connect reaches the cluster of the kubeconfig flags.
	Connect func(context.Context, prowjob.ConnectOptions) (*prowjob.Client, error)
	Now     func() time.Time
}

func newFactory(streams *iostreams.IOStreams) *Factory {
	return &Factory{IO: streams, Connect: prowjob.Connect, Now: time.Now}
}

func newRootCmd(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:           "prowctl",
		Short:         "Author, lint and test Prow jobs",
		SilenceUsage:  true,
		SilenceErrors: true,
		// Checks every command shares, before any of them runs.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error { return checkFlags(cmd) },
	}
	root.SetIn(f.IO.In)
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageErrorf("%v (see %s --help)", err, cmd.CommandPath())
	})
	// Each command group lives in its own file of this package and
	// registers its own verbs.
	root.AddCommand(
		newCmdJobs(f),
		newCmdCluster(f.IO),
		newCmdImage(f.IO),
		newCmdE2E(f.IO),
		newCmdMkpj(f, nil),
		newCmdRun(f, nil),
		newCmdRehearse(f, nil),
		newCmdDebug(f, nil),
	)
	root.AddCommand(newCmdsProwJob(f)...)
	// Made now rather than at Execute, so the checks below cover it.
	root.InitDefaultCompletionCmd()
	strictTree(root)
	return root
}

// usageError is a command line prowctl cannot run: exit 2, as lint's bad
// input and the shells' own usage errors.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) ExitCode() int { return 2 }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// asUsage makes err a usage error unless it already chose its exit code.
func asUsage(err error) error {
	var ec exitCoder
	if err == nil || errors.As(err, &ec) {
		return err
	}
	return &usageError{msg: err.Error()}
}

// strictTree makes every command of the tree refuse what it does not know,
// with exit 2: a group (a command with verbs and nothing to run) given an
// unknown verb says so and suggests the closest, where cobra would print
// help and exit 0, so a typo in a CI step cannot pass; a group given
// nothing at all prints its help. Argument errors of the verbs become
// usage errors too.
func strictTree(cmd *cobra.Command) {
	for _, c := range cmd.Commands() {
		strictTree(c)
	}
	if cmd.HasSubCommands() && !cmd.Runnable() {
		cmd.Args = cobra.ArbitraryArgs
		cmd.RunE = runGroup
		return
	}
	if args := cmd.Args; args != nil {
		cmd.Args = func(c *cobra.Command, a []string) error { return asUsage(args(c, a)) }
	}
}

func runGroup(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return cmd.Help()
	}
	cmd.SuggestionsMinimumDistance = 2
	msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		msg += "; did you mean " + oneOf(s) + "?"
	} else {
		var verbs []string
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() {
				verbs = append(verbs, c.Name())
			}
		}
		msg += " (commands: " + strings.Join(verbs, ", ") + ")"
	}
	return &usageError{msg: msg}
}

// markPaths marks flags that name a file or directory: the shell completes
// them with files, and an explicit empty value is a usage error. (An empty
// path means "not given" to some calls and "the current directory" to
// others; either way it is not what the user meant.)
func markPaths(cmd *cobra.Command, names ...string) {
	for _, n := range names {
		if err := cmd.MarkFlagFilename(n); err != nil {
			panic(fmt.Sprintf("markPaths: %s: %v", cmd.CommandPath(), err))
		}
	}
}

func isPathFlag(f *pflag.Flag) bool {
	_, file := f.Annotations[cobra.BashCompFilenameExt]
	_, dir := f.Annotations[cobra.BashCompSubdirsInDir]
	return file || dir
}

// checkFlags runs before every command: empty path flags, then cobra's
// required flags and flag groups, all as usage errors.
func checkFlags(cmd *cobra.Command) error {
	var err error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if err == nil && isPathFlag(f) && f.Value.String() == "" {
			err = usageErrorf("--%s: empty path: give a file or directory, or leave the flag out for its default", f.Name)
		}
	})
	if err != nil {
		return err
	}
	if err := cmd.ValidateRequiredFlags(); err != nil {
		return asUsage(err)
	}
	return asUsage(cmd.ValidateFlagGroups())
}

// oneOf lists names as "a, b or c".
func oneOf(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// checkTextOutput accepts -o text (or none) besides the printer's formats.
func checkTextOutput(output string) error {
	if output == "" || output == "text" {
		return nil
	}
	if err := printer.Check(output); err != nil {
		return usageErrorf("%v, or text", err)
	}
	return nil
}
