package cluster

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prowctl/prowctl/pkg/process"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// emptyTools makes a tools directory holding every tool's files, empty:
// enough for Up to find them, and nothing runs them.
func emptyTools(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, tool := range Tools() {
		if err := os.MkdirAll(tool.Dir(root), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range append(slices.Clone(tool.Binaries), tool.Files...) {
			if err := os.WriteFile(filepath.Join(tool.Dir(root), f), nil, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

// recordUp runs Up with a Recorder: nothing starts.
//
// Up runs for real, so what is recorded is what Up hands the runner (the
// order of Setup, Args and Environ, the clean environment, the working
// directory, the namespaces), not a copy of its logic. Two parts of each
// component are replaced, because nothing answers them: Ready (no process
// runs to become ready) and the Setup of the components that talk to the
// API server (kwok creates its node, prowjob-crd installs the CRD). The other
// Setups run: they write the files the flags name (certificates,
// kubeconfigs), which the flags are checked against below.
func recordUp(t *testing.T, components []Component) (*State, *process.Recorder) {
	t.Helper()
	for i := range components {
		components[i].Ready = nil
		if components[i].Name == KwokName || components[i].Name == ProwJobCRDName {
			components[i].Setup = nil
		}
	}
	port := 30000
	var mu sync.Mutex
	rec := &process.Recorder{}
	state, _, err := Up(context.Background(), Options{
		Dir:            filepath.Join(t.TempDir(), "cluster"),
		ToolsDir:       emptyTools(t),
		ProwConfig:     filepath.Join("..", "..", "config", "prow", "config.yaml"),
		Components:     components,
		Runner:         rec,
		StopWithParent: true,
		pickPort: func() (int, error) {
			mu.Lock()
			defer mu.Unlock()
			port++
			return port, nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return state, rec
}

// Every process of the personal cluster, exactly as Up starts it: command
// line, environment, working directory, namespaces. The golden file is
// testdata/commands.txt; `go test ./pkg/cluster -run TestComponentCommands
// -update` rewrites it.
func TestComponentCommands(t *testing.T) {
	components := DefaultComponents()
	state, rec := recordUp(t, components)
	tools, err := filepath.Abs(filepath.Join(state.ToolsDir))
	if err != nil {
		t.Fatal(err)
	}
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	// Ports by number, as "<component.port>".
	portNames := map[string]string{}
	for _, c := range state.Components {
		for name, p := range c.Ports {
			portNames[strconv.Itoa(p)] = "<" + c.Name + "." + name + ">"
		}
	}
	number := regexp.MustCompile(`\b\d{5}\b`)
	normalise := func(s string) string {
		s = strings.ReplaceAll(s, state.Dir, "$DIR")
		s = strings.ReplaceAll(s, tools, "$TOOLS")
		s = strings.ReplaceAll(s, repo, "$REPO")
		s = strings.ReplaceAll(s, os.TempDir(), "$TMPDIR")
		return number.ReplaceAllStringFunc(s, func(n string) string {
			if name, ok := portNames[n]; ok {
				return name
			}
			return n
		})
	}

	calls := map[string]process.Call{}
	for _, c := range rec.Cmds() {
		name := filepath.Base(c.Dir)
		if _, dup := calls[name]; dup {
			t.Errorf("%s started twice", name)
		}
		calls[name] = c
	}
	var b strings.Builder
	for _, comp := range components {
		c, ok := calls[comp.Name]
		if comp.Binary == "" {
			if ok {
				t.Errorf("%s has no binary, yet a process started for it: %s", comp.Name, c)
			}
			continue
		}
		if !ok {
			t.Errorf("no process started for %s", comp.Name)
			continue
		}
		if !c.Started || !c.DieWithParent {
			t.Errorf("%s: started %v, dies with parent %v; want both (Start, Options.StopWithParent)", comp.Name, c.Started, c.DieWithParent)
		}
		if f, ok := c.Stdout.(*os.File); !ok || c.Stderr != c.Stdout || f.Name() != state.Components[slices.IndexFunc(state.Components, func(s ComponentState) bool { return s.Name == comp.Name })].Log {
			t.Errorf("%s: output goes to %v and %v, want its log file", comp.Name, c.Stdout, c.Stderr)
		}
		// Every file a flag names under the cluster directory exists
		// before the process starts (where Setup ran).
		for _, a := range c.Args {
			if comp.Name == KwokName {
				break
			}
			if _, p, ok := strings.Cut(a, "="); ok && strings.HasPrefix(p, state.Dir+"/") && !strings.HasSuffix(p, "/certs") && !strings.HasSuffix(p, "/data") {
				if _, err := os.Stat(p); err != nil {
					t.Errorf("%s: flag %s names a file Setup did not write: %v", comp.Name, a, err)
				}
			}
		}
		fmt.Fprintf(&b, "== %s\n", comp.Name)
		fmt.Fprintf(&b, "dir: %s\n", normalise(c.Dir))
		ns := "prowctl's own"
		if !c.Namespaces.IsZero() {
			ns = fmt.Sprintf("net=%s mount=%s", c.Namespaces.Net, c.Namespaces.Mount)
		}
		fmt.Fprintf(&b, "namespaces: %s\nenv:\n", normalise(ns))
		for _, e := range c.Env {
			fmt.Fprintf(&b, "  %s\n", normalise(e))
		}
		fmt.Fprintf(&b, "command:\n  %s\n", normalise(c.Name))
		for _, a := range c.Args {
			fmt.Fprintf(&b, "  %s\n", normalise(a))
		}
		b.WriteString("\n")
	}

	golden := filepath.Join("testdata", "commands.txt")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), b.String()); diff != "" {
		t.Errorf("component commands differ from %s (-want +got; -update rewrites it):\n%s", golden, diff)
	}
}

// A component's namespaces reach the command Up starts.
func TestComponentNamespaces(t *testing.T) {
	etcd := etcdComponent()
	etcd.Namespaces = func(e *Env) process.Namespaces {
		return process.Namespaces{Net: e.Path("netns"), Mount: e.Path("mntns")}
	}
	state, rec := recordUp(t, []Component{etcd})
	calls := rec.Cmds()
	if len(calls) != 1 {
		t.Fatalf("recorded %v, want etcd alone", rec.Calls())
	}
	want := process.Namespaces{Net: filepath.Join(state.Dir, "netns"), Mount: filepath.Join(state.Dir, "mntns")}
	if diff := cmp.Diff(want, calls[0].Namespaces); diff != "" {
		t.Errorf("etcd's namespaces (-want +got):\n%s", diff)
	}
}
