// Package lint checks Prow job config the way Prow loads it, and more: every
// error Prow's own loader and checkconfig report, placed at file:line:col;
// unknown fields with a suggestion; and policy rules on the jobs a spec owns.
//
// How it stays as strict as Prow and still beats checkconfig's time:
//
//   - Each job file is parsed once, into a yaml.v3 node tree (positions,
//     duplicate keys, unknown fields), on all cores. The tree is converted to
//     the JSON Prow's decoder (sigs.k8s.io/yaml) would produce from the same
//     bytes and decoded into Prow's own types with encoding/json, as Prow
//     does (convert.go; TestConvertMatchesProwDecoder and FuzzConvert hold
//     the two equal). Whenever the fast path fails or cannot be sure, Prow's
//     decoder runs on the bytes and its verdict and message are used.
//   - Prow's config.yaml is loaded by config.Load itself, beside the parsing.
//   - Jobs are merged as Prow merges them, then defaulted and validated by
//     Prow's exported functions (DefaultAndValidateProwYAML per repository,
//     DefaultPeriodic, ValidateJobConfig), in parallel where Prow's code
//     allows. A config.yaml that holds jobs itself goes through config.Load
//     whole instead.
//   - Prow's errors name jobs and fields but no lines: they are placed on the
//     job they name and, inside it, on the key they mention.
package lint

import (
	"cmp"
	"fmt"
	"slices"
)

// Severity orders findings: errors fail the lint, warnings only with
// --warnings-as-errors.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	// SeverityOff disables a rule (only in a spec's rule overrides).
	SeverityOff Severity = "off"
)

// Finding is one problem at one place.
type Finding struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Column   int      `json:"column"`
	Severity Severity `json:"severity"`
	Rule     string   `json:"rule"`
	Message  string   `json:"message"`
	// Job names the job the finding is about, when there is one.
	Job string `json:"job,omitempty"`
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s: %s", f.File, f.Line, f.Column, f.Severity, f.Rule, f.Message)
}

func sortFindings(fs []Finding) []Finding {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Message, b.Message),
		)
	})
	return slices.Compact(fs)
}

// Result is the outcome of one lint run.
type Result struct {
	Findings []Finding
	// Files is how many job config files were read.
	Files int
	// Jobs is how many jobs they hold.
	Jobs int
	// WarningsFail is set by a caller for which warnings fail the run
	// (--warnings-as-errors): JUnit then lists them as failures, so a
	// failed run never shows only passing cases.
	WarningsFail bool
}

// Count returns the number of errors and warnings.
func (r *Result) Count() (errs, warns int) {
	for _, f := range r.Findings {
		switch f.Severity {
		case SeverityError:
			errs++
		case SeverityWarning:
			warns++
		}
	}
	return errs, warns
}

// InputError means the input could not be read at all (missing path,
// unreadable file, a Prow config that is not YAML): no verdict is possible.
type InputError struct {
	Path string
	Err  error
}

func (e *InputError) Error() string { return fmt.Sprintf("%s: %v", e.Path, e.Err) }
func (e *InputError) Unwrap() error { return e.Err }
