package e2e

import (
	"context"
	"path/filepath"

	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/process"
)

// RunKindName is the kind of a shell command step: `uses: run` with
// `with: {command: CMD, dir: DIR}`, or the shorthand `run: CMD` and `dir: DIR`.
const RunKindName = "run"

// RunStep is a `run:` step: a shell command run through env.Runner with the
// step's environment, in Dir (relative to env.Dir).
type RunStep struct {
	Command string `yaml:"command"`
	Dir     string `yaml:"dir"`
}

func newRunStep(settings *yaml.Node) (Step, error) {
	s := &RunStep{}
	if err := DecodeSettings(settings, s); err != nil {
		return nil, err
	}
	if s.Command == "" {
		return nil, Errorf(ValueNode(settings, "command"), "with.command", "missing: the shell command to run")
	}
	return s, nil
}

// runSettings is the `with:` of the `run: CMD` shorthand, made of the
// step's own run: and dir: nodes so errors point where they are written.
func runSettings(run, dir *yaml.Node) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: run.Line, Column: run.Column}
	add := func(key string, v *yaml.Node) {
		if v != nil {
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: key, Line: v.Line, Column: v.Column}, v)
		}
	}
	add("command", run)
	add("dir", dir)
	return m
}

// Run runs the command with `sh -c`; its output goes to the step's log.
func (r *RunStep) Run(ctx context.Context, env *Env) error {
	dir := env.Dir
	if r.Dir != "" {
		dir = r.Dir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(env.Dir, dir)
		}
	}
	return env.Runner.Run(ctx, process.Cmd{
		Name:   "sh",
		Args:   []string{"-c", r.Command},
		Dir:    dir,
		Env:    env.Environ,
		Stdout: env.Log,
		Stderr: env.Log,
	})
}
