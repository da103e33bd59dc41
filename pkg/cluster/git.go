package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/prowctl/prowctl/pkg/process"
)

// GitName is the real node's git server: git daemon, serving read-only the
// repositories prowctl publishes local commits to, so that a job's
// clonerefs clones a commit that was never pushed anywhere.
const GitName = "git"

// gitDaemon is Debian's git daemon (package git); `git daemon` would exec
// it, and a component must be the program it started.
const gitDaemon = "/usr/lib/git-core/git-daemon"

func gitComponent() Component {
	return Component{
		Name: GitName, Binary: gitDaemon, System: true,
		Needs: []string{NodeNetworkName},
		Ports: []string{"git"},
		Setup: func(ctx context.Context, e *Env) error {
			return os.MkdirAll(e.Path(GitName, "repos"), 0o755)
		},
		Args: func(e *Env) []string {
			return []string{
				"--reuseaddr", "--export-all", "--informative-errors",
				"--base-path=" + e.Path(GitName, "repos"),
				"--listen=0.0.0.0", "--port=" + strconv.Itoa(e.Port(GitName, "git")),
			}
		},
		Ready: func(ctx context.Context, e *Env) error {
			c, err := e.Dial(ctx, "tcp", e.Addr(GitName, "git"))
			if err != nil {
				return err
			}
			return c.Close()
		},
		Endpoint: func(e *Env) string { return gitURL(e, "") },
	}
}

func gitURL(e *Env, path string) string {
	return "git://" + nodeIP + ":" + strconv.Itoa(e.Port(GitName, "git")) + "/" + path
}

var repoPart = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// PublishCommits copies commits of the git checkout src into the cluster's
// git server as org/repo, under refs (full ref name to commit), and returns
// the clone URI pods use for it. Refs already there are overwritten.
func PublishCommits(ctx context.Context, s *State, runner process.Runner, org, repo, src string, refs map[string]string) (string, error) {
	if s.Node != NodeReal {
		return "", fmt.Errorf("the cluster in %s has a %s node: local commits need a real node (prowctl cluster up --node real)", s.Dir, s.nodeKind())
	}
	for _, p := range []string{org, repo} {
		if !repoPart.MatchString(p) || p == "." || p == ".." {
			return "", fmt.Errorf("repository %s/%s: not a name the git server can serve", org, repo)
		}
	}
	e := s.Env()
	if e.Port(GitName, "git") == 0 {
		return "", fmt.Errorf("the cluster in %s has no git server; start it again with this prowctl", s.Dir)
	}
	bare := e.Path(GitName, "repos", org, repo+".git")
	if _, err := os.Stat(filepath.Join(bare, "HEAD")); err != nil {
		if err := os.MkdirAll(filepath.Dir(bare), 0o755); err != nil {
			return "", err
		}
		if _, err := process.Output(ctx, runner, process.Cmd{Name: "git", Args: []string{"init", "--quiet", "--bare", bare}}); err != nil {
			return "", err
		}
	}
	args := []string{"-C", src, "push", "--quiet", "--force", "--no-verify", bare}
	for ref, sha := range refs {
		if !strings.HasPrefix(ref, "refs/") {
			return "", fmt.Errorf("ref %q: want a full ref name (refs/...)", ref)
		}
		args = append(args, sha+":"+ref)
	}
	if _, err := process.Output(ctx, runner, process.Cmd{Name: "git", Args: args}); err != nil {
		return "", fmt.Errorf("publish %s/%s to the cluster's git server: %w", org, repo, err)
	}
	// clonerefs fetches the remote's HEAD too: make it the branch.
	for ref := range refs {
		if strings.HasPrefix(ref, "refs/heads/") {
			if _, err := process.Output(ctx, runner, process.Cmd{Name: "git", Args: []string{"--git-dir", bare, "symbolic-ref", "HEAD", ref}}); err != nil {
				return "", err
			}
			break
		}
	}
	return gitURL(e, org+"/"+repo+".git"), nil
}

func (s *State) nodeKind() string {
	if s.Node == "" {
		return NodeKwok
	}
	return s.Node
}
