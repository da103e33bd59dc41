package image

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
)

// BenchmarkAssemblePush measures what build-image adds to `go build`:
// assembling an image around an 8 MiB program and pushing it to a registry
// on loopback (a new digest each time, so every blob is uploaded).
func BenchmarkAssemblePush(b *testing.B) {
	addr := startRegistry(b)
	bin := bytes.Repeat([]byte("operator"), 1<<20)
	b.SetBytes(int64(len(bin)))
	for i := 0; i < b.N; i++ {
		bin[0] = byte(i)
		if _, err := Build(context.Background(), Options{
			Package:    "./x",
			Repository: addr + "/bench",
			Tags:       []string{"t"},
			Keychain:   authn.NewMultiKeychain(),
			Runner:     fakeGo(bin),
		}); err != nil {
			b.Fatal(err)
		}
	}
}
