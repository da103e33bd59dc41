package mkpj

import (
	"crypto/sha256"
	"maps"
	"reflect"

	"sigs.k8s.io/prow/pkg/config"
)

// The two sides of a diff are two versions of one config, which share most
// of their jobs. Prow defaults a job (config.Load's finalizeJobConfig, our
// mergeDefaulted) from the job as its file decodes, the Prow config
// (config.yaml) and the presets whose labels the job carries, in their
// order; nothing else: not its file's path, nor the other jobs, nor where
// it sits in the merge. So a job whose file has the same bytes at both
// sides, under Prow configs equal but for their presets, with the same
// presets selected by its labels, defaults to the same job at both sides.
// LoadFilesLike copies those from the side loaded first instead of decoding
// and defaulting them again. Whatever Prow would refuse is still refused:
// ValidateJobConfig sees every repo holding a copy, unless the repo's jobs
// are copies, one for one, of a repo Prow accepted at the other side
// (validateMerged).

// Taken maps each job a load took from another config to the job it copied,
// by their JobBase: the two are what Prow's defaulting gives, equal in
// every field but SourcePath, and share their pointers.
type Taken map[*config.JobBase]*config.JobBase

// record is what a fast load leaves for a load of another version of its
// config to take jobs from.
type record struct {
	c *config.Config
	// prow is c's Prow config as config.Load returned it, before the job
	// config was merged into c.
	prow *config.Config
	// files holds where each job config file's jobs are in c, by the
	// SHA-256 of the file's bytes.
	files map[[sha256.Size]byte]*fileJobs
}

// fileJobs is one job config file in a merged config.
type fileJobs struct {
	presets []config.Preset
	// pre and post hold, by repo, the file's jobs' indices in the merged
	// list of the repo; a repo the file lists without jobs has an empty
	// span (Prow's merge keeps its key).
	pre, post map[string]span
	periodics span
}

type span struct{ start, end int }

// donors is, aligned with the job lists of a merged job config, the job
// each was copied from; nil for a job decoded here, to be defaulted.
type donors struct {
	pre       map[string][]*config.Presubmit
	post      map[string][]*config.Postsubmit
	periodics []*config.Periodic
}

// remember records c, loaded on the fast path, for LoadFilesLike.
func (ld *Loader) remember(c, prow *config.Config, sums [][sha256.Size]byte, held []fileJobs) {
	r := &record{c: c, prow: prow, files: make(map[[sha256.Size]byte]*fileJobs, len(held))}
	for i := range held {
		if _, ok := r.files[sums[i]]; !ok {
			r.files[sums[i]] = &held[i]
		}
	}
	ld.records.Store(c, r)
}

// recordLike is like's record when a config whose Prow config (fresh from
// config.Load) is prow can take jobs from it; nil when it cannot.
func (ld *Loader) recordLike(prow, like *config.Config) *record {
	if like == nil {
		return nil
	}
	v, ok := ld.records.Load(like)
	if !ok {
		return nil
	}
	r := v.(*record)
	if !sameProwConfig(prow, r.prow) {
		return nil
	}
	return r
}

// prowConfigOf is a copy of c, fresh from config.Load, that the merge of
// the job config into c leaves alone: the merge replaces c's fields but for
// AllRepos, which it adds to.
func prowConfigOf(c *config.Config) *config.Config {
	p := *c
	p.AllRepos = maps.Clone(c.AllRepos)
	return &p
}

// sameProwConfig says whether two Prow configs, fresh from config.Load, are
// equal but for their presets (which LoadFilesLike compares job by job):
// every field, unexported ones included; Prow's in-repo getters, which are
// functions, by identity. Anything DeepEqual cannot vouch for (another
// function, say) makes them differ, which only costs the shortcut.
func sameProwConfig(a, b *config.Config) bool {
	x, y := *a, *b
	x.Presets, y.Presets = nil, nil
	for _, g := range [][2]*config.ProwYAMLGetter{{&x.ProwYAMLGetter, &y.ProwYAMLGetter}, {&x.ProwYAMLGetterWithDefaults, &y.ProwYAMLGetterWithDefaults}} {
		if (*g[0] == nil) != (*g[1] == nil) || *g[0] != nil && reflect.ValueOf(*g[0]).Pointer() != reflect.ValueOf(*g[1]).Pointer() {
			return false
		}
		*g[0], *g[1] = nil, nil
	}
	return reflect.DeepEqual(&x, &y)
}

func (r *record) hasFile(sum [sha256.Size]byte) bool { return r.file(sum) != nil }

func (r *record) file(sum [sha256.Size]byte) *fileJobs {
	if r == nil {
		return nil
	}
	return r.files[sum]
}

// copyFile is what decoding a file with fj's bytes at path gives, taken
// from r's defaulted jobs, with the job each copy is of.
func (r *record) copyFile(fj *fileJobs, path string) (config.JobConfig, donors) {
	f := config.JobConfig{Presets: fj.presets, PresubmitsStatic: map[string][]config.Presubmit{}, PostsubmitsStatic: map[string][]config.Postsubmit{}}
	d := donors{pre: map[string][]*config.Presubmit{}, post: map[string][]*config.Postsubmit{}}
	for repo, s := range fj.pre {
		f.PresubmitsStatic[repo], d.pre[repo] = copyJobs(r.c.PresubmitsStatic[repo][s.start:s.end], func(j *config.Presubmit) { j.SourcePath = path })
	}
	for repo, s := range fj.post {
		f.PostsubmitsStatic[repo], d.post[repo] = copyJobs(r.c.PostsubmitsStatic[repo][s.start:s.end], func(j *config.Postsubmit) { j.SourcePath = path })
	}
	f.Periodics, d.periodics = copyJobs(r.c.Periodics[fj.periodics.start:fj.periodics.end], func(j *config.Periodic) { j.SourcePath = path })
	return f, d
}

func copyJobs[J any](src []J, fix func(*J)) ([]J, []*J) {
	jobs := make([]J, len(src))
	from := make([]*J, len(src))
	for i := range src {
		jobs[i] = src[i]
		fix(&jobs[i])
		from[i] = &src[i]
	}
	return jobs, from
}

// appendFile is Prow's merge of one file f into jc, with fd (the jobs f's
// were copied from, if any) into d, and where f's jobs landed.
func appendFile(jc *config.JobConfig, d *donors, f config.JobConfig, fd donors) fileJobs {
	fj := fileJobs{presets: f.Presets, pre: map[string]span{}, post: map[string]span{}}
	jc.Presets = append(jc.Presets, f.Presets...)
	fj.periodics = span{len(jc.Periodics), len(jc.Periodics) + len(f.Periodics)}
	jc.Periodics = append(jc.Periodics, f.Periodics...)
	d.periodics = append(d.periodics, orNils(fd.periodics, len(f.Periodics))...)
	for repo, jobs := range f.PresubmitsStatic {
		n := len(jc.PresubmitsStatic[repo])
		fj.pre[repo] = span{n, n + len(jobs)}
		jc.PresubmitsStatic[repo] = append(jc.PresubmitsStatic[repo], jobs...)
		d.pre[repo] = append(d.pre[repo], orNils(fd.pre[repo], len(jobs))...)
	}
	for repo, jobs := range f.PostsubmitsStatic {
		n := len(jc.PostsubmitsStatic[repo])
		fj.post[repo] = span{n, n + len(jobs)}
		jc.PostsubmitsStatic[repo] = append(jc.PostsubmitsStatic[repo], jobs...)
		d.post[repo] = append(d.post[repo], orNils(fd.post[repo], len(jobs))...)
	}
	return fj
}

// orNils is from, or n nils when from is nil (a decoded file's jobs).
func orNils[J any](from []*J, n int) []*J {
	if from == nil {
		return make([]*J, n)
	}
	return from
}

// decodeWherePresetsDiffer drops the copies of jobs whose presets differ
// from their donors' (the presets c and jc hold against r's, for the job's
// labels, in Prow's order): their files are decoded again (decode) and the
// jobs put in place of the copies, to be defaulted. false when a file does
// not decode to the jobs it was copied from.
func (r *record) decodeWherePresetsDiffer(c *config.Config, jc *config.JobConfig, d *donors, held []fileJobs, copied []bool, decode func(i int) (config.JobConfig, bool)) bool {
	presets := append(append([]config.Preset(nil), c.Presets...), jc.Presets...)
	m := newPresetMatch(presets, r.c.Presets)
	ok := make([]bool, len(held))
	parallel(len(held), func(i int) {
		ok[i] = true
		if !copied[i] {
			return
		}
		fj := &held[i]
		var f *config.JobConfig
		// redo decodes file i once, at the first job to put back.
		redo := func() bool {
			if f == nil {
				g, good := decode(i)
				if !good {
					return false
				}
				f = &g
			}
			return true
		}
		for repo, s := range fj.pre {
			for k := s.start; k < s.end; k++ {
				if d.pre[repo][k] == nil || m.same(jc.PresubmitsStatic[repo][k].Labels) {
					continue
				}
				if !redo() || len(f.PresubmitsStatic[repo]) != s.end-s.start {
					ok[i] = false
					return
				}
				jc.PresubmitsStatic[repo][k], d.pre[repo][k] = f.PresubmitsStatic[repo][k-s.start], nil
			}
		}
		for repo, s := range fj.post {
			for k := s.start; k < s.end; k++ {
				if d.post[repo][k] == nil || m.same(jc.PostsubmitsStatic[repo][k].Labels) {
					continue
				}
				if !redo() || len(f.PostsubmitsStatic[repo]) != s.end-s.start {
					ok[i] = false
					return
				}
				jc.PostsubmitsStatic[repo][k], d.post[repo][k] = f.PostsubmitsStatic[repo][k-s.start], nil
			}
		}
		s := fj.periodics
		for k := s.start; k < s.end; k++ {
			if d.periodics[k] == nil || m.same(jc.Periodics[k].Labels) {
				continue
			}
			if !redo() || len(f.Periodics) != s.end-s.start {
				ok[i] = false
				return
			}
			jc.Periodics[k], d.periodics[k] = f.Periodics[k-s.start], nil
		}
	})
	for _, good := range ok {
		if !good {
			return false
		}
	}
	return true
}

// presetMatch compares the presets two configs give a job.
type presetMatch struct {
	a, b []config.Preset
	// unequal, when a and b are as long, are the indices where they
	// differ: the common case of a preset edited in place.
	unequal []int
}

func newPresetMatch(a, b []config.Preset) *presetMatch {
	m := &presetMatch{a: a, b: b}
	if len(a) == len(b) {
		m.unequal = []int{}
		for i := range a {
			if !reflect.DeepEqual(a[i], b[i]) {
				m.unequal = append(m.unequal, i)
			}
		}
	}
	return m
}

// same says whether a job with labels gets equal presets, in the same
// order, from a as from b: Prow's resolvePresets merges, in order, every
// preset all of whose labels the job carries. It may say no to equal ones
// (a and b as long, an unequal pair where only one selects the job, and
// yet the same presets in the end), which costs only the shortcut.
func (m *presetMatch) same(labels map[string]string) bool {
	if m.unequal != nil {
		// Equal presets select the same jobs.
		for _, i := range m.unequal {
			if selects(labels, m.a[i]) || selects(labels, m.b[i]) {
				return false
			}
		}
		return true
	}
	i, j := 0, 0
	for {
		for i < len(m.a) && !selects(labels, m.a[i]) {
			i++
		}
		for j < len(m.b) && !selects(labels, m.b[j]) {
			j++
		}
		if i == len(m.a) || j == len(m.b) {
			return i == len(m.a) && j == len(m.b)
		}
		if !reflect.DeepEqual(m.a[i], m.b[j]) {
			return false
		}
		i++
		j++
	}
}

// selects is Prow's mergePreset's test: every label of p, with its value.
func selects(labels map[string]string, p config.Preset) bool {
	for k, v := range p.Labels {
		if w, ok := labels[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// taken is d as a Taken of c, the config d's job lists were merged into.
func (d *donors) taken(c *config.Config) Taken {
	t := Taken{}
	for repo, from := range d.pre {
		for k, j := range from {
			if j != nil {
				t[&c.PresubmitsStatic[repo][k].JobBase] = &j.JobBase
			}
		}
	}
	for repo, from := range d.post {
		for k, j := range from {
			if j != nil {
				t[&c.PostsubmitsStatic[repo][k].JobBase] = &j.JobBase
			}
		}
	}
	for k, j := range d.periodics {
		if j != nil {
			t[&c.Periodics[k].JobBase] = &j.JobBase
		}
	}
	return t
}
