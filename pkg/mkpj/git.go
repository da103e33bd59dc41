package mkpj

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prowctl/prowctl/pkg/process"
)

// LocalRepo reads refs from a checkout of the job's repo: the checked-out
// commit is the pull request's head, branches are looked up on the remote
// "origin" first, then locally.
type LocalRepo struct {
	Dir string
	// Runner runs git; process.Exec{} when nil.
	Runner process.Runner
	// Env is the environment Snapshot runs git with (the command passes
	// its own); other calls inherit prowctl's.
	Env []string
}

func (l *LocalRepo) git(ctx context.Context, args ...string) (string, error) {
	r := l.Runner
	if r == nil {
		r = process.Exec{}
	}
	out, err := process.Output(ctx, r, process.Cmd{Name: "git", Args: append([]string{"-C", l.Dir}, args...)})
	if err != nil {
		return "", fmt.Errorf("--local-repo %s: %w", l.Dir, err)
	}
	return out, nil
}

// BranchSHA returns the commit of branch, preferring origin's copy, which is
// what the pull request merges into.
func (l *LocalRepo) BranchSHA(ctx context.Context, branch string) (string, error) {
	var firstErr error
	for _, ref := range []string{"refs/remotes/origin/" + branch, "refs/heads/" + branch} {
		sha, err := l.git(ctx, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
		if err == nil && sha != "" {
			return sha, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return "", fmt.Errorf("--local-repo %s: no branch %s (neither origin/%s nor a local branch)", l.Dir, branch, branch)
}

func (l *LocalRepo) fill(ctx context.Context, r *Refs, presubmit bool) error {
	if presubmit && r.PullSHA == "" {
		sha, err := l.git(ctx, "rev-parse", "--verify", "HEAD^{commit}")
		if err != nil {
			return err
		}
		r.PullSHA = sha
	}
	if presubmit && r.PullHeadRef == "" {
		if b, err := l.git(ctx, "rev-parse", "--abbrev-ref", "HEAD"); err == nil && b != "HEAD" {
			r.PullHeadRef = b
		}
	}
	if r.BaseRef == "" {
		// origin/HEAD names the default branch after a clone.
		if b, err := l.git(ctx, "rev-parse", "--abbrev-ref", "refs/remotes/origin/HEAD"); err == nil && strings.HasPrefix(b, "origin/") {
			r.BaseRef = strings.TrimPrefix(b, "origin/")
		}
	}
	return nil
}

// Snapshot returns a commit of the checkout as it is on disk: HEAD when
// nothing changed, else a new commit on top of HEAD holding every tracked
// and untracked (not ignored) file as it is now, with dirty true. The
// commit is made with a throwaway index, so the checkout's index, branches
// and files stay untouched; no ref names it, so git's garbage collection
// drops it in time. Env is the environment git runs with (l.Env, plus the
// throwaway index).
func (l *LocalRepo) Snapshot(ctx context.Context) (sha string, dirty bool, err error) {
	head, err := l.git(ctx, "rev-parse", "--verify", "HEAD^{commit}")
	if err != nil {
		return "", false, err
	}
	status, err := l.git(ctx, "status", "--porcelain", "--untracked-files=all")
	if err != nil {
		return "", false, err
	}
	if status == "" {
		return head, false, nil
	}
	gitDir, err := l.git(ctx, "rev-parse", "--absolute-git-dir")
	if err != nil {
		return "", false, err
	}
	index := filepath.Join(gitDir, fmt.Sprintf("prowctl-snapshot-index.%d", time.Now().UnixNano()))
	defer os.Remove(index)
	env := append(append([]string{}, l.Env...), "GIT_INDEX_FILE="+index,
		"GIT_AUTHOR_NAME=prowctl", "GIT_AUTHOR_EMAIL=prowctl@localhost",
		"GIT_COMMITTER_NAME=prowctl", "GIT_COMMITTER_EMAIL=prowctl@localhost")
	run := func(args ...string) (string, error) {
		r := l.Runner
		if r == nil {
			r = process.Exec{}
		}
		out, err := process.Output(ctx, r, process.Cmd{Name: "git", Args: append([]string{"-C", l.Dir}, args...), Env: env})
		if err != nil {
			return "", fmt.Errorf("--local-repo %s: %w", l.Dir, err)
		}
		return out, nil
	}
	if _, err := run("read-tree", "HEAD"); err != nil {
		return "", false, err
	}
	if _, err := run("add", "--all"); err != nil {
		return "", false, err
	}
	tree, err := run("write-tree")
	if err != nil {
		return "", false, err
	}
	sha, err = run("commit-tree", tree, "-p", head, "-m", "prowctl: uncommitted changes of "+l.Dir)
	if err != nil {
		return "", false, err
	}
	return sha, true, nil
}

// DefaultBranch is the branch a job of the checkout runs against when no
// base ref is given: origin's default branch after a clone, else the
// branch checked out.
func (l *LocalRepo) DefaultBranch(ctx context.Context) (string, error) {
	if b, err := l.git(ctx, "rev-parse", "--abbrev-ref", "refs/remotes/origin/HEAD"); err == nil && strings.HasPrefix(b, "origin/") {
		return strings.TrimPrefix(b, "origin/"), nil
	}
	b, err := l.git(ctx, "rev-parse", "--abbrev-ref", "HEAD")
	if err != nil {
		return "", err
	}
	if b == "HEAD" {
		return "", fmt.Errorf("--local-repo %s: no branch checked out and no origin/HEAD: set --base-ref", l.Dir)
	}
	return b, nil
}
