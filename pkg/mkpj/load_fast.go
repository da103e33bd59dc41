package mkpj

import (
	"fmt"

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
	return ld.loadDecoded(configPath, l.Files, func(i int) ([]byte, error) { return jobconfig.ReadFile(l.Files[i]) })
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
	if err := yamlpos.CheckRegular(configPath); err != nil {
		return nil
	}
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = f.Path
	}
	return ld.loadDecoded(configPath, paths, func(i int) ([]byte, error) { return files[i].Data, nil })
}

// loadDecoded is loadFast on the job config files paths, whose bytes read
// returns by index.
func (ld *Loader) loadDecoded(configPath string, paths []string, read func(i int) ([]byte, error)) *config.Config {
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
	files, ok := decodeFiles(&ld.dec, paths, read)
	<-done
	if cerr != nil || !ok {
		return nil
	}
	if len(c.PresubmitsStatic)+len(c.PostsubmitsStatic)+len(c.Periodics) > 0 {
		return nil
	}

	// Prow's merge, file by file in Prow's order: presets and periodics
	// appended, each repo's jobs appended under its key.
	jc := config.JobConfig{PresubmitsStatic: map[string][]config.Presubmit{}, PostsubmitsStatic: map[string][]config.Postsubmit{}}
	for _, f := range files {
		jc.Presets = append(jc.Presets, f.Presets...)
		jc.Periodics = append(jc.Periodics, f.Periodics...)
		for repo, jobs := range f.PresubmitsStatic {
			jc.PresubmitsStatic[repo] = append(jc.PresubmitsStatic[repo], jobs...)
		}
		for repo, jobs := range f.PostsubmitsStatic {
			jc.PostsubmitsStatic[repo] = append(jc.PostsubmitsStatic[repo], jobs...)
		}
	}
	// Prow's merge builds new maps even when no file has jobs.
	c.PresubmitsStatic, c.PostsubmitsStatic = map[string][]config.Presubmit{}, map[string][]config.Postsubmit{}
	if err := mergeDefaulted(c, jc); err != nil {
		return nil
	}
	// Prow's own validation of the whole job config, as config.Load ends:
	// whatever mergeDefaulted's per-repo validation let through, this
	// refuses as Prow would. It also computes the storage buckets Deck
	// allows from every job.
	if err := c.ValidateJobConfig(); err != nil {
		return nil
	}
	return c
}

// decodeFiles decodes each file (its bytes from read) as Prow's decoder
// does, on every core, and sets each job's SourcePath as Prow's loader does.
// false when a file cannot be read or Prow's decoder refuses one.
func decodeFiles(dec *lint.JobConfigDecoder, paths []string, read func(i int) ([]byte, error)) ([]config.JobConfig, bool) {
	files := make([]config.JobConfig, len(paths))
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
			return nil, false
		}
	}
	return files, true
}
