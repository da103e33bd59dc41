package e2e

import (
	"context"
	"path/filepath"
)

// RunStep is a `run:` step: a shell command run through env.Runner with the
// step's environment, in Dir (relative to env.Dir).
type RunStep struct {
	Command string
	Dir     string
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
	return env.Runner.Run(ctx, Cmd{
		Name:   "sh",
		Args:   []string{"-c", r.Command},
		Dir:    dir,
		Env:    env.Environ,
		Stdout: env.Log,
		Stderr: env.Log,
	})
}
