package chart

import "testing"

// BenchmarkPackage measures build-chart without the push: copy, stamp and
// package the fixture chart.
func BenchmarkPackage(b *testing.B) {
	dest := b.TempDir()
	for i := 0; i < b.N; i++ {
		if _, err := Package(Options{
			Dir:         fixture,
			Version:     "0.1.0-gabc",
			Values:      map[string]string{"image.repository": "127.0.0.1:5000/op", "image.tag": "abc"},
			Destination: dest,
		}); err != nil {
			b.Fatal(err)
		}
	}
}
