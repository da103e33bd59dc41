package mkpj

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	benchcorpus "github.com/prowctl/prowctl/hack/bench/corpus"
)

// corpusDir generates (once per test binary) the Kubernetes-sized job config
// of hack/bench/corpus (600 files, seed 1, as `make bench` uses for lint), or uses $PROWCTL_BENCH_CORPUS when set.
var corpus struct {
	once sync.Once
	dir  string
	err  error
}

func corpusDir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("PROWCTL_BENCH_CORPUS"); d != "" {
		return d
	}
	corpus.once.Do(func() {
		dir, err := os.MkdirTemp("", "prowctl-mkpj-corpus-")
		if err != nil {
			corpus.err = err
			return
		}
		corpus.dir = filepath.Join(dir, "corpus")
		_, corpus.err = benchcorpus.Generate(corpus.dir, 600, 1)
	})
	if corpus.err != nil {
		tb.Fatalf("generate the bench corpus: %v", corpus.err)
	}
	return corpus.dir
}

// sampleJobs picks jobs of each type spread over the corpus.
func sampleJobs(tb testing.TB, dir string, perType int) []Job {
	all, err := LoadAll(filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs"))
	if err != nil {
		tb.Fatal(err)
	}
	byType := map[prowapi.ProwJobType][]Job{}
	for _, name := range Names(all) {
		m := Matches(all, name)
		if len(m) == 1 {
			byType[m[0].Type] = append(byType[m[0].Type], m[0])
		}
	}
	var out []Job
	for _, typ := range []prowapi.ProwJobType{prowapi.PresubmitJob, prowapi.PostsubmitJob, prowapi.PeriodicJob} {
		jobs := byType[typ]
		if len(jobs) == 0 {
			tb.Fatalf("corpus has no %s jobs", typ)
		}
		for i := 0; i < perType; i++ {
			out = append(out, jobs[(i*len(jobs))/perType])
		}
	}
	return out
}

// On a Kubernetes-sized config the fast path still defaults each job as
// Prow's full load does.
func TestLoadForJobOnCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 170,000-line config")
	}
	dir := corpusDir(t)
	cfg, jobs := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs")
	all, err := LoadAll(cfg, jobs)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range sampleJobs(t, dir, 5) {
		name := j.Base().Name
		fast, complete, err := LoadForJob(cfg, jobs, name)
		if err != nil || !complete {
			t.Fatalf("%s: complete %v, %v", name, complete, err)
		}
		want, _ := NewProwJob(context.Background(), all, Matches(all, name)[0], refsFor(j), RefSources{})
		got, _ := NewProwJob(context.Background(), fast, Matches(fast, name)[0], refsFor(j), RefSources{})
		if diff := cmp.Diff(want, got, ignoreNameAndStart...); diff != "" {
			t.Errorf("%s: fast path differs (-full +fast):\n%s", name, diff)
		}
	}
}

func TestMain(m *testing.M) {
	code := m.Run()
	if corpus.dir != "" {
		os.RemoveAll(filepath.Dir(corpus.dir))
	}
	os.Exit(code)
}
