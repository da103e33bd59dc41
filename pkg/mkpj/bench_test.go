package mkpj

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/internal/prowctlbin"
)

// benchJob is a presubmit from the middle of the corpus, with its refs.
func benchJob(b *testing.B) (dir string, j Job, args []string) {
	dir = corpusDir(b)
	j = sampleJobs(b, dir, 3)[1]
	r := refsFor(j)
	args = []string{
		"--config-path", filepath.Join(dir, "config.yaml"), "--job-config-path", filepath.Join(dir, "jobs"),
		"--job", j.Base().Name, "--base-ref", r.BaseRef, "--base-sha", r.BaseSHA,
		"--pull-number", strconv.Itoa(r.PullNumber), "--pull-sha", r.PullSHA, "--pull-author", r.PullAuthor,
	}
	if j.Type != prowapi.PresubmitJob {
		b.Fatalf("bench job %s is a %s", j.Base().Name, j.Type)
	}
	return dir, j, args
}

// BenchmarkMkpj times one `mkpj` for one job of a config of ~600 files and
// 170,000 lines, as processes: prowctl's and Prow's, on the same input. The
// target is prowctl ≤ 0.5× Prow's wall time.
func BenchmarkMkpj(b *testing.B) {
	_, _, args := benchJob(b)
	for _, tc := range []struct {
		name string
		bin  func(*testing.B) string
		args []string
	}{
		{"prowctl", func(b *testing.B) string { return prowctlbin.Path(b) }, append([]string{"mkpj"}, args...)},
		{"prow", func(b *testing.B) string { return prowMkpj(b) }, args},
	} {
		b.Run(tc.name, func(b *testing.B) {
			bin := tc.bin(b)
			b.ResetTimer()
			for range b.N {
				cmd := exec.Command(bin, tc.args...)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%s %v: %v\n%s", bin, tc.args, err, out)
				}
			}
		})
	}
}

// BenchmarkBuild times mkpj.Build in process (the fast path) against Prow's
// full config load, without process start-up.
func BenchmarkBuild(b *testing.B) {
	dir, j, _ := benchJob(b)
	cfg, jobs := filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs")
	b.Run("fast", func(b *testing.B) {
		for range b.N {
			if _, err := Build(context.Background(), Options{ConfigPath: cfg, JobConfigPath: jobs, Query: Query{Name: j.Base().Name, BaseRef: refsFor(j).BaseRef}, Refs: refsFor(j)}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("loadall", func(b *testing.B) {
		for range b.N {
			if _, err := LoadAll(cfg, jobs); err != nil {
				b.Fatal(err)
			}
		}
	})
}
