package e2e

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// A step's log is written from several goroutines at once (the personal
// cluster reports each component from its own): every line comes out once,
// whole and prefixed. Run with -race to see the writer is safe.
func TestPrefixWriterConcurrentWriters(t *testing.T) {
	var sink bytes.Buffer
	w := &prefixWriter{prefix: "[cluster-up] ", sink: &logSink{w: &sink}}
	var wg sync.WaitGroup
	var want []string
	for g := 0; g < 8; g++ {
		for i := 0; i < 100; i++ {
			want = append(want, fmt.Sprintf("[cluster-up] component %d-%d ready", g, i))
		}
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				fmt.Fprintf(w, "component %d-%d ready\n", g, i)
			}
		}(g)
	}
	wg.Wait()
	w.Flush()
	got := strings.Split(strings.TrimSuffix(sink.String(), "\n"), "\n")
	sort.Strings(got)
	sort.Strings(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("lines (-want +got):\n%s", diff)
	}
}
