package e2e

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStateConcurrentWriters(t *testing.T) {
	path := StatePath(t.TempDir())
	var wg sync.WaitGroup
	want := map[string]string{}
	for i := 0; i < 20; i++ {
		k, v := fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i)
		want[k] = v
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A separate State per writer stands in for a separate process:
			// only the file lock serialises them.
			if err := OpenState(path).Set(k, v); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := OpenState(path).All()
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("state (-want +got):\n%s", d)
	}
	s := OpenState(path)
	if err := s.Delete("k0"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.Get("k0"); ok {
		t.Error("k0 still set after Delete")
	}
	if got := s.Lookup("k1"); got != "v1" {
		t.Errorf("Lookup(k1) = %q, want v1", got)
	}
}
