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
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/steps"
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
	os.Exit(run(args, iostreams.System()))
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
	// 143: killed by SIGTERM, as a shell reports it, after the finalizers.
	if !errors.As(err, &ee) || ee.ExitCode() != 143 {
		t.Errorf("exit: %v, want exit status 143\n%s", err, out.String())
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

func TestE2EFlags(t *testing.T) {
	tests := []struct {
		name string
		cmd  func(*iostreams.IOStreams, func(context.Context, *E2ERunOptions) error) *cobra.Command
		args []string
		want e2e.Invocation
	}{
		{
			name: "run defaults",
			cmd:  newCmdE2ERun,
			want: e2e.Invocation{Pipeline: "config/e2e.yaml"},
		},
		{
			name: "run everything",
			cmd:  newCmdE2ERun,
			args: []string{"--pipeline", "p.yaml", "--only", "a,b", "--skip", "c", "--parallelism", "3", "--grace-period", "1m", "--upload", "gs://b/x", "--artifacts", "/tmp/a"},
			want: e2e.Invocation{Pipeline: "p.yaml", Only: []string{"a", "b"}, Skip: []string{"c"}, Parallelism: 3, GracePeriod: time.Minute, Upload: "gs://b/x", Artifacts: "/tmp/a"},
		},
		{
			name: "step",
			cmd:  newCmdE2EStep,
			args: []string{"deploy", "--artifacts", "/tmp/a"},
			want: e2e.Invocation{Pipeline: "config/e2e.yaml", Artifacts: "/tmp/a", Step: "deploy"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			streams, _, _, _ := iostreams.Test()
			var got *E2ERunOptions
			cmd := tt.cmd(streams, func(_ context.Context, o *E2ERunOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			// The flags land on the library's Invocation as they are.
			if d := cmp.Diff(tt.want, got.Invocation, cmpopts.IgnoreFields(e2e.Invocation{}, "Kinds")); d != "" {
				t.Errorf("invocation (-want +got):\n%s", d)
			}
			if d := cmp.Diff(steps.Builtin().Names(), got.Kinds.Names()); d != "" {
				t.Errorf("step kinds (-want +got):\n%s", d)
			}
			if got.IO != streams {
				t.Errorf("options carry streams %p, want %p", got.IO, streams)
			}
		})
	}
	streams, _, _, _ := iostreams.Test()
	cmd := newCmdE2EStep(streams, func(context.Context, *E2ERunOptions) error { return nil })
	cmd.SetArgs(nil)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); err == nil {
		t.Error("e2e step without a name: no error")
	}
}

func TestE2EGraphCommand(t *testing.T) {
	streams, _, out, _ := iostreams.Test()
	cmd := newCmdE2EGraph(streams, nil)
	cmd.SetArgs([]string{"--pipeline", "../../config/e2e.yaml", "-o", "dot"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"deploy" -> "test";`) || !strings.Contains(out.String(), `"upload" [label="upload\nupload", style=dashed];`) {
		t.Errorf("dot output:\n%s", out.String())
	}
	cmd = newCmdE2EGraph(streams, nil)
	cmd.SetArgs([]string{"--pipeline", "../../config/e2e.yaml", "-o", "svg"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); err == nil || err.Error() != `-o "svg": want text or dot` {
		t.Errorf("-o svg: %v", err)
	}
}

// TestE2ERunExitCode runs a failing pipeline through the command: the error
// carries exit code 1 and no message (the progress said it all).
func TestE2ERunExitCode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "e2e.yaml")
	if err := os.WriteFile(p, []byte("steps:\n- name: ok\n  run: 'true'\n- name: bad\n  run: echo no; exit 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	streams, _, out, _ := iostreams.Test()
	cmd := newCmdE2ERun(streams, nil)
	cmd.SetArgs([]string{"--pipeline", p, "--artifacts", filepath.Join(dir, "a")})
	err := cmd.Execute()
	if err == nil || err.Error() != "" || exitCode(err) != 1 {
		t.Errorf("error %v (exit %d), want a silent exit 1", err, exitCode(err))
	}
	if !strings.Contains(out.String(), "bad: failed in") || !strings.Contains(out.String(), "e2e: FAILURE: 1 passed, 1 failed") {
		t.Errorf("output:\n%s", out.String())
	}
}
