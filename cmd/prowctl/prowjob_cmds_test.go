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
	"syscall"
	"testing"
	"time"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

// TestClusterCommandsStopOnSignal: Ctrl-C (or a CI runner's SIGTERM) stops a
// command that waits on the apiserver. Prow's interrupts package, linked in
// with its config loader, catches the first signal and only logs it; without
// a handler of our own the command would wait out the apiserver.
func TestClusterCommandsStopOnSignal(t *testing.T) {
	// An apiserver that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	kc := `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://` + ln.Addr().String() + `", insecure-skip-tls-verify: true}
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
users:
- name: u
  user: {token: t}
`
	if err := os.WriteFile(kubeconfig, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			args, _ := json.Marshal([]string{"watch", "some-job", "--kubeconfig", kubeconfig})
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			child := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestE2EChildProcess$")
			child.Env = append(os.Environ(), "PROWCTL_E2E_CHILD="+string(args))
			var out bytes.Buffer
			child.Stdout, child.Stderr = &out, &out
			if err := child.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second) // connected and waiting for an answer
			sent := time.Now()
			if err := child.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			err := child.Wait()
			if took := time.Since(sent); took > 3*time.Second {
				t.Errorf("took %s to stop after %s\n%s", took, sig, out.String())
			}
			if err == nil {
				t.Errorf("exit 0 after %s, want non-zero\n%s", sig, out.String())
			}
			if !strings.Contains(out.String(), "interrupted") {
				t.Errorf("output does not say it was interrupted:\n%s", out.String())
			}
		})
	}
}

// TestFilenameDashReadsStdin: -f - reads the ProwJob from standard input, so
// `prowctl mkpj ... | prowctl create -f -` works as with kubectl.
func TestFilenameDashReadsStdin(t *testing.T) {
	for _, verb := range []string{"create", "rerun"} {
		streams, in, _, errOut := iostreams.Test()
		in.WriteString("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n")
		code := runProwctl(t, streams, verb, "-f", "-", "--kubeconfig", filepath.Join(t.TempDir(), "none"))
		want := `prowctl: standard input: not a ProwJob (apiVersion "v1", kind "Pod"; want apiVersion prow.k8s.io/v1, kind ProwJob)` + "\n"
		if code != 1 || errOut.String() != want {
			t.Errorf("%s -f -: exit %d, stderr:\n%s\nwant:\n%s", verb, code, errOut, want)
		}
	}
}
