package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParsePipeline(t *testing.T) {
	spec := `env:
  GOFLAGS: -mod=mod
steps:
- name: build
  run: make build
  timeout: 5m
  retries: 2
- name: up
  uses: upload
  with:
    to: gs://bucket/prefix
- name: test
  run: make test
  dir: sub
  needs: [build, up]
  env:
    FOCUS: e2e
- name: teardown
  run: echo bye
  always: true
  needs: test
`
	p, err := ParsePipeline("e2e.yaml", []byte(spec), CoreKinds())
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Name, Kind, Run, Dir string
		Needs                []string
		Timeout              time.Duration
		Retries              int
		Env                  []EnvVar
		Always               bool
		Line                 int
	}
	var got []view
	for _, s := range p.Steps {
		got = append(got, view{s.Name, s.Kind(), s.Run, s.Dir, s.Needs, s.Timeout, s.Retries, s.Env, s.Always, s.Line})
	}
	want := []view{
		{Name: "build", Kind: "run", Run: "make build", Timeout: 5 * time.Minute, Retries: 2, Line: 4},
		{Name: "up", Kind: "upload", Line: 8},
		{Name: "test", Kind: "run", Run: "make test", Dir: "sub", Needs: []string{"build", "up"}, Env: []EnvVar{{"FOCUS", "e2e"}}, Line: 12},
		{Name: "teardown", Kind: "run", Run: "echo bye", Needs: []string{"test"}, Always: true, Line: 18},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("steps (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]EnvVar{{"GOFLAGS", "-mod=mod"}}, p.Env); d != "" {
		t.Errorf("env (-want +got):\n%s", d)
	}
	if _, ok := p.Lookup("up").Step.(*UploadStep); !ok {
		t.Errorf("up: step %T, want *UploadStep", p.Lookup("up").Step)
	}
}

func TestParsePipelineErrors(t *testing.T) {
	tests := []struct {
		name, spec string
		want       []string
	}{
		{
			name: "unknown need",
			spec: "steps:\n- name: a\n  run: x\n  needs: [b]\n",
			want: []string{`e2e.yaml:4:11: steps[a].needs[0]: unknown step "b" (known: a)`},
		},
		{
			name: "cycle",
			spec: "steps:\n- name: a\n  run: x\n  needs: [c]\n- name: b\n  run: x\n  needs: [a]\n- name: c\n  run: x\n  needs: [b]\n",
			want: []string{`e2e.yaml:7:11: steps[b].needs[0]: cycle: a -> c -> b -> a`},
		},
		{
			name: "self need",
			spec: "steps:\n- name: a\n  run: x\n  needs: a\n",
			want: []string{`e2e.yaml:4:10: steps[a].needs[0]: a step cannot need itself`},
		},
		{
			name: "duplicate name",
			spec: "steps:\n- name: a\n  run: x\n- name: a\n  run: y\n",
			want: []string{`e2e.yaml:4:3: steps[a].name: duplicate step name "a" (first at line 2)`},
		},
		{
			name: "unknown kind",
			spec: "steps:\n- name: a\n  uses: bulid-image\n",
			want: []string{`e2e.yaml:3:9: steps[a].uses: unknown step kind "bulid-image" (known: ` + "run, upload" + `)`},
		},
		{
			name: "unknown step field",
			spec: "steps:\n- name: a\n  run: x\n  need: [b]\n",
			want: []string{`e2e.yaml:4:3: steps[a].need: unknown field; did you mean "needs"? (known: always, dir, env, name, needs, retries, run, timeout, uses, with)`},
		},
		{
			name: "unknown kind setting",
			spec: "steps:\n- name: up\n  uses: upload\n  with:\n    to: /tmp/x\n    bucket: b\n",
			want: []string{`e2e.yaml:6:5: steps[up].with.bucket: unknown field (known: decorated, default_org, default_repo, gcs_credentials_file, path_strategy, s3_credentials_file, to)`},
		},
		{
			name: "bad duration and retries",
			spec: "steps:\n- name: a\n  run: x\n  timeout: 5 minutes\n  retries: -1\n",
			want: []string{
				`e2e.yaml:4:12: steps[a].timeout: bad duration "5 minutes" (want e.g. 90s, 5m, 1h30m)`,
				`e2e.yaml:5:12: steps[a].retries: want a number >= 0, got "-1"`,
			},
		},
		{
			name: "uses and run",
			spec: "steps:\n- name: a\n  uses: upload\n  run: x\n",
			want: []string{`e2e.yaml:4:8: steps[a]: has both uses: and run:; pick one`},
		},
		{
			name: "neither uses nor run, no name",
			spec: "steps:\n- needs: [a]\n",
			want: []string{
				`e2e.yaml:2:3: steps[0].name: missing: every step needs a name`,
				`e2e.yaml:2:3: steps[0]: needs uses: (a step kind) or run: (a command)`,
				`e2e.yaml:2:11: steps[].needs[0]: unknown step "a" (known: )`,
			},
		},
		{
			name: "regular step needs finalizer",
			spec: "steps:\n- name: f\n  run: x\n  always: true\n- name: a\n  run: x\n  needs: [f]\n",
			want: []string{`e2e.yaml:7:11: steps[a].needs[0]: "f" is a finalizer (always: true) and runs last; only another finalizer can need it`},
		},
		{
			name: "unknown top field",
			spec: "stepz: []\nsteps:\n- name: a\n  run: x\n",
			want: []string{`e2e.yaml:1:1: stepz: unknown field; did you mean "steps"? (known: env, steps)`},
		},
		{
			name: "no steps",
			spec: "env: {}\n",
			want: []string{`e2e.yaml:1:1: steps: want a non-empty list of steps`},
		},
		{
			name: "bad kind setting value",
			spec: "steps:\n- name: up\n  uses: upload\n  with:\n    path_strategy: weird\n",
			want: []string{`e2e.yaml:5:20: steps[up].with.path_strategy: unknown "weird" (want explicit, legacy or single)`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePipeline("e2e.yaml", []byte(tt.spec), CoreKinds())
			if err == nil {
				t.Fatal("no error")
			}
			if d := cmp.Diff(tt.want, strings.Split(err.Error(), "\n")); d != "" {
				t.Errorf("errors (-want +got):\n%s", d)
			}
		})
	}
}

// TestParsePipelineRunKind: `run: CMD` is shorthand for the table's run kind,
// so a table without it refuses run: steps like any other missing kind.
func TestParsePipelineRunKind(t *testing.T) {
	spec := "steps:\n- name: short\n  run: make e2e\n  dir: sub\n- name: long\n  uses: run\n  with: {command: make e2e, dir: sub}\n"
	p, err := ParsePipeline("e2e.yaml", []byte(spec), CoreKinds())
	if err != nil {
		t.Fatal(err)
	}
	want := &RunStep{Command: "make e2e", Dir: "sub"}
	for _, name := range []string{"short", "long"} {
		if d := cmp.Diff(want, p.Lookup(name).Step); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}

	for _, tt := range []struct {
		name, spec string
		kinds      Kinds
		want       string
	}{
		{"no run kind", "steps:\n- name: a\n  run: x\n", Kinds{UploadKindName: CoreKinds()[UploadKindName]}, `e2e.yaml:3:8: steps[a].run: unknown step kind "run" (known: upload)`},
		{"empty table", "steps:\n- name: a\n  uses: upload\n", nil, `e2e.yaml:3:9: steps[a].uses: unknown step kind "upload" (known: none)`},
		{"run kind without command", "steps:\n- name: a\n  uses: run\n  with: {dir: x}\n", CoreKinds(), `e2e.yaml:4:9: steps[a].with.command: missing: the shell command to run`},
		{"run kind unknown setting", "steps:\n- name: a\n  uses: run\n  with: {command: x, shell: bash}\n", CoreKinds(), `e2e.yaml:4:22: steps[a].with.shell: unknown field (known: command, dir)`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePipeline("e2e.yaml", []byte(tt.spec), tt.kinds)
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}
