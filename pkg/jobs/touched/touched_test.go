package touched

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/process"
)

const prowConfig = `prowjob_namespace: prow
pod_namespace: test-pods
presets:
- labels: {preset-cache: "true"}
  env:
  - {name: CACHE, value: %s}
`

func job(name, command, labels string) string {
	return fmt.Sprintf(`  - name: %s
    always_run: true
    labels: {%s}
    spec:
      containers:
      - image: golang
        command: [%s]
`, name, labels, command)
}

// A config change in a git checkout, against its base commit: a changed
// preset touches the two jobs that use it, a changed command its job, a new
// job is new and a removed one removed; a job moved to another file and
// re-indented touches nothing.
func TestJobsBetweenARefAndTheWorkTree(t *testing.T) {
	ctx := context.Background()
	repo := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(repo, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := func(args ...string) {
		t.Helper()
		env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + repo, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}
		if _, err := process.Output(ctx, process.Exec{}, process.Cmd{Name: "git", Args: append([]string{"-C", repo}, args...), Env: env}); err != nil {
			t.Fatal(err)
		}
	}
	write("config/prow/config.yaml", fmt.Sprintf(prowConfig, "v1"))
	write("config/jobs/a.yaml", "presubmits:\n  example/app:\n"+
		job("uses-cache", "make", `preset-cache: "true"`)+
		job("also-cache", "make, lint", `preset-cache: "true"`)+
		job("moved", "make, e2e", "")+
		job("command", "make, unit", "")+
		job("removed", "make, old", ""))
	git("init", "-q", "-b", "main")
	git("add", ".")
	git("commit", "-q", "-m", "base")

	write("config/prow/config.yaml", fmt.Sprintf(prowConfig, "v2"))
	write("config/jobs/a.yaml", "presubmits:\n  example/app:\n"+
		job("also-cache", "make, lint", `preset-cache: "true"`)+ // reordered
		job("uses-cache", "make", `preset-cache: "true"`)+
		job("command", "make, unit, -j4", "")+
		job("added", "make, new", ""))
	// Moved to another file, with another indentation.
	write("config/jobs/sub/b.yaml", `presubmits:
    example/app:
        -   name: moved
            always_run: true
            labels: {}
            spec:
                containers:
                    -   command: [make, e2e]
                        image: golang
`)

	cfgPath, jobsPath := filepath.Join(repo, "config/prow/config.yaml"), filepath.Join(repo, "config/jobs")
	base, err := LoadRef(ctx, process.Exec{}, repo, "HEAD", cfgPath, jobsPath)
	if err != nil {
		t.Fatal(err)
	}
	head, err := mkpj.LoadAll(cfgPath, jobsPath)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Jobs(ctx, base, head)
	if err != nil {
		t.Fatal(err)
	}
	want := []Change{
		{Job: "also-cache", Type: "presubmit", Repo: "example/app", Status: Changed, Diff: []Field{{Path: "pod_spec.containers[0].env[CACHE].value", Old: `"v1"`, New: `"v2"`}}},
		{Job: "command", Type: "presubmit", Repo: "example/app", Status: Changed, Diff: []Field{{Path: "pod_spec.containers[0].command[2]", Old: "", New: `"-j4"`}}},
		{Job: "uses-cache", Type: "presubmit", Repo: "example/app", Status: Changed, Diff: []Field{{Path: "pod_spec.containers[0].env[CACHE].value", Old: `"v1"`, New: `"v2"`}}},
		{Job: "added", Type: "presubmit", Repo: "example/app", Status: New},
		{Job: "removed", Type: "presubmit", Repo: "example/app", Status: Removed},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("touched (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(repo, "config/jobs/sub/b.yaml")); err != nil {
		t.Errorf("the work tree changed: %v", err)
	}

	if _, err := LoadRef(ctx, process.Exec{}, repo, "nope", cfgPath, jobsPath); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("an unknown ref: %v", err)
	}
}
