package jobs

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/prow/pkg/config"
)

// prowCheckConfig is the Prow config the generated jobs are loaded against:
// the least that lets Prow default decorated jobs, so that what remains to
// fail is the jobs themselves.
const prowCheckConfig = `prowjob_namespace: prow
pod_namespace: test-pods
plank:
  default_decoration_config_entries:
  - config:
      timeout: 2h
      utility_images:
        clonerefs: example.com/clonerefs:v1
        initupload: example.com/initupload:v1
        entrypoint: example.com/entrypoint:v1
        sidecar: example.com/sidecar:v1
      gcs_configuration:
        bucket: prowctl-check
        path_strategy: explicit
      gcs_credentials_secret: gcs-credentials
`

// CheckWithProw loads the job config the spec generates with Prow's own
// loader (config.Load: Prow's decoder, defaulting and validation: crons,
// quantities, regexes, names) and returns Prow's objections as Errors at
// the spec fields they come from. Generation calls it before anything is
// written, so Prow never meets a config it refuses.
func (s *Spec) CheckWithProw() error {
	if err := loadWithProw(s); err == nil {
		return nil
	}
	// Prow stops at its first objection and names jobs, not spec lines:
	// load each job alone to tell which one, and place the error on it.
	var errs Errors
	base := *s
	for i := 0; i < len(s.Jobs); i++ {
		one := base
		one.Jobs = []Job{s.Jobs[i]}
		err := loadWithProw(&one)
		if err == nil {
			continue
		}
		e := s.prowError(i, err)
		errs = append(errs, e)
		if strings.HasPrefix(e.Field, "resources") && len(base.Resources.Requests)+len(base.Resources.Limits) > 0 {
			// Every job carries the resources: report them once, then
			// look at this job again without them.
			base.Resources = Resources{}
			i--
		}
	}
	if len(errs) == 0 {
		// Only the jobs together fail (a clash between them).
		err := loadWithProw(s)
		return &Error{File: s.src, Line: 1, Column: 1, Msg: "Prow rejects the generated job config: " + oneLine(err.Error())}
	}
	return errs
}

// loadWithProw writes the generated job config beside prowCheckConfig in a
// temporary directory and loads both with config.Load.
func loadWithProw(s *Spec) error {
	data, err := Generate(s)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "prowctl-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, jobs := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs.yaml")
	if err := os.WriteFile(cfg, []byte(prowCheckConfig), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(jobs, data, 0o600); err != nil {
		return err
	}
	_, err = config.Load(cfg, jobs, nil, "")
	return err
}

// prowError places Prow's error about job i on the spec field it is about.
func (s *Spec) prowError(i int, err error) *Error {
	msg := strings.TrimPrefix(oneLine(err.Error()), "error unmarshaling JSON: while decoding JSON: ")
	// Prow's messages carry the temporary file's name; it means nothing here.
	if k := strings.Index(msg, "jobs.yaml"); k >= 0 {
		if c := strings.Index(msg[k:], ": "); c >= 0 {
			msg = msg[k+c+2:]
		}
	}
	j := s.Jobs[i]
	idx := strconv.Itoa(i)
	jobField := func(key string) ([]string, string) {
		return []string{"jobs", idx, key}, fmt.Sprintf("jobs[%d].%s", i, key)
	}
	var path []string
	var field string
	switch {
	case strings.Contains(msg, "quantities must match"):
		path, field = s.badQuantity()
	case strings.Contains(msg, "cron"):
		path, field = jobField("cron")
	case strings.Contains(msg, "interval") || strings.Contains(msg, "duration"):
		path, field = jobField("interval")
	case strings.Contains(msg, "branch regex"):
		branches, base, prefix := s.Branches, []string{"branches"}, "branches"
		if len(j.Branches) > 0 {
			branches, base, prefix = j.Branches, []string{"jobs", idx, "branches"}, fmt.Sprintf("jobs[%d].branches", i)
		}
		path, field = base, prefix
		for k, b := range branches {
			if _, err := regexp.Compile(b); err != nil {
				path, field = append(base, strconv.Itoa(k)), fmt.Sprintf("%s[%d]", prefix, k)
				break
			}
		}
	case strings.Contains(msg, "change regex") || strings.Contains(msg, "run_if_changed"):
		path, field = jobField("run_if_changed")
	case strings.Contains(msg, "trigger"):
		path, field = jobField("name")
	default:
		path, field = []string{"jobs", idx}, fmt.Sprintf("jobs[%d]", i)
	}
	e := &Error{File: s.src, Line: 1, Column: 1, Field: field, Msg: "Prow rejects the generated job: " + msg}
	if n := lookup(s.root, path...); n != nil {
		e.Line, e.Column = n.Line, n.Column
	} else if n := lookup(s.root, path[:len(path)-1]...); n != nil && len(path) > 1 {
		e.Line, e.Column = n.Line, n.Column
	}
	return e
}

// badQuantity finds the resource quantity Prow could not parse; Prow's
// decoder names none.
func (s *Spec) badQuantity() ([]string, string) {
	for _, group := range []struct {
		key string
		m   map[string]string
	}{{"requests", s.Resources.Requests}, {"limits", s.Resources.Limits}} {
		for _, name := range slices.Sorted(maps.Keys(group.m)) {
			if _, err := resource.ParseQuantity(group.m[name]); err != nil {
				return []string{"resources", group.key, name}, "resources." + group.key + "." + name
			}
		}
	}
	return []string{"resources"}, "resources"
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
