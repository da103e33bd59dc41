package touched

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/process"
)

// LoadRef loads the Prow config and job config of the checkout in repoDir
// as they are at ref, with Prow's loader, from the ref's tree (git archive):
// the work tree, index and branches are left alone. configPath and
// jobConfigPath are paths in the checkout, as for the work tree.
func LoadRef(ctx context.Context, runner process.Runner, repoDir, ref, configPath, jobConfigPath string) (*config.Config, error) {
	l := &Loader{Runner: runner, RepoDir: repoDir, ConfigPath: configPath, JobConfigPath: jobConfigPath}
	return l.Ref(ctx, ref)
}

// Loader loads the config of one checkout at refs and in its work tree, for
// the two sides of a change. The configs one Loader loads share the decoding
// of job config files that did not change (mkpj.Loader), so both sides cost
// little more than one. Safe for concurrent use.
type Loader struct {
	Runner process.Runner
	// RepoDir is the checkout; ConfigPath and JobConfigPath are paths in it.
	RepoDir, ConfigPath, JobConfigPath string

	configs mkpj.Loader
}

// WorkTree loads the config in the work tree, as mkpj.LoadAll does.
func (l *Loader) WorkTree() (*config.Config, error) {
	return l.configs.LoadAll(l.ConfigPath, l.JobConfigPath)
}

// Ref loads the config as it is at ref, as LoadRef does.
func (l *Loader) Ref(ctx context.Context, ref string) (*config.Config, error) {
	git := func(stdout io.Writer, args ...string) error {
		var stderr bytes.Buffer
		err := l.Runner.Run(ctx, process.Cmd{Name: "git", Args: append([]string{"-C", l.RepoDir}, args...), Stdout: stdout, Stderr: &stderr})
		if err != nil {
			// Not git's exit code: ours is 1.
			return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
		}
		return nil
	}
	var top bytes.Buffer
	if err := git(&top, "rev-parse", "--show-toplevel"); err != nil {
		return nil, err
	}
	root := strings.TrimSpace(top.String())
	var rels []string
	for _, p := range []string{l.ConfigPath, l.JobConfigPath} {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, err
		}
		if resolved, err := filepath.EvalSymlinks(abs); err == nil {
			abs = resolved
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return nil, fmt.Errorf("%s is not in the checkout %s", p, root)
		}
		rels = append(rels, filepath.ToSlash(rel))
	}
	dir, err := os.MkdirTemp("", "prowctl-config-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	// The files are written as git produces them rather than after.
	pr, pw := io.Pipe()
	untarred := make(chan error, 1)
	go func() {
		err := untar(pr, dir)
		// git cannot exit before its output is read: the padding after the
		// end-of-archive marker, or the rest after a bad entry.
		_, derr := io.Copy(io.Discard, pr)
		if err == nil {
			err = derr
		}
		untarred <- err
	}()
	gitErr := git(pw, append([]string{"archive", "--format=tar", ref, "--"}, rels...)...)
	pw.CloseWithError(gitErr)
	untarErr := <-untarred
	// When git fails, what untar made of its partial output does not matter.
	if gitErr != nil {
		return nil, fmt.Errorf("%s: %w", ref, gitErr)
	}
	if untarErr != nil {
		return nil, fmt.Errorf("%s: %w", ref, untarErr)
	}
	c, err := l.configs.LoadAll(filepath.Join(dir, rels[0]), filepath.Join(dir, rels[1]))
	if err != nil {
		// Positions name the temporary copy: say which ref it was.
		return nil, fmt.Errorf("the config at %s: %s", ref, strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""))
	}
	return c, nil
}

// untar writes the regular files and directories of a tar stream under dir.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	// A directory is made once, however many entries it holds.
	made := map[string]bool{}
	mkdir := func(p string) error {
		if made[p] {
			return nil
		}
		made[p] = true
		return os.MkdirAll(p, 0o755)
	}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Clean(filepath.FromSlash(h.Name))
		if filepath.IsAbs(name) || name == ".." || strings.HasPrefix(name, ".."+string(filepath.Separator)) {
			return fmt.Errorf("bad path %q in the archive", h.Name)
		}
		p := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := mkdir(p); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := mkdir(filepath.Dir(p)); err != nil {
				return err
			}
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}
