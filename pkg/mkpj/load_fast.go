package mkpj

import (
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/jobconfig"
	"github.com/prowctl/prowctl/pkg/jobs/lint"
	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// loadFast returns what config.Load(configPath, jobConfigPath, nil, "")
// returns when Prow accepts the config, in less time: while Prow loads
// config.yaml, the job config files are decoded on every core by lint's
// decoder (held equal to Prow's decoder by its tests and fuzz target; a file
// the loader has decoded before is only unmarshalled again), then the jobs
// are merged, defaulted and validated through Prow's own exported functions,
// as config.Load does. load_fast_test.go holds the result equal to
// config.Load's on this repository's config, edge cases of Prow's merge and
// decoder, and the bench corpus.
//
// It returns nil whenever it cannot be sure of giving Prow's result: a file
// Prow's decoder refuses, two presets sharing a pair, a job Prow's defaulting
// or validation refuses, jobs in config.yaml itself (Prow defaults those with
// every file's presets; config.Load alone does it in its order), a panic.
// The caller then runs config.Load, whose verdict and message stand.
func (ld *Loader) loadFast(configPath, jobConfigPath string, l *jobconfig.Listing) *config.Config {
	if jobConfigPath == "" || len(l.Duplicates) > 0 {
		return nil
	}
	c, _ := ld.loadDecoded(configPath, l.Files, func(i int) ([]byte, error) { return jobconfig.ReadFile(l.Files[i]) }, nil)
	return c
}

// JobFile is one job config file held in memory: the path Prow's loader
// would read it at (its jobs' SourcePath) and its bytes, uncompressed.
type JobFile struct {
	Path string
	Data []byte
}

// LoadFiles returns what config.Load(configPath, jobConfigPath, nil, "")
// returns when files are the files jobconfig.Files lists for jobConfigPath,
// in its order and with no two of one basename, without reading them from
// disk: the job config of a git ref, from git's objects. It is loadFast on
// those bytes, so it returns nil whenever loadFast would: the caller then
// writes the files out and calls LoadAll, for Prow's verdict and message.
func (ld *Loader) LoadFiles(configPath string, files []JobFile) *config.Config {
	c, _ := ld.LoadFilesLike(configPath, files, nil)
	return c
}

// LoadFilesLike is LoadFiles for one side of a change whose other side,
// like, this loader loaded: the jobs the two sides share (load_reuse.go)
// are copied from like's instead of being decoded and defaulted again, and
// Taken says which. like is called once this side's Prow config is loaded
// and may wait for the other side's load; a nil like, or one returning nil
// or a config this loader did not load on its fast path, takes nothing.
// The result is the config LoadFiles returns, field for field.
//
// The configs then share the parts of the jobs they share: neither may be
// changed.
func (ld *Loader) LoadFilesLike(configPath string, files []JobFile, like func() *config.Config) (*config.Config, Taken) {
	if err := yamlpos.CheckRegular(configPath); err != nil {
		return nil, nil
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	return ld.loadDecoded(configPath, paths, func(i int) ([]byte, error) { return files[i].Data, nil }, like)
}

// loadDecoded is loadFast on the job config files paths, whose bytes read
// returns by index, taking what it can from like's jobs (LoadFilesLike).
func (ld *Loader) loadDecoded(configPath string, paths []string, read func(i int) ([]byte, error), like func() *config.Config) (*config.Config, Taken) {
	// config.yaml and the job files are independent until jobs are
	// defaulted: load them side by side.
	var (
		c    *config.Config
		cerr error
		done = make(chan struct{})
	)
	go func() {
		defer close(done)
		c, cerr = config.Load(configPath, "", nil, "")
	}()
	// Which files can be copied rather than decoded is known once both
	// sides' Prow configs are.
	var from *record
	if like != nil {
		<-done
		if cerr == nil {
			from = ld.recordLike(c, like())
		}
	}
	files, sums, ok := decodeFiles(&ld.dec, paths, read, from.hasFile)
	<-done
	if cerr != nil || !ok {
		return nil, nil
	}
	if len(c.PresubmitsStatic)+len(c.PostsubmitsStatic)+len(c.Periodics) > 0 {
		return nil, nil
	}
	prow := prowConfigOf(c)

	// Prow's merge, file by file in Prow's order: presets and periodics
	// appended, each repo's jobs appended under its key. held records where
	// each file's jobs land, for a later load to take them from.
	jc := config.JobConfig{PresubmitsStatic: map[string][]config.Presubmit{}, PostsubmitsStatic: map[string][]config.Postsubmit{}}
	d := donors{pre: map[string][]*config.Presubmit{}, post: map[string][]*config.Postsubmit{}}
	held := make([]fileJobs, len(files))
	copied := make([]bool, len(files))
	for i := range files {
		var fd donors
		if fj := from.file(sums[i]); fj != nil {
			files[i], fd = from.copyFile(fj, paths[i])
			copied[i] = true
		}
		held[i] = appendFile(&jc, &d, files[i], fd)
	}
	if from != nil && !from.decodeWherePresetsDiffer(c, &jc, &d, held, copied, func(i int) (config.JobConfig, bool) {
		f, _, ok := decodeFiles(&ld.dec, paths[i:i+1], func(int) ([]byte, error) { return read(i) }, nil)
		if !ok {
			return config.JobConfig{}, false
		}
		return f[0], true
	}) {
		return nil, nil
	}
	// Prow's merge builds new maps even when no file has jobs.
	c.PresubmitsStatic, c.PostsubmitsStatic = map[string][]config.Presubmit{}, map[string][]config.Postsubmit{}
	if err := mergeDefaulted(c, jc, &d); err != nil {
		return nil, nil
	}
	if err := validateMerged(c, &d, from); err != nil {
		return nil, nil
	}
	ld.remember(c, prow, sums, held)
	return c, d.taken(c)
}

// validateMerged is c.ValidateJobConfig(), Prow's validation of the whole
// job config that ends config.Load, on c as mergeDefaulted left it (jobs
// copied from from's config as d says), without validating again what is
// known to pass. ValidateJobConfig validates each repo's presubmits, each
// repo's postsubmits (on their own: nothing across repos) and the
// periodics; then it sets the storage buckets Deck allows, from every job.
// mergeDefaulted validated each repo's presubmits and postsubmits exactly as
// it does, but for a repo with copied jobs, where it saw only the others;
// and a list of jobs copied one for one from the same list of from's
// config passed there. The rest is validated here.
func validateMerged(c *config.Config, d *donors, from *record) error {
	var fromPre map[string][]config.Presubmit
	var fromPost map[string][]config.Postsubmit
	var fromPeriodics []config.Periodic
	if from != nil {
		fromPre, fromPost, fromPeriodics = from.c.PresubmitsStatic, from.c.PostsubmitsStatic, from.c.Periodics
	}
	view := *c
	view.PresubmitsStatic, view.PostsubmitsStatic, view.Periodics = map[string][]config.Presubmit{}, map[string][]config.Postsubmit{}, nil
	for repo, jobs := range c.PresubmitsStatic {
		if slices.ContainsFunc(d.pre[repo], isCopy) && !copiedInOrder(d.pre[repo], fromPre[repo]) {
			view.PresubmitsStatic[repo] = jobs
		}
	}
	for repo, jobs := range c.PostsubmitsStatic {
		if slices.ContainsFunc(d.post[repo], isCopy) && !copiedInOrder(d.post[repo], fromPost[repo]) {
			view.PostsubmitsStatic[repo] = jobs
		}
	}
	if !copiedInOrder(d.periodics, fromPeriodics) {
		view.Periodics = c.Periodics
	}
	if err := view.ValidateJobConfig(); err != nil {
		return err
	}
	// The buckets of the jobs the view left out, as ValidateJobConfig's
	// calculateStorageBuckets adds each job's.
	buckets := view.Deck.AllKnownStorageBuckets
	add := func(dc *prowapi.DecorationConfig) {
		if dc != nil && dc.GCSConfiguration != nil {
			b := dc.GCSConfiguration.Bucket
			if parts := strings.Split(b, "://"); len(parts) == 2 {
				b = parts[1]
			}
			buckets.Insert(b)
		}
	}
	for repo, jobs := range c.PresubmitsStatic {
		if _, ok := view.PresubmitsStatic[repo]; !ok {
			for _, j := range jobs {
				add(j.DecorationConfig)
			}
		}
	}
	for repo, jobs := range c.PostsubmitsStatic {
		if _, ok := view.PostsubmitsStatic[repo]; !ok {
			for _, j := range jobs {
				add(j.DecorationConfig)
			}
		}
	}
	if view.Periodics == nil {
		for _, j := range c.Periodics {
			add(j.DecorationConfig)
		}
	}
	c.Deck.AllKnownStorageBuckets = buckets
	return nil
}

// copiedInOrder says whether every job of a list was copied, in order, from
// the jobs of list from: all of it, and nothing else.
func copiedInOrder[J any](copies []*J, from []J) bool {
	if len(copies) != len(from) {
		return false
	}
	for k := range copies {
		if copies[k] != &from[k] {
			return false
		}
	}
	return true
}

// decodeFiles decodes each file (its bytes from read) as Prow's decoder
// does, on every core, and sets each job's SourcePath as Prow's loader does;
// it also returns each file's SHA-256. A file skip says yes to (by its
// SHA-256; skip may be nil) is read but not decoded. false when a file
// cannot be read or Prow's decoder refuses one.
func decodeFiles(dec *lint.JobConfigDecoder, paths []string, read func(i int) ([]byte, error), skip func(sum [sha256.Size]byte) bool) ([]config.JobConfig, [][sha256.Size]byte, bool) {
	files := make([]config.JobConfig, len(paths))
	sums := make([][sha256.Size]byte, len(paths))
	errs := make([]error, len(paths))
	parallel(len(paths), func(i int) {
		defer func() {
			if r := recover(); r != nil {
				errs[i] = fmt.Errorf("panic decoding %s: %v", paths[i], r)
			}
		}()
		data, err := read(i)
		if err != nil {
			errs[i] = err
			return
		}
		sums[i] = sha256.Sum256(data)
		if skip != nil && skip(sums[i]) {
			return
		}
		jc := &files[i]
		if errs[i] = dec.Decode(data, jc); errs[i] != nil {
			return
		}
		for _, jobs := range jc.PresubmitsStatic {
			for j := range jobs {
				jobs[j].SourcePath = paths[i]
			}
		}
		for _, jobs := range jc.PostsubmitsStatic {
			for j := range jobs {
				jobs[j].SourcePath = paths[i]
			}
		}
		for j := range jc.Periodics {
			jc.Periodics[j].SourcePath = paths[i]
		}
	})
	for _, err := range errs {
		if err != nil {
			return nil, nil, false
		}
	}
	return files, sums, true
}
