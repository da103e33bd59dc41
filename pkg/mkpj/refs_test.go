package mkpj

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prowctl/prowctl/pkg/process"
)

func TestResolveMissingRefsNonInteractive(t *testing.T) {
	tests := []struct {
		name      string
		presubmit bool
		in        Refs
		want      []string
	}{
		{"presubmit with nothing", true, Refs{}, []string{"--base-ref", "--base-sha", "--pull-number", "--pull-sha", "--pull-author"}},
		{"presubmit with base only", true, Refs{BaseRef: "main", BaseSHA: sha1}, []string{"--pull-number", "--pull-sha", "--pull-author"}},
		{"postsubmit with nothing", false, Refs{}, []string{"--base-ref", "--base-sha"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Resolve(context.Background(), "j", "o", "r", tc.presubmit, tc.in, RefSources{})
			var missing *MissingRefsError
			if !errors.As(err, &missing) {
				t.Fatalf("error = %v, want MissingRefsError", err)
			}
			if diff := cmp.Diff(tc.want, missing.Flags); diff != "" {
				t.Errorf("flags (-want +got):\n%s", diff)
			}
			if !strings.Contains(err.Error(), "job j needs refs: set "+strings.Join(tc.want, ", ")) {
				t.Errorf("message = %q", err)
			}
		})
	}
}

func TestResolveInvalidRefs(t *testing.T) {
	for _, in := range []Refs{
		{BaseSHA: "abc"},
		{PullSHA: strings.Repeat("g", 40)},
		{BaseRef: "has space"},
		{BaseRef: "a..b"},
		{PullAuthor: "-bad"},
		{PullNumber: -3},
	} {
		_, err := Resolve(context.Background(), "j", "o", "r", true, in, RefSources{})
		if err == nil || !strings.HasPrefix(err.Error(), "invalid refs: --") {
			t.Errorf("Resolve(%+v) error = %v, want invalid refs", in, err)
		}
	}
}

func TestResolvePrompts(t *testing.T) {
	in := strings.NewReader("x\n42\nmain\nnot-a-sha\n" + sha1 + "\n" + sha2 + "\nalice\n")
	var out bytes.Buffer
	got, err := Resolve(context.Background(), "j", "o", "r", true, Refs{}, RefSources{Prompt: NewPrompter(in, &out)})
	if err != nil {
		t.Fatalf("%v\nprompts:\n%s", err, out.String())
	}
	want := Refs{BaseRef: "main", BaseSHA: sha1, PullNumber: 42, PullSHA: sha2, PullAuthor: "alice"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}
	wantOut := `PR Number:   "x" is not a pull request number
PR Number: Base ref (e.g. main): Base SHA:   "not-a-sha" is not a full commit SHA (40 hex digits; ` + "`git rev-parse`" + ` prints one)
Base SHA: PR head SHA: PR author (GitHub login): `
	if diff := cmp.Diff(wantOut, out.String()); diff != "" {
		t.Errorf("prompts (-want +got):\n%s", diff)
	}
}

func TestResolvePromptEOF(t *testing.T) {
	_, err := Resolve(context.Background(), "j", "o", "r", false, Refs{}, RefSources{Prompt: NewPrompter(strings.NewReader(""), &bytes.Buffer{})})
	if err == nil || !strings.Contains(err.Error(), "no answer") {
		t.Fatalf("error = %v, want no answer", err)
	}
}

func TestResolveFromGitHub(t *testing.T) {
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = append(auth, r.Header.Get("Authorization"))
		switch r.URL.Path {
		case "/repos/o/r/pulls/42":
			fmt.Fprintf(w, `{"user":{"login":"bob"},"head":{"sha":%q,"ref":"feature"},"base":{"sha":%q,"ref":"main"}}`, sha2, sha1)
		case "/repos/o/r/git/ref/heads/release-1.0":
			fmt.Fprintf(w, `{"object":{"sha":%q}}`, sha2)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"message":"Not Found"}`)
		}
	}))
	defer srv.Close()
	gh := &GitHub{Endpoint: srv.URL, Token: "s3cr3t-token"}

	got, err := Resolve(context.Background(), "j", "o", "r", true, Refs{PullNumber: 42}, RefSources{GitHub: gh})
	if err != nil {
		t.Fatal(err)
	}
	want := Refs{BaseRef: "main", BaseSHA: sha1, PullNumber: 42, PullSHA: sha2, PullAuthor: "bob"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("presubmit refs (-want +got):\n%s", diff)
	}

	got, err = Resolve(context.Background(), "j", "o", "r", false, Refs{BaseRef: "release-1.0"}, RefSources{GitHub: gh})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Refs{BaseRef: "release-1.0", BaseSHA: sha2}, got); diff != "" {
		t.Errorf("postsubmit refs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"Bearer s3cr3t-token", "Bearer s3cr3t-token"}, auth); diff != "" {
		t.Errorf("Authorization headers (-want +got):\n%s", diff)
	}

	_, err = Resolve(context.Background(), "j", "o", "r", true, Refs{PullNumber: 9}, RefSources{GitHub: gh})
	if err == nil || !strings.Contains(err.Error(), "GitHub: GET /repos/o/r/pulls/9: 404 Not Found: Not Found") {
		t.Fatalf("error = %v, want a 404", err)
	}
	if strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("error leaks the token: %v", err)
	}
}

func TestResolveFromLocalRepo(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Fatal("git is not on PATH")
	}
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		out, err := process.Output(context.Background(), process.Exec{}, process.Cmd{Name: "git", Args: append([]string{"-C", dir}, args...)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	git("init", "-q", "-b", "main")
	git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "base")
	base := git("rev-parse", "HEAD")
	git("checkout", "-q", "-b", "fix-things")
	git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "change")
	head := git("rev-parse", "HEAD")

	local := &LocalRepo{Dir: dir}
	got, err := Resolve(context.Background(), "j", "o", "r", true,
		Refs{BaseRef: "main", PullNumber: 5, PullAuthor: "alice"}, RefSources{Local: local})
	if err != nil {
		t.Fatal(err)
	}
	want := Refs{BaseRef: "main", BaseSHA: base, PullNumber: 5, PullSHA: head, PullAuthor: "alice", PullHeadRef: "fix-things"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("refs (-want +got):\n%s", diff)
	}

	_, err = Resolve(context.Background(), "j", "o", "r", false, Refs{BaseRef: "nope"}, RefSources{Local: local})
	if err == nil || !strings.Contains(err.Error(), "no branch nope") {
		t.Fatalf("error = %v, want no branch nope", err)
	}
}

// Git runs through the injected runner, so a checkout's refs can be faked.
func TestLocalRepoUsesRunner(t *testing.T) {
	rec := &process.Recorder{Fn: func(_ context.Context, c process.Cmd) error {
		if c.Args[len(c.Args)-1] == "refs/remotes/origin/main^{commit}" {
			_, err := io.WriteString(c.Stdout, sha1+"\n")
			return err
		}
		return errors.New("exit status 1")
	}}
	got, err := Resolve(context.Background(), "j", "o", "r", false, Refs{BaseRef: "main"}, RefSources{Local: &LocalRepo{Dir: "/src", Runner: rec}})
	if err != nil {
		t.Fatal(err)
	}
	if got.BaseSHA != sha1 {
		t.Errorf("BaseSHA = %q", got.BaseSHA)
	}
	want := []string{"git -C /src rev-parse --verify --quiet refs/remotes/origin/main^{commit}"}
	if diff := cmp.Diff(want, rec.Calls()); diff != "" {
		t.Errorf("git calls (-want +got):\n%s", diff)
	}
}

// A snapshot of a checkout with changes is a commit on HEAD holding them,
// tracked and untracked (not ignored) alike, and leaves the checkout as it
// was; a clean checkout's snapshot is HEAD.
func TestLocalRepoSnapshot(t *testing.T) {
	dir := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		out, err := process.Output(context.Background(), process.Exec{}, process.Cmd{Name: "git", Args: append([]string{"-C", dir}, args...)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git("init", "-q", "-b", "main")
	write("a.txt", "one\n")
	write(".gitignore", "*.log\n")
	git("add", "a.txt", ".gitignore")
	git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "base")
	head := git("rev-parse", "HEAD")
	local := &LocalRepo{Dir: dir, Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}}

	sha, dirty, err := local.Snapshot(context.Background())
	if err != nil || dirty || sha != head {
		t.Fatalf("clean checkout: Snapshot = %s, %v, %v; want HEAD %s, false", sha, dirty, err, head)
	}

	write("a.txt", "two\n")
	write("new.txt", "untracked\n")
	write("debug.log", "ignored\n")
	git("add", "a.txt") // staged, to see the index survive
	before := git("status", "--porcelain")
	sha, dirty, err = local.Snapshot(context.Background())
	if err != nil || !dirty || sha == head {
		t.Fatalf("changed checkout: Snapshot = %s, %v, %v; want a new commit", sha, dirty, err)
	}
	if got := git("show", sha+":a.txt"); got != "two" {
		t.Errorf("a.txt in the snapshot: %q", got)
	}
	if got := git("show", sha+":new.txt"); got != "untracked" {
		t.Errorf("new.txt in the snapshot: %q", got)
	}
	if _, err := process.Output(context.Background(), process.Exec{}, process.Cmd{Name: "git", Args: []string{"-C", dir, "cat-file", "-e", sha + ":debug.log"}}); err == nil {
		t.Error("the snapshot holds an ignored file")
	}
	if got := git("rev-parse", sha+"^"); got != head {
		t.Errorf("snapshot's parent %s, want HEAD %s", got, head)
	}
	if after := git("status", "--porcelain"); after != before {
		t.Errorf("the checkout changed: status %q, was %q", after, before)
	}
	if got := git("rev-parse", "HEAD"); got != head {
		t.Errorf("HEAD moved to %s", got)
	}
	if refs := git("for-each-ref", "--format=%(refname)"); refs != "refs/heads/main" {
		t.Errorf("refs after the snapshot: %q", refs)
	}
}
