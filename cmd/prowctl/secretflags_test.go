package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobsecret"
)

const secretJobs = `periodics:
- name: ci-reads-secrets
  interval: 24h
  spec:
    containers:
    - image: alpine:3.19
      command: [sh, -c, 'echo "token $TOKEN"']
      env:
      - name: TOKEN
        valueFrom:
          secretKeyRef: {name: api, key: token}
      volumeMounts:
      - {name: creds, mountPath: /etc/creds}
    volumes:
    - name: creds
      secret: {secretName: creds}
`

// mkpj --create with the job's Secrets: refused naming what is missing,
// then created with them; their values never printed.
func TestMkpjCreateSecrets(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	jobs := write("jobs.yaml", secretJobs)
	token := write("token", "s3cr3t-t0ken\n")
	env := write("creds.env", "creds/password=hunter2-pw\n")
	args := []string{"mkpj", "--config-path", mkpjTestConfig, "--job-config-path", jobs, "--job", "ci-reads-secrets", "--create", "--kubeconfig", filepath.Join(dir, "kubeconfig")}

	fc := newFakeCluster()
	streams, _, _, errOut := iostreams.Test()
	code := fc.run(t, streams, append(args, "--secret", "api/token="+token)...)
	want := "prowctl: job ci-reads-secrets needs secrets that are not in namespace test-pods: creds (volume creds); give them with --secret creds/KEY=FILE (or --secret-file FILE.env of SECRET/KEY=VALUE lines)\n"
	if code != 2 || errOut.String() != want {
		t.Errorf("without creds: exit %d, stderr\n%s\nwant\n%s", code, errOut, want)
	}
	if n := len(fc.jobs(t, "prow")); n != 0 {
		t.Errorf("%d ProwJobs created with a Secret missing", n)
	}

	streams, _, out, errOut := iostreams.Test()
	if code := fc.run(t, streams, append(args, "--secret", "api/token="+token, "--secret-file", env)...); code != 0 {
		t.Fatalf("with both: exit %d: %s", code, errOut)
	}
	if n := len(fc.jobs(t, "prow")); n != 1 {
		t.Errorf("%d ProwJobs created, want 1", n)
	}
	for name, want := range map[string]map[string][]byte{"api": {"token": []byte("s3cr3t-t0ken\n")}, "creds": {"password": []byte("hunter2-pw")}} {
		s, err := fc.kube.CoreV1().Secrets("test-pods").Get(context.Background(), name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, s.Data); diff != "" || s.Labels[jobsecret.LabelGiven] != "local" {
			t.Errorf("secret %s: labels %v, data (-want +got):\n%s", name, s.Labels, diff)
		}
	}
	if strings.Contains(out.String()+errOut.String(), "s3cr3t") || strings.Contains(out.String()+errOut.String(), "hunter2") {
		t.Errorf("a value was printed:\n%s%s", out, errOut)
	}

	streams, _, _, errOut = iostreams.Test()
	if code := fc.run(t, streams, "mkpj", "--config-path", mkpjTestConfig, "--job-config-path", jobs, "--job", "ci-reads-secrets", "--secret", "api/token="+token); code != 2 || !strings.Contains(errOut.String(), "--secret and --secret-file need --create") {
		t.Errorf("--secret without --create: exit %d: %s", code, errOut)
	}
}

// What a command prints after load is masked, unless --show-secrets.
func TestSecretFlagsMask(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("s3cr3t-t0ken"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, show := range []bool{false, true} {
		streams, _, out, errOut := iostreams.Test()
		s := secretFlags{Secrets: []string{"api/token=" + token}, ShowSecrets: show}
		given, flush, err := s.load(streams)
		if err != nil || given.Empty() {
			t.Fatalf("load: %v (given %v)", err, given)
		}
		streams.Out.Write([]byte("log: token s3cr3t-t0ken\n"))
		streams.ErrOut.Write([]byte("end s3cr3t-t0ken"))
		flush()
		want, wantErr := "log: token ***\n", "end ***"
		if show {
			want, wantErr = "log: token s3cr3t-t0ken\n", "end s3cr3t-t0ken"
		}
		if out.String() != want || errOut.String() != wantErr {
			t.Errorf("show %v: out %q err %q, want %q %q", show, out, errOut, want, wantErr)
		}
	}
	streams, _, _, _ := iostreams.Test()
	if _, _, err := (&secretFlags{Secrets: []string{"api"}}).load(streams); err == nil || exitCode(err) != 2 {
		t.Errorf("a bad --secret: %v, want a usage error", err)
	}
}
