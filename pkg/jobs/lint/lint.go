package lint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"
	"sync"

	"github.com/prowctl/prowctl/pkg/jobconfig"
	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// Options say what to lint and how.
type Options struct {
	// ConfigPath is Prow's config.yaml.
	ConfigPath string
	// JobConfigPath is a job config file or a directory searched recursively
	// (as Prow does: *.yaml and *.yml, .prowignore honoured, "..*" skipped).
	JobConfigPath string
	// Owner says which jobs policy applies to; nil owns nothing.
	Owner Owner
	// Rules overrides rule severities ("error", "warning", "off") by rule id.
	Rules map[string]string
	// RulesFile and RulesNode, when set, place problems with Rules (an
	// unknown rule id) in the spec file.
	RulesFile string
	// AllJobs applies policy to every job, not only owned ones.
	AllJobs bool
	// Workers bounds parallelism; 0 means GOMAXPROCS.
	Workers int
}

// Lint checks the job config the way Prow loads it, then checkconfig's
// checks, then policy. It returns an *InputError when the input cannot be
// read at all; every other problem is a Finding.
func Lint(ctx context.Context, o Options) (*Result, error) {
	overrides, ruleFindings := parseOverrides(o.Rules, o.RulesFile)
	for _, p := range []string{o.ConfigPath, o.JobConfigPath} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			return nil, &InputError{Path: p, Err: yamlpos.UnwrapPath(err)}
		}
	}
	if o.ConfigPath == "" {
		return nil, &InputError{Path: "--config-path", Err: errors.New("a Prow config is required")}
	}
	st, _ := os.Stat(o.ConfigPath)
	if st.IsDir() {
		return nil, &InputError{Path: o.ConfigPath, Err: errors.New("Prow config must be a file, not a directory")}
	}

	types := &typeCache{}
	files, walkFindings, err := listJobFiles(o.JobConfigPath, types)
	if err != nil {
		return nil, err
	}

	// Prow's config and the job files are independent until jobs are
	// defaulted: load them side by side.
	var prow prowConfig
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		prow = loadProwConfig(o.ConfigPath, types)
	}()
	if err := parseFiles(ctx, files, o.Owner, o.Workers); err != nil {
		return nil, err
	}
	wg.Wait()
	if prow.unreadable != nil {
		return nil, prow.unreadable
	}

	l := &linter{opts: o, files: files, prow: prow}
	l.findings = append(l.findings, ruleFindings...)
	l.findings = append(l.findings, walkFindings...)
	l.findings = append(l.findings, prow.findings...)
	for _, f := range files {
		l.findings = append(l.findings, f.findings...)
	}
	l.index()
	if prow.cfg != nil {
		l.loadJobs()
	}
	if !l.policyDone {
		l.policy()
	}
	l.verdict()

	res := &Result{Files: len(files), Jobs: l.njobs}
	res.Findings = applyOverrides(l.findings, overrides)
	res.Findings = sortFindings(res.Findings)
	return res, nil
}

// inputError makes err, from reading or parsing path, an *InputError that
// names the position when there is one.
func inputError(path string, err error) *InputError {
	var pe *yamlpos.Error
	if errors.As(err, &pe) {
		msg := pe.Msg
		if m, ok := strings.CutPrefix(msg, "invalid YAML: "); ok {
			msg = "not YAML: " + m
		}
		return &InputError{Path: fmt.Sprintf("%s:%d:%d", path, pe.Line, pe.Column), Err: errors.New(msg)}
	}
	var je *jobconfig.Error
	if errors.As(err, &je) {
		return &InputError{Path: je.Path, Err: je.Err}
	}
	// yamlpos's own errors already start with the path.
	msg := strings.TrimPrefix(err.Error(), path+": ")
	var fe *fs.PathError
	if errors.As(err, &fe) {
		msg = fe.Err.Error()
	}
	return &InputError{Path: path, Err: errors.New(msg)}
}

// listJobFiles finds job config files the way Prow's ReadJobConfig does.
func listJobFiles(root string, types *typeCache) ([]*file, []Finding, error) {
	if root == "" {
		return nil, nil, nil
	}
	l, err := jobconfig.Files(root)
	if err != nil {
		return nil, nil, inputError(root, err)
	}
	var files []*file
	var findings []Finding
	for _, p := range l.Files {
		files = append(files, &file{path: p, types: types})
	}
	for _, d := range l.Duplicates {
		// Prow refuses this: updateconfig keys the configmap by basename.
		findings = append(findings, Finding{File: d.Path, Line: 1, Column: 1, Severity: SeverityError, Rule: RuleProwLoad,
			Message: d.Problem()})
	}
	if len(files) == 0 && len(findings) == 0 {
		// Prow loads such a directory as no jobs; a lint that passes on
		// nothing hides a wrong path in CI.
		return nil, nil, &InputError{Path: root, Err: errors.New("no job config files (*.yaml, *.yml) in this directory; point --job-config-path at the job config")}
	}
	return files, findings, nil
}

// parseFiles reads and parses every file, spread over the available cores.
func parseFiles(ctx context.Context, files []*file, owner Owner, workers int) error {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	work := make(chan *file)
	errs := make([]error, len(files))
	idx := map[*file]int{}
	for i, f := range files {
		idx[f] = i
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each file's tree is dropped before the next is parsed.
			var arena yamlpos.Arena
			for f := range work {
				data, err := jobconfig.ReadFile(f.path)
				if err != nil {
					errs[idx[f]] = inputError(f.path, err)
					continue
				}
				f.data = data
				f.parse(owner, &arena)
				f.release()
			}
		}()
	}
	for _, f := range files {
		select {
		case work <- f:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// verdict gives each finding the severity its rule's class calls for, so
// that with no spec lint fails exactly when checkconfig (without --strict)
// does: Prow's load errors stay errors, checkconfig's warnings are
// warnings, and what Prow accepts silently is a warning outside the jobs
// the spec owns.
func (l *linter) verdict() {
	ownedJob := map[[2]string]bool{}
	ownedFile := map[string]bool{}
	for _, f := range l.files {
		for _, j := range f.jobs {
			if j.owned || l.opts.AllJobs {
				ownedJob[[2]string{f.path, j.name}] = true
				ownedFile[f.path] = true
			}
		}
	}
	note := policyNote(l.opts.AllJobs)
	for i := range l.findings {
		f := &l.findings[i]
		r, ok := ruleInfo(f.Rule)
		if !ok {
			continue // "spec": a problem in the spec's own lint section
		}
		switch r.Class {
		case ClassProwError:
			f.Severity = SeverityError
		case ClassProwWarning:
			f.Severity = SeverityWarning
		case ClassHygiene:
			owned := ownedFile[f.File]
			if f.Job != "" {
				owned = ownedJob[[2]string{f.File, f.Job}]
			}
			if owned {
				f.Severity = SeverityError
				f.Message += note
			} else {
				f.Severity = SeverityWarning
			}
		}
	}
}
