package argo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// WorkflowsResource is Argo's Workflow resource.
var WorkflowsResource = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}

// SubmitOptions say how to follow a submitted Workflow.
type SubmitOptions struct {
	// Out gets a line per step as it starts and ends, as `e2e run`
	// prints them.
	Out io.Writer
	// Wait follows the Workflow until it ends.
	Wait bool
	// Poll is how often the Workflow is read; 0 means a second.
	Poll time.Duration
	// StopGrace bounds the wait for the exit handler once the Workflow was
	// stopped (ctx ended); 0 means 10 minutes.
	StopGrace time.Duration
	Now       func() time.Time
}

// FailedError says the Workflow did not succeed.
type FailedError struct {
	Name, Phase, Message string
}

func (e *FailedError) Error() string {
	msg := fmt.Sprintf("workflow %s ended %s", e.Name, e.Phase)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// ExitCode is 1, as a failed `e2e run`.
func (e *FailedError) ExitCode() int { return 1 }

// Submit creates wf in namespace ns and, with o.Wait, follows it: nil when
// it Succeeded, a *FailedError when it Failed or Errored. When ctx ends
// first (Ctrl-C, SIGTERM), the Workflow is stopped the Argo way
// (spec.shutdown: Stop: running steps end, the exit handler still runs,
// as `e2e run` runs its finalizers) and followed to its end, within
// o.StopGrace; the error is then ctx's.
func Submit(ctx context.Context, dyn dynamic.Interface, ns string, wf *Workflow, o SubmitOptions) (string, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	obj := &unstructured.Unstructured{}
	b, err := json.Marshal(wf)
	if err != nil {
		return "", err
	}
	if err := json.Unmarshal(b, &obj.Object); err != nil {
		return "", err
	}
	workflows := dyn.Resource(WorkflowsResource).Namespace(ns)
	created, err := workflows.Create(ctx, obj, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("create the Workflow in namespace %s: %w", ns, err)
	}
	name := created.GetName()
	fmt.Fprintf(o.Out, "%s workflow %s/%s created\n", o.Now().Format("15:04:05"), ns, name)
	if !o.Wait {
		return name, nil
	}
	f := &follower{out: o.Out, now: o.Now, seen: map[string]string{}}
	err = f.follow(ctx, workflows, name, o.Poll)
	if ctx.Err() == nil {
		return name, err
	}
	// Stopped: Argo ends the running steps and runs the exit handler.
	grace := o.StopGrace
	if grace <= 0 {
		grace = 10 * time.Minute
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), grace)
	defer cancel()
	fmt.Fprintf(o.Out, "%s workflow %s: stopping (its exit handler still runs)\n", o.Now().Format("15:04:05"), name)
	if _, perr := workflows.Patch(sctx, name, types.MergePatchType, []byte(`{"spec":{"shutdown":"Stop"}}`), metav1.PatchOptions{}); perr != nil {
		return name, fmt.Errorf("stop the Workflow %s: %w (after %w)", name, perr, ctx.Err())
	}
	if ferr := f.follow(sctx, workflows, name, o.Poll); ferr != nil && sctx.Err() != nil {
		return name, fmt.Errorf("the Workflow %s did not end within %s of being stopped: %w", name, grace, ctx.Err())
	}
	return name, ctx.Err()
}

// follower prints each step's changes once.
type follower struct {
	out  io.Writer
	now  func() time.Time
	seen map[string]string // node id -> phase printed
}

// follow polls the Workflow until its phase is final.
func (f *follower) follow(ctx context.Context, workflows dynamic.ResourceInterface, name string, poll time.Duration) error {
	if poll <= 0 {
		poll = time.Second
	}
	for {
		wf, err := workflows.Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			f.report(wf)
			phase, _, _ := unstructured.NestedString(wf.Object, "status", "phase")
			msg, _, _ := unstructured.NestedString(wf.Object, "status", "message")
			switch phase {
			case "Succeeded":
				fmt.Fprintf(f.out, "%s workflow %s: Succeeded\n", f.now().Format("15:04:05"), name)
				return nil
			case "Failed", "Error":
				return &FailedError{Name: name, Phase: phase, Message: msg}
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// report prints the steps (the Workflow's Pod nodes) whose phase changed,
// in the order they started.
func (f *follower) report(wf *unstructured.Unstructured) {
	nodes, _, _ := unstructured.NestedMap(wf.Object, "status", "nodes")
	type node struct {
		id, step, phase, message, started, finished string
	}
	var list []node
	for id, v := range nodes {
		m, ok := v.(map[string]any)
		if !ok || m["type"] != "Pod" {
			continue
		}
		str := func(k string) string { s, _ := m[k].(string); return s }
		list = append(list, node{id, str("displayName"), str("phase"), str("message"), str("startedAt"), str("finishedAt")})
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].started != list[j].started {
			return list[i].started < list[j].started
		}
		return list[i].step < list[j].step
	})
	stamp := f.now().Format("15:04:05")
	for _, n := range list {
		if f.seen[n.id] == n.phase {
			continue
		}
		prev := f.seen[n.id]
		f.seen[n.id] = n.phase
		switch n.phase {
		case "Running":
			fmt.Fprintf(f.out, "%s %s: started (pod)\n", stamp, n.step)
		case "Succeeded", "Failed", "Error":
			if prev == "" || prev == "Pending" {
				// Seen only once it ended: say it started too.
				fmt.Fprintf(f.out, "%s %s: started (pod)\n", stamp, n.step)
			}
			took := ""
			if s, err1 := time.Parse(time.RFC3339, n.started); err1 == nil {
				if e, err2 := time.Parse(time.RFC3339, n.finished); err2 == nil {
					took = " in " + e.Sub(s).String()
				}
			}
			switch n.phase {
			case "Succeeded":
				fmt.Fprintf(f.out, "%s %s: passed%s\n", stamp, n.step, took)
			default:
				fmt.Fprintf(f.out, "%s %s: failed%s: %s\n", stamp, n.step, took, n.message)
			}
		}
	}
}
