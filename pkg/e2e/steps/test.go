package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/atomicfile"
	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/process"
)

// testSettings: `uses: test`.
type testSettings struct {
	// Command is run with `sh -c` in Dir (required).
	Command string `yaml:"command"`
	// Dir relative to the run's directory (default: the run's directory).
	Dir string `yaml:"dir"`
	// JUnit are globs of JUnit files the command writes, relative to Dir;
	// files the command writes into $JUNIT_DIR are collected too.
	JUnit []string `yaml:"junit"`
}

type testStep struct{ testSettings }

func newTest(s testSettings, n *yaml.Node) (e2e.Step, error) {
	if strings.TrimSpace(s.Command) == "" {
		return nil, settingsError(n, "command", "missing: the test command")
	}
	for _, g := range s.JUnit {
		if _, err := filepath.Match(g, ""); err != nil {
			return nil, settingsError(n, "junit", "bad glob %q: %v", g, err)
		}
	}
	return &testStep{s}, nil
}

// Run runs the test command against the run's cluster: KUBECONFIG (and
// E2E_NAMESPACE, E2E_RELEASE, E2E_CONTEXT, E2E_IMAGE, E2E_CHART) set from the
// state, JUNIT_DIR an empty directory for reports. Then, pass or fail, it
// copies the JUnit files into $ARTIFACTS as junit_*.xml, where Spyglass
// finds them.
func (t *testStep) Run(ctx context.Context, env *e2e.Env) error {
	st, err := env.State.All()
	if err != nil {
		return err
	}
	junitDir, err := os.MkdirTemp("", "prowctl-junit-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(junitDir)
	environ := append([]string(nil), env.Environ...)
	if kc := st[e2e.StateKubeconfig]; kc != "" {
		environ = append(environ, "KUBECONFIG="+kc)
	}
	environ = append(environ, "JUNIT_DIR="+junitDir)
	for key, name := range map[string]string{e2e.StateNamespace: "E2E_NAMESPACE", e2e.StateRelease: "E2E_RELEASE", e2e.StateImage: "E2E_IMAGE", e2e.StateChart: "E2E_CHART", StateContext: "E2E_CONTEXT"} {
		if v := st[key]; v != "" {
			environ = append(environ, name+"="+v)
		}
	}
	dir := env.Dir
	if t.Dir != "" {
		dir = abs(env, t.Dir)
	}
	runErr := env.Runner.Run(ctx, process.Cmd{
		Name:   "sh",
		Args:   []string{"-c", t.Command},
		Dir:    dir,
		Env:    environ,
		Stdout: env.Log,
		Stderr: env.Log,
	})
	globs := append([]string{filepath.Join(junitDir, "*.xml")}, t.JUnit...)
	collected, err := collectJUnit(dir, globs, env.Artifacts)
	for _, c := range collected {
		fmt.Fprintf(env.Log, "collected %s\n", c)
	}
	if runErr != nil {
		return errors.Join(fmt.Errorf("test command: %w", runErr), err)
	}
	if err != nil {
		return err
	}
	if len(collected) == 0 && len(t.JUnit) > 0 {
		return fmt.Errorf("test command passed but wrote no JUnit file matching %s", strings.Join(t.JUnit, ", "))
	}
	return nil
}

// collectJUnit copies the files matching globs (relative to dir) to
// artifacts/junit_NAME.xml and returns the names written.
func collectJUnit(dir string, globs []string, artifacts string) ([]string, error) {
	var files []string
	seen := map[string]bool{}
	for _, g := range globs {
		if !filepath.IsAbs(g) {
			g = filepath.Join(dir, g)
		}
		matches, err := filepath.Glob(g)
		if err != nil {
			return nil, err
		}
		sort.Strings(matches)
		for _, m := range matches {
			if !seen[m] {
				seen[m] = true
				files = append(files, m)
			}
		}
	}
	var written []string
	used := map[string]bool{}
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".xml")
		base = "junit_" + strings.TrimLeft(strings.TrimPrefix(strings.TrimPrefix(base, "junit"), "_"), "_-.")
		if base == "junit_" {
			base = "junit_test"
		}
		name := base + ".xml"
		for i := 2; used[name] || exists(filepath.Join(artifacts, name)); i++ {
			name = fmt.Sprintf("%s_%d.xml", base, i)
		}
		used[name] = true
		if err := copyFile(f, filepath.Join(artifacts, name)); err != nil {
			return written, fmt.Errorf("collect junit: %w", err)
		}
		written = append(written, name)
	}
	return written, nil
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	b, err := io.ReadAll(in)
	if err != nil {
		return err
	}
	return atomicfile.Write(dst, b, 0o644)
}
