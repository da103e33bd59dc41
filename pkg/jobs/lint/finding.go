// Package lint checks Prow job config the way Prow loads it, and more: every
// error Prow's own loader and checkconfig report, placed at file:line:col;
// unknown fields with a suggestion; and policy rules on the jobs a spec owns.
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
