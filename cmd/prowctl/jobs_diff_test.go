package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

// jobs diff on a copy of the repository's config in a checkout of its own:
// nothing touched at first, then the presubmit's cpu request changed.
func TestJobsDiff(t *testing.T) {
	repo := t.TempDir()
	root, _ := filepath.Abs("../..")
	for _, f := range []string{"config/prow/config.yaml", "config/jobs/tensorflow/k8s/tf-k8s.yaml"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(repo, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(repo, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git := gitIn(t, repo)
	git("init", "-q", "-b", "master")
	git("add", ".")
	git("commit", "-q", "-m", "base")
	args := []string{"jobs", "diff", "--repo-dir", repo, "--config-path", filepath.Join(repo, "config/prow/config.yaml"), "--job-config-path", filepath.Join(repo, "config/jobs")}
	run := func(extra ...string) string {
		t.Helper()
		streams, _, out, errOut := iostreams.Test()
		if code := runProwctl(t, streams, append(args, extra...)...); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		return out.String()
	}
	if out := run(); out != "no job touched between HEAD and the work tree\n" {
		t.Errorf("before the change: %q", out)
	}
	p := filepath.Join(repo, "config/jobs/tensorflow/k8s/tf-k8s.yaml")
	b, _ := os.ReadFile(p)
	changed := strings.Replace(string(b), "cpu: 1500m", "cpu: 1200m", 1)
	if changed == string(b) {
		t.Fatal("the job config has no cpu: 1500m to change")
	}
	if err := os.WriteFile(p, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	out := run()
	for _, want := range []string{"1 job(s) touched between HEAD and the work tree:", "changed  presubmit  tensorflow/k8s tf-k8s-presubmit", `pod_spec.containers[0].resources.requests.cpu: "1500m" -> "1200m"`} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if out := run("-o", "json"); !strings.Contains(out, `"status": "changed"`) {
		t.Errorf("json: %s", out)
	}
	streams, _, _, _ := iostreams.Test()
	if code := runProwctl(t, streams, append(args, "--base", "nope")...); code != 1 {
		t.Errorf("an unknown base: exit %d, want 1", code)
	}
}
