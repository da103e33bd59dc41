package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

// TestE2EChildProcess is not a test: TestE2ERunSIGTERM runs the test binary
// again with PROWCTL_E2E_CHILD set to run prowctl in a process of its own.
func TestE2EChildProcess(t *testing.T) {
	if os.Getenv("PROWCTL_E2E_CHILD") == "" {
		return
	}
	var args []string
	if err := json.Unmarshal([]byte(os.Getenv("PROWCTL_E2E_CHILD")), &args); err != nil {
		os.Exit(99)
	}
	streams := iostreams.System()
	cmd := newRootCmd(streams)
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err != nil && err.Error() != "" {
		os.Stderr.WriteString("prowctl: " + err.Error() + "\n")
	}
	os.Exit(exitCode(err))
}

const sigtermPipeline = `steps:
- name: build
  run: echo built
- name: test
  run: touch "$ARTIFACTS/test-started"; exec sleep 60
  needs: [build]
- name: report
  run: echo never
  needs: [test]
- name: teardown
  run: echo "tearing down $JOB_NAME" && touch "$ARTIFACTS/teardown-ran"
  needs: [test]
  always: true
- name: upload
  uses: upload
  needs: [teardown]
  always: true
`

// TestE2ERunSIGTERM aborts `prowctl e2e run` the way Prow aborts a job, with
// SIGTERM during the test step, and checks the finalizers still ran and the
// results say ABORTED, locally and in the upload.
func TestE2ERunSIGTERM(t *testing.T) {
	dir := t.TempDir()
	pipelineFile := filepath.Join(dir, "e2e.yaml")
	artifacts, dest := filepath.Join(dir, "artifacts"), filepath.Join(dir, "gcs")
	if err := os.WriteFile(pipelineFile, []byte(sigtermPipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	args, _ := json.Marshal([]string{"e2e", "run", "--pipeline", pipelineFile, "--artifacts", artifacts, "--upload", dest, "--grace-period", "20s"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestE2EChildProcess$")
	child.Env = append(os.Environ(), "PROWCTL_E2E_CHILD="+string(args), "JOB_SPEC=", "ARTIFACTS=")
	var out bytes.Buffer
	child.Stdout, child.Stderr = &out, &out
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	started := filepath.Join(artifacts, "test-started")
	for {
		if _, err := os.Stat(started); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("test step never started:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	sent := time.Now()
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := child.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Errorf("exit: %v, want exit status 1\n%s", err, out.String())
	}
	if took := time.Since(sent); took > 15*time.Second {
		t.Errorf("took %s to stop after SIGTERM", took)
	}
	if _, err := os.Stat(filepath.Join(artifacts, "teardown-ran")); err != nil {
		t.Errorf("teardown did not run: %v\n%s", err, out.String())
	}
	for _, f := range []string{filepath.Join(artifacts, "finished.json"), filepath.Join(dest, "logs", "local-e2e")} {
		if strings.HasSuffix(f, "local-e2e") {
			builds, _ := filepath.Glob(filepath.Join(f, "2*", "finished.json"))
			if len(builds) != 1 {
				t.Fatalf("uploaded finished.json: found %v\n%s", builds, out.String())
			}
			f = builds[0]
		}
		var finished struct {
			Passed   *bool                     `json:"passed"`
			Result   string                    `json:"result"`
			Metadata map[string]map[string]any `json:"metadata"`
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &finished); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if finished.Passed == nil || *finished.Passed || finished.Result != "ABORTED" {
			t.Errorf("%s: passed %v, result %q; want false, ABORTED", f, finished.Passed, finished.Result)
		}
		want := map[string]any{"build": "passed", "test": "failed", "report": "skipped", "teardown": "passed", "upload": "passed"}
		if d := cmp.Diff(want, finished.Metadata["e2e-steps"]); d != "" {
			t.Errorf("%s: steps (-want +got):\n%s", f, d)
		}
	}
	if !strings.Contains(out.String(), "[teardown] tearing down local-e2e") {
		t.Errorf("output lacks the teardown's own output:\n%s", out.String())
	}
}
