package e2e_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prowctl/prowctl/internal/gcstest"
	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/steps"
)

// The test binary serves the real node's components that are prowctl itself
// (cluster.Options.Executable).
func TestMain(m *testing.M) {
	if code, ok := cluster.MainIfSelf(os.Args[1:], os.Stderr); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// TestRepoPipelineEndToEnd runs the repository's own config/e2e.yaml on a
// personal cluster of its own with a real node (started and stopped by the
// run: the operator and the TFJobs' replicas really run), a registry on
// loopback and a GCS emulator for the upload, and checks what Spyglass would
// read. Needs `make tools`.
func TestRepoPipelineEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: runs the whole pipeline on a personal cluster")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	spec, err := os.ReadFile(filepath.Join(repo, "config", "e2e.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// A cluster directory of the test's own, so it neither uses nor stops a
	// personal cluster someone else runs.
	clusterDir := filepath.Join(t.TempDir(), "cluster")
	edited := strings.Replace(string(spec), "      provider: local\n", "      provider: local\n      local:\n        dir: "+clusterDir+"\n", 1)
	if edited == string(spec) {
		t.Fatal("config/e2e.yaml: no `provider: local` to point at the test's cluster directory")
	}
	p, err := e2e.ParsePipeline("config/e2e.yaml", []byte(edited), steps.Builtin())
	if err != nil {
		t.Fatal(err)
	}

	server := gcstest.Start(t, "tf-k8s")
	t.Setenv("STORAGE_EMULATOR_HOST", server.URL())

	artifacts := t.TempDir()
	job := e2e.LocalJobSpec("ci-tf-k8s-e2e", "1001")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var out strings.Builder
	rep, err := e2e.Run(ctx, p, e2e.Options{
		Artifacts: artifacts, Dir: repo, Job: job, Results: true, Parallelism: 4,
		Upload: "gs://tf-k8s", Out: &out,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Passed() {
		if strings.Contains(out.String(), "make tools") {
			t.Fatalf("the personal cluster's binaries are missing: run `make tools`\n%s", out.String())
		}
		t.Fatalf("pipeline failed:\n%s", out.String())
	}

	base := "logs/ci-tf-k8s-e2e/1001/"
	get := func(key string) string {
		t.Helper()
		obj, err := server.GetObject("tf-k8s", key)
		if err != nil {
			t.Fatalf("gs://tf-k8s/%s: %v", key, err)
		}
		return string(obj.Content)
	}
	var finished struct {
		Passed   bool           `json:"passed"`
		Result   string         `json:"result"`
		Metadata map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(get(base+"finished.json")), &finished); err != nil {
		t.Fatal(err)
	}
	if !finished.Passed || finished.Result != "SUCCESS" {
		t.Errorf("finished.json: %+v", finished)
	}
	if img, _ := finished.Metadata["image"].(string); !strings.Contains(img, "/tf-operator@sha256:") {
		t.Errorf("finished.json metadata image = %q", img)
	}
	steps := get(base + "artifacts/junit_e2e-steps.xml")
	for _, name := range []string{"registry", "build-image", "build-chart", "cluster-up", "deploy", "test", "teardown", "upload"} {
		if !strings.Contains(steps, `<testcase name="`+name+`"`) {
			t.Errorf("junit_e2e-steps.xml lacks %s:\n%s", name, steps)
		}
	}
	if strings.Contains(steps, "<failure") || strings.Contains(steps, "<skipped") {
		t.Errorf("junit_e2e-steps.xml has failures or skips:\n%s", steps)
	}
	// The operator's own JUnit, collected by the test step.
	if got := get(base + "artifacts/junit_operator.xml"); !strings.Contains(got, `name="TFJobSucceeds"`) || !strings.Contains(got, `name="DeletingATFJobDeletesItsPods"`) || strings.Contains(got, "<failure") {
		t.Errorf("junit_operator.xml:\n%s", got)
	}
	if got := get(base + "build-log.txt"); !strings.Contains(got, "[teardown] deleted local cluster") {
		t.Errorf("build-log.txt does not show the cluster deleted:\n%s", got)
	}
	if got := get("logs/ci-tf-k8s-e2e/latest-build.txt"); got != "1001" {
		t.Errorf("latest-build.txt = %q", got)
	}
	if _, err := os.Stat(filepath.Join(clusterDir, "kubeconfig")); err == nil {
		t.Errorf("the run's cluster left its kubeconfig behind in %s", clusterDir)
	}
}
