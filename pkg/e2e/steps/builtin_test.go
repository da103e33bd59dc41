package steps_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/steps"
)

// TestBuiltinLoadsRepoPipeline loads the repository's own pipeline the way
// any Go program can: with the table steps.Builtin() returns, and no import
// for side effects.
func TestBuiltinLoadsRepoPipeline(t *testing.T) {
	p, err := e2e.LoadPipeline("../../../config/e2e.yaml", steps.Builtin())
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Name, Kind string
		Needs      []string
		Always     bool
	}
	var got []view
	for _, s := range p.Steps {
		if s.Step == nil {
			t.Errorf("%s: no step built", s.Name)
		}
		got = append(got, view{s.Name, s.Kind(), s.Needs, s.Always})
	}
	want := []view{
		{"registry", "registry", nil, false},
		{"build-image", "build-image", []string{"registry"}, false},
		{"build-chart", "build-chart", []string{"registry"}, false},
		{"cluster-up", "cluster-up", nil, false},
		{"deploy", "deploy", []string{"build-image", "build-chart", "cluster-up"}, false},
		{"test", "test", []string{"deploy"}, false},
		{"teardown", "teardown", []string{"test"}, true},
		{"upload", "upload", []string{"teardown"}, true},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("steps (-want +got):\n%s", d)
	}
	if _, ok := p.Lookup("upload").Step.(e2e.ResultsStep); !ok {
		t.Errorf("upload is a %T, want an e2e.ResultsStep (it is handed the run's record)", p.Lookup("upload").Step)
	}
}

func TestBuiltinTable(t *testing.T) {
	want := []string{"build-chart", "build-image", "cluster-down", "cluster-up", "deploy", "registry", "run", "teardown", "test", "upload"}
	if d := cmp.Diff(want, steps.Builtin().Names()); d != "" {
		t.Errorf("built-in kinds (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"run", "upload"}, e2e.CoreKinds().Names()); d != "" {
		t.Errorf("core kinds (-want +got):\n%s", d)
	}
}

// TestKindsAreWhatTheCallerPasses: a table missing a kind rejects the
// pipeline by name, and a program adds a kind of its own to a copy of the
// built-in table without changing anyone else's.
func TestKindsAreWhatTheCallerPasses(t *testing.T) {
	_, err := e2e.LoadPipeline("../../../config/e2e.yaml", e2e.CoreKinds())
	if err == nil || !strings.Contains(err.Error(), `config/e2e.yaml:10:11: steps[registry].uses: unknown step kind "registry" (known: run, upload)`) {
		t.Errorf("repo pipeline with only the core kinds: %v", err)
	}

	spec := []byte("steps:\n- name: hello\n  uses: greet\n  with: {who: world}\n- name: after\n  run: 'true'\n  needs: [hello]\n")
	var greeted []string
	mine := steps.Builtin()
	mine["greet"] = e2e.KindFunc(func(n *yaml.Node) (e2e.Step, error) {
		var s struct{ Who string }
		if err := e2e.DecodeSettings(n, &s); err != nil {
			return nil, err
		}
		return e2e.StepFunc(func(context.Context, *e2e.Env) error { greeted = append(greeted, s.Who); return nil }), nil
	})
	p, err := e2e.ParsePipeline("mine.yaml", spec, mine)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := e2e.Run(context.Background(), p, e2e.Options{Artifacts: t.TempDir(), Dir: t.TempDir()})
	if err != nil || !rep.Passed() {
		t.Fatalf("run: %v, passed %v", err, rep != nil && rep.Passed())
	}
	if d := cmp.Diff([]string{"world"}, greeted); d != "" {
		t.Errorf("greet ran with (-want +got):\n%s", d)
	}
	if _, err := e2e.ParsePipeline("mine.yaml", spec, steps.Builtin()); err == nil || !strings.Contains(err.Error(), `mine.yaml:3:9: steps[hello].uses: unknown step kind "greet"`) {
		t.Errorf("another caller's table has greet too: %v", err)
	}
}
