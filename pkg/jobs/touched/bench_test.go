package touched

import (
	"context"
	"path/filepath"
	"testing"

	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/hack/bench/corpus"
	"github.com/prowctl/prowctl/pkg/jobconfig"
	"github.com/prowctl/prowctl/pkg/mkpj"
)

// BenchmarkTouched is `prowctl jobs diff` between two directories of a
// config of Kubernetes' size (600 files, about 170,000 lines) where one
// preset changed: both loads with Prow's loader (mkpj.Loader, the fast path
// held equal to it), the base taking the head's unchanged jobs as
// Loader.Configs has it do, then the comparison.
// Target: at most 2 s/op on the 2-core machine, and at most 1.5x one
// `prowctl jobs lint` of the same config (hack/bench/touched.sh times both
// through the binary, the base read from git).
func BenchmarkTouched(b *testing.B) {
	ctx := context.Background()
	baseDir, headDir := filepath.Join(b.TempDir(), "base"), filepath.Join(b.TempDir(), "head")
	if _, err := corpus.Generate(baseDir, 600, 1); err != nil {
		b.Fatal(err)
	}
	copyDir(b, baseDir, headDir)
	cfg := filepath.Join(headDir, "config.yaml")
	doc := readYAML(b, cfg)
	for _, p := range get(doc, "presets").Content {
		if get(get(p, "labels"), presetLabel) != nil {
			get(get(p, "env").Content[0], "value").Value = presetNew
		}
	}
	writeYAML(b, cfg, doc, 2)

	// The base's files as Loader.Ref reads them from git, into memory.
	l, err := jobconfig.Files(filepath.Join(baseDir, "jobs"))
	if err != nil {
		b.Fatal(err)
	}
	var files []mkpj.JobFile
	for _, p := range l.Files {
		files = append(files, mkpj.JobFile{Path: p, Data: readFile(b, p)})
	}

	b.ResetTimer()
	var n int
	for i := 0; i < b.N; i++ {
		// One loader for both sides, as jobs diff loads them.
		var ld mkpj.Loader
		head, err := ld.LoadAll(cfg, filepath.Join(headDir, "jobs"))
		if err != nil {
			b.Fatal(err)
		}
		base, taken := ld.LoadFilesLike(filepath.Join(baseDir, "config.yaml"), files, func() *config.Config { return head })
		if base == nil || len(taken) == 0 {
			b.Fatal("the base did not load taking the head's jobs")
		}
		changes, err := (&Configs{Base: base, Head: head, taken: taken}).Jobs(ctx)
		if err != nil {
			b.Fatal(err)
		}
		n = len(changes)
	}
	b.StopTimer()
	// A change that touched nothing would time the wrong path.
	if n == 0 {
		b.Fatal("the preset change touched no job")
	}
	b.ReportMetric(float64(n), "touched")
}
