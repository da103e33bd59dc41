package mkpj

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/prow/pkg/config"
	"sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/pkg/jobconfig"
	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// LoadAll loads the Prow config and every job config file exactly as Prow's
// components (and Prow's mkpj) do: parsed, defaulted and validated as a whole.
//
// Special files and inputs over yamlpos's budgets are refused before Prow
// reads anything (it would block on a named pipe); when Prow refuses the
// config, the error names the file, line and column at fault.
func LoadAll(configPath, jobConfigPath string) (*config.Config, error) {
	l, err := checkInputs(configPath, jobConfigPath)
	if err != nil {
		return nil, err
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
		if err := yaml.Unmarshal(b, &sub); err != nil {
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
