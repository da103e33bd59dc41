package e2e

import (
	"bytes"
	"fmt"
	"testing"
)

func TestWriteGraph(t *testing.T) {
	p, err := LoadPipeline("testdata/run-pipeline.yaml", CoreKinds())
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"text", "dot"} {
		var b bytes.Buffer
		if err := WriteGraph(&b, p, format); err != nil {
			t.Fatal(err)
		}
		golden(t, "graph."+format, b.Bytes())
	}
	if err := WriteGraph(&bytes.Buffer{}, p, "svg"); err == nil || err.Error() != `graph: unknown output format "svg" (want text or dot)` {
		t.Errorf("svg: error %v", err)
	}
}

func TestStagesFinalizersAfterEveryRegularStep(t *testing.T) {
	ok := StepFunc(nil)
	// The finalizer needs only a, yet comes after the deepest regular step.
	p := pipeline(step("a", ok), step("b", ok, "a"), step("c", ok, "b"), finalizer("f", ok, "a"), finalizer("g", ok, "f"))
	var got [][]string
	for _, st := range Stages(p) {
		var names []string
		for _, s := range st {
			names = append(names, s.Name)
		}
		got = append(got, names)
	}
	want := "[[a] [b] [c] [f] [g]]"
	if s := fmt.Sprint(got); s != want {
		t.Errorf("stages %s, want %s", s, want)
	}
}
