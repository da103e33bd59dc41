package mkpj

import (
	"context"
	"fmt"
	"strings"

	"github.com/prowctl/prowctl/pkg/process"
)

// LocalRepo reads refs from a checkout of the job's repo: the checked-out
// commit is the pull request's head, branches are looked up on the remote
// "origin" first, then locally.
type LocalRepo struct {
	Dir string
	// Runner runs git; process.Exec{} when nil.
	Runner process.Runner
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
