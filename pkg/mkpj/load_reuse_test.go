package mkpj

import (
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/prow/pkg/config"

	benchcorpus "github.com/prowctl/prowctl/hack/bench/corpus"
	"github.com/prowctl/prowctl/internal/filetree"
	"github.com/prowctl/prowctl/pkg/jobconfig"
)

// jobFilesOf is the job config under dir/jobs as LoadFiles takes it.
func jobFilesOf(t *testing.T, dir string) []JobFile {
	t.Helper()
	l, err := jobconfig.Files(filepath.Join(dir, "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	var files []JobFile
	for _, p := range l.Files {
		b, err := jobconfig.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, JobFile{Path: p, Data: b})
	}
	return files
}

// idJob is a job with its type, repo and name.
type idJob struct {
	id  string
	job any
}

// jobsByBase is every job of c by its JobBase.
func jobsByBase(c *config.Config) map[*config.JobBase]idJob {
	out := map[*config.JobBase]idJob{}
	for repo, js := range c.PresubmitsStatic {
		for i := range js {
			out[&js[i].JobBase] = idJob{"presubmit " + repo + " " + js[i].Name, js[i]}
		}
	}
	for repo, js := range c.PostsubmitsStatic {
		for i := range js {
			out[&js[i].JobBase] = idJob{"postsubmit " + repo + " " + js[i].Name, js[i]}
		}
	}
	for i := range c.Periodics {
		out[&c.Periodics[i].JobBase] = idJob{"periodic " + c.Periodics[i].Name, c.Periodics[i]}
	}
	return out
}

// withoutSourcePath is job with SourcePath cleared.
func withoutSourcePath(job any) any {
	switch j := job.(type) {
	case config.Presubmit:
		j.SourcePath = ""
		return j
	case config.Postsubmit:
		j.SourcePath = ""
		return j
	case config.Periodic:
		j.SourcePath = ""
		return j
	}
	panic("not a job")
}

// checkLoadLike loads after, then before taking jobs from it, as the two
// sides of jobs diff, and holds each to config.Load's result and to what
// LoadFiles alone gives. Each job taken must be its donor but for
// SourcePath. It returns the taken jobs' ids, sorted, and the ids of all the
// base's jobs.
func checkLoadLike(t *testing.T, before, after map[string]string) (taken, all []string) {
	t.Helper()
	bdir, hdir := filetree.Temp(t, before), filetree.Temp(t, after)
	var ld Loader
	head := ld.LoadFiles(filepath.Join(hdir, "config.yaml"), jobFilesOf(t, hdir))
	if head == nil {
		t.Fatal("the head's files did not load on the fast path")
	}
	called := false
	base, tk := ld.LoadFilesLike(filepath.Join(bdir, "config.yaml"), jobFilesOf(t, bdir), func() *config.Config {
		called = true
		return head
	})
	if !called {
		t.Error("like was not called")
	}
	alone := new(Loader).LoadFiles(filepath.Join(bdir, "config.yaml"), jobFilesOf(t, bdir))
	want, err := config.Load(filepath.Join(bdir, "config.yaml"), filepath.Join(bdir, "jobs"), nil, "")
	if err != nil {
		if base != nil || alone != nil {
			t.Errorf("Prow refuses the base (%v), yet it loaded: like %v, alone %v", err, base != nil, alone != nil)
		}
		return nil, nil
	}
	if base == nil {
		t.Fatal("the base did not load while taking jobs")
	}
	if diff := cmp.Diff(want, base, sameConfig...); diff != "" {
		t.Errorf("taking jobs, the base differs from config.Load (-Prow +taking):\n%s", diff)
	}
	if diff := cmp.Diff(alone, base, sameConfig...); diff != "" {
		t.Errorf("taking jobs, the base differs from LoadFiles alone (-alone +taking):\n%s", diff)
	}
	if wantHead, err := config.Load(filepath.Join(hdir, "config.yaml"), filepath.Join(hdir, "jobs"), nil, ""); err != nil {
		t.Fatal(err)
	} else if diff := cmp.Diff(wantHead, head, sameConfig...); diff != "" {
		t.Errorf("the head differs from config.Load after the base took from it (-Prow +head):\n%s", diff)
	}

	bj, hj := jobsByBase(base), jobsByBase(head)
	for b, h := range tk {
		bb, ok := bj[b]
		if !ok {
			t.Fatalf("taken: %p is no job of the base", b)
		}
		hh, ok := hj[h]
		if !ok {
			t.Fatalf("taken: %s's donor is no job of the head", bb.id)
		}
		if bb.id != hh.id {
			t.Errorf("%s taken from %s", bb.id, hh.id)
		}
		if diff := cmp.Diff(withoutSourcePath(hh.job), withoutSourcePath(bb.job), sameConfig...); diff != "" {
			t.Errorf("%s differs from the job it was taken from (-head +base):\n%s", bb.id, diff)
		}
		taken = append(taken, bb.id)
	}
	for _, j := range bj {
		all = append(all, j.id)
	}
	sort.Strings(taken)
	sort.Strings(all)
	return taken, all
}

func except(all []string, drop ...string) []string {
	var out []string
	for _, id := range all {
		if !slices.Contains(drop, id) {
			out = append(out, id)
		}
	}
	return out
}

// A base takes from the head exactly the jobs whose file, Prow config and
// presets are the head's; whatever it takes, it is what config.Load gives.
func TestLoadFilesLikeTakesWhatTheHeadShares(t *testing.T) {
	edit := func(files map[string]string, name, old, new string) map[string]string {
		t.Helper()
		out := map[string]string{}
		for k, v := range files {
			out[k] = v
		}
		if !strings.Contains(out[name], old) {
			t.Fatalf("%s lacks %q", name, old)
		}
		out[name] = strings.Replace(out[name], old, new, 1)
		return out
	}
	tree := edgeCaseTree(t)
	with := func(name, content string) map[string]string {
		out := map[string]string{}
		for k, v := range tree {
			out[k] = v
		}
		out[name] = content
		return out
	}
	const firstDoc = "periodic first-doc"
	for _, tc := range []struct {
		name          string
		before, after map[string]string
		// notTaken are the base's jobs it must default itself; nil: all.
		notTaken []string
		all      bool
	}{
		{name: "the same config", before: tree, after: tree, notTaken: []string{}},
		{name: "a preset in config.yaml", before: tree,
			after:    edit(tree, "config.yaml", "service-account.json", "service-account-v2.json"),
			notTaken: []string{firstDoc}},
		{name: "a preset in a job file", before: tree,
			after:    edit(tree, "jobs/a.yaml", "value: x", "value: y"),
			notTaken: []string{"presubmit org/a pull-a-1", "presubmit org/a pull-a-2", "postsubmit org/post-only post-only", firstDoc}},
		{name: "a preset no job carries, before the others", before: tree,
			after:    with("jobs/0.yaml", "presets:\n- labels:\n    preset-none: \"true\"\n  env:\n  - name: NONE\n    value: none\n"),
			notTaken: []string{}},
		{name: "a preset with no labels, which every job carries", before: tree,
			after: with("jobs/0.yaml", "presets:\n- labels: {}\n  env:\n  - name: ALL\n    value: all\n"),
			all:   true},
		{name: "presets in another order", before: tree,
			// preset-x moves before preset-service-account: first-doc
			// carries both.
			after: edit(edit(tree, "jobs/a.yaml", "presets:\n- labels:\n    preset-x: \"true\"\n  env:\n  - name: X\n    value: x\n", ""),
				"config.yaml", "presets:\n", "presets:\n- labels:\n    preset-x: \"true\"\n  env:\n  - name: X\n    value: x\n"),
			notTaken: []string{"presubmit org/a pull-a-1", "presubmit org/a pull-a-2", "postsubmit org/post-only post-only", firstDoc}},
		{name: "a preset's labels, no longer selecting a job", before: tree,
			after:    edit(tree, "jobs/a.yaml", "preset-x: \"true\"", "preset-x: \"yes\""),
			notTaken: []string{"presubmit org/a pull-a-1", "presubmit org/a pull-a-2", "postsubmit org/post-only post-only", firstDoc}},
		{name: "a preset's labels, now selecting a job", before: edit(tree, "jobs/a.yaml", "preset-x: \"true\"", "preset-x: \"yes\""),
			after:    tree,
			notTaken: []string{"presubmit org/a pull-a-1", "presubmit org/a pull-a-2", "postsubmit org/post-only post-only", firstDoc}},
		{name: "a decoration default", before: tree,
			after: edit(tree, "config.yaml", "timeout: 2h", "timeout: 3h"),
			all:   true},
		{name: "a job's command", before: tree,
			after:    edit(tree, "jobs/e.yaml", "image: alpine\n      command: [make]", "image: alpine\n      command: [make, all]"),
			notTaken: []string{"presubmit org/e pull-e", "presubmit org/e pull-e-changed", "periodic with-refs"}},
		{name: "a job moved to another file", before: tree,
			after: edit(with("jobs/f.yaml", strings.Replace(tree["jobs/b.yml"], "  org/empty: []\n  org/null:\nperiodics: []\n", "", 1)),
				"jobs/b.yml", "presubmits:\n  org/a:\n  - name: pull-a-3\n    decorate: true\n    spec:\n      containers:\n      - image: alpine\n        command: [make]\n", "presubmits:\n"),
			// b.yml changed: the job it held in the base is the base's own.
			notTaken: []string{"presubmit org/a pull-a-3"}},
		{name: "a base Prow refuses for a job it shares with the head", before: with("jobs/dup.yaml", "presubmits:\n  org/a:\n  - name: pull-a-1\n    spec:\n      containers:\n      - image: alpine\n"),
			after: tree},
		{name: "a base Prow refuses for a file it holds twice, every job taken", before: with("jobs/b2.yml", tree["jobs/b.yml"]),
			after: tree},
		{name: "a base Prow refuses for two contexts, one job taken", before: with("jobs/ctx.yaml", "presubmits:\n  org/a:\n  - name: pull-a-other\n    context: pull-a-1\n    spec:\n      containers:\n      - image: alpine\n"),
			after: tree},
	} {
		t.Run(tc.name, func(t *testing.T) {
			taken, all := checkLoadLike(t, tc.before, tc.after)
			if all == nil {
				if !strings.Contains(tc.name, "refuses") {
					t.Fatal("Prow refuses the base")
				}
				return
			}
			want := except(all, tc.notTaken...)
			if tc.all {
				want = nil
			}
			if diff := cmp.Diff(want, taken); diff != "" {
				t.Errorf("jobs taken (-want +got):\n%s", diff)
			}
		})
	}
}

// On the bench corpus with one preset changed (the bench's change), the
// base takes every job but those carrying the preset.
func TestLoadFilesLikeOnTheCorpus(t *testing.T) {
	dir := t.TempDir()
	if _, err := benchcorpus.Generate(dir, 30, 7); err != nil {
		t.Fatal(err)
	}
	before := map[string]string{}
	l, err := jobconfig.Files(filepath.Join(dir, "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range append(l.Files, filepath.Join(dir, "config.yaml")) {
		b, err := jobconfig.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			t.Fatal(err)
		}
		before[rel] = string(b)
	}
	after := map[string]string{}
	for k, v := range before {
		after[k] = v
	}
	const old, new = "value: /etc/storage/key.json", "value: /etc/storage/key-v2.json"
	if !strings.Contains(after["config.yaml"], old) {
		t.Fatalf("the corpus's config.yaml lacks %q", old)
	}
	after["config.yaml"] = strings.Replace(after["config.yaml"], old, new, 1)
	taken, all := checkLoadLike(t, before, after)
	if len(taken) == 0 || len(taken) == len(all) {
		t.Errorf("%d of %d jobs taken: the preset should leave out some, and only some", len(taken), len(all))
	}
}

// A head the loader did not load on its fast path lends nothing.
func TestLoadFilesLikeNeedsTheHeadsRecord(t *testing.T) {
	dir := filetree.Temp(t, edgeCaseTree(t))
	head, err := config.Load(filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs"), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	var ld Loader
	base, taken := ld.LoadFilesLike(filepath.Join(dir, "config.yaml"), jobFilesOf(t, dir), func() *config.Config { return head })
	if base == nil {
		t.Fatal("the base did not load")
	}
	if len(taken) != 0 {
		t.Errorf("%d job(s) taken from a config loaded elsewhere", len(taken))
	}
	if diff := cmp.Diff(head, base, sameConfig...); diff != "" {
		t.Errorf("the base differs from config.Load (-Prow +base):\n%s", diff)
	}
}

// The storage buckets Deck allows come from every job; the fast path adds
// those of the jobs it does not validate again itself, as Prow's
// calculateStorageBuckets would: with and without a provider prefix, from
// a job's own decoration config or the default one, for every type of job,
// whether the job was loaded or copied.
func TestLoadFastStorageBuckets(t *testing.T) {
	job := func(name, bucket string) string {
		gcs := ""
		if bucket != "" {
			gcs = "    decoration_config:\n      gcs_configuration:\n        bucket: " + bucket + "\n        path_strategy: explicit\n"
		}
		return "  - name: " + name + "\n    decorate: true\n" + gcs + "    spec:\n      containers:\n      - image: alpine\n        command: [make]\n"
	}
	tree := edgeCaseTree(t)
	tree["jobs/buckets.yaml"] = "presubmits:\n  org/buckets:\n" + job("pull-gs", "gs://job-bucket") + job("pull-s3", "s3://other-bucket") +
		job("pull-odd", "a://b://c") + job("pull-default", "") +
		"postsubmits:\n  org/buckets:\n" + job("post-plain", "plain-bucket") +
		"periodics:\n- name: periodic-gs\n  interval: 1h\n  decorate: true\n  decoration_config:\n    gcs_configuration:\n      bucket: gs://periodic-bucket\n      path_strategy: explicit\n" +
		"  spec:\n    containers:\n    - image: alpine\n      command: [make]\n"
	dir := filetree.Temp(t, tree)
	checkLoadFast(t, filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs"))
	got := new(Loader).LoadFiles(filepath.Join(dir, "config.yaml"), jobFilesOf(t, dir))
	for _, b := range []string{"job-bucket", "other-bucket", "a://b://c", "plain-bucket", "periodic-bucket", "artifacts"} {
		if got == nil || !got.Deck.AllKnownStorageBuckets.Has(b) {
			t.Errorf("bucket %q missing", b)
		}
	}
	// Every job copied: none validated again, every bucket added.
	taken, all := checkLoadLike(t, tree, tree)
	if len(taken) != len(all) {
		t.Errorf("%d of %d jobs taken from an equal config", len(taken), len(all))
	}
}
