package lint

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"
	syaml "sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// prowConfig is Prow's config.yaml, loaded and validated by Prow alone.
type prowConfig struct {
	path       string
	root       *yaml.Node
	cfg        *config.Config // nil when Prow rejects the file
	findings   []Finding
	unreadable error
	hasJobs    bool // config.yaml holds jobs itself (old monolithic layout)
}

func loadProwConfig(path string, types *typeCache) prowConfig {
	p := prowConfig{path: path}
	data, err := yamlpos.ReadFileMaybeGzip(path)
	if err != nil {
		p.unreadable = inputError(path, err)
		return p
	}
	doc, err := yamlpos.ParseFirst(path, data)
	if err != nil {
		// Prow refuses it too: no verdict on the jobs is possible.
		p.unreadable = inputError(path, err)
		return p
	}
	if len(doc.Content) > 0 {
		p.root = doc.Content[0]
		// As in job config files: Prow keeps the last of two keys silently.
		if d := yamlpos.DuplicateKey(path, p.root); d != nil {
			p.findings = append(p.findings, Finding{File: path, Line: d.Line, Column: d.Column, Severity: SeverityError, Rule: RuleDuplicateKey,
				Message: fmt.Sprintf("%s: %s; Prow keeps only the last", d.Field, d.Msg)})
		}
	}
	for _, k := range []string{"presubmits", "postsubmits", "periodics"} {
		if v := valueOf(p.root, k); v != nil && len(v.Content) > 0 {
			p.hasJobs = true
		}
	}
	cfg, err := config.Load(path, "", nil, "")
	if err != nil {
		if p.root != nil && strings.Contains(err.Error(), "error unmarshaling") {
			for _, d := range locateDecodeError(types, p.root, errors.Unwrap(err)) {
				p.add(d.node, RuleProwLoad, d.msg)
			}
			return p
		}
		p.add(p.root, RuleProwLoad, err.Error())
		return p
	}
	p.cfg = cfg
	// checkconfig's default "unknown-fields" check covers config.yaml: its
	// strict decode gives the verdict, our walk the positions and suggestions.
	if err := syaml.Unmarshal(data, &config.Config{}, syaml.DisallowUnknownFields); err != nil {
		f := &file{path: path, types: types}
		w := walker{f: f}
		w.walk(p.root, reflect.TypeFor[config.Config](), SeverityError)
		var found bool
		for _, fd := range f.findings {
			if fd.Rule == RuleUnknownField {
				p.findings = append(p.findings, fd)
				found = true
			}
		}
		if !found {
			n := p.root
			if m := unknownFieldRE.FindStringSubmatch(err.Error()); m != nil {
				if k := findKey(p.root, m[1]); k != nil {
					n = k
				}
			}
			p.add(n, RuleUnknownField, strings.TrimPrefix(err.Error(), "error unmarshaling JSON: while decoding JSON: "))
		}
	}
	return p
}

var unknownFieldRE = regexp.MustCompile(`unknown field "([^"]+)"`)

func (p *prowConfig) add(n *yaml.Node, rule, msg string) {
	line, col := 1, 1
	if n != nil {
		line, col = n.Line, n.Column
	}
	p.findings = append(p.findings, Finding{File: p.path, Line: line, Column: col, Severity: SeverityError, Rule: rule, Message: msg})
}

// findKey returns the first key node named key anywhere under n.
func findKey(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				return n.Content[i]
			}
		}
	}
	for _, c := range n.Content {
		if k := findKey(c, key); k != nil {
			return k
		}
	}
	return nil
}

// linter holds one run's state.
type linter struct {
	opts     Options
	files    []*file
	prow     prowConfig
	findings []Finding
	njobs    int

	byName map[string][]*job
	// The jobs Prow defaulted and validated, with their entries.
	presubmits  map[string][]config.Presubmit
	postsubmits map[string][]config.Postsubmit
	periodics   []config.Periodic
	entries     map[any]*job // *config.Presubmit etc. -> entry
	// policyDone says loadJobs ran the policy rules as it checked each repo.
	policyDone bool
}

func (l *linter) index() {
	l.byName = map[string][]*job{}
	for _, f := range l.files {
		for _, j := range f.jobs {
			l.byName[j.name] = append(l.byName[j.name], j)
			l.njobs++
		}
	}
}

// loadJobs does what config.Load does with the job files, through Prow's own
// exported functions: merge (presets must not clash), default every job
// (decoration, presets, regexes) and validate the whole job config. Files
// Prow's decoder rejected are left out, so one bad file does not hide the
// problems of the others.
func (l *linter) loadJobs() {
	cfg := l.prow.cfg
	if l.prow.hasJobs {
		// Jobs in config.yaml were defaulted with config.yaml's presets only;
		// to keep Prow's exact semantics, let Prow load everything itself.
		l.loadJobsWithProw()
		return
	}
	seenPreset := map[string]bool{}
	for _, p := range cfg.Presets {
		for k, v := range p.Labels {
			seenPreset[k+":"+v] = true
		}
	}
	var presubmits = map[string][]config.Presubmit{}
	var postsubmits = map[string][]config.Postsubmit{}
	var periodics []config.Periodic
	type entry struct {
		kind, repo string
		index      int
	}
	entryJob := map[entry]*job{}
	for _, f := range l.files {
		if !f.decoded {
			continue
		}
		for i, p := range f.jc.Presets {
			for k, v := range p.Labels {
				if seenPreset[k+":"+v] {
					l.addAt(f, presetNode(f, i, k), RuleProwLoad, fmt.Sprintf("duplicated preset 'label:value' pair : %s:%s", k, v))
				}
				seenPreset[k+":"+v] = true
			}
		}
		cfg.Presets = append(cfg.Presets, f.jc.Presets...)
		// Entries of one file and kind appear in the file's order.
		byKey := map[entry]*job{}
		for _, j := range f.jobs {
			byKey[entry{j.kind, j.repo, j.index}] = j
		}
		for repo, jobs := range f.jc.PresubmitsStatic {
			for i := range jobs {
				entryJob[entry{kindPresubmit, repo, len(presubmits[repo]) + i}] = byKey[entry{kindPresubmit, repo, i}]
			}
			presubmits[repo] = append(presubmits[repo], jobs...)
		}
		for repo, jobs := range f.jc.PostsubmitsStatic {
			for i := range jobs {
				entryJob[entry{kindPostsubmit, repo, len(postsubmits[repo]) + i}] = byKey[entry{kindPostsubmit, repo, i}]
			}
			postsubmits[repo] = append(postsubmits[repo], jobs...)
		}
		for i := range f.jc.Periodics {
			entryJob[entry{kindPeriodic, "", len(periodics) + i}] = byKey[entry{kindPeriodic, "", i}]
		}
		periodics = append(periodics, f.jc.Periodics...)
		f.jc = config.JobConfig{} // merged copies are what is checked from here on
	}

	if err := cfg.Plank.FinalizeDefaultDecorationConfigs(); err != nil {
		l.addProwError(err)
		return
	}
	// DefaultAndValidateProwYAML is Prow's exported path to the same
	// defaulting finalizeJobConfig does; it also checks clusters against
	// in-repo config's allow-list, which does not apply to central config.
	if cfg.InRepoConfig.AllowedClusters == nil {
		cfg.InRepoConfig.AllowedClusters = map[string][]string{}
	}
	for repo, jobs := range presubmits {
		for _, j := range jobs {
			cfg.InRepoConfig.AllowedClusters[repo] = append(cfg.InRepoConfig.AllowedClusters[repo], j.Cluster)
		}
	}
	for repo, jobs := range postsubmits {
		for _, j := range jobs {
			cfg.InRepoConfig.AllowedClusters[repo] = append(cfg.InRepoConfig.AllowedClusters[repo], j.Cluster)
		}
	}

	repos := slices.Sorted(maps.Keys(presubmits))
	for _, r := range slices.Sorted(maps.Keys(postsubmits)) {
		if _, ok := presubmits[r]; !ok {
			repos = append(repos, r)
		}
	}
	// Each repo is defaulted, validated and checked in one task, and its
	// jobs dropped when the task ends: Prow's defaulted jobs (presets
	// merged, regexes compiled) are twice the size of the decoded ones, and
	// holding every repo's at once set the lint's peak memory. Periodics are
	// defaulted in tasks of their own, and checked together once Prow has
	// validated them all.
	pres := make([][]config.Presubmit, len(repos))
	posts := make([][]config.Postsubmit, len(repos))
	for i, r := range repos {
		pres[i], posts[i] = presubmits[r], postsubmits[r]
	}
	presubmits, postsubmits = nil, nil
	type result struct {
		findings, policy []Finding
		errs             []error
	}
	results := make([]result, len(repos))
	nrepo := len(repos)
	var mu sync.Mutex
	var errs []error
	parallel(nrepo+len(periodics), l.opts.Workers, func(i int) {
		if i >= nrepo {
			if err := cfg.DefaultPeriodic(&periodics[i-nrepo]); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
			return
		}
		repo := repos[i]
		r := &results[i]
		// Presubmits and postsubmits are validated apart, so a bad presubmit
		// does not stop its repo's postsubmits from being checked; the jobs
		// of a kind Prow rejects are not checked further.
		if len(pres[i]) > 0 {
			if err := config.DefaultAndValidateProwYAML(cfg, &config.ProwYAML{Presubmits: pres[i]}, repo); err != nil {
				r.errs = append(r.errs, err)
				pres[i] = nil
			}
		}
		if len(posts[i]) > 0 {
			if err := config.DefaultAndValidateProwYAML(cfg, &config.ProwYAML{Postsubmits: posts[i]}, repo); err != nil {
				r.errs = append(r.errs, err)
				posts[i] = nil
			}
		}
		rl := l.scoped()
		rl.presubmits = map[string][]config.Presubmit{repo: pres[i]}
		rl.postsubmits = map[string][]config.Postsubmit{repo: posts[i]}
		for k := range pres[i] {
			rl.entries[&pres[i][k]] = entryJob[entry{kindPresubmit, repo, k}]
		}
		for k := range posts[i] {
			rl.entries[&posts[i][k]] = entryJob[entry{kindPostsubmit, repo, k}]
		}
		rl.checkconfig(cfg)
		r.findings, r.policy = rl.findings, rl.runPolicy(rl.policyJobs())
		pres[i], posts[i] = nil, nil
	})
	var policy []Finding
	for _, r := range results {
		l.findings = append(l.findings, r.findings...)
		policy = append(policy, r.policy...)
		for _, err := range r.errs {
			l.addProwError(err)
		}
	}
	// DefaultAndValidateProwYAML validated each repo's presubmits and
	// postsubmits exactly as ValidateJobConfig does; let it do the periodics.
	cfg.PresubmitsStatic, cfg.PostsubmitsStatic, cfg.Periodics = nil, nil, periodics
	if err := cfg.ValidateJobConfig(); err != nil {
		errs = append(errs, err)
	}
	for _, err := range errs {
		l.addProwError(err)
	}
	pl := l.scoped()
	pl.periodics = periodics
	for i := range periodics {
		pl.entries[&periodics[i]] = entryJob[entry{kindPeriodic, "", i}]
	}
	pl.checkconfig(cfg)
	l.findings = append(l.findings, pl.findings...)
	l.addPolicy(append(policy, pl.runPolicy(pl.policyJobs())...))
	l.policyDone = true
}

// scoped returns a linter for checking some of l's jobs on their own: it
// shares l's files, Prow config and job index, and has findings of its own.
func (l *linter) scoped() *linter {
	return &linter{opts: l.opts, files: l.files, prow: l.prow, byName: l.byName, entries: map[any]*job{}}
}

// loadJobsWithProw runs config.Load on everything: the slow, exact path for
// configs that keep jobs in config.yaml.
func (l *linter) loadJobsWithProw() {
	cfg, err := config.Load(l.opts.ConfigPath, l.opts.JobConfigPath, nil, "")
	if err != nil {
		l.addProwError(err)
		return
	}
	l.presubmits, l.postsubmits, l.periodics = cfg.PresubmitsStatic, cfg.PostsubmitsStatic, cfg.Periodics
	l.entries = map[any]*job{}
	match := func(name, repo, kind, source string) *job {
		for _, j := range l.byName[name] {
			if j.kind == kind && j.repo == repo && j.file.path == source {
				return j
			}
		}
		return nil
	}
	for repo, jobs := range l.presubmits {
		for i := range jobs {
			l.entries[&jobs[i]] = match(jobs[i].Name, repo, kindPresubmit, jobs[i].SourcePath)
		}
	}
	for repo, jobs := range l.postsubmits {
		for i := range jobs {
			l.entries[&jobs[i]] = match(jobs[i].Name, repo, kindPostsubmit, jobs[i].SourcePath)
		}
	}
	for i := range l.periodics {
		l.entries[&l.periodics[i]] = match(l.periodics[i].Name, "", kindPeriodic, l.periodics[i].SourcePath)
	}
	l.checkconfig(cfg)
}

func presetNode(f *file, i int, label string) *yaml.Node {
	if ps := valueOf(f.tree(), "presets"); ps != nil && i < len(ps.Content) {
		if k := keyOf(valueOf(ps.Content[i], "labels"), label); k != nil {
			return k
		}
		return ps.Content[i]
	}
	return nil
}

// checkconfig runs the job checks checkconfig enables by default; with
// --strict (how config repos run it) each fails the check, so they are
// errors here, on every job.
func (l *linter) checkconfig(cfg *config.Config) {
	long := func(j *config.JobBase) bool {
		return j.Agent == string(prowapi.KubernetesAgent) && len(j.Name) > validation.LabelValueMaxLength
	}
	undecorated := func(j *config.JobBase) bool {
		return j.Agent == string(prowapi.KubernetesAgent) && j.Decorate != nil && !*j.Decorate
	}
	for repo, jobs := range l.presubmits {
		for i := range jobs {
			j := &jobs[i]
			l.checkJob(j, &j.JobBase, long, undecorated)
			if err := config.ValidateRefs(repo, j.JobBase); err != nil {
				l.addJob(j, keyOrJob(l.entries[j], "extra_refs"), RuleCheckconfig, err.Error())
			}
			if !cfg.Gerrit.IsAllowedPresubmitTrigger(j.RerunCommand) {
				l.addJob(j, keyOrJob(l.entries[j], "rerun_command"), RuleCheckconfig, fmt.Sprintf("rerun command %q does not conform to the Gerrit test command requirements (%s)", j.RerunCommand, cfg.Gerrit.AllowedPresubmitTriggerReRawString))
			}
		}
	}
	for _, jobs := range l.postsubmits {
		for i := range jobs {
			l.checkJob(&jobs[i], &jobs[i].JobBase, long, undecorated)
		}
	}
	for i := range l.periodics {
		j := &l.periodics[i]
		l.checkJob(j, &j.JobBase, long, undecorated)
		if j.CloneDepth != 0 || j.CloneURI != "" || j.PathAlias != "" {
			n := l.entries[j]
			var k *yaml.Node
			for _, key := range []string{"clone_depth", "clone_uri", "path_alias"} {
				if k == nil && n != nil {
					k = keyOf(n.node(), key)
				}
			}
			if k == nil && n != nil {
				k = n.node()
			}
			l.addJob(j, k, RuleCheckconfig, "periodic jobs clone 0, 1 or more repos: top-level clone_depth, clone_uri and path_alias have no effect; set them in extra_refs")
		}
	}
}

func (l *linter) checkJob(key any, j *config.JobBase, long, undecorated func(*config.JobBase) bool) {
	e := l.entries[key]
	if long(j) {
		l.addJob(key, keyOrJob(e, "name"), RuleCheckconfig, fmt.Sprintf("job name %q is %d characters; Prow labels pods with it and labels hold at most 63", j.Name, len(j.Name)))
	}
	if undecorated(j) {
		l.addJob(key, keyOrJob(e, "decorate"), RuleCheckconfig, fmt.Sprintf("job %s uses the kubernetes agent without the pod utilities (decorate: false)", j.Name))
	}
}

func keyOrJob(j *job, key string) *yaml.Node {
	if j == nil {
		return nil
	}
	if k := keyOf(j.node(), key); k != nil {
		return k
	}
	return j.node()
}

// addJob adds an error about the job behind key (a *config.Presubmit, ...).
func (l *linter) addJob(key any, n *yaml.Node, rule, msg string) {
	j := l.entries[key]
	path := l.prow.path
	name := ""
	if j != nil {
		path, name = j.file.path, j.name
	}
	line, col := 1, 1
	if n != nil {
		line, col = n.Line, n.Column
	}
	l.findings = append(l.findings, Finding{File: path, Line: line, Column: col, Severity: SeverityError, Rule: rule, Message: msg, Job: name})
}

// addAt adds an error at n in f (at f's start when n is nil).
func (l *linter) addAt(f *file, n *yaml.Node, rule, msg string) {
	line, col := 1, 1
	if n != nil {
		line, col = n.Line, n.Column
	}
	l.findings = append(l.findings, Finding{File: f.path, Line: line, Column: col, Severity: SeverityError, Rule: rule, Message: msg})
}

func containsNode(root, n *yaml.Node) bool {
	if root == n {
		return true
	}
	for _, c := range root.Content {
		if containsNode(c, n) {
			return true
		}
	}
	return false
}

// addProwError places each error of Prow's (possibly aggregated) error at
// the job it names and, within the job, at the field it names.
func (l *linter) addProwError(err error) {
	for _, e := range flatten(err) {
		msg := e.Error()
		j := l.jobInMessage(msg)
		if j == nil {
			l.findings = append(l.findings, Finding{File: l.prow.path, Line: 1, Column: 1, Severity: SeverityError, Rule: RuleProwLoad, Message: msg})
			continue
		}
		n := fieldInMessage(j.node(), msg)
		if strings.Contains(msg, "duplicated") {
			// Prow names no place: say where the other definition is.
			for _, o := range l.byName[j.name] {
				if o != j && o.kind == j.kind && o.repo == j.repo {
					msg += fmt.Sprintf("; also defined at %s:%d", o.file.path, o.line)
					break
				}
			}
		}
		l.findings = append(l.findings, Finding{File: j.file.path, Line: n.Line, Column: n.Column, Severity: SeverityError, Rule: RuleProwLoad, Message: msg, Job: j.name})
	}
}

func flatten(err error) []error {
	var agg utilerrors.Aggregate
	if errors.As(err, &agg) {
		var out []error
		for _, e := range agg.Errors() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

var tokenRE = regexp.MustCompile(`[A-Za-z0-9][A-Za-z0-9._\-/]*[A-Za-z0-9]|[A-Za-z0-9]`)

// jobInMessage finds the job a Prow error names: the first word that is a
// job name; among jobs of that name, the one whose repo or kind the message
// names, and for "duplicated" errors the last definition.
func (l *linter) jobInMessage(msg string) *job {
	for _, tok := range tokenRE.FindAllString(msg, -1) {
		js := l.byName[tok]
		if len(js) == 0 {
			continue
		}
		cands := js
		// Only jobs of files Prow decoded reached Prow's validation.
		if narrowed := filterJobs(cands, func(j *job) bool { return j.file.decoded }); len(narrowed) > 0 {
			cands = narrowed
		}
		if narrowed := filterJobs(cands, func(j *job) bool { return j.repo != "" && strings.Contains(msg, j.repo) }); len(narrowed) > 0 {
			cands = narrowed
		}
		if narrowed := filterJobs(cands, func(j *job) bool { return strings.Contains(msg, j.kind) }); len(narrowed) > 0 {
			cands = narrowed
		}
		if strings.Contains(msg, "duplicated") || strings.Contains(msg, "same GitHub context") {
			return cands[len(cands)-1]
		}
		return cands[0]
	}
	// Names with characters Prow rejects (spaces, "!") are not single words.
	var best *job
	for name, js := range l.byName {
		if len(name) > 2 && strings.Contains(msg, name) && (best == nil || len(name) > len(best.name)) {
			best = js[len(js)-1]
		}
	}
	return best
}

func filterJobs(js []*job, keep func(*job) bool) []*job {
	var out []*job
	for _, j := range js {
		if keep(j) {
			out = append(out, j)
		}
	}
	return out
}

var camelRE = regexp.MustCompile(`[a-z][A-Z]`)

// messageFields maps phrases of Prow's messages that name no field to the
// field they are about.
var messageFields = map[string]string{
	"cannot parse duration":     "interval",
	"minimum_interval":          "minimum_interval",
	"invalid cron string":       "cron",
	"must specify command":      "containers",
	"utility image config":      "decoration_config",
	"report to the same GitHub": "context",
}

// fieldInMessage returns the key node under job whose name the message
// mentions (the longest such key, as the most specific), or the job itself.
func fieldInMessage(job *yaml.Node, msg string) *yaml.Node {
	// Prow sometimes names Go fields (job.RerunCommand): add their YAML names.
	snake := camelRE.ReplaceAllStringFunc(msg, func(s string) string { return s[:1] + "_" + strings.ToLower(s[1:]) })
	words := map[string]bool{}
	prev := ""
	for _, w := range tokenRE.FindAllString(strings.ToLower(msg+" "+snake), -1) {
		for _, part := range strings.FieldsFunc(w, func(r rune) bool { return r == '.' || r == '/' }) {
			words[part] = true
			words[prev+"_"+part] = true // "rerun command" names rerun_command
			prev = part
		}
	}
	for phrase, key := range messageFields {
		if strings.Contains(msg, phrase) {
			words[key] = true
		}
	}
	var best *yaml.Node
	var visit func(n *yaml.Node)
	visit = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Value != "name" && words[strings.ToLower(k.Value)] && (best == nil || len(k.Value) > len(best.Value)) {
					best = k
				}
			}
		}
		for _, c := range n.Content {
			visit(c)
		}
	}
	visit(job)
	if best == nil {
		return job
	}
	return best
}

// parallel calls fn(0..n-1) on up to workers goroutines.
func parallel(n, workers int, fn func(i int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
