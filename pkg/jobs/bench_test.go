package jobs

import (
	"math/rand"
	"strings"
	"testing"
)

// BenchmarkUpdateInPlace edits the tf-k8s entries of a 15,000-line shared
// config.yaml; the target is at most 100 ms per edit.
func BenchmarkUpdateInPlace(b *testing.B) { benchmarkUpdateInPlace(b, UpdateInPlace) }

// BenchmarkUpdateInPlaceFullParse is the fallback for files the quick
// reading hands over (multi-line flow values, anchors in the edited entries).
func BenchmarkUpdateInPlaceFullParse(b *testing.B) {
	benchmarkUpdateInPlace(b, func(in []byte, s *Spec) ([]byte, error) { return updateInPlace(in, s, false) })
}

func benchmarkUpdateInPlace(b *testing.B, update func([]byte, *Spec) ([]byte, error)) {
	s, err := LoadSpec("../../config/tf-k8s.yaml")
	if err != nil {
		b.Fatal(err)
	}
	c := genSharedConfig(rand.New(rand.NewSource(15000)), s, sharedConfigOptions{repos: 195, periodics: 180})
	in := []byte(c.input())
	lines := strings.Count(string(in), "\n")
	if lines < 15000 {
		b.Fatalf("config has %d lines, want at least 15,000", lines)
	}
	b.SetBytes(int64(len(in)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := update(in, s); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(lines), "lines")
}
