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
	"slices"
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

// Configs is the config at both ends of a change, as a Loader loads them.
type Configs struct {
	Base, Head *config.Config
	// taken holds the base's jobs copied from the head's.
	taken mkpj.Taken
}

// Jobs compares the jobs of two loaded configs.
func Jobs(ctx context.Context, base, head *config.Config) ([]Change, error) {
	return jobs(ctx, base, head, nil)
}

// Jobs is Jobs(ctx, c.Base, c.Head), without the ProwJob specs of the jobs
// the base took from the head: a copy has the head's spec.
func (c *Configs) Jobs(ctx context.Context) ([]Change, error) {
	return jobs(ctx, c.Base, c.Head, c.taken)
}

// jobs is Jobs, where each job of base that taken holds is equal to the
// head's job it maps to.
func jobs(ctx context.Context, base, head *config.Config, taken mkpj.Taken) ([]Change, error) {
	bt, ht := tasksOf(base), tasksOf(head)
	// Only a job at both sides needs its spec as JSON, unless the base's
	// is a copy of the head's. Spec and JSON stand for the job under its
	// key as Prow's later ones do (the map's last entry wins).
	bw, hw := winners(bt), winners(ht)
	compared := map[key]bool{}
	for k, b := range bw {
		if h, ok := hw[k]; ok && taken[b] != h {
			compared[k] = true
		}
	}
	before, err := specs(ctx, bt, compared)
	if err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	// A head job the base copied builds as its copy did, just above: only
	// its JSON could be needed.
	donors := make(map[*config.JobBase]bool, len(taken))
	for _, h := range taken {
		donors[h] = true
	}
	ht = slices.DeleteFunc(ht, func(t task) bool { return donors[t.base] && !compared[t.key] })
	after, err := specs(ctx, ht, compared)
	if err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	var out []Change
	var differ []key
	for k := range hw {
		b, a := before[k], after[k]
		switch _, ok := bw[k]; {
		case !ok:
			out = append(out, Change{Job: k.name, Type: k.typ, Repo: k.repo, Status: New})
		case !compared[k]:
		case bytes.Equal(b, a):
			// encoding/json writes struct fields in order and map keys
			// sorted, so equal bytes are equal specs: most jobs of a change
			// end here, without decoding or walking a tree (that was most
			// of the comparison's time on a 4,000-job config).
		default:
			differ = append(differ, k)
		}
	}
	// Walking two trees is the rest of the comparison's time, a job at a
	// time: on every core.
	diffs := make([][]Field, len(differ))
	errs := make([]error, len(differ))
	parallel(len(differ), func(i int) {
		diffs[i], errs[i] = compare(before[differ[i]], after[differ[i]])
	})
	for i, k := range differ {
		if errs[i] != nil {
			return nil, fmt.Errorf("%s %s: %w", k.typ, k.name, errs[i])
		}
		// Bytes can differ for equal values; the tree decides.
		if diffs[i] != nil {
			out = append(out, Change{Job: k.name, Type: k.typ, Repo: k.repo, Status: Changed, Diff: diffs[i]})
		}
	}
	for k := range bw {
		if _, ok := hw[k]; !ok {
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

type task struct {
	key  key
	job  mkpj.Job
	base *config.JobBase
}

// tasksOf lists the jobs of c with their keys, a repo's in its order.
func tasksOf(c *config.Config) []task {
	var tasks []task
	for repo, ps := range c.PresubmitsStatic {
		for i := range ps {
			tasks = append(tasks, task{key{string(prowapi.PresubmitJob), repo, ps[i].Name}, mkpj.Job{Repo: repo, Presubmit: &ps[i]}, &ps[i].JobBase})
		}
	}
	for repo, ps := range c.PostsubmitsStatic {
		for i := range ps {
			tasks = append(tasks, task{key{string(prowapi.PostsubmitJob), repo, ps[i].Name}, mkpj.Job{Repo: repo, Postsubmit: &ps[i]}, &ps[i].JobBase})
		}
	}
	for i := range c.Periodics {
		tasks = append(tasks, task{key{string(prowapi.PeriodicJob), "", c.Periodics[i].Name}, mkpj.Job{Periodic: &c.Periodics[i]}, &c.Periodics[i].JobBase})
	}
	return tasks
}

// winners is the job that stands for each key: the last of its key.
func winners(tasks []task) map[key]*config.JobBase {
	out := make(map[key]*config.JobBase, len(tasks))
	for _, t := range tasks {
		out[t.key] = t.base
	}
	return out
}

// specs builds the ProwJob spec of every job, as JSON for the keys in
// marshal, so that the comparison sees what Prow would create and names
// fields as YAML does. Every spec is built, so that a job whose spec cannot
// be built is an error whether or not its JSON is needed (json.Marshal
// itself does not fail on a spec built from a decoded config).
func specs(ctx context.Context, tasks []task, marshal map[key]bool) (map[key][]byte, error) {
	// Building and marshalling a spec only reads the loaded config, and
	// thousands of jobs keep every core busy.
	raw := make([][]byte, len(tasks))
	errs := make([]error, len(tasks))
	parallel(len(tasks), func(i int) {
		spec, err := mkpj.Spec(ctx, tasks[i].job, refs, mkpj.RefSources{})
		if err == nil && marshal[tasks[i].key] {
			raw[i], err = json.Marshal(spec)
		}
		errs[i] = err
	})
	// The map is filled here, after the workers: they share no map and
	// take no lock.
	out := make(map[key][]byte, len(marshal))
	for i, t := range tasks {
		if errs[i] != nil {
			return nil, errs[i]
		}
		if marshal[t.key] {
			out[t.key] = raw[i]
		}
	}
	return out, nil
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
	pruneEqual(b, a)
	var r diffReporter
	if cmp.Equal(b, a, cmp.Reporter(&r)) {
		return nil, nil
	}
	return r.fields, nil
}

// pruneEqual drops the entries two decoded specs hold equal from their
// objects, and from the objects in those: go-cmp would report nothing under
// them, and walking them with its reporter was a third of a comparison's
// time. Lists are left whole: go-cmp pairs their items by how much of them
// is equal.
func pruneEqual(before, after any) {
	b, ok := before.(map[string]any)
	a, ok2 := after.(map[string]any)
	if !ok || !ok2 {
		return
	}
	for k, bv := range b {
		av, ok := a[k]
		if !ok {
			continue
		}
		if reflect.DeepEqual(bv, av) {
			delete(b, k)
			delete(a, k)
			continue
		}
		pruneEqual(bv, av)
	}
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
