package lint

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/prowctl/prowctl/hack/bench/corpus"
)

// BenchmarkLint lints a generated config of Kubernetes' size (600 files,
// about 170,000 lines) with positions and policy on every job. `make bench`
// also times the whole command beside Prow's checkconfig on the same input.
func BenchmarkLint(b *testing.B) {
	dir := b.TempDir()
	if _, err := corpus.Generate(dir, 600, 1); err != nil {
		b.Fatal(err)
	}
	o := Options{ConfigPath: filepath.Join(dir, "config.yaml"), JobConfigPath: filepath.Join(dir, "jobs"), Owner: owner{}, AllJobs: true}
	b.ResetTimer()
	for b.Loop() {
		res, err := Lint(context.Background(), o)
		if err != nil {
			b.Fatal(err)
		}
		if errs, _ := res.Count(); errs != 0 {
			b.Fatalf("generated config has %d errors: %v", errs, res.Findings[0])
		}
	}
}
