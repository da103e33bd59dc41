package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

const (
	mkpjTestConfig = "../../pkg/mkpj/testdata/compare/config.yaml"
	mkpjTestJobs   = "../../pkg/mkpj/testdata/compare/jobs"
	testSHA1       = "1111111111111111111111111111111111111111"
	testSHA2       = "2222222222222222222222222222222222222222"
)

// runProwctl runs prowctl with args and returns stdout, stderr and the exit
// code main would use.
func runProwctl(t *testing.T, streams *iostreams.IOStreams, args ...string) int {
	t.Helper()
	root := newRootCmd(newFactory(streams))
	root.SetArgs(args)
	return execute(context.Background(), root, nil, streams.ErrOut)
}

func TestMkpjPrints(t *testing.T) {
	streams, _, out, errOut := iostreams.Test()
	code := runProwctl(t, streams, "mkpj", "--config-path", mkpjTestConfig, "--job-config-path", mkpjTestJobs,
		"--job", "pull-repo-two-verify", "--base-ref", "main", "--base-sha", testSHA1,
		"--pull-number", "9", "--pull-sha", testSHA2, "--pull-author", "bob")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var pj prowapi.ProwJob
	if err := yaml.UnmarshalStrict(out.Bytes(), &pj); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := &prowapi.Refs{Org: "org-b", Repo: "repo-two", BaseRef: "main", BaseSHA: testSHA1, SkipSubmodules: true,
		Pulls: []prowapi.Pull{{Number: 9, SHA: testSHA2, Author: "bob"}}}
	bf := true
	want.BloblessFetch = &bf
	if diff := cmp.Diff(want, pj.Spec.Refs); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
	if pj.Spec.Job != "pull-repo-two-verify" || pj.Status.State != prowapi.TriggeredState || !pj.Spec.Report {
		t.Errorf("job %s state %s report %v", pj.Spec.Job, pj.Status.State, pj.Spec.Report)
	}
}

func TestMkpjJSON(t *testing.T) {
	streams, _, out, errOut := iostreams.Test()
	if code := runProwctl(t, streams, "mkpj", "--config-path", mkpjTestConfig, "--job-config-path", mkpjTestJobs, "--job", "ci-cleanup", "-o", "json"); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.HasPrefix(out.String(), "{\n  \"kind\": \"ProwJob\",") {
		t.Errorf("output:\n%s", out)
	}
}

func TestMkpjErrors(t *testing.T) {
	base := []string{"mkpj", "--config-path", mkpjTestConfig, "--job-config-path", mkpjTestJobs}
	tests := []struct {
		name string
		args []string
		want string
		code int
	}{
		{"unknown job", []string{"--job", "pull-repo-one-unti"}, "prowctl: no job pull-repo-one-unti; did you mean pull-repo-one-unit?\n", 1},
		{"missing refs", []string{"--job", "post-repo-one-push"}, "prowctl: job post-repo-one-push needs refs: set --base-ref, --base-sha (or --local-repo DIR to read SHAs from a checkout, --github-token-path to read them from GitHub)\n", 1},
		{"invalid sha", []string{"--job", "post-repo-one-push", "--base-ref", "main", "--base-sha", "abc"}, "prowctl: invalid refs: --base-sha: \"abc\" is not a full commit SHA (40 hex digits; `git rev-parse` prints one)\n", 1},
		{"wait without create", []string{"--job", "ci-cleanup", "--wait"}, "prowctl: --wait needs --create\n", 2},
		{"bad output", []string{"--job", "ci-cleanup", "-o", "xml"}, "prowctl: -o xml: use yaml or json\n", 2},
		{"bad type", []string{"--job", "ci-cleanup", "--type", "batch"}, "prowctl: --type batch: use presubmit, postsubmit or periodic\n", 2},
		{"no job", nil, "prowctl: required flag(s) \"job\" not set\n", 2},
		{"empty job config path", []string{"--job", "ci-cleanup", "--job-config-path", ""}, "prowctl: --job-config-path: empty path", 2},
		{"unknown flag", []string{"--job", "ci-cleanup", "--jbo", "x"}, "prowctl: unknown flag: --jbo (see prowctl mkpj --help)\n", 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			streams, _, out, errOut := iostreams.Test()
			code := runProwctl(t, streams, append(append([]string{}, base...), tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if out.Len() != 0 {
				t.Errorf("wrote to stdout:\n%s", out)
			}
			if !strings.HasPrefix(errOut.String(), tc.want) {
				t.Errorf("stderr:\n%s\nwant prefix:\n%s", errOut, tc.want)
			}
		})
	}
}

func TestMkpjPromptsOnATerminal(t *testing.T) {
	streams, in, out, errOut := iostreams.Test()
	streams.InTTY = true
	in.WriteString("main\n" + testSHA1 + "\n")
	code := runProwctl(t, streams, "mkpj", "--config-path", mkpjTestConfig, "--job-config-path", mkpjTestJobs, "--job", "post-repo-two-build")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if diff := cmp.Diff("Base ref (e.g. main): Base SHA: ", errOut.String()); diff != "" {
		t.Errorf("prompts on stderr (-want +got):\n%s", diff)
	}
	var pj prowapi.ProwJob
	if err := yaml.Unmarshal(out.Bytes(), &pj); err != nil || pj.Spec.Refs.BaseSHA != testSHA1 {
		t.Fatalf("output %v:\n%s", err, out)
	}
}

func TestMkpjFromGitHub(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok-123" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"message":"Bad credentials"}`)
			return
		}
		if r.URL.Path != "/repos/org-a/repo-one/pulls/5" {
			http.NotFound(w, r)
			return
		}
		fmt.Fprintf(w, `{"user":{"login":"carol"},"head":{"sha":%q,"ref":"topic"},"base":{"sha":%q,"ref":"main"}}`, testSHA2, testSHA1)
	}))
	defer srv.Close()
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("tok-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	streams, _, out, errOut := iostreams.Test()
	code := runProwctl(t, streams, "mkpj", "--config-path", mkpjTestConfig, "--job-config-path", mkpjTestJobs,
		"--job", "pull-repo-one-unit", "--pull-number", "5", "--github-endpoint", srv.URL, "--github-token-path", tokenFile)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var pj prowapi.ProwJob
	if err := yaml.Unmarshal(out.Bytes(), &pj); err != nil {
		t.Fatal(err)
	}
	got := []string{pj.Spec.Refs.BaseRef, pj.Spec.Refs.BaseSHA, pj.Spec.Refs.Pulls[0].SHA, pj.Spec.Refs.Pulls[0].Author}
	if diff := cmp.Diff([]string{"main", testSHA1, testSHA2, "carol"}, got); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}

	// A wrong token fails without printing it.
	if err := os.WriteFile(tokenFile, []byte("wrong-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	streams, _, out, errOut = iostreams.Test()
	code = runProwctl(t, streams, "mkpj", "--config-path", mkpjTestConfig, "--job-config-path", mkpjTestJobs,
		"--job", "pull-repo-one-unit", "--pull-number", "5", "--github-endpoint", srv.URL, "--github-token-path", tokenFile)
	if code != 1 || !strings.Contains(errOut.String(), "401 Unauthorized: Bad credentials") {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	if strings.Contains(errOut.String()+out.String(), "wrong-secret") {
		t.Fatal("the token was printed")
	}
}

func TestCompleteJobNames(t *testing.T) {
	streams, _, out, errOut := iostreams.Test()
	code := runProwctl(t, streams, "__complete", "mkpj", "--config-path", mkpjTestConfig, "--job-config-path", mkpjTestJobs, "--job", "post-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "post-repo-one-push\npost-repo-two-build\n:4\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestProwJobCommandArgs(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	var got *RerunOptions
	cmd := newCmdRerun(newFactory(streams), func(_ context.Context, o *RerunOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"abc", "--latest", "--wait", "--timeout", "90s", "-n", "ns1", "--context", "ctx1"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got.Name != "abc" || !got.Latest || !got.Wait || got.Timeout.Seconds() != 90 || got.Cluster.Namespace != "ns1" || got.Cluster.Context != "ctx1" || got.Report {
		t.Errorf("options %+v", got)
	}

	cmd = newCmdRerun(newFactory(streams), func(context.Context, *RerunOptions) error { t.Fatal("ran"); return nil })
	cmd.SetArgs([]string{"abc", "-f", "x.yaml"})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	if err := cmd.Execute(); err == nil || err.Error() != "give either a ProwJob NAME or -f FILE" {
		t.Errorf("error = %v", err)
	}

	var gotGet *GetOptions
	get := newCmdGet(newFactory(streams), func(_ context.Context, o *GetOptions) error { gotGet = o; return nil })
	get.SetArgs([]string{"-w", "abc"})
	if err := get.Execute(); err != nil || !gotGet.Watch || gotGet.Name != "abc" {
		t.Errorf("get -w: %+v, %v", gotGet, err)
	}
}

func TestCreateRejectsNonProwJob(t *testing.T) {
	f := filepath.Join(t.TempDir(), "pod.yaml")
	if err := os.WriteFile(f, []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	streams, _, _, errOut := iostreams.Test()
	code := runProwctl(t, streams, "create", "-f", f, "--kubeconfig", filepath.Join(t.TempDir(), "none"))
	want := "prowctl: " + f + `: not a ProwJob (apiVersion "v1", kind "Pod"; want apiVersion prow.k8s.io/v1, kind ProwJob)` + "\n"
	if code != 1 || errOut.String() != want {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, errOut, want)
	}
}

func TestCompleteProwJobNames(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/apis/prow.k8s.io/v1":
			fmt.Fprint(w, `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"prow.k8s.io/v1","resources":[{"name":"prowjobs","namespaced":true,"kind":"ProwJob","verbs":["list"]}]}`)
		case "/apis/prow.k8s.io/v1/namespaces/prow/prowjobs":
			fmt.Fprint(w, `{"kind":"ProwJobList","apiVersion":"prow.k8s.io/v1","items":[
				{"metadata":{"name":"abc-1"},"spec":{"job":"ci-a","type":"periodic"},"status":{"state":"success","startTime":"2026-01-01T00:00:00Z"}},
				{"metadata":{"name":"abd-2"},"spec":{"job":"ci-b","type":"periodic"},"status":{"state":"pending","startTime":"2026-01-01T00:01:00Z"}},
				{"metadata":{"name":"xyz-3"},"spec":{"job":"ci-c","type":"periodic"},"status":{"state":"failure","startTime":"2026-01-01T00:02:00Z"}}]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: `+srv.URL+`}}]
contexts: [{name: k, context: {cluster: c, user: u}}]
current-context: k
users: [{name: u, user: {}}]
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"watch", "rerun", "get"} {
		streams, _, out, errOut := iostreams.Test()
		code := runProwctl(t, streams, "__complete", verb, "--kubeconfig", kubeconfig, "--config-path", mkpjTestConfig, "ab")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		want := "abc-1\tci-a (success)\nabd-2\tci-b (pending)\n:4\n"
		if diff := cmp.Diff(want, out.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", verb, diff)
		}
	}
}
