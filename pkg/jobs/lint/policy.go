package lint

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/prow/pkg/config"
)

// pjob is a job as policy sees it: Prow's defaulted struct (or the decoded
// one when Prow's config could not be loaded) and its entry in a file.
type pjob struct {
	e    *job
	base *config.JobBase
	pre  *config.Presubmit
	post *config.Postsubmit
	per  *config.Periodic
	// defaulted says Prow defaulted the job (decoration, presets, regexes).
	defaulted bool
}

func (l *linter) policyJobs() []pjob {
	var out []pjob
	if l.entries != nil {
		// Sorted, so messages naming "the other job" are the same every run.
		for _, repo := range slices.Sorted(maps.Keys(l.presubmits)) {
			jobs := l.presubmits[repo]
			for i := range jobs {
				if e := l.entries[&jobs[i]]; e != nil {
					out = append(out, pjob{e: e, base: &jobs[i].JobBase, pre: &jobs[i], defaulted: true})
				}
			}
		}
		for _, repo := range slices.Sorted(maps.Keys(l.postsubmits)) {
			jobs := l.postsubmits[repo]
			for i := range jobs {
				if e := l.entries[&jobs[i]]; e != nil {
					out = append(out, pjob{e: e, base: &jobs[i].JobBase, post: &jobs[i], defaulted: true})
				}
			}
		}
		for i := range l.periodics {
			if e := l.entries[&l.periodics[i]]; e != nil {
				out = append(out, pjob{e: e, base: &l.periodics[i].JobBase, per: &l.periodics[i], defaulted: true})
			}
		}
		return out
	}
	for _, f := range l.files {
		if !f.decoded {
			continue
		}
		byKey := map[string]*job{}
		for _, j := range f.jobs {
			byKey[fmt.Sprint(j.kind, j.repo, j.index)] = j
		}
		for _, repo := range slices.Sorted(maps.Keys(f.jc.PresubmitsStatic)) {
			jobs := f.jc.PresubmitsStatic[repo]
			for i := range jobs {
				if e := byKey[fmt.Sprint(kindPresubmit, repo, i)]; e != nil {
					out = append(out, pjob{e: e, base: &jobs[i].JobBase, pre: &jobs[i]})
				}
			}
		}
		for _, repo := range slices.Sorted(maps.Keys(f.jc.PostsubmitsStatic)) {
			jobs := f.jc.PostsubmitsStatic[repo]
			for i := range jobs {
				if e := byKey[fmt.Sprint(kindPostsubmit, repo, i)]; e != nil {
					out = append(out, pjob{e: e, base: &jobs[i].JobBase, post: &jobs[i]})
				}
			}
		}
		for i := range f.jc.Periodics {
			if e := byKey[fmt.Sprint(kindPeriodic, "", i)]; e != nil {
				out = append(out, pjob{e: e, base: &f.jc.Periodics[i].JobBase, per: &f.jc.Periodics[i]})
			}
		}
	}
	return out
}

// policy runs the policy rules on owned jobs (every job with AllJobs).
func (l *linter) policy() {
	l.addPolicy(l.runPolicy(l.policyJobs()))
}

// runPolicy returns what the policy rules find in jobs (every job of a
// repo must be among them: some rules compare a repo's jobs).
func (l *linter) runPolicy(all []pjob) []Finding {
	pc := policyCtx{l: l, out: new([]Finding)}
	byRepo := map[string][]pjob{}
	for _, j := range all {
		if j.e.repo != "" {
			byRepo[j.e.repo] = append(byRepo[j.e.repo], j)
		}
	}
	for _, j := range all {
		if !j.e.owned && !l.opts.AllJobs {
			continue
		}
		pc.job(j)
		if j.pre != nil {
			pc.presubmit(j, byRepo[j.e.repo])
		}
		if j.post != nil && j.defaulted {
			pc.postsubmitContext(j, byRepo[j.e.repo])
		}
		if j.per != nil {
			pc.periodic(j)
		}
		if len(l.byName[j.e.name]) > 1 {
			for _, other := range l.byName[j.e.name] {
				if other != j.e {
					pc.add(j, keyOrJob(j.e, "name"), RuleJobNameUnique, "job name %q is also used at %s:%d; deck, testgrid and /test cannot tell them apart", j.e.name, other.file.path, other.line)
					break
				}
			}
		}
	}
	return *pc.out
}

// addPolicy adds policy findings, once every Prow finding is in: where
// Prow already reported a problem, a policy finding at the same place would
// only repeat it.
func (l *linter) addPolicy(fs []Finding) {
	type place struct {
		file      string
		line, col int
	}
	prowAt := map[place]bool{}
	for _, f := range l.findings {
		if r, ok := ruleInfo(f.Rule); ok && r.Class == ClassProwError {
			prowAt[place{f.File, f.Line, f.Column}] = true
		}
	}
	for _, f := range fs {
		if !prowAt[place{f.File, f.Line, f.Column}] {
			l.findings = append(l.findings, f)
		}
	}
}

type policyCtx struct {
	l   *linter
	out *[]Finding
}

func (pc policyCtx) add(j pjob, n *yaml.Node, rule, format string, args ...any) {
	if n == nil {
		n = j.e.node()
	}
	msg := fmt.Sprintf(format, args...)
	if jn := j.e.node(); n != jn && !containsNode(jn, n) {
		// Reached through an anchor: the line is shared, so name the job.
		msg += fmt.Sprintf(" (in job %s, through an alias)", j.e.name)
	}
	msg += policyNote(pc.l.opts.AllJobs)
	*pc.out = append(*pc.out, Finding{File: j.e.file.path, Line: n.Line, Column: n.Column, Severity: SeverityError, Rule: rule, Message: msg, Job: j.e.name})
}

// at returns the node at path under the job (mapping keys; list items by
// index or by their name field as "name=NAME"), the key node when the path
// ends on a mapping key, or the deepest node found.
func at(j pjob, path ...string) *yaml.Node {
	n := j.e.node()
	var last *yaml.Node = n
	for i, p := range path {
		if n.Kind == yaml.AliasNode {
			n = n.Alias
		}
		switch n.Kind {
		case yaml.MappingNode:
			k, v := keyOf(n, p), valueOf(n, p)
			if k == nil {
				k, v = mergedKey(n, p)
			}
			if k == nil {
				return last
			}
			if i == len(path)-1 {
				return k
			}
			last, n = k, v
		case yaml.SequenceNode:
			var next *yaml.Node
			if name, ok := strings.CutPrefix(p, "name="); ok {
				for _, e := range n.Content {
					if v := valueOf(e, "name"); v != nil && v.Value == name {
						next = e
					}
				}
			} else if idx, err := strconv.Atoi(p); err == nil && idx < len(n.Content) {
				next = n.Content[idx]
			}
			if next == nil {
				return last
			}
			last, n = next, next
		default:
			return last
		}
	}
	return last
}

// mergedKey finds key in the mappings merged into n with "<<".
func mergedKey(n *yaml.Node, key string) (*yaml.Node, *yaml.Node) {
	m := valueOf(n, "<<")
	if m == nil {
		return nil, nil
	}
	if m.Kind == yaml.AliasNode {
		m = m.Alias
	}
	srcs := []*yaml.Node{m}
	if m.Kind == yaml.SequenceNode {
		srcs = m.Content
	}
	for _, src := range srcs {
		if src.Kind == yaml.AliasNode {
			src = src.Alias
		}
		if k := keyOf(src, key); k != nil {
			return k, valueOf(src, key)
		}
	}
	return nil, nil
}

func (pc policyCtx) job(j pjob) {
	b := j.base
	if len(b.Name) > 63 {
		pc.add(j, at(j, "name"), RuleJobNameLength, "job name is %d characters; keep it at most 63 (it becomes a pod label)", len(b.Name))
	}
	if b.Decorate == nil || !*b.Decorate {
		if b.Agent == "" || b.Agent == "kubernetes" {
			pc.add(j, at(j, "decorate"), RuleDecorate, "job is not decorated; set decorate: true so logs and artifacts reach GCS and the job gets timeouts")
		}
	}
	var missing []string
	for _, a := range []string{"testgrid-dashboards", "testgrid-tab-name"} {
		if _, ok := b.Annotations[a]; !ok {
			missing = append(missing, a)
		}
	}
	if len(missing) > 0 {
		pc.add(j, at(j, "annotations"), RuleTestgrid, "missing testgrid annotation(s) %s", strings.Join(missing, ", "))
	}
	if b.Spec == nil {
		return
	}
	pc.podSpec(j, b.Spec)
}

func (pc policyCtx) podSpec(j pjob, spec *corev1.PodSpec) {
	secretVolumes := map[string]bool{}
	for i, v := range spec.Volumes {
		if v.Secret != nil {
			secretVolumes[v.Name] = true
		}
		if v.HostPath != nil {
			pc.add(j, at(j, "spec", "volumes", strconv.Itoa(i), "hostPath"), RuleHostPath, "volume %q mounts host path %s: jobs share nodes, so this leaks state between them; use emptyDir", v.Name, v.HostPath.Path)
		}
	}
	_, reason := j.base.Annotations[privilegedReason]
	for _, group := range []struct {
		key string
		cs  []corev1.Container
	}{{"initContainers", spec.InitContainers}, {"containers", spec.Containers}} {
		for i, c := range group.cs {
			idx := strconv.Itoa(i)
			if p := imageProblem(c.Image); p != "" {
				pc.add(j, at(j, "spec", group.key, idx, "image"), RuleImageTag, "image %q %s; pin a tag or digest", c.Image, p)
			} else if c.ImagePullPolicy == corev1.PullAlways {
				pc.add(j, at(j, "spec", group.key, idx, "imagePullPolicy"), RuleImagePullPolicy, "imagePullPolicy Always on pinned image %q pulls on every run for nothing; use IfNotPresent", c.Image)
			}
			if group.key == "containers" {
				var miss []string
				for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
					if _, ok := c.Resources.Requests[r]; !ok {
						miss = append(miss, string(r))
					}
				}
				if len(miss) > 0 {
					pc.add(j, at(j, "spec", group.key, idx, "resources"), RuleResourceRequests, "container %s sets no %s request; the scheduler packs unrequested pods onto busy nodes", containerName(c, i), strings.Join(miss, " or "))
				}
			}
			if c.SecurityContext != nil && c.SecurityContext.Privileged != nil && *c.SecurityContext.Privileged && !reason {
				pc.add(j, at(j, "spec", group.key, idx, "securityContext", "privileged"), RulePrivileged, "container %s is privileged; say why in a %q annotation or drop it", containerName(c, i), privilegedReason)
			}
			for _, m := range c.VolumeMounts {
				if secretVolumes[m.Name] && !m.ReadOnly {
					n := at(j, "spec", group.key, idx, "volumeMounts", "name="+m.Name)
					if n == j.e.node() || n.Kind == yaml.MappingNode && valueOf(n, "name") == nil {
						n = at(j, "labels") // the mount came from a preset
					}
					pc.add(j, n, RuleSecretReadOnly, "secret volume %q is mounted without readOnly: true", m.Name)
				}
			}
		}
	}
}

func containerName(c corev1.Container, i int) string {
	if c.Name != "" {
		return c.Name
	}
	return fmt.Sprintf("#%d", i)
}

var digestRE = regexp.MustCompile(`@sha256:[0-9a-f]{64}$`)

// imageProblem says what is wrong with an image reference's pin, or "".
func imageProblem(image string) string {
	if image == "" {
		return ""
	}
	if digestRE.MatchString(image) {
		return ""
	}
	name := image
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		name = name[i+1:]
	}
	tag, ok := "", false
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		tag, ok = name[i+1:], true
	}
	switch {
	case !ok:
		return "has no tag (means :latest)"
	case tag == "latest":
		return "uses :latest"
	}
	return ""
}

func (pc policyCtx) presubmit(j pjob, repoJobs []pjob) {
	p := j.pre
	if len(p.Branches) == 0 && len(p.SkipBranches) == 0 {
		pc.add(j, at(j, "name"), RulePresubmitBranches, "presubmit sets no branches; it runs on every branch, including release branches. List them in branches")
	}
	if p.AlwaysRun && (p.RunIfChanged != "" || p.SkipIfOnlyChanged != "") {
		key := "run_if_changed"
		if p.RunIfChanged == "" {
			key = "skip_if_only_changed"
		}
		pc.add(j, at(j, key), RuleAlwaysRunFilter, "always_run with %s: the filter never applies; drop one", key)
	}
	// Prow compiled the regexes of the jobs it defaulted (and reported those
	// that do not compile); compile only what it did not see.
	triggerOK := j.defaulted && p.Trigger != ""
	var trigger *regexp.Regexp
	if !j.defaulted {
		for _, f := range []struct{ key, re string }{{"run_if_changed", p.RunIfChanged}, {"skip_if_only_changed", p.SkipIfOnlyChanged}, {"trigger", p.Trigger}} {
			if f.re == "" {
				continue
			}
			re, err := regexp.Compile(f.re)
			if err != nil {
				pc.add(j, at(j, f.key), RuleRegex, "%s does not compile: %v", f.key, err)
				continue
			}
			if f.key == "trigger" {
				trigger, triggerOK = re, true
			}
		}
	}
	matches := func(body string) bool {
		if trigger != nil {
			return trigger.MatchString(body)
		}
		return p.TriggerMatches(body)
	}
	if p.RerunCommand != "" && triggerOK {
		if !matches(p.RerunCommand) {
			pc.add(j, at(j, "rerun_command"), RuleRerunCommand, "rerun_command %q is not matched by trigger %q; commenting it would not rerun the job", p.RerunCommand, p.Trigger)
		} else if j.defaulted {
			for _, o := range repoJobs {
				if o.pre == nil || o.e == j.e || o.pre.Name == p.Name || !o.defaulted || !o.pre.Brancher.Intersects(p.Brancher) {
					continue
				}
				if o.pre.Trigger != "" && o.pre.TriggerMatches(p.RerunCommand) {
					pc.add(j, at(j, "rerun_command"), RuleRerunCommand, "rerun_command %q also triggers %s; make the triggers distinct", p.RerunCommand, o.pre.Name)
					break
				}
			}
		}
	}
	if j.defaulted {
		pc.contexts(j, p.Context, p.Brancher, repoJobs)
	}
}

func (pc policyCtx) postsubmitContext(j pjob, repoJobs []pjob) {
	pc.contexts(j, j.post.Context, j.post.Brancher, repoJobs)
}

// contexts flags a presubmit and a postsubmit of one repo that report the
// same status context on overlapping branches; Prow checks each kind alone.
func (pc policyCtx) contexts(j pjob, ctx string, br config.Brancher, repoJobs []pjob) {
	for _, o := range repoJobs {
		var octx string
		var obr config.Brancher
		switch {
		case j.pre != nil && o.post != nil:
			octx, obr = o.post.Context, o.post.Brancher
		case j.post != nil && o.pre != nil:
			octx, obr = o.pre.Context, o.pre.Brancher
		default:
			continue
		}
		if octx != "" && octx == ctx && obr.Intersects(br) {
			pc.add(j, at(j, "context"), RuleUniqueContext, "context %q is also reported by %s %s on overlapping branches; statuses would overwrite each other", ctx, o.e.kind, o.e.name)
			return
		}
	}
}

func (pc policyCtx) periodic(j pjob) {
	p := j.per
	set := 0
	for _, s := range []string{p.Interval, p.Cron, p.MinimumInterval} {
		if s != "" {
			set++
		}
	}
	switch {
	case set == 0:
		pc.add(j, at(j, "name"), RulePeriodicSchedule, "periodic has no interval or cron; it never runs")
	case set > 1:
		pc.add(j, at(j, "cron"), RulePeriodicSchedule, "periodic sets more than one of interval, minimum_interval and cron; keep exactly one")
	case p.Interval != "":
		d, err := time.ParseDuration(p.Interval)
		if err != nil || d <= 0 {
			pc.add(j, at(j, "interval"), RulePeriodicSchedule, "interval %q is not a positive duration (like 8h)", p.Interval)
			break
		}
		// Horologium starts an interval job every interval, finished or not.
		if dc := p.DecorationConfig; dc != nil && dc.Timeout != nil && dc.Timeout.Duration > d && p.MaxConcurrency == 0 {
			pc.add(j, at(j, "interval"), RuleMaxConcurrency, "interval %s is shorter than the job's timeout %s: runs can overlap; set max_concurrency: 1 or lengthen the interval", p.Interval, dc.Timeout.Duration)
		}
	case p.Cron != "":
		if len(strings.Fields(p.Cron)) != 5 {
			pc.add(j, at(j, "cron"), RulePeriodicSchedule, "cron %q does not have 5 fields (minute hour day month weekday)", p.Cron)
		}
	}
}
