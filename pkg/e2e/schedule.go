package e2e

import (
	"context"
	"fmt"
	"sort"
	"sync"
)

// schedule runs nodes in dependency order, at most Parallelism at a time.
// For regular steps a failed or skipped dependency skips the step; for
// finalizers any outcome of a dependency will do. Each node keeps a count of
// unfinished dependencies, so a step finishing costs O(its dependents), and
// the goroutine of a finishing step starts what it unblocked itself: no
// hand-off to a scheduler goroutine between one step and the next.
func (r *runner) schedule(ctx context.Context, nodes []*node, finalizers bool) {
	ph := &phase{r: r, ctx: ctx, nodes: nodes, finalizers: finalizers, allDone: make(chan struct{})}
	ph.mu.Lock()
	ph.init()
	ph.launch()
	ph.mu.Unlock()
	select {
	case <-ph.allDone:
	case <-ctx.Done():
		ph.mu.Lock()
		ph.aborted = true
		ph.mu.Unlock()
		<-ph.allDone
	}
	for _, n := range nodes {
		if r.status(n) == Pending {
			r.finish(n, Skipped, abortedBeforeStart, 0)
		}
	}
}

// phase is one scheduling pass: the regular steps, then the finalizers.
type phase struct {
	r          *runner
	ctx        context.Context
	nodes      []*node
	finalizers bool
	allDone    chan struct{} // closed when nothing runs and nothing more will

	mu         sync.Mutex
	waiting    []int    // unfinished dependencies in this phase
	blocker    []string // why a regular step will be skipped
	dependents [][]int  // reverse edges within this phase
	ready      []int    // sorted by spec order
	running    int
	aborted    bool
}

func (ph *phase) init() {
	index := make(map[*node]int, len(ph.nodes))
	for i, n := range ph.nodes {
		index[n] = i
	}
	ph.waiting = make([]int, len(ph.nodes))
	ph.blocker = make([]string, len(ph.nodes))
	ph.dependents = make([][]int, len(ph.nodes))
	for i, n := range ph.nodes {
		for _, d := range n.deps {
			if j, ok := index[d]; ok {
				ph.waiting[i]++
				ph.dependents[j] = append(ph.dependents[j], i)
			}
		}
	}
	for i := range ph.nodes {
		if ph.waiting[i] == 0 {
			ph.push(i)
		}
	}
}

func (ph *phase) push(i int) {
	at := sort.SearchInts(ph.ready, i)
	ph.ready = append(ph.ready, 0)
	copy(ph.ready[at+1:], ph.ready[at:])
	ph.ready[at] = i
}

// launch starts ready steps while there is room; with ph.mu held.
func (ph *phase) launch() {
	for len(ph.ready) > 0 && ph.running < ph.r.opts.Parallelism && !ph.aborted {
		i := ph.ready[0]
		ph.ready = ph.ready[1:]
		ph.running++
		ph.r.start(ph.ctx, ph.nodes[i], func() { ph.finished(i) })
	}
	if ph.running == 0 {
		close(ph.allDone)
	}
}

// finished is called by step i's goroutine once the step's result is in.
func (ph *phase) finished(i int) {
	ph.mu.Lock()
	defer ph.mu.Unlock()
	ph.running--
	ph.settle(i)
	ph.launch()
}

// settle counts step j's end against its dependents, skipping those it
// blocks (and theirs), queueing those now ready; with ph.mu held.
func (ph *phase) settle(j int) {
	st := ph.r.status(ph.nodes[j])
	for _, i := range ph.dependents[j] {
		if st != Passed && !ph.finalizers && ph.blocker[i] == "" {
			ph.blocker[i] = fmt.Sprintf("needs %s (%s)", ph.nodes[j].spec.Name, st)
		}
		ph.waiting[i]--
		if ph.waiting[i] > 0 {
			continue
		}
		if ph.blocker[i] != "" {
			ph.r.finish(ph.nodes[i], Skipped, ph.blocker[i], 0)
			ph.settle(i)
			continue
		}
		ph.push(i)
	}
}

func (r *runner) status(n *node) Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return n.res.Status
}

func (r *runner) finish(n *node, st Status, reason string, attempts int) {
	now := r.opts.Now()
	r.mu.Lock()
	n.res.Status = st
	n.res.Reason = reason
	n.res.Attempts = attempts
	if !n.res.Start.IsZero() {
		n.res.Duration = now.Sub(n.res.Start)
	}
	res := *n.res
	r.mu.Unlock()
	r.view.update(res)
}

// snapshot copies every result, for progress views.
func (r *runner) snapshot() []Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Result, len(r.nodes))
	for i, n := range r.nodes {
		out[i] = *n.res
	}
	return out
}

func (r *runner) start(ctx context.Context, n *node, done func()) {
	r.mu.Lock()
	n.res.Status = Running
	n.res.Start = r.opts.Now()
	res := *n.res
	r.mu.Unlock()
	go func() {
		// Reported from the step's goroutine: the scheduler only spawns, so
		// the last of many steps that become ready together starts as soon
		// as the first.
		r.view.update(res)
		st, reason, attempts := r.runStep(ctx, n)
		r.finish(n, st, reason, attempts)
		done()
	}()
}
