package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/process"
)

// jobs diff on a copy of the repository's config in a checkout of its own:
// nothing touched at first, then the presubmit's cpu request changed.
func TestJobsDiff(t *testing.T) {
	repo, _, edit := configRepoCopy(t)
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
	edit(tfJobs, "cpu: 1500m", "cpu: 1200m")
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

// Base and head load side by side, but their errors are what they were when
// they loaded in turn: a bad base is reported as itself even when the head is
// bad too, and a bad head alone is a *headConfigError.
func TestLoadConfigChangeErrors(t *testing.T) {
	repo, _, edit := configRepoCopy(t)
	edit(tfJobs, "cpu: 1500m", "cpu: two cores")
	cfg, jobs := filepath.Join(repo, "config/prow/config.yaml"), filepath.Join(repo, "config/jobs")
	load := func(base, head string) error {
		_, err := loadConfigChange(context.Background(), process.Exec{}, repo, base, head, cfg, jobs)
		return err
	}
	var hce *headConfigError
	err := load("no-such-ref", "")
	if err == nil || errors.As(err, &hce) || !strings.Contains(err.Error(), "no-such-ref") {
		t.Errorf("bad base and bad head: %v (%T), want the base's error", err, err)
	}
	err = load("HEAD", "")
	if !errors.As(err, &hce) || !hce.worktree || !strings.Contains(err.Error(), "tf-k8s.yaml") {
		t.Errorf("bad work tree: %v (%T), want a *headConfigError naming the file", err, err)
	}
	err = load("HEAD", "no-such-head")
	if !errors.As(err, &hce) || hce.worktree || !strings.Contains(err.Error(), "no-such-head") {
		t.Errorf("unknown head ref: %v (%T), want a *headConfigError naming the ref", err, err)
	}
}
