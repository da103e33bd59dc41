package lint

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/prowctl/prowctl/pkg/junit"
)

// Formats lists the output formats.
var Formats = []string{"text", "json", "junit"}

// Write prints the result in format: text (file:line:col: severity: rule:
// message, then a summary line), json (one object per finding per line) or
// junit (for Spyglass and testgrid).
func Write(w io.Writer, format string, r *Result) error {
	switch format {
	case "text", "":
		return writeText(w, r)
	case "json":
		enc := json.NewEncoder(w)
		for _, f := range r.Findings {
			if err := enc.Encode(f); err != nil {
				return err
			}
		}
		return nil
	case "junit":
		return writeJUnit(w, r)
	}
	return fmt.Errorf("unknown output format %q (want text, json or junit)", format)
}

func writeText(w io.Writer, r *Result) error {
	for _, f := range r.Findings {
		if _, err := fmt.Fprintln(w, f.String()); err != nil {
			return err
		}
	}
	errs, warns := r.Count()
	_, err := fmt.Fprintf(w, "%d error(s), %d warning(s) in %d job(s), %d file(s)\n", errs, warns, r.Jobs, r.Files)
	return err
}

// writeJUnit writes one suite per rule and one test case per finding, named
// by file:line:col and job so Spyglass lists each at a glance; errors are
// failures, warnings passing cases with the warning in their name (failures
// when r.WarningsFail). A clean run has one passing case, so testgrid shows
// a result.
func writeJUnit(w io.Writer, r *Result) error {
	byRule := map[string][]Finding{}
	for _, f := range r.Findings {
		byRule[f.Rule] = append(byRule[f.Rule], f)
	}
	rules := make([]string, 0, len(byRule))
	for id := range byRule {
		rules = append(rules, id)
	}
	sort.Strings(rules)
	out := junit.Suites{}
	for _, id := range rules {
		s := junit.Suite{Name: "prowctl-jobs-lint/" + id}
		for _, f := range byRule[id] {
			name := fmt.Sprintf("%s:%d:%d", f.File, f.Line, f.Column)
			if f.Job != "" {
				name += " " + f.Job
			}
			c := junit.Case{Name: name, Classname: id}
			if f.Severity == SeverityError || (r.WarningsFail && f.Severity == SeverityWarning) {
				c.Failure = &junit.Message{Message: f.Message, Type: id, Text: f.String()}
			} else {
				c.Name += " (" + string(f.Severity) + ": " + f.Message + ")"
			}
			s.Add(c)
		}
		out.Suites = append(out.Suites, s)
		out.Tests += s.Tests
		out.Failures += s.Failures
	}
	if len(out.Suites) == 0 {
		clean := junit.Suite{Name: "prowctl-jobs-lint"}
		clean.Add(junit.Case{Name: fmt.Sprintf("%d job(s) in %d file(s) pass", r.Jobs, r.Files), Classname: "lint"})
		out.Suites, out.Tests = []junit.Suite{clean}, 1
	}
	return junit.Write(w, out)
}
