package lint

import (
	"fmt"
	"maps"
	"slices"
	"sort"

	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// Rule ids. Those Prow itself enforces (prow-load, checkconfig, yaml-syntax)
// cannot be lowered: lint is never more lenient than Prow.
const (
	RuleYAMLSyntax     = "yaml-syntax"
	RuleYAMLType       = "yaml-type"
	RuleProwLoad       = "prow-load"
	RuleCheckconfig    = "checkconfig"
	RuleDuplicateKey   = "duplicate-key"
	RuleEmptyFile      = "empty-file"
	RuleUnknownJobType = "unknown-job-type"
	RuleUnknownField   = "unknown-field"

	RuleImageTag          = "image-tag"
	RuleRerunCommand      = "rerun-command"
	RuleUniqueContext     = "unique-context"
	RuleRegex             = "regex"
	RuleSecretReadOnly    = "secret-readonly"
	RuleTestgrid          = "testgrid-annotations"
	RuleJobNameLength     = "job-name-length"
	RulePeriodicSchedule  = "periodic-schedule"
	RulePresubmitBranches = "presubmit-branches"
	RuleDecorate          = "decorate"
	RuleResourceRequests  = "resource-requests"
	RuleImagePullPolicy   = "image-pull-policy"
	RuleHostPath          = "host-path"
	RulePrivileged        = "privileged"
	RuleJobNameUnique     = "job-name-unique"
	RuleAlwaysRunFilter   = "always-run-filter"
	RuleMaxConcurrency    = "max-concurrency"
	RuleMultiDocument     = "multi-document"
)

// RuleInfo describes a rule for `--help` and the README.
type RuleInfo struct {
	ID          string
	Description string
	// Fixed rules come from Prow and cannot be lowered or turned off.
	Fixed bool
	// Class says whose verdict a finding of the rule carries.
	Class RuleClass
}

// RuleClass says whose verdict a rule's findings carry. With no spec (no
// owned jobs, no overrides) lint's exit code is checkconfig's.
type RuleClass int

const (
	// ClassProwError: Prow's loader rejects it; checkconfig exits 1.
	ClassProwError RuleClass = iota
	// ClassProwWarning: checkconfig warns and exits 0 (1 with --strict,
	// which --warnings-as-errors mirrors).
	ClassProwWarning
	// ClassHygiene: Prow accepts it silently. A warning, and an error
	// inside the jobs (or files) the spec owns.
	ClassHygiene
	// ClassPolicy: prowctl's own rules, only on the jobs the spec owns
	// (every job with --policy-scope all); always errors there.
	ClassPolicy
)

// Rules lists every rule.
var Rules = []RuleInfo{
	{RuleYAMLSyntax, "the file is not valid YAML (syntax, tabs in indentation)", true, ClassProwError},
	{RuleProwLoad, "Prow's config loader rejects the config (type errors, bad regexes, duplicates, invalid fields)", true, ClassProwError},
	{RuleCheckconfig, "what checkconfig warns about (names over 63 characters, undecorated kubernetes jobs, duplicated refs, clone settings on periodics): warnings here too; --warnings-as-errors is checkconfig --strict", true, ClassProwWarning},
	{RuleYAMLType, "a job config file is not a mapping", true, ClassProwError},
	{RuleDuplicateKey, "a key appears twice in one mapping (Prow silently keeps the last)", false, ClassHygiene},
	{RuleMultiDocument, "a job config file holds a second YAML document (---), which Prow ignores", false, ClassHygiene},
	{RuleEmptyFile, "a job config file holds no job config", false, ClassHygiene},
	{RuleUnknownJobType, "a top-level key other than presubmits, postsubmits, periodics, presets", false, ClassHygiene},
	{RuleUnknownField, "a field the pinned Prow does not know (checkconfig warns in config.yaml only)", false, ClassHygiene},
	{RuleImageTag, "an image without a tag or digest, or tagged :latest", false, ClassPolicy},
	{RuleRerunCommand, "rerun_command not matched by the job's trigger, or also triggering another job", false, ClassPolicy},
	{RuleUniqueContext, "a presubmit and a postsubmit of one repo report the same context on overlapping branches", false, ClassPolicy},
	{RuleRegex, "run_if_changed, skip_if_only_changed or trigger does not compile", false, ClassPolicy},
	{RuleSecretReadOnly, "a secret volume mounted without readOnly: true", false, ClassPolicy},
	{RuleTestgrid, "testgrid-dashboards or testgrid-tab-name annotation missing", false, ClassPolicy},
	{RuleJobNameLength, "a job name over 63 characters (any agent)", false, ClassPolicy},
	{RulePeriodicSchedule, "a periodic without exactly one valid interval or cron", false, ClassPolicy},
	{RulePresubmitBranches, "a presubmit without branches", false, ClassPolicy},
	{RuleDecorate, "a job without decoration (pod utilities)", false, ClassPolicy},
	{RuleResourceRequests, "a container without cpu and memory requests", false, ClassPolicy},
	{RuleImagePullPolicy, "imagePullPolicy: Always on an image pinned by tag or digest", false, ClassPolicy},
	{RuleHostPath, "a hostPath volume", false, ClassPolicy},
	{RulePrivileged, "a privileged container without a " + privilegedReason + " annotation", false, ClassPolicy},
	{RuleJobNameUnique, "a job name used by more than one job", false, ClassPolicy},
	{RuleAlwaysRunFilter, "always_run together with run_if_changed or skip_if_only_changed", false, ClassPolicy},
	{RuleMaxConcurrency, "a periodic whose timeout is longer than its interval, without max_concurrency: runs pile up", false, ClassPolicy},
}

// policyNote ends the message of a finding that is an error only because
// prowctl's policy covers the job: Prow itself would accept it.
func policyNote(allJobs bool) string {
	if allJobs {
		return " (policy: --policy-scope all)"
	}
	return " (policy: the spec owns this job)"
}

// privilegedReason is the job annotation that justifies a privileged container.
const privilegedReason = "prowctl/privileged-reason"

func ruleInfo(id string) (RuleInfo, bool) {
	for _, r := range Rules {
		if r.ID == id {
			return r, true
		}
	}
	return RuleInfo{}, false
}

// parseOverrides checks a spec's rule overrides; problems are findings in
// the spec file.
func parseOverrides(rules map[string]string, specPath string) (map[string]Severity, []Finding) {
	out := map[string]Severity{}
	var findings []Finding
	var root *yaml.Node
	if specPath != "" && len(rules) > 0 {
		if data, err := yamlpos.ReadFile(specPath); err == nil {
			if spec, err := yamlpos.Parse(specPath, data); err == nil {
				root = valueOf(valueOf(spec, "lint"), "rules")
			}
		}
	}
	bad := func(id, msg string) {
		line, col := 1, 1
		if k := keyOf(root, id); k != nil {
			line, col = k.Line, k.Column
		}
		findings = append(findings, Finding{File: specPath, Line: line, Column: col, Severity: SeverityError, Rule: "spec", Message: msg})
	}
	for _, id := range slices.Sorted(maps.Keys(rules)) {
		sev := Severity(rules[id])
		ok := true
		r, known := ruleInfo(id)
		switch {
		case !known:
			var ids []string
			for _, r := range Rules {
				ids = append(ids, r.ID)
			}
			msg := fmt.Sprintf("lint.rules: unknown rule %q", id)
			if s := closestName(id, ids); s != "" {
				msg += "; did you mean " + s + "?"
			}
			bad(id, msg)
			ok = false
		case r.Fixed:
			bad(id, fmt.Sprintf("lint.rules: rule %q comes from Prow and cannot be changed", id))
			ok = false
		case sev != SeverityError && sev != SeverityWarning && sev != SeverityOff:
			bad(id, fmt.Sprintf("lint.rules: %s: severity must be error, warning or off, not %q", id, sev))
			ok = false
		}
		if ok {
			out[id] = sev
		}
	}
	return out, findings
}

func applyOverrides(fs []Finding, overrides map[string]Severity) []Finding {
	if len(overrides) == 0 {
		return fs
	}
	out := fs[:0]
	for _, f := range fs {
		if sev, ok := overrides[f.Rule]; ok {
			if sev == SeverityOff {
				continue
			}
			f.Severity = sev
		}
		out = append(out, f)
	}
	return out
}

// RuleIDs lists rule ids, sorted.
func RuleIDs() []string {
	var ids []string
	for _, r := range Rules {
		ids = append(ids, r.ID)
	}
	sort.Strings(ids)
	return ids
}
