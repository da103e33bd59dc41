package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/spf13/cobra"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/iostreams"
)

func TestE2ERetryFlags(t *testing.T) {
	tests := []struct {
		name string
		cmd  func(*iostreams.IOStreams, func(context.Context, *E2ERunOptions) error) *cobra.Command
		args []string
		want e2e.Invocation
	}{
		{
			name: "run --from-failed",
			cmd:  newCmdE2ERun,
			args: []string{"--from-failed", "--artifacts", "/tmp/a"},
			want: e2e.Invocation{Pipeline: "config/e2e.yaml", Artifacts: "/tmp/a", FromFailed: true},
		},
		{
			name: "retry",
			cmd:  newCmdE2ERetry,
			args: []string{"--pipeline", "p.yaml", "--parallelism", "2", "--upload", "/tmp/gcs"},
			want: e2e.Invocation{Pipeline: "p.yaml", Parallelism: 2, Upload: "/tmp/gcs", FromFailed: true},
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
			if d := cmp.Diff(tt.want, got.Invocation, cmpopts.IgnoreFields(e2e.Invocation{}, "Kinds")); d != "" {
				t.Errorf("invocation (-want +got):\n%s", d)
			}
		})
	}
}

// A retry runs what failed: it takes no --only or --skip (exit 2).
func TestE2ERetryRefusesOnlyAndSkip(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"e2e", "run", "--from-failed", "--only", "test"}, "prowctl: --from-failed runs what failed in the last run: drop --only and --skip\n"},
		{[]string{"e2e", "retry", "--skip", "test"}, "prowctl: unknown flag: --skip (see prowctl e2e retry --help)\n"},
	} {
		streams, _, out, errOut := iostreams.Test()
		if code := runProwctl(t, streams, tt.args...); code != 2 || errOut.String() != tt.want || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 and %q", tt.args, code, errOut, out, tt.want)
		}
	}
}

// failOncePipeline fails its test step the first time it runs in an
// artifacts directory.
const failOncePipeline = `steps:
- name: build
  run: echo "built $BUILD_ID"
- name: test
  run: if [ -e "$ARTIFACTS/ran-once" ]; then echo ok; else touch "$ARTIFACTS/ran-once"; echo flaked; exit 1; fi
  needs: [build]
- name: teardown
  run: echo down
  needs: [test]
  always: true
`

// TestE2ERetryCommand runs `prowctl e2e retry` through the root: exit 2
// and one line naming the file with no previous run, a retry that runs
// only what failed, then exit 0 with nothing left to retry.
func TestE2ERetryCommand(t *testing.T) {
	dir := t.TempDir()
	p, art := filepath.Join(dir, "e2e.yaml"), filepath.Join(dir, "artifacts")
	if err := os.WriteFile(p, []byte(failOncePipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JOB_SPEC", "")
	retry := []string{"e2e", "retry", "--pipeline", p, "--artifacts", art}

	streams, _, out, errOut := iostreams.Test()
	if code := runProwctl(t, streams, retry...); code != 2 {
		t.Errorf("retry with no previous run: exit %d, want 2", code)
	}
	want := "prowctl: no previous run to retry: " + filepath.Join(art, e2e.StateFile) + " does not exist (run the pipeline first, or give --artifacts the directory of the run to retry)\n"
	if d := cmp.Diff(want, errOut.String()); d != "" || out.Len() != 0 {
		t.Errorf("stderr (-want +got):\n%s\nstdout: %q", d, out)
	}

	streams, _, out, errOut = iostreams.Test()
	if code := runProwctl(t, streams, "e2e", "run", "--pipeline", p, "--artifacts", art); code != 1 {
		t.Fatalf("first run: exit %d, want 1\n%s%s", code, out, errOut)
	}

	streams, _, out, errOut = iostreams.Test()
	if code := runProwctl(t, streams, retry...); code != 0 {
		t.Fatalf("retry: exit %d, want 0\n%s%s", code, out, errOut)
	}
	for _, want := range []string{
		"build: passed in the previous run (reused)\n",
		"test: runs again: failed in the previous run\n",
		"[test] ok\n",
		"e2e: SUCCESS: 2 passed, 1 reused in",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("retry output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out.String(), "[build]") {
		t.Errorf("the retry ran build:\n%s", out)
	}

	streams, _, out, errOut = iostreams.Test()
	if code := runProwctl(t, streams, "e2e", "run", "--from-failed", "--pipeline", p, "--artifacts", art); code != 0 || errOut.Len() != 0 {
		t.Errorf("nothing to retry: exit %d, stderr %q; want 0 and none", code, errOut)
	}
	if got := out.String(); !strings.HasPrefix(got, "nothing to retry: nothing failed in attempt 2 of build ") || strings.Count(got, "\n") != 1 {
		t.Errorf("nothing to retry: stdout %q", got)
	}
}
