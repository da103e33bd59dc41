package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// closedPort is a port of 127.0.0.1 that nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// runChild runs prowctl's main path (run: signals, redacting streams, the
// error printer) in a process of its own and returns its exit code and
// output.
func runChild(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	enc, _ := json.Marshal(args)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestE2EChildProcess$")
	child.Env = append(os.Environ(), "PROWCTL_E2E_CHILD="+string(enc))
	var stdout, stderr bytes.Buffer
	child.Stdout, child.Stderr = &stdout, &stderr
	err := child.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stdout.String(), stderr.String()
}

// Credentials in a kubeconfig's server URL, in a GitHub endpoint or in a
// query never reach the terminal, through the command path a user runs.
func TestCredentialsRedacted(t *testing.T) {
	addr := closedPort(t)
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	kc := `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://alice:s3cret-pw@` + addr + `/?token=q-tok3n", insecure-skip-tls-verify: true}
contexts: [{name: ctx, context: {cluster: c, user: u}}]
current-context: ctx
users: [{name: u, user: {token: bearer-t0ken}}]
`
	if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"s3cret-pw", "q-tok3n", "bearer-t0ken", "hunter2", "gh-s3kret"}
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"get, kubeconfig server URL", []string{"get", "--kubeconfig", kubeconfig}},
		{"watch, kubeconfig server URL", []string{"watch", "x", "--kubeconfig", kubeconfig}},
		{"mkpj, GitHub endpoint", []string{"mkpj", "--config-path", mkpjTestConfig, "--job-config-path", mkpjTestJobs,
			"--job", "pull-repo-one-unit", "--pull-number", "5", "--github-endpoint", "http://bob:hunter2@" + addr + "/api?access_token=gh-s3kret"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runChild(t, tc.args...)
			if code != 1 || !strings.Contains(stderr, "REDACTED@"+addr) || !strings.Contains(stderr, "connection refused") {
				t.Errorf("exit %d, stderr:\n%s\nwant exit 1 and the URL with its credentials redacted", code, stderr)
			}
			for _, s := range secrets {
				if strings.Contains(stdout+stderr, s) {
					t.Errorf("%q printed:\n%s%s", s, stdout, stderr)
				}
			}
		})
	}
}
