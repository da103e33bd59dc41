// Package touched finds the jobs a change to a Prow config touches: a job is
// touched when it is new, or when the ProwJob spec Prow would build for it
// (pjutil, presets applied and decoration defaults merged by Prow's loader)
// differs between the two versions; re-indenting, reordering or moving a job
// between files touches nothing, a changed preset touches every job it
// applies to. It is what `prowctl jobs diff` prints and what a rehearsal
// runs.
package touched

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/go-cmp/cmp"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/mkpj"
)

// Status of a touched job.
const (
	New     = "new"
	Changed = "changed"
	Removed = "removed"
)

// Change is one touched job.
type Change struct {
	Job    string `json:"job"`
	Type   string `json:"type"`
	Repo   string `json:"repo,omitempty"`
	Status string `json:"status"`
	// Diff lists the fields of the ProwJob spec that changed.
	Diff []Field `json:"diff,omitempty"`
}

// Field is one changed field: its path in the ProwJob spec (JSON names)
// and its values before and after, as JSON ("" when absent).
type Field struct {
	Path string `json:"path"`
	Old  string `json:"old"`
	New  string `json:"new"`
}

// Jobs compares the jobs of two loaded configs.
func Jobs(ctx context.Context, base, head *config.Config) ([]Change, error) {
	before, err := specs(ctx, base)
	if err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	after, err := specs(ctx, head)
	if err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	var out []Change
	for k, a := range after {
		c := Change{Job: k.name, Type: k.typ, Repo: k.repo}
		b, ok := before[k]
		switch {
		case !ok:
			c.Status = New
		case bytes.Equal(b, a):
			// encoding/json writes struct fields in order and map keys
			// sorted, so equal bytes are equal specs: most jobs of a change
			// end here, without decoding or walking a tree (that was most
			// of the comparison's time on a 4,000-job config).
			continue
		default:
			diff, err := compare(b, a)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %w", k.typ, k.name, err)
			}
			// Bytes can differ for equal values; the tree decides.
			if diff == nil {
				continue
			}
			c.Status, c.Diff = Changed, diff
		}
		out = append(out, c)
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			out = append(out, Change{Job: k.name, Type: k.typ, Repo: k.repo, Status: Removed})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Status != out[j].Status {
			return order(out[i].Status) < order(out[j].Status)
		}
		if out[i].Repo != out[j].Repo {
			return out[i].Repo < out[j].Repo
		}
		return out[i].Job < out[j].Job
	})
	return out, nil
}

func order(status string) int {
	return map[string]int{Changed: 0, New: 1, Removed: 2}[status]
}

type key struct{ typ, repo, name string }

// The refs every job is built with on both sides: only the job decides
// what differs.
var (
	sha  = strings.Repeat("0", 40)
	refs = mkpj.Refs{BaseRef: "main", BaseSHA: sha, PullNumber: 1, PullSHA: sha, PullAuthor: "prowctl"}
)

// specs builds the ProwJob spec of every job of c, as JSON, so that the
// comparison sees what Prow would create and names fields as YAML does.
func specs(ctx context.Context, c *config.Config) (map[key][]byte, error) {
	type task struct {
		key key
		job mkpj.Job
	}
	var tasks []task
	for repo, ps := range c.PresubmitsStatic {
		for i := range ps {
			tasks = append(tasks, task{key{string(prowapi.PresubmitJob), repo, ps[i].Name}, mkpj.Job{Repo: repo, Presubmit: &ps[i]}})
		}
	}
	for repo, ps := range c.PostsubmitsStatic {
		for i := range ps {
			tasks = append(tasks, task{key{string(prowapi.PostsubmitJob), repo, ps[i].Name}, mkpj.Job{Repo: repo, Postsubmit: &ps[i]}})
		}
	}
	for i := range c.Periodics {
		tasks = append(tasks, task{key{string(prowapi.PeriodicJob), "", c.Periodics[i].Name}, mkpj.Job{Periodic: &c.Periodics[i]}})
	}
	// Building and marshalling a spec only reads the loaded config, and
	// thousands of jobs keep every core busy.
	raw := make([][]byte, len(tasks))
	errs := make([]error, len(tasks))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < min(runtime.GOMAXPROCS(0), len(tasks)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < len(tasks); i = int(next.Add(1) - 1) {
				spec, err := mkpj.Spec(ctx, tasks[i].job, refs, mkpj.RefSources{})
				if err == nil {
					raw[i], err = json.Marshal(spec)
				}
				errs[i] = err
			}
		}()
	}
	wg.Wait()
	// The map is filled here, after the workers: they share no map and
	// take no lock.
	out := make(map[key][]byte, len(tasks))
	for i, t := range tasks {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out[t.key] = raw[i]
	}
	return out, nil
}

// compare decodes two specs and lists the fields that differ, nil when
// none does.
func compare(before, after []byte) ([]Field, error) {
	var b, a any
	if err := json.Unmarshal(before, &b); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(after, &a); err != nil {
		return nil, err
	}
	var r diffReporter
	if cmp.Equal(b, a, cmp.Reporter(&r)) {
		return nil, nil
	}
	return r.fields, nil
}

// diffReporter collects the leaves that differ, with a path that reads like
// the YAML: spec fields by name, list items by their name when they have
// one (containers, env, volumes), else by index.
type diffReporter struct {
	path   cmp.Path
	fields []Field
}

func (r *diffReporter) PushStep(ps cmp.PathStep) { r.path = append(r.path, ps) }
func (r *diffReporter) PopStep()                 { r.path = r.path[:len(r.path)-1] }

func (r *diffReporter) Report(rs cmp.Result) {
	if rs.Equal() {
		return
	}
	vx, vy := r.path.Last().Values()
	r.fields = append(r.fields, Field{Path: r.pathString(), Old: jsonOf(vx), New: jsonOf(vy)})
}

func (r *diffReporter) pathString() string {
	var b strings.Builder
	for _, s := range r.path {
		switch s := s.(type) {
		case cmp.MapIndex:
			b.WriteString("." + fmt.Sprint(s.Key().Interface()))
		case cmp.SliceIndex:
			vx, vy := s.Values()
			if name := itemName(vx, vy); name != "" {
				b.WriteString("[" + name + "]")
				continue
			}
			k, ky := s.SplitKeys()
			if k < 0 {
				k = ky
			}
			fmt.Fprintf(&b, "[%d]", k)
		}
	}
	return strings.TrimPrefix(b.String(), ".")
}

// itemName is the name of a list item (a container, a variable, a volume)
// from either side, "" when it has none.
func itemName(vs ...reflect.Value) string {
	for _, v := range vs {
		if !v.IsValid() {
			continue
		}
		if m, ok := v.Interface().(map[string]any); ok {
			if n, ok := m["name"].(string); ok && n != "" {
				return n
			}
		}
	}
	return ""
}

// jsonOf is v as JSON, "" when v is absent.
func jsonOf(v reflect.Value) string {
	if !v.IsValid() {
		return ""
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	return string(b)
}
