package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobs"
	"github.com/prowctl/prowctl/pkg/jobs/lint"
)

// JobsLintOptions are the inputs of `prowctl jobs lint`.
type JobsLintOptions struct {
	IO *iostreams.IOStreams

	ConfigPath       string
	JobConfigPath    string
	SpecPath         string
	Output           string
	WarningsAsErrors bool
	PolicyScope      string

	// specExplicit is set when --spec was given: then a missing spec is an error.
	specExplicit bool
}

const (
	defaultProwConfigPath = "config/prow/config.yaml"
	defaultJobConfigPath  = "config/jobs"
)

func newCmdJobsLint(streams *iostreams.IOStreams) *cobra.Command {
	opts := &JobsLintOptions{IO: streams}
	cmd := &cobra.Command{
		Use:   "lint [--config-path FILE] [--job-config-path FILE|DIR] [--spec FILE] [-o text|json|junit]",
		Short: "Check Prow job config as Prow loads it, with positions and policy",
		Long: `Lint loads the job config with Prow's own config package (the code checkconfig
runs) and reports every problem at file:line:col: what Prow rejects (errors),
what checkconfig warns about (warnings, as there), YAML problems (syntax, tabs,
duplicate keys), unknown fields with a suggestion, and policy rules on the jobs
the spec owns (--policy-scope all: on every job). With no spec, lint fails
exactly when checkconfig does; --warnings-as-errors is checkconfig --strict.

Rules: ` + strings.Join(lint.RuleIDs(), ", ") + `.
A spec lowers or disables policy rules under lint.rules (rule: warning|off).

Exit status: 0 clean (warnings allowed), 1 errors (or warnings with
--warnings-as-errors), 2 when the input cannot be read.`,
		Example: `  prowctl jobs lint
  prowctl jobs lint --job-config-path ../test-infra/config/jobs --config-path ../test-infra/config/prow/config.yaml --policy-scope owned
  prowctl jobs lint -o junit > "$ARTIFACTS/junit_lint.xml"`,
		Args: func(_ *cobra.Command, args []string) error {
			// A usage error, like a bad -o: exit 2, not the 1 of findings.
			if len(args) > 0 {
				return &lintExitError{code: 2, msg: fmt.Sprintf("unexpected argument %s: lint takes paths as --job-config-path and --config-path", args[0])}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.specExplicit = cmd.Flags().Changed("spec")
			if !slices.Contains(lint.Formats, opts.Output) {
				return &lintExitError{code: 2, msg: fmt.Sprintf("-o %s: want one of %s", opts.Output, strings.Join(lint.Formats, ", "))}
			}
			if opts.PolicyScope != "" && opts.PolicyScope != jobs.ScopeOwned && opts.PolicyScope != jobs.ScopeAll {
				return &lintExitError{code: 2, msg: fmt.Sprintf("--policy-scope %s: want owned or all", opts.PolicyScope)}
			}
			return jobsLintRun(cmd, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.ConfigPath, "config-path", defaultProwConfigPath, "Prow's config.yaml")
	f.StringVar(&opts.JobConfigPath, "job-config-path", defaultJobConfigPath, "a job config file, or a directory searched recursively")
	f.StringVar(&opts.SpecPath, "spec", jobs.DefaultSpecPath, "the spec naming the owned jobs and the policy overrides")
	f.StringVarP(&opts.Output, "output", "o", "text", "output format: text, json or junit")
	f.BoolVar(&opts.WarningsAsErrors, "warnings-as-errors", false, "exit 1 on warnings too")
	f.StringVar(&opts.PolicyScope, "policy-scope", "", "jobs policy applies to: owned (default, or the spec's lint.scope) or all")
	markPaths(cmd, "config-path", "job-config-path", "spec")
	return cmd
}

func jobsLintRun(cmd *cobra.Command, opts *JobsLintOptions) error {
	lo := lint.Options{ConfigPath: opts.ConfigPath, JobConfigPath: opts.JobConfigPath}
	scope := opts.PolicyScope
	spec, err := jobs.LoadSpec(opts.SpecPath)
	switch {
	case err == nil:
		lo.Owner, lo.Rules, lo.RulesFile = spec, spec.Lint.Rules, opts.SpecPath
		if scope == "" {
			scope = spec.Lint.Scope
		}
	case errors.Is(err, fs.ErrNotExist) && !opts.specExplicit:
		// No spec in this repository: nothing is owned; Prow's checks still apply.
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission):
		return &lintExitError{code: 2, msg: err.Error()}
	default:
		var se *jobs.Error
		if !errors.As(err, &se) {
			fmt.Fprintln(opts.IO.ErrOut, err)
			return &lintExitError{code: 1}
		}
		// An invalid spec is a finding like any other, so -o json and
		// -o junit (what a lint presubmit shows) carry it too.
		f := lint.Finding{File: se.File, Line: max(se.Line, 1), Column: max(se.Column, 1), Severity: lint.SeverityError, Rule: "spec", Message: se.Msg}
		if se.Field != "" {
			f.Message = se.Field + ": " + se.Msg
		}
		if err := lint.Write(opts.IO.Out, opts.Output, &lint.Result{Findings: []lint.Finding{f}}); err != nil {
			return err
		}
		return &lintExitError{code: 1}
	}
	lo.AllJobs = scope == jobs.ScopeAll

	// Linting a large config is a short batch whose heap is mostly garbage
	// (parse trees, and Prow compiling every job's regexes): collecting at
	// 70% growth instead of Go's default 100% keeps the peak about 10%
	// lower for a few percent more CPU. GOGC, when set, still wins.
	if os.Getenv("GOGC") == "" {
		defer debug.SetGCPercent(debug.SetGCPercent(70))
	}
	res, err := lint.Lint(cmd.Context(), lo)
	if err != nil {
		var ie *lint.InputError
		if errors.As(err, &ie) {
			return &lintExitError{code: 2, msg: "cannot lint: " + err.Error()}
		}
		return err
	}
	res.WarningsFail = opts.WarningsAsErrors
	if err := lint.Write(opts.IO.Out, opts.Output, res); err != nil {
		return err
	}
	errs, warns := res.Count()
	if errs > 0 || (opts.WarningsAsErrors && warns > 0) {
		return &lintExitError{code: 1}
	}
	return nil
}

// lintExitError carries lint's exit status; an empty msg means the findings
// were already printed.
type lintExitError struct {
	code int
	msg  string
}

func (e *lintExitError) Error() string { return e.msg }
func (e *lintExitError) ExitCode() int { return e.code }
