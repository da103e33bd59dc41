package e2e_test

import (
	"fmt"
	"testing"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/steps"
)

// TestRepoPipeline checks the repository's own pipeline loads with the
// built-in kinds and has the tf-k8s shape.
func TestRepoPipeline(t *testing.T) {
	p, err := e2e.LoadPipeline("../../config/e2e.yaml", steps.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, stage := range e2e.Stages(p) {
		var names []string
		for _, s := range stage {
			names = append(names, s.Name)
		}
		got = append(got, fmt.Sprint(names))
	}
	want := "[[registry cluster-up] [build-image build-chart] [deploy] [test] [teardown] [upload]]"
	if fmt.Sprint(got) != want {
		t.Errorf("stages %v, want %s", got, want)
	}
	for _, name := range []string{"teardown", "upload"} {
		if s := p.Lookup(name); s == nil || !s.Always {
			t.Errorf("%s is not a finalizer", name)
		}
	}
}
