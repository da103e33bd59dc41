package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobs"
)

const testSpec = `repo: tensorflow/k8s
branches: [master]
periodic_prefix: tf-k8s-
image: gcr.io/x/builder:v1
command: [run]
jobs:
- name: tf-k8s-periodic
  type: periodic
  interval: 8h
`

func TestJobsGenerateFlags(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    JobsGenerateOptions
		wantErr string
	}{
		{nil, JobsGenerateOptions{SpecPath: jobs.DefaultSpecPath, Out: jobs.DefaultOutPath}, ""},
		{[]string{"--spec", "s.yaml", "--out", "o.yaml", "--verify"}, JobsGenerateOptions{SpecPath: "s.yaml", Out: "o.yaml", Verify: true}, ""},
		{[]string{"--in-place", "config.yaml"}, JobsGenerateOptions{SpecPath: jobs.DefaultSpecPath, Out: jobs.DefaultOutPath, InPlace: "config.yaml"}, ""},
		{[]string{"--in-place", "config.yaml", "--out", "o.yaml"}, JobsGenerateOptions{}, "--out and --in-place are exclusive"},
		{[]string{"--in-place", ""}, JobsGenerateOptions{}, "--in-place needs the path"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			streams, _, _, _ := iostreams.Test()
			var got *JobsGenerateOptions
			cmd := newCmdJobsGenerate(streams, func(o *JobsGenerateOptions) error { got = o; return nil })
			cmd.SetArgs(tc.args)
			cmd.SetOut(streams.Out)
			cmd.SetErr(streams.ErrOut)
			err := cmd.Execute()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want error %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.IO = nil
			if diff := cmp.Diff(tc.want, *got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func runGenerate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	streams, _, out, _ := iostreams.Test()
	cmd := newCmdJobsGenerate(streams, nil)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), err
}

func TestJobsGenerateVerify(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	out := filepath.Join(dir, "jobs", "tf-k8s.yaml")
	if err := os.WriteFile(spec, []byte(testSpec), 0o644); err != nil {
		t.Fatal(err)
	}

	// Missing file: verify fails with a diff from /dev/null and writes nothing.
	stdout, err := runGenerate(t, "--spec", spec, "--out", out, "--verify")
	if exitCode(err) != 1 || !strings.Contains(stdout, "--- /dev/null\n") || !strings.Contains(stdout, "+- name: tf-k8s-periodic\n") {
		t.Fatalf("verify of a missing file: exit %d, err %v, output:\n%s", exitCode(err), err, stdout)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("verify wrote the file: %v", err)
	}

	stdout, err = runGenerate(t, "--spec", spec, "--out", out)
	if err != nil || stdout != "wrote "+out+"\n" {
		t.Fatalf("generate: %v, %q", err, stdout)
	}
	if stdout, err = runGenerate(t, "--spec", spec, "--out", out, "--verify"); err != nil || !strings.Contains(stdout, "is up to date") {
		t.Fatalf("verify after generate: exit %d, %q", exitCode(err), stdout)
	}

	// A stale file: exit 1, a unified diff naming the changed line, the
	// command to fix it, and the file untouched.
	if err := os.WriteFile(spec, []byte(strings.Replace(testSpec, "8h", "4h", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(out)
	stdout, err = runGenerate(t, "--spec", spec, "--out", out, "--verify")
	wantDiff := "-  interval: 8h\n+  interval: 4h\n"
	if exitCode(err) != 1 || !strings.Contains(stdout, wantDiff) || !strings.HasPrefix(stdout, "--- "+out+"\n+++ "+out+" (generated)\n@@ ") {
		t.Fatalf("verify of a stale file: exit %d, output:\n%s", exitCode(err), stdout)
	}
	if want := "is out of date; run: prowctl jobs generate --spec " + spec + " --out " + out; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if after, _ := os.ReadFile(out); string(after) != string(before) {
		t.Error("verify changed the file")
	}
}

func TestJobsGenerateInPlace(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	config := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(spec, []byte(testSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	original := "# shared\nperiodics:\n- name: other\n  interval: 1h\n"
	if err := os.WriteFile(config, []byte(original), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, err := runGenerate(t, "--spec", spec, "--in-place", config, "--verify")
	if exitCode(err) != 1 || !strings.Contains(stdout, "+- name: tf-k8s-periodic\n") {
		t.Fatalf("verify: exit %d, output:\n%s", exitCode(err), stdout)
	}
	if _, err := runGenerate(t, "--spec", spec, "--in-place", config); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(config)
	if !strings.HasPrefix(string(got), original) || !strings.Contains(string(got), "- name: tf-k8s-periodic\n  interval: 8h\n") {
		t.Errorf("edited config:\n%s", got)
	}
	if fi, _ := os.Stat(config); fi.Mode().Perm() != 0o600 {
		t.Errorf("file mode %v, want 0600 kept", fi.Mode().Perm())
	}
	if _, err := runGenerate(t, "--spec", spec, "--in-place", config, "--verify"); err != nil {
		t.Errorf("verify after the edit: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// TestJobsGenerateInPlaceThroughSymlink: the file a symlink names is
// edited and the link stays; a read-only file is refused, unchanged.
func TestJobsGenerateInPlaceThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	if err := os.WriteFile(spec, []byte(testSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	original := "periodics:\n- name: other\n  interval: 1h\n"
	real := filepath.Join(dir, "test-infra", "config.yaml")
	if err := os.MkdirAll(filepath.Dir(real), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(real, []byte(original), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "config.yaml")
	if err := os.Symlink("test-infra/config.yaml", link); err != nil {
		t.Fatal(err)
	}
	if _, err := runGenerate(t, "--spec", spec, "--in-place", link); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("--in-place replaced the symlink (%v)", err)
	}
	if got, _ := os.ReadFile(real); !strings.Contains(string(got), "- name: tf-k8s-periodic\n") {
		t.Errorf("the link's target was not edited:\n%s", got)
	}

	if err := os.WriteFile(real, []byte(original), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(real, 0o444); err != nil {
		t.Fatal(err)
	}
	_, err := runGenerate(t, "--spec", spec, "--in-place", link)
	if err == nil || !strings.Contains(err.Error(), "read-only") || strings.Contains(err.Error(), "\n") {
		t.Errorf("read-only target: err = %v, want one line saying read-only", err)
	}
	if got, _ := os.ReadFile(real); string(got) != original {
		t.Errorf("read-only target rewritten:\n%s", got)
	}
}

// An invalid spec changes nothing and names the file, line and field.
func TestJobsGenerateInvalidSpec(t *testing.T) {
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec.yaml")
	out := filepath.Join(dir, "out.yaml")
	if err := os.WriteFile(spec, []byte(strings.Replace(testSpec, "interval: 8h", "intervall: 8h", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(out, []byte("keep me\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := runGenerate(t, "--spec", spec, "--out", out)
	want := spec + `:9:3: jobs[0]: unknown field "intervall"; did you mean "interval"?`
	if err == nil || err.Error() != want {
		t.Fatalf("error %v, want %s", err, want)
	}
	if got, _ := os.ReadFile(out); string(got) != "keep me\n" {
		t.Errorf("output changed: %q", got)
	}
}

// The repository's own generated file is the generator's output.
func TestRepoGeneratedFileUpToDate(t *testing.T) {
	t.Chdir("../..")
	if stdout, err := runGenerate(t, "--verify"); err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
}
