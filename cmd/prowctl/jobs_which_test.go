package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/process"
)

// jobs which on the repository's own config: from --changed, and from a
// checkout's changes since --base (committed, uncommitted and new files).
func TestJobsWhich(t *testing.T) {
	repo := t.TempDir()
	git := gitIn(t, repo)
	write := func(name string) {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(repo, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "master")
	write("README.md")
	git("add", ".")
	git("commit", "-q", "-m", "base")
	git("branch", "base")
	write("pkg/a.go")
	git("add", ".")
	git("commit", "-q", "-m", "change")
	write("README.md") // unchanged content: not a change
	write("docs/new.md")
	write("docs/a b.md") // a space: one name, not two

	root, _ := filepath.Abs("../..")
	cfg := []string{"--config-path", filepath.Join(root, "config/prow/config.yaml"), "--job-config-path", filepath.Join(root, "config/jobs")}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"changed", []string{"--changed", "a.go,b.md"}, []string{"tensorflow/k8s@master, 2 changed file(s): 1 of 1 presubmits run", "yes   tf-k8s-presubmit  always_run"}},
		{"base", []string{"--base", "base", "--repo-dir", repo, "-o", "json"}, []string{`"changed": [`, `"docs/a b.md"`, `"docs/new.md"`, `"pkg/a.go"`, `"runs": true`}},
		// From a subdirectory: the names are still the repository's.
		{"base from a subdirectory", []string{"--base", "base", "--repo-dir", filepath.Join(repo, "docs"), "-o", "json"}, []string{`"docs/a b.md"`, `"pkg/a.go"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			streams, _, out, errOut := iostreams.Test()
			if code := runProwctl(t, streams, append(append([]string{"jobs", "which"}, cfg...), tc.args...)...); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if strings.Contains(out.String(), "README.md") {
				t.Errorf("README.md did not change:\n%s", out)
			}
		})
	}
	for _, args := range [][]string{{}, {"--changed", "a", "--base", "b"}, {"--changed", "a", "-o", "xml"}} {
		streams, _, _, errOut := iostreams.Test()
		if code := runProwctl(t, streams, append(append([]string{"jobs", "which"}, cfg...), args...)...); code != 2 {
			t.Errorf("jobs which %v: exit %d (%s), want 2", args, code, errOut)
		}
	}
	streams, _, _, errOut := iostreams.Test()
	if code := runProwctl(t, streams, append(append([]string{"jobs", "which"}, cfg...), "--base", "nope", "--repo-dir", repo)...); code != 1 || !strings.Contains(errOut.String(), "--base nope") {
		t.Errorf("an unknown base: exit %d, %s", code, errOut)
	}
}

// gitIn runs git in repo with an identity of its own and no user config.
func gitIn(t *testing.T, repo string) func(args ...string) {
	return func(args ...string) {
		t.Helper()
		env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + repo, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
		if _, err := process.Output(context.Background(), process.Exec{}, process.Cmd{Name: "git", Args: append([]string{"-C", repo}, args...), Env: env}); err != nil {
			t.Fatal(err)
		}
	}
}
