package cluster

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prowctl/prowctl/pkg/process"
)

// The versions prowctl looks for must be the ones `make tools` builds.
func TestToolVersionsMatchHackTools(t *testing.T) {
	for _, tool := range Tools() {
		t.Run(tool.Name, func(t *testing.T) {
			if tool.Name == Debian.Name {
				// build.sh's own lines that name the directory, run by bash.
				b, err := os.ReadFile(filepath.Join("..", "..", "hack", "tools", "build.sh"))
				if err != nil {
					t.Fatal(err)
				}
				m := regexp.MustCompile(`(?ms)^\s*debian_suite=.*?^\s*debian_dir=[^\n]*\n`).Find(b)
				if m == nil {
					t.Fatal("build.sh does not set debian_suite ... debian_dir")
				}
				var out strings.Builder
				cmd := process.Cmd{Name: "bash", Args: []string{"-c", string(m) + `echo "${debian_dir#/debian-}"`}, Stdout: &out, Env: []string{"PATH=/usr/bin:/bin"}}
				if err := (process.Exec{}).Run(context.Background(), cmd); err != nil {
					t.Fatal(err)
				}
				if got := strings.TrimSpace(out.String()); got != tool.Version {
					t.Errorf("build.sh makes debian-%s, pkg/cluster looks for debian-%s", got, tool.Version)
				}
				return
			}
			if tool.Name == DeckUI.Name {
				h := sha256.New()
				for _, f := range []string{"build.sh", "prow-package-lock.json", "assets/package-lock.json"} {
					b, err := os.ReadFile(filepath.Join("..", "..", "hack", "tools", "deck", f))
					if err != nil {
						t.Fatal(err)
					}
					h.Write(b)
				}
				if got := Prow.Version[len("v0.0.0-"):] + "-" + fmt.Sprintf("%x", h.Sum(nil))[:8]; got != tool.Version {
					t.Errorf("hack/tools/deck makes deck-ui-%s, pkg/cluster looks for deck-ui-%s", got, tool.Version)
				}
				return
			}
			if tool.Module == "" {
				// Keyed by its source, as build.sh does.
				src, err := os.ReadFile(filepath.Join("..", "..", "hack", "tools", tool.Name, "main.go"))
				if err != nil {
					t.Fatal(err)
				}
				if got := fmt.Sprintf("%x", sha256.Sum256(src))[:12]; got != tool.Version {
					t.Errorf("hack/tools/%s/main.go hashes to %s, pkg/cluster looks for %s", tool.Name, got, tool.Version)
				}
				return
			}
			gomod := filepath.Join("..", "..", "hack", "tools", tool.Name, "go.mod")
			b, err := os.ReadFile(gomod)
			if err != nil {
				t.Fatal(err)
			}
			re := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(tool.Module) + `\s+(\S+)`)
			m := re.FindSubmatch(b)
			if m == nil {
				t.Fatalf("%s does not require %s", gomod, tool.Module)
			}
			if got := string(m[1]); got != tool.Version {
				t.Errorf("%s requires %s %s, pkg/cluster looks for %s", gomod, tool.Module, got, tool.Version)
			}
		})
	}
}

func TestToolDirAndMissingTool(t *testing.T) {
	root := t.TempDir()
	tests := []struct {
		tool Tool
		want string
	}{
		{Etcd, "etcd-v3.5.21"},
		{Kubernetes, "kubernetes-v1.33.13"},
		{Kwok, "kwok-v0.6.1"},
		{Prow, "prow-20240619181241-cfb8754e0459"},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(filepath.Join(root, tt.want), tt.tool.Dir(root)); diff != "" {
			t.Errorf("%s dir (-want +got):\n%s", tt.tool.Name, diff)
		}
	}

	_, err := ToolPath(root, "mkpj")
	var missing *MissingToolError
	if !errors.As(err, &missing) {
		t.Fatalf("ToolPath of a missing mkpj: got %v, want a *MissingToolError", err)
	}
	if !strings.Contains(err.Error(), "make tools") || !strings.Contains(err.Error(), filepath.Join(root, "prow-20240619181241-cfb8754e0459", "mkpj")) {
		t.Errorf("error %q should name the path and `make tools`", err)
	}

	p := filepath.Join(Prow.Dir(root), "mkpj")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := ToolPath(root, "mkpj")
	if err != nil || got != p {
		t.Errorf("ToolPath(mkpj) = %q, %v; want %q", got, err, p)
	}
	if _, err := ToolPath(root, "kubectl"); err == nil {
		t.Error("ToolPath(kubectl): want an error, no tool provides it")
	}
}
