package mkpj

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	gitignore "github.com/denormal/go-gitignore"
	"sigs.k8s.io/prow/pkg/config"
	"sigs.k8s.io/yaml"
)

// LoadAll loads the Prow config and every job config file exactly as Prow's
// components (and Prow's mkpj) do: parsed, defaulted and validated as a whole.
func LoadAll(configPath, jobConfigPath string) (*config.Config, error) {
	c, err := config.Load(configPath, jobConfigPath, nil, "")
	if err != nil {
		return nil, fmt.Errorf("load Prow config %s (jobs %s): %w", configPath, jobConfigPath, err)
	}
	return c, nil
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
	c, err := config.Load(configPath, "", nil, "")
	if err != nil {
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
	files, err := jobConfigFiles(jobConfigPath)
	if err != nil {
		return nil, false, err
	}
	needle := []byte(name)
	var (
		found bool
		jc    config.JobConfig
	)
	for _, path := range files {
		b, err := readMaybeGzip(path)
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
		if err := yaml.Unmarshal(b, &sub); err != nil {
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
	if err := mergeDefaulted(c, jc); err != nil {
		return nil, false, err
	}
	return c, found, nil
}

// mergeDefaulted adds jc to c and applies Prow's defaulting to the added jobs:
// decoration and ProwJob defaults, presets, regexes.
func mergeDefaulted(c *config.Config, jc config.JobConfig) error {
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
	sorted := make([]string, 0, len(repos))
	for repo := range repos {
		sorted = append(sorted, repo)
	}
	sort.Strings(sorted)
	if c.PresubmitsStatic == nil {
		c.PresubmitsStatic = map[string][]config.Presubmit{}
	}
	if c.PostsubmitsStatic == nil {
		c.PostsubmitsStatic = map[string][]config.Postsubmit{}
	}
	for _, repo := range sorted {
		py := &config.ProwYAML{Presubmits: jc.PresubmitsStatic[repo], Postsubmits: jc.PostsubmitsStatic[repo]}
		// Prow's in-repo defaulting is the exported path to the defaulting
		// config.Load applies to static jobs; it also checks the cluster is
		// allowed for in-repo jobs, which does not apply to static jobs.
		saved := c.InRepoConfig.AllowedClusters[repo]
		c.InRepoConfig.AllowedClusters[repo] = append(clustersOf(py), saved...)
		err := config.DefaultAndValidateProwYAML(c, py, repo)
		if saved == nil {
			delete(c.InRepoConfig.AllowedClusters, repo)
		} else {
			c.InRepoConfig.AllowedClusters[repo] = saved
		}
		if err != nil {
			return fmt.Errorf("job config for %s: %w", repo, err)
		}
		c.PresubmitsStatic[repo] = append(c.PresubmitsStatic[repo], py.Presubmits...)
		c.PostsubmitsStatic[repo] = append(c.PostsubmitsStatic[repo], py.Postsubmits...)
	}
	for i := range jc.Periodics {
		if err := c.DefaultPeriodic(&jc.Periodics[i]); err != nil {
			return fmt.Errorf("periodic %s: %w", jc.Periodics[i].Name, err)
		}
	}
	c.Periodics = append(c.Periodics, jc.Periodics...)
	return nil
}

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

// jobConfigFiles lists the files Prow's config.ReadJobConfig would read from
// path, in the same order: .yaml and .yml files, minus .prowignore'd ones and
// Kubernetes' "..data" volume entries. Basenames must be unique.
func jobConfigFiles(path string) ([]string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("job config: %w", err)
	}
	if !st.IsDir() {
		return []string{path}, nil
	}
	ignore, err := gitignore.NewRepositoryWithFile(path, config.ProwIgnoreFileName)
	if err != nil {
		return nil, fmt.Errorf("job config %s: read %s: %w", path, config.ProwIgnoreFileName, err)
	}
	var files []string
	basenames := map[string]string{}
	err = filepath.Walk(path, func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return fmt.Errorf("walk %s: %w", p, err)
		}
		if strings.HasPrefix(info.Name(), "..") {
			if info.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		if m := ignore.Match(p); m != nil && m.Ignore() {
			return nil
		}
		if info.IsDir() {
			return nil
		}
		base := filepath.Base(p)
		if other, ok := basenames[base]; ok {
			return fmt.Errorf("job config: duplicated basename %s: %s and %s", base, other, p)
		}
		basenames[base] = p
		files = append(files, p)
		return nil
	})
	return files, err
}

// readMaybeGzip reads a file Prow would read, gzipped or not.
func readMaybeGzip(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, []byte("\x1F\x8B")) {
		return b, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer zr.Close()
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// LoadProwConfig loads the Prow config alone (no job config), as Prow does.
func LoadProwConfig(configPath string) (*config.Config, error) {
	c, err := config.Load(configPath, "", nil, "")
	if err != nil {
		return nil, fmt.Errorf("load Prow config %s: %w", configPath, err)
	}
	return c, nil
}
