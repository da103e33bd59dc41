package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkRunnerOverheadPerStep runs a chain of 200 steps that do nothing,
// one at a time, with every file a real run writes (step logs, build log,
// state, JUnit, started/finished): all of the wall time is the runner's.
func BenchmarkRunnerOverheadPerStep(b *testing.B) {
	const n = 200
	noop := StepFunc(func(context.Context, *Env) error { return nil })
	var steps []*StepSpec
	for i := 0; i < n; i++ {
		var needs []string
		if i > 0 {
			needs = []string{fmt.Sprint("s", i-1)}
		}
		steps = append(steps, step(fmt.Sprint("s", i), noop, needs...))
	}
	p := pipeline(steps...)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		start := time.Now()
		rep, err := Run(context.Background(), p, Options{Artifacts: dir, Results: true, Parallelism: 1})
		total += time.Since(start)
		if err != nil || !rep.Passed() {
			b.Fatalf("run: %v %v", err, rep)
		}
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N*n), "ms/step")
}

// BenchmarkLayeredDAG runs 200 steps of known sleeps in 10 layers of 20, each
// step needing every step of the layer before: the wall time should be the
// critical path (the longest sleep of each layer, summed) plus little.
func BenchmarkLayeredDAG(b *testing.B) {
	const layers, width = 10, 20
	var steps []*StepSpec
	var critical time.Duration
	for l := 0; l < layers; l++ {
		longest := time.Duration(0)
		for w := 0; w < width; w++ {
			d := time.Duration(60+l*5+w*2) * time.Millisecond
			longest = max(longest, d)
			var needs []string
			if l > 0 {
				for pw := 0; pw < width; pw++ {
					needs = append(needs, fmt.Sprintf("l%d-%d", l-1, pw))
				}
			}
			steps = append(steps, step(fmt.Sprintf("l%d-%d", l, w), sleepStep(d), needs...))
		}
		critical += longest
	}
	p := pipeline(steps...)
	var total time.Duration
	for i := 0; i < b.N; i++ {
		dir := b.TempDir()
		start := time.Now()
		rep, err := Run(context.Background(), p, Options{Artifacts: dir, Results: true, Parallelism: width})
		total += time.Since(start)
		if err != nil || !rep.Passed() {
			b.Fatalf("run: %v %v", err, rep)
		}
	}
	wall := total / time.Duration(b.N)
	b.ReportMetric(float64(wall.Microseconds())/1000, "wall-ms")
	b.ReportMetric(float64(critical.Microseconds())/1000, "critical-path-ms")
	b.ReportMetric(100*float64(wall-critical)/float64(critical), "%over-critical-path")
}

// BenchmarkLayeredDAGBaseline sleeps the same layers with bare goroutines
// and a WaitGroup per layer, no runner: how far this machine, at this load,
// lands from the critical path by itself. BenchmarkLayeredDAG's excess over
// this one is the runner's.
func BenchmarkLayeredDAGBaseline(b *testing.B) {
	const layers, width = 10, 20
	var critical time.Duration
	for l := 0; l < layers; l++ {
		critical += time.Duration(60+l*5+(width-1)*2) * time.Millisecond
	}
	var total time.Duration
	for i := 0; i < b.N; i++ {
		start := time.Now()
		for l := 0; l < layers; l++ {
			var wg sync.WaitGroup
			for w := 0; w < width; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					sleepStep(time.Duration(60+l*5+w*2)*time.Millisecond)(context.Background(), nil) //nolint:errcheck // never fails
				}()
			}
			wg.Wait()
		}
		total += time.Since(start)
	}
	wall := total / time.Duration(b.N)
	b.ReportMetric(float64(wall.Microseconds())/1000, "wall-ms")
	b.ReportMetric(100*float64(wall-critical)/float64(critical), "%over-critical-path")
}

func sleepStep(d time.Duration) StepFunc {
	return func(ctx context.Context, env *Env) error {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
