package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

// submit shares export's flags and adds the cluster's and the wait; without
// --argo, or on a kubeconfig without the context, it stops before creating
// anything.
func TestE2ESubmitFlags(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	var got *E2ESubmitOptions
	cmd := newCmdE2ESubmit(streams, func(_ context.Context, o *E2ESubmitOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--argo", "--wait", "--registry", "reg.example.com", "--context", "c1", "-n", "ci", "--stop-grace", "2m"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !got.Wait || got.Workflow.Registry != "reg.example.com" || got.Context != "c1" || got.Workflow.Namespace != "ci" || got.StopGrace != 2*time.Minute {
		t.Errorf("options %+v", got)
	}

	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: https://127.0.0.1:1}\ncontexts:\n- name: c\n  context: {cluster: c}\ncurrent-context: c\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"e2e", "submit"}, 2, "submit needs an engine: give --argo"},
		{[]string{"e2e", "submit", "--argo", "--kubeconfig", kubeconfig, "--context", "nope"}, 1, `kubeconfig has no context "nope"`},
	} {
		streams, _, out, errOut := iostreams.Test()
		if code := runProwctl(t, streams, tc.args...); code != tc.code || !strings.Contains(errOut.String(), tc.want) || out.Len() != 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit %d and %q", tc.args, code, errOut, out, tc.code, tc.want)
		}
	}
}
