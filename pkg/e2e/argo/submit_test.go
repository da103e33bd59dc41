package argo

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
)

// controller plays Argo's controller on a fake cluster: once the Workflow
// exists it applies each status in turn, the next one once the previous
// was read (or, with waitStop, once spec.shutdown is Stop).
type controller struct {
	dyn      *dynamicfake.FakeDynamicClient
	statuses []map[string]any
	waitStop int // index of the status that waits for the stop
}

func (c *controller) run(t *testing.T, name string) {
	ctx := context.Background()
	wfs := c.dyn.Resource(WorkflowsResource).Namespace("ci")
	for i, st := range c.statuses {
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Errorf("status %d never applied", i)
				return
			}
			wf, err := wfs.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				continue
			}
			if c.waitStop == i && i > 0 {
				if s, _, _ := unstructured.NestedString(wf.Object, "spec", "shutdown"); s != "Stop" {
					continue
				}
			}
			wf.Object["status"] = st
			if _, err := wfs.Update(ctx, wf, metav1.UpdateOptions{}); err != nil {
				continue
			}
			time.Sleep(30 * time.Millisecond)
			break
		}
	}
}

func pod(step, phase, started, finished, msg string) map[string]any {
	n := map[string]any{"type": "Pod", "displayName": step, "phase": phase, "startedAt": started, "message": msg}
	if finished != "" {
		n["finishedAt"] = finished
	}
	return n
}

func TestSubmit(t *testing.T) {
	t0, t3, t4 := "2026-12-03T09:00:00Z", "2026-12-03T09:00:03Z", "2026-12-03T09:00:04Z"
	for _, tc := range []struct {
		name     string
		statuses []map[string]any
		waitStop int
		cancel   bool
		wantErr  string
		want     []string
	}{{
		name: "succeeds",
		statuses: []map[string]any{
			{"phase": "Running", "nodes": map[string]any{"n1": pod("build", "Running", t0, "", "")}},
			{"phase": "Succeeded", "nodes": map[string]any{"n1": pod("build", "Succeeded", t0, t3, ""), "n2": pod("teardown", "Succeeded", t3, t4, "")}},
		},
		want: []string{"workflow ci/e2e-1 created", "build: started (pod)", "build: passed in 3s", "teardown: started (pod)", "teardown: passed in 1s", "workflow e2e-1: Succeeded"},
	}, {
		name: "a step fails",
		statuses: []map[string]any{
			{"phase": "Failed", "message": "child 'n1' failed", "nodes": map[string]any{"n1": pod("test", "Failed", t0, t3, "Error (exit code 1)"), "n2": pod("teardown", "Succeeded", t3, t4, "")}},
		},
		wantErr: "workflow e2e-1 ended Failed: child 'n1' failed",
		want:    []string{"test: failed in 3s: Error (exit code 1)", "teardown: passed in 1s"},
	}, {
		name:   "stopped: the exit handler still runs",
		cancel: true,
		statuses: []map[string]any{
			{"phase": "Running", "nodes": map[string]any{"n1": pod("test", "Running", t0, "", "")}},
			{"phase": "Failed", "message": "Stopped with strategy 'Stop'", "nodes": map[string]any{"n1": pod("test", "Failed", t0, t3, "terminated"), "n2": pod("teardown", "Succeeded", t3, t4, "")}},
		},
		waitStop: 1,
		wantErr:  context.Canceled.Error(),
		want:     []string{"test: started (pod)", "workflow e2e-1: stopping (its exit handler still runs)", "teardown: passed in 1s"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{WorkflowsResource: "WorkflowList"})
			c := &controller{dyn: dyn, statuses: tc.statuses, waitStop: tc.waitStop}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.run(t, "e2e-1")
			}()
			if tc.cancel {
				// Ctrl-C once the first status was seen.
				go func() {
					for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
						wf, err := dyn.Resource(WorkflowsResource).Namespace("ci").Get(context.Background(), "e2e-1", metav1.GetOptions{})
						if err == nil && wf.Object["status"] != nil {
							time.Sleep(50 * time.Millisecond)
							cancel()
							return
						}
					}
				}()
			}
			var out bytes.Buffer
			wf := &Workflow{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow", Metadata: ObjectMeta{Name: "e2e-1"}, Spec: WorkflowSpec{Entrypoint: "main"}}
			name, err := Submit(ctx, dyn, "ci", wf, SubmitOptions{Out: &out, Wait: true, Poll: 10 * time.Millisecond, StopGrace: 5 * time.Second})
			wg.Wait()
			if name != "e2e-1" {
				t.Errorf("name %q", name)
			}
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.wantErr {
				t.Errorf("err %q, want %q", got, tc.wantErr)
			}
			var fe *FailedError
			if tc.wantErr != "" && !tc.cancel && (!errors.As(err, &fe) || fe.ExitCode() != 1) {
				t.Errorf("err %v is not a *FailedError", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if tc.cancel {
				wf, _ := dyn.Resource(WorkflowsResource).Namespace("ci").Get(context.Background(), "e2e-1", metav1.GetOptions{})
				if s, _, _ := unstructured.NestedString(wf.Object, "spec", "shutdown"); s != "Stop" {
					t.Errorf("spec.shutdown %q, want Stop", s)
				}
			}
		})
	}
}
