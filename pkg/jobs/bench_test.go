package jobs

import (
	"math/rand"
	"strings"
	"testing"
)

// BenchmarkUpdateInPlace edits the tf-k8s entries of a 15,000-line shared
// config.yaml; the target is at most 100 ms per edit.
func BenchmarkUpdateInPlace(b *testing.B) {
	s, err := LoadSpec("../../config/tf-k8s.yaml")
	if err != nil {
		b.Fatal(err)
	}
	c := genSharedConfig(rand.New(rand.NewSource(15000)), s, sharedConfigOptions{repos: 330, periodics: 300})
	in := []byte(c.input())
	lines := strings.Count(string(in), "\n")
	if lines < 15000 {
		b.Fatalf("config has %d lines, want at least 15,000", lines)
	}
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := UpdateInPlace(in, s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines), "lines")
}
