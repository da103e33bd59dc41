package mkpj

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/util/sets"
	"sigs.k8s.io/prow/pkg/config"
	"sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/pkg/jobconfig"
	"github.com/prowctl/prowctl/pkg/jobs/lint"
	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// LoadAll loads the Prow config and every job config file exactly as Prow's
// components (and Prow's mkpj) do: parsed, defaulted and validated as a whole.
//
// Special files and inputs over yamlpos's budgets are refused before Prow
// reads anything (it would block on a named pipe); when Prow refuses the
// config, the error names the file, line and column at fault.
func LoadAll(configPath, jobConfigPath string) (*config.Config, error) {
	return new(Loader).LoadAll(configPath, jobConfigPath)
}

// Loader loads configs as LoadAll does. The configs one Loader loads share
// the decoding of job config files with the same bytes, and LoadFilesLike
// takes the jobs two versions of a config share from the one loaded first,
// so loading two versions, which differ in a few files, costs little more
// than loading one. It holds what it loaded for that as long as it lives.
// Safe for concurrent use.
type Loader struct {
	dec lint.JobConfigDecoder
	// records holds, by config, what LoadFilesLike takes from the configs
	// this loader loaded on the fast path.
	records sync.Map
}

// LoadAll is LoadAll, sharing the decoding of files with the loader's other
// loads.
func (ld *Loader) LoadAll(configPath, jobConfigPath string) (*config.Config, error) {
	l, err := checkInputs(configPath, jobConfigPath)
	if err != nil {
		return nil, err
	}
	if c := ld.loadFast(configPath, jobConfigPath, l); c != nil {
		return c, nil
	}
	c, err := config.Load(configPath, jobConfigPath, nil, "")
	if err != nil {
		if perr := positioned(append([]string{configPath}, l.Files...), err); perr != nil {
			return nil, perr
		}
		return nil, fmt.Errorf("load Prow config %s (jobs %s): %w", configPath, jobConfigPath, err)
	}
	return c, nil
}

// checkInputs refuses what Prow's loader would block or spin on, and
// returns the job config files it will read.
func checkInputs(configPath, jobConfigPath string) (*jobconfig.Listing, error) {
	if err := yamlpos.CheckRegular(configPath); err != nil {
		return nil, err
	}
	if jobConfigPath == "" {
		return &jobconfig.Listing{}, nil
	}
	return jobconfig.Files(jobConfigPath)
}

// positioned finds where loadErr, Prow's refusal of the config, is: the
// first of files that is not YAML, or the node a decode error is about in
// the file it names. nil when it cannot tell.
func positioned(files []string, loadErr error) error {
	for _, path := range files {
		b, err := jobconfig.ReadFile(path)
		if err != nil {
			return err
		}
		doc, err := yamlpos.ParseFirst(path, b)
		if err != nil {
			return err
		}
		if !strings.Contains(loadErr.Error(), path+":") || len(doc.Content) == 0 {
			continue
		}
		// Prow's decoder refused this file: place its message.
		// Config holds both what config.yaml and a job config file hold.
		derr := yaml.Unmarshal(b, &config.Config{})
		if derr == nil {
			continue
		}
		msg := derr.Error()
		for _, p := range []string{"error converting YAML to JSON: ", "error unmarshaling JSON: ", "while decoding JSON: ", "json: "} {
			msg = strings.TrimPrefix(msg, p)
		}
		return yamlpos.At(path, yamlpos.Locate(doc.Content[0], derr), "", "%s", msg)
	}
	return nil
}

// LoadForJob returns a config holding the Prow config, every preset and the
// jobs called name, defaulted exactly as LoadAll would default them. It reads
// every job config file but parses only those that mention name or define
// presets, which is most of the time of loading a large config. Jobs other
// than name are not validated: `prowctl jobs lint` does that.
//
// The second result is false when no file mentions name literally (a name
// spelled with YAML escapes, say); callers then fall back to LoadAll.
func LoadForJob(configPath, jobConfigPath, name string) (*config.Config, bool, error) {
	l, err := checkInputs(configPath, jobConfigPath)
	if err != nil {
		return nil, false, err
	}
	c, err := config.Load(configPath, "", nil, "")
	if err != nil {
		if perr := positioned([]string{configPath}, err); perr != nil {
			return nil, false, perr
		}
		return nil, false, fmt.Errorf("load Prow config %s: %w", configPath, err)
	}
	if jobConfigPath == "" {
		return c, true, nil
	}
	if len(Matches(c, name)) > 0 {
		// A job in the Prow config itself takes presets from the job
		// config files too, which this path applies only to theirs.
		return c, false, nil
	}
	if len(l.Duplicates) > 0 {
		d := l.Duplicates[0]
		return nil, false, &jobconfig.Error{Path: d.Path, Err: errors.New(d.Problem())}
	}
	needle := []byte(name)
	var (
		found bool
		jc    config.JobConfig
		dec   lint.JobConfigDecoder
	)
	for _, path := range l.Files {
		b, err := jobconfig.ReadFile(path)
		if err != nil {
			return nil, false, err
		}
		hasJob := bytes.Contains(b, needle)
		// "presets" anywhere is a cheap superset of a presets: key, which
		// may sit in any file and changes every job it matches.
		if !hasJob && !bytes.Contains(b, []byte("presets")) {
			continue
		}
		var sub config.JobConfig
		if err := dec.Decode(b, &sub); err != nil {
			if perr := positioned([]string{path}, fmt.Errorf("%s: %w", path, err)); perr != nil {
				return nil, false, perr
			}
			return nil, false, fmt.Errorf("error unmarshalling %s: %w", path, err)
		}
		jc.Presets = append(jc.Presets, sub.Presets...)
		if !hasJob {
			continue
		}
		for repo, jobs := range sub.PresubmitsStatic {
			for _, j := range jobs {
				if j.Name == name {
					j.SourcePath = path
					if jc.PresubmitsStatic == nil {
						jc.PresubmitsStatic = map[string][]config.Presubmit{}
					}
					jc.PresubmitsStatic[repo] = append(jc.PresubmitsStatic[repo], j)
					found = true
				}
			}
		}
		for repo, jobs := range sub.PostsubmitsStatic {
			for _, j := range jobs {
				if j.Name == name {
					j.SourcePath = path
					if jc.PostsubmitsStatic == nil {
						jc.PostsubmitsStatic = map[string][]config.Postsubmit{}
					}
					jc.PostsubmitsStatic[repo] = append(jc.PostsubmitsStatic[repo], j)
					found = true
				}
			}
		}
		for _, j := range sub.Periodics {
			if j.Name == name {
				j.SourcePath = path
				jc.Periodics = append(jc.Periodics, j)
				found = true
			}
		}
	}
	if err := mergeDefaulted(c, jc, nil); err != nil {
		return nil, false, err
	}
	return c, found, nil
}

// mergeDefaulted adds jc to c and applies Prow's defaulting to the added
// jobs, as config.Load's finalizeJobConfig does (decoration and ProwJob
// defaults, presets, regexes), one repo or periodic per task on every core.
// Like config.Load's merge, it refuses two presets with one label:value pair,
// keeps a repo key that lists no job, and records every repo in AllRepos.
// Jobs copied from another config (d, aligned with jc's lists; nil when none
// was) are defaulted already and left as they are.
func mergeDefaulted(c *config.Config, jc config.JobConfig, d *donors) error {
	// Prow rejects a label:value pair that two presets share.
	c.Presets = append(c.Presets, jc.Presets...)
	seen := map[string]bool{}
	for _, p := range c.Presets {
		for k, v := range p.Labels {
			pair := k + ":" + v
			if seen[pair] {
				return fmt.Errorf("duplicated preset 'label:value' pair : %s", pair)
			}
			seen[pair] = true
		}
	}

	repos := map[string]bool{}
	for repo := range jc.PresubmitsStatic {
		repos[repo] = true
	}
	for repo := range jc.PostsubmitsStatic {
		repos[repo] = true
	}
	sorted := slices.Sorted(maps.Keys(repos))
	// Prow's in-repo defaulting is the exported path to the defaulting
	// config.Load applies to static jobs; it also checks the cluster is
	// allowed for in-repo jobs, which does not apply to static jobs: allow
	// each repo's own clusters while it runs.
	saved := c.InRepoConfig.AllowedClusters
	allowed := maps.Clone(saved)
	if allowed == nil {
		allowed = map[string][]string{}
	}
	prowYAMLs := make([]*config.ProwYAML, len(sorted))
	for i, repo := range sorted {
		prowYAMLs[i] = &config.ProwYAML{Presubmits: jc.PresubmitsStatic[repo], Postsubmits: jc.PostsubmitsStatic[repo]}
		allowed[repo] = append(clustersOf(prowYAMLs[i]), saved[repo]...)
	}
	c.InRepoConfig.AllowedClusters = allowed
	// Tasks only read c; each writes its own jobs. Errors are kept by task so
	// that the one returned does not depend on scheduling.
	errs := make([]error, len(sorted)+len(jc.Periodics))
	parallel(len(errs), func(i int) {
		defer func() {
			// config.Load turns a panic into an error; so must a task, which
			// the caller's recover cannot see.
			if r := recover(); r != nil {
				errs[i] = fmt.Errorf("panic defaulting jobs: %v", r)
			}
		}()
		if i < len(sorted) {
			if err := defaultRepo(c, prowYAMLs[i], sorted[i], d); err != nil {
				errs[i] = fmt.Errorf("job config for %s: %w", sorted[i], err)
			}
			return
		}
		if d != nil && d.periodics[i-len(sorted)] != nil {
			return
		}
		p := &jc.Periodics[i-len(sorted)]
		if err := c.DefaultPeriodic(p); err != nil {
			errs[i] = fmt.Errorf("periodic %s: %w", p.Name, err)
		}
	})
	c.InRepoConfig.AllowedClusters = saved
	for _, err := range errs {
		if err != nil {
			return err
		}
	}

	if c.PresubmitsStatic == nil {
		c.PresubmitsStatic = map[string][]config.Presubmit{}
	}
	if c.PostsubmitsStatic == nil {
		c.PostsubmitsStatic = map[string][]config.Postsubmit{}
	}
	if c.AllRepos == nil {
		c.AllRepos = sets.New[string]()
	}
	for i, repo := range sorted {
		// A key without jobs stays a key, as in Prow's merge.
		if _, ok := jc.PresubmitsStatic[repo]; ok {
			c.PresubmitsStatic[repo] = append(c.PresubmitsStatic[repo], prowYAMLs[i].Presubmits...)
		}
		if _, ok := jc.PostsubmitsStatic[repo]; ok {
			c.PostsubmitsStatic[repo] = append(c.PostsubmitsStatic[repo], prowYAMLs[i].Postsubmits...)
		}
		c.AllRepos.Insert(repo)
	}
	c.Periodics = append(c.Periodics, jc.Periodics...)
	return nil
}

// defaultRepo is Prow's defaulting and validation of repo's jobs py (in
// place), but for those copied from another config (d): the others are
// defaulted and validated on their own, the whole repo being validated
// again by ValidateJobConfig.
func defaultRepo(c *config.Config, py *config.ProwYAML, repo string, d *donors) error {
	var pre []*config.Presubmit
	var post []*config.Postsubmit
	if d != nil {
		pre, post = d.pre[repo], d.post[repo]
	}
	if !slices.ContainsFunc(pre, isCopy) && !slices.ContainsFunc(post, isCopy) {
		return config.DefaultAndValidateProwYAML(c, py, repo)
	}
	var rest config.ProwYAML
	var preAt, postAt []int
	for k := range py.Presubmits {
		if pre[k] == nil {
			rest.Presubmits = append(rest.Presubmits, py.Presubmits[k])
			preAt = append(preAt, k)
		}
	}
	for k := range py.Postsubmits {
		if post[k] == nil {
			rest.Postsubmits = append(rest.Postsubmits, py.Postsubmits[k])
			postAt = append(postAt, k)
		}
	}
	if err := config.DefaultAndValidateProwYAML(c, &rest, repo); err != nil {
		return err
	}
	for n, k := range preAt {
		py.Presubmits[k] = rest.Presubmits[n]
	}
	for n, k := range postAt {
		py.Postsubmits[k] = rest.Postsubmits[n]
	}
	return nil
}

func isCopy[J any](from *J) bool { return from != nil }

func clustersOf(py *config.ProwYAML) []string {
	out := []string{"default"}
	for _, j := range py.Presubmits {
		out = append(out, j.Cluster)
	}
	for _, j := range py.Postsubmits {
		out = append(out, j.Cluster)
	}
	return out
}

// parallel calls fn(0..n-1) on every core.
func parallel(n int, fn func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

// LoadProwConfig loads the Prow config alone (no job config), as Prow does.
func LoadProwConfig(configPath string) (*config.Config, error) {
	if err := yamlpos.CheckRegular(configPath); err != nil {
		return nil, err
	}
	c, err := config.Load(configPath, "", nil, "")
	if err != nil {
		if perr := positioned([]string{configPath}, err); perr != nil {
			return nil, perr
		}
		return nil, fmt.Errorf("load Prow config %s: %w", configPath, err)
	}
	return c, nil
}
