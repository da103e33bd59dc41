package jobs

import (
	"flag"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	prowconfig "sigs.k8s.io/prow/pkg/config"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got); go test -update refreshes it:\n%s", path, diff)
	}
}

func loadRepoSpec(t *testing.T) *Spec {
	t.Helper()
	s, err := LoadSpec("../../config/tf-k8s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s.Path = DefaultSpecPath // as the CLI names it from the repository root
	return s
}

func TestGenerateGolden(t *testing.T) {
	got, err := Generate(loadRepoSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "tf-k8s.golden.yaml", got)
	again, _ := Generate(loadRepoSpec(t))
	if string(again) != string(got) {
		t.Error("Generate is not deterministic")
	}
}

// The generated file must load with Prow's own config loader, next to the
// repository's Prow config, with the jobs and fields the spec asks for.
func TestGenerateLoadsInProw(t *testing.T) {
	out, err := Generate(loadRepoSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "tf-k8s.yaml"), out, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := prowconfig.Load("../../config/prow/config.yaml", dir, nil, "")
	if err != nil {
		t.Fatalf("Prow rejects the generated config: %v", err)
	}
	pres := cfg.PresubmitsStatic["tensorflow/k8s"]
	if len(pres) != 1 || pres[0].Name != "tf-k8s-presubmit" || !pres[0].AlwaysRun || pres[0].Context != "tf-k8s-presubmit" {
		t.Fatalf("presubmits: %+v", pres)
	}
	if !pres[0].CouldRun("master") || pres[0].CouldRun("release-1") {
		t.Error("presubmit should run on master only")
	}
	if pres[0].RerunCommand != "/test tf-k8s-presubmit" || !pres[0].TriggerMatches("/test tf-k8s-presubmit") {
		t.Errorf("trigger/rerun_command inconsistent: %q / %q", pres[0].Trigger, pres[0].RerunCommand)
	}
	posts := cfg.PostsubmitsStatic["tensorflow/k8s"]
	if len(posts) != 1 || posts[0].Name != "tf-k8s-postsubmit" {
		t.Fatalf("postsubmits: %+v", posts)
	}
	if len(cfg.Periodics) != 1 || cfg.Periodics[0].Name != "tf-k8s-periodic" || cfg.Periodics[0].Interval != "8h" {
		t.Fatalf("periodics: %+v", cfg.Periodics)
	}
	p := cfg.Periodics[0]
	if len(p.ExtraRefs) != 1 || p.ExtraRefs[0].Org != "tensorflow" || p.ExtraRefs[0].Repo != "k8s" || p.ExtraRefs[0].BaseRef != "master" {
		t.Errorf("periodic extra_refs: %+v", p.ExtraRefs)
	}
	for _, base := range []prowconfig.JobBase{pres[0].JobBase, posts[0].JobBase, p.JobBase} {
		if base.Decorate == nil || !*base.Decorate || base.DecorationConfig == nil || base.DecorationConfig.UtilityImages == nil {
			t.Errorf("%s: not decorated with the default decoration config", base.Name)
		}
		c := base.Spec.Containers[0]
		if diff := cmp.Diff([]string{"prowctl", "e2e", "run", "--pipeline", "config/e2e.yaml"}, c.Command); diff != "" {
			t.Errorf("%s command (-want +got):\n%s", base.Name, diff)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
			t.Errorf("%s: no resource requests", base.Name)
		}
		// The preset was applied: Prow merged its volume and env into the pod.
		if len(base.Spec.Volumes) == 0 || base.Labels["preset-service-account"] != "true" {
			t.Errorf("%s: preset-service-account not applied: %+v", base.Name, base.Spec.Volumes)
		}
		if base.Annotations["testgrid-dashboards"] != "sig-big-data" || base.Annotations["testgrid-tab-name"] == "" {
			t.Errorf("%s: testgrid annotations: %v", base.Name, base.Annotations)
		}
	}
}

// TestPlanUnreadableTarget: a target that is no regular file (a directory,
// a named pipe that would block the read until it had a writer) is refused
// at once, named once with what it is, and nothing is planned.
func TestPlanUnreadableTarget(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "config.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ path, want string }{
		{dir, dir + ": is a directory, not a regular file"},
		{fifo, fifo + ": is a named pipe (FIFO), not a regular file"},
	} {
		for _, inPlace := range []bool{false, true} {
			done := make(chan error, 1)
			go func() {
				_, err := Plan(loadRepoSpec(t), Target{Path: tc.path, InPlace: inPlace})
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || err.Error() != tc.want {
					t.Errorf("%s, in-place %v: error %v, want %q", tc.path, inPlace, err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("%s, in-place %v: Plan blocked", tc.path, inPlace)
			}
		}
	}
}

// TestHeaderSameFromAnyDirectory: the header names the spec relative to its
// repository, so --verify gives the same verdict from any working directory
// and for an absolute --spec.
func TestHeaderSameFromAnyDirectory(t *testing.T) {
	repo := t.TempDir()
	spec, err := os.ReadFile("../../config/tf-k8s.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{".git", "config"} {
		if err := os.MkdirAll(filepath.Join(repo, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(repo, "config", "tf-k8s.yaml"), spec, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, spec string }{
		{repo, "config/tf-k8s.yaml"},
		{repo, "./config/tf-k8s.yaml"},
		{filepath.Join(repo, "config"), "tf-k8s.yaml"},
		{t.TempDir(), filepath.Join(repo, "config", "tf-k8s.yaml")},
	} {
		t.Chdir(c.dir)
		s, err := LoadSpec(c.spec)
		if err != nil {
			t.Fatal(err)
		}
		if s.Path != "config/tf-k8s.yaml" {
			t.Errorf("from %s, --spec %s: header names %q, want config/tf-k8s.yaml", c.dir, c.spec, s.Path)
		}
	}
}
