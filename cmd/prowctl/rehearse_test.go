package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/rehearse"
)

const tfJobs = "config/jobs/tensorflow/k8s/tf-k8s.yaml"

// configRepoCopy is a checkout holding a copy of the repository's Prow config
// and tf-k8s jobs, committed; edit changes the work tree's job config.
func configRepoCopy(t *testing.T) (repo string, args []string, edit func(file, old, new string)) {
	t.Helper()
	repo = t.TempDir()
	root, _ := filepath.Abs("../..")
	for _, f := range []string{"config/prow/config.yaml", tfJobs} {
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
	args = []string{"rehearse", "--repo-dir", repo,
		"--config-path", filepath.Join(repo, "config/prow/config.yaml"), "--job-config-path", filepath.Join(repo, "config/jobs"),
		"--base-ref", "master", "--base-sha", testSHA1, "--pull-number", "5", "--pull-sha", testSHA2, "--pull-author", "bob"}
	edit = func(file, old, new string) {
		t.Helper()
		p := filepath.Join(repo, file)
		b, _ := os.ReadFile(p)
		changed := strings.Replace(string(b), old, new, 1)
		if changed == string(b) {
			t.Fatalf("%s has no %q", file, old)
		}
		if err := os.WriteFile(p, []byte(changed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return repo, args, edit
}

func TestRehearse(t *testing.T) {
	_, args, edit := configRepoCopy(t)
	fc := newFakeCluster()
	target := []string{"--kubeconfig", filepath.Join(t.TempDir(), "kubeconfig")}

	// Nothing changed: nothing to do, and exit 0.
	streams, _, out, errOut := iostreams.Test()
	if code := fc.run(t, streams, append(args, target...)...); code != 0 || !strings.Contains(errOut.String(), "no job touched between HEAD and the work tree: nothing to rehearse") {
		t.Fatalf("no change: exit %d, stderr %q", code, errOut)
	}

	// One job's cpu: its rehearsal alone, printed and not created.
	edit(tfJobs, "cpu: 1500m", "cpu: 1200m")
	streams, _, out, errOut = iostreams.Test()
	if code := fc.run(t, streams, append(args, "--dry-run")...); code != 0 {
		t.Fatalf("dry run: exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"1 job(s) touched between HEAD and the work tree: 1 to rehearse, 0 skipped, 0 removed",
		"rehearse  changed  presubmit  tensorflow/k8s tf-k8s-presubmit as rehearse-5-tf-k8s-presubmit",
		`pod_spec.containers[0].resources.requests.cpu: "1500m" -> "1200m"`,
	} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("dry run: stderr lacks %q:\n%s", want, errOut)
		}
	}
	var pj prowapi.ProwJob
	if err := yaml.Unmarshal(out.Bytes(), &pj); err != nil {
		t.Fatalf("dry run: stdout is not a ProwJob: %v\n%s", err, out)
	}
	if pj.Spec.Job != "rehearse-5-tf-k8s-presubmit" || pj.Spec.Context != "rehearse/tf-k8s-presubmit" || pj.Spec.Report ||
		pj.Labels[rehearse.LabelOf] != "tf-k8s-presubmit" || pj.Spec.Refs == nil || len(pj.Spec.Refs.Pulls) != 1 || pj.Spec.Refs.Pulls[0].Number != 5 {
		t.Errorf("dry run: the rehearsal is\n%s", out)
	}
	if len(fc.connected) != 0 || len(fc.jobs(t, "prow")) != 0 {
		t.Errorf("a dry run connected (%v) or created", fc.connected)
	}

	// Created for real on the cluster of --kubeconfig.
	streams, _, out, errOut = iostreams.Test()
	if code := fc.run(t, streams, append(args, target...)...); code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	got := fc.jobs(t, "prow")
	if len(got) != 1 {
		t.Fatalf("created %d ProwJobs, want 1", len(got))
	}
	for name, pj := range got {
		if pj.Spec.Job != "rehearse-5-tf-k8s-presubmit" || pj.Spec.Report || pj.Labels[rehearse.LabelRehearsal] != "true" {
			t.Errorf("created %s: %+v", name, pj.Spec)
		}
		if !strings.Contains(out.String(), "created rehearse-5-tf-k8s-presubmit  "+name) {
			t.Errorf("stdout lacks the created line:\n%s", out)
		}
	}
	if !strings.Contains(out.String(), "follow them with: prowctl get -l prowctl.dev/rehearsal=true --kubeconfig "+target[1]+" -n prow") {
		t.Errorf("stdout lacks how to follow them:\n%s", out)
	}

	// Every job through the preset: over a limit of 2, refused whole.
	edit("config/prow/config.yaml", "value: /etc/service-account/service-account.json", "value: /etc/service-account/key.json")
	streams, _, _, errOut = iostreams.Test()
	code := fc.run(t, streams, append(args, append(target, "--limit", "2")...)...)
	if code != 2 || !strings.Contains(errOut.String(), "--limit") || len(fc.jobs(t, "prow")) != 1 {
		t.Errorf("over the limit: exit %d, %d ProwJobs, stderr:\n%s", code, len(fc.jobs(t, "prow")), errOut)
	}
}

func TestRehearseRefusals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		edit     [2]string
		extra    []string
		wantCode int
		want     string
	}{{
		name:     "an invalid head shows lint's findings with positions",
		edit:     [2]string{"cpu: 1500m", "cpu: two cores"},
		wantCode: 2,
		want:     "tf-k8s.yaml:29:",
	}, {
		name:     "an unknown base",
		edit:     [2]string{"cpu: 1500m", "cpu: 1200m"},
		extra:    []string{"--base", "no-such-ref", "--dry-run"},
		wantCode: 2,
		want:     "no-such-ref",
	}, {
		name:     "no personal cluster",
		edit:     [2]string{"cpu: 1500m", "cpu: 1200m"},
		extra:    []string{"--dir", "/nonexistent/prowctl"},
		wantCode: 1,
		want:     "no personal cluster in /nonexistent/prowctl: start one with `prowctl cluster up`, or rehearse on another cluster with --kubeconfig",
	}, {
		name:     "head and worktree",
		extra:    []string{"--head", "HEAD", "--worktree"},
		wantCode: 2,
		want:     "--head HEAD and --worktree: choose one",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			_, args, edit := configRepoCopy(t)
			if tc.edit[0] != "" {
				edit(tfJobs, tc.edit[0], tc.edit[1])
			}
			fc := newFakeCluster()
			streams, _, _, errOut := iostreams.Test()
			code := fc.run(t, streams, append(args, tc.extra...)...)
			if code != tc.wantCode || !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("exit %d, want %d; stderr lacks %q:\n%s", code, tc.wantCode, tc.want, errOut)
			}
			if len(fc.jobs(t, "prow")) != 0 {
				t.Error("a ProwJob was created")
			}
		})
	}
}
