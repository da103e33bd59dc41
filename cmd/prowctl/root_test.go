package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

// A typo in a verb fails (exit 2) and names the closest verb; a group
// called with nothing prints its help and exits 0.
func TestUnknownCommands(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		code    int
		wantErr string
		wantOut string // a prefix of stdout
	}{
		{[]string{"jobs", "lnit"}, 2, `prowctl: unknown command "lnit" for "prowctl jobs"; did you mean lint?` + "\n", ""},
		{[]string{"e2e", "rnu"}, 2, `prowctl: unknown command "rnu" for "prowctl e2e"; did you mean run?` + "\n", ""},
		{[]string{"cluster", "stauts"}, 2, `prowctl: unknown command "stauts" for "prowctl cluster"; did you mean status?` + "\n", ""},
		{[]string{"completion", "tcsh"}, 2, `prowctl: unknown command "tcsh" for "prowctl completion"; did you mean bash, fish or zsh?` + "\n", ""},
		{[]string{"jbos"}, 2, `prowctl: unknown command "jbos" for "prowctl"; did you mean jobs?` + "\n", ""},
		{[]string{"cluster", "xyzzy"}, 2, `prowctl: unknown command "xyzzy" for "prowctl cluster" (commands: down, load, status, up)` + "\n", ""},
		{[]string{"jobs", "lint", "extra"}, 2, "prowctl: unexpected argument extra: lint takes paths as --job-config-path and --config-path\n", ""},
		{[]string{"mkpj", "extra"}, 2, `prowctl: unknown command "extra" for "prowctl mkpj"` + "\n", ""},
		{[]string{"watch"}, 2, "prowctl: accepts 1 arg(s), received 0\n", ""},
		{[]string{"jobs", "--bogus"}, 2, "prowctl: unknown flag: --bogus (see prowctl jobs --help)\n", ""},
		{[]string{"jobs"}, 0, "", "Generate, update and lint Prow job config\n\nUsage:\n  prowctl jobs [flags]\n  prowctl jobs [command]"},
		{[]string{"e2e"}, 0, "", "e2e runs a pipeline"},
		{nil, 0, "", "Author, lint and test Prow jobs\n\nUsage:"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			streams, _, out, errOut := iostreams.Test()
			code := runProwctl(t, streams, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if diff := cmp.Diff(tc.wantErr, errOut.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if !strings.HasPrefix(out.String(), tc.wantOut) || (tc.wantOut == "") != (out.Len() == 0) {
				t.Errorf("stdout:\n%s\nwant prefix:\n%s", out, tc.wantOut)
			}
		})
	}
}

// Every path flag refuses an explicit empty value, naming the flag; the
// command does not run.
func TestEmptyPathFlags(t *testing.T) {
	for _, args := range [][]string{
		{"jobs", "generate", "--spec", ""},
		{"jobs", "generate", "--out", ""},
		{"jobs", "generate", "--in-place", ""},
		{"jobs", "lint", "--config-path", ""},
		{"jobs", "lint", "--job-config-path", ""},
		{"jobs", "lint", "--spec", ""},
		{"mkpj", "--job", "j", "--job-config-path", ""},
		{"mkpj", "--job", "j", "--config-path", ""},
		{"mkpj", "--job", "j", "--github-token-path", ""},
		{"mkpj", "--job", "j", "--local-repo", ""},
		{"mkpj", "--job", "j", "--kubeconfig", ""},
		{"create", "-f", ""},
		{"create", "--filename=", "--kubeconfig", "k"},
		{"rerun", "x", "--job-config-path", ""},
		{"rerun", "-f", ""},
		{"watch", "x", "--kubeconfig", ""},
		{"get", "--config-path", ""},
		{"e2e", "run", "--pipeline", ""},
		{"e2e", "run", "--artifacts", ""},
		{"e2e", "run", "--upload", ""},
		{"e2e", "step", "x", "--artifacts", ""},
		{"e2e", "graph", "--pipeline", ""},
		{"cluster", "up", "--dir", ""},
		{"cluster", "up", "--prow-config", ""},
		{"cluster", "up", "--tools", ""},
		{"cluster", "down", "--dir", ""},
		{"cluster", "status", "--dir", ""},
		{"jobs", "which", "--changed", "a", "--config-path", ""},
		{"jobs", "which", "--base", "HEAD", "--repo-dir", ""},
		{"image", "build", "--spec", ""},
		{"jobs", "diff", "--repo-dir", ""},
		{"run", "j", "--spec", ""},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			streams, _, out, errOut := iostreams.Test()
			code := runProwctl(t, streams, args...)
			flag := ""
			for i, a := range args {
				if a == "" {
					flag = args[i-1]
				}
				if strings.HasSuffix(a, "=") {
					flag = strings.TrimSuffix(a, "=")
				}
			}
			if flag == "-f" {
				flag = "--filename"
			}
			want := "prowctl: " + flag + ": empty path: give a file or directory, or leave the flag out for its default\n"
			if code != 2 || errOut.String() != want || out.Len() != 0 {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant exit 2 and:\n%s", code, out, errOut, want)
			}
		})
	}
}

// The group commands of the tree each carry the strict handler, the
// completion command included.
func TestEveryGroupIsStrict(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	root := newRootCmd(newFactory(streams))
	var groups []string
	for _, c := range append(root.Commands(), root) {
		if c.HasSubCommands() {
			groups = append(groups, c.Name())
			if c.RunE == nil {
				t.Errorf("%s: no strict handler", c.CommandPath())
			}
		}
	}
	if diff := cmp.Diff([]string{"cluster", "completion", "e2e", "image", "jobs", "prowctl"}, groups); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
}
