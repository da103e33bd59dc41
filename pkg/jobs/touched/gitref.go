package touched

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/process"
	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// LoadRef loads the Prow config and job config of the checkout in repoDir
// as they are at ref, with Prow's loader, from the ref's tree (git's objects,
// else a git archive copy): the work tree, index and branches are left alone. configPath and
// jobConfigPath are paths in the checkout, as for the work tree.
func LoadRef(ctx context.Context, runner process.Runner, repoDir, ref, configPath, jobConfigPath string) (*config.Config, error) {
	l := &Loader{Runner: runner, RepoDir: repoDir, ConfigPath: configPath, JobConfigPath: jobConfigPath}
	return l.Ref(ctx, ref)
}

// Loader loads the config of one checkout at refs and in its work tree, for
// the two sides of a change. The configs one Loader loads share the decoding
// of job config files that did not change (mkpj.Loader), and Configs' base
// takes from the head the jobs they share, so both sides cost little more
// than one. Safe for concurrent use.
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

// HeadError is Configs' error when the head side, alone, does not load.
type HeadError struct{ Err error }

func (e *HeadError) Error() string { return e.Err.Error() }
func (e *HeadError) Unwrap() error { return e.Err }

// Configs loads the config at base (a ref) and at head (a ref; "" for the
// work tree) side by side, the base taking from the head the jobs the two
// share (mkpj.Loader.LoadFilesLike). A base that does not load is its
// error, even when the head does not load either, as when they loaded in
// turn; a head that does not load is a *HeadError.
func (l *Loader) Configs(ctx context.Context, base, head string) (*Configs, error) {
	cs := &Configs{}
	var headErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		if head == "" {
			cs.Head, headErr = l.WorkTree()
		} else {
			cs.Head, headErr = l.Ref(ctx, head)
		}
	}()
	var baseErr error
	cs.Base, cs.taken, baseErr = l.ref(ctx, base, func() *config.Config {
		<-done
		return cs.Head
	})
	<-done
	if baseErr != nil {
		return nil, baseErr
	}
	if headErr != nil {
		return nil, &HeadError{Err: headErr}
	}
	return cs, nil
}

// Ref loads the config as it is at ref, as LoadRef does.
func (l *Loader) Ref(ctx context.Context, ref string) (*config.Config, error) {
	c, _, err := l.ref(ctx, ref, nil)
	return c, err
}

// ref is Ref, taking jobs from like's config (mkpj.Loader.LoadFilesLike)
// when it reads the ref's files from git's objects.
func (l *Loader) ref(ctx context.Context, ref string, like func() *config.Config) (*config.Config, mkpj.Taken, error) {
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
		return nil, nil, err
	}
	root := strings.TrimSpace(top.String())
	var rels []string
	for _, p := range []string{l.ConfigPath, l.JobConfigPath} {
		abs, err := filepath.Abs(p)
		if err != nil {
			return nil, nil, err
		}
		if resolved, err := filepath.EvalSymlinks(abs); err == nil {
			abs = resolved
		}
		rel, err := filepath.Rel(root, abs)
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return nil, nil, fmt.Errorf("%s is not in the checkout %s", p, root)
		}
		rels = append(rels, filepath.ToSlash(rel))
	}
	dir, err := os.MkdirTemp("", "prowctl-config-")
	if err != nil {
		return nil, nil, err
	}
	defer os.RemoveAll(dir)
	// Most of the time the ref's files load from git's objects without a
	// copy; the copy below is for what that path leaves to it (and errors,
	// whose messages are the copy's).
	if c, taken := l.refFromObjects(ctx, ref, rels, dir, like); c != nil {
		return c, taken, nil
	}
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
		return nil, nil, fmt.Errorf("%s: %w", ref, gitErr)
	}
	if untarErr != nil {
		return nil, nil, fmt.Errorf("%s: %w", ref, untarErr)
	}
	c, err := l.configs.LoadAll(filepath.Join(dir, rels[0]), filepath.Join(dir, rels[1]))
	if err != nil {
		// Positions name the temporary copy: say which ref it was.
		return nil, nil, fmt.Errorf("the config at %s: %s", ref, strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), ""))
	}
	return c, nil, nil
}

// refFromObjects loads the config at ref as the copy in Ref would, with
// its job config files read from git's objects into memory (git ls-tree and
// one git cat-file --batch) and only the Prow config (with a VERSION file
// beside it, which Prow's loader reads) written under dir, where the copy
// would put it. The job files' paths are those the copy would have, so the
// jobs' SourcePath is what a load of the copy gives.
//
// It returns nil, for the copy to decide, on anything unusual: a failing
// git, a .prowignore in the job config tree (its matching is
// pkg/jobconfig's), two files of one basename, a gzipped or oversized file,
// a config the fast load leaves to Prow (mkpj.Loader.LoadFiles).
func (l *Loader) refFromObjects(ctx context.Context, ref string, rels []string, dir string, like func() *config.Config) (*config.Config, mkpj.Taken) {
	run := func(stdin io.Reader, stdout io.Writer, args ...string) error {
		return l.Runner.Run(ctx, process.Cmd{Name: "git", Args: append([]string{"-C", l.RepoDir}, args...), Stdin: stdin, Stdout: stdout, Stderr: io.Discard})
	}
	// A ref that starts with "-" would be an option: the copy's git
	// refuses it.
	if strings.HasPrefix(ref, "-") {
		return nil, nil
	}
	// --full-tree: rels are paths from the top of the checkout; literal:
	// a "*" in a name is that character.
	var tree bytes.Buffer
	if err := run(nil, &tree, append([]string{"--literal-pathspecs", "ls-tree", "-r", "-z", "--full-tree", ref, "--"}, rels...)...); err != nil {
		return nil, nil
	}
	cfgRel, jobsRel := rels[0], rels[1]
	entries, ok := parseTree(tree.Bytes())
	if !ok {
		return nil, nil
	}
	var cfg, version *treeEntry
	var jobs []treeEntry
	versionRel := path.Join(path.Dir(cfgRel), config.ConfigVersionFileName)
	for i, e := range entries {
		switch {
		case e.path == cfgRel:
			cfg = &entries[i]
		case e.path == versionRel:
			version = &entries[i]
		}
		if e.path == jobsRel || strings.HasPrefix(e.path, jobsRel+"/") || jobsRel == "." {
			jobs = append(jobs, e)
		}
	}
	if cfg == nil || !cfg.regular {
		return nil, nil
	}
	files, ok := jobFiles(jobsRel, jobs)
	if !ok {
		return nil, nil
	}
	want := []treeEntry{*cfg}
	if version != nil {
		if !version.regular {
			return nil, nil
		}
		want = append(want, *version)
	}
	want = append(want, files...)
	blobs, ok := l.catBlobs(run, want)
	if !ok {
		return nil, nil
	}
	for i, e := range want[:len(want)-len(files)] {
		p := filepath.Join(dir, filepath.FromSlash(e.path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, nil
		}
		if err := os.WriteFile(p, blobs[i], 0o644); err != nil {
			return nil, nil
		}
	}
	jf := make([]mkpj.JobFile, len(files))
	var total int64
	for i, e := range files {
		b := blobs[len(want)-len(files)+i]
		// jobconfig.ReadFile would gunzip; its budgets are the copy's to
		// report.
		total += int64(len(b))
		if bytes.HasPrefix(b, []byte("\x1F\x8B")) || len(b) > yamlpos.MaxFileBytes || total > yamlpos.MaxTotalBytes {
			return nil, nil
		}
		jf[i] = mkpj.JobFile{Path: filepath.Join(dir, filepath.FromSlash(e.path)), Data: b}
	}
	return l.configs.LoadFilesLike(filepath.Join(dir, filepath.FromSlash(cfgRel)), jf, like)
}

// treeEntry is one entry of git ls-tree -r: regular is a file (not a
// symlink, which the copy leaves out, nor a submodule).
type treeEntry struct {
	path, object string
	regular      bool
}

// parseTree reads git ls-tree -r -z: "MODE TYPE OBJECT\tPATH\x00" each.
func parseTree(out []byte) ([]treeEntry, bool) {
	var entries []treeEntry
	for len(out) > 0 {
		i := bytes.IndexByte(out, 0)
		if i < 0 {
			return nil, false
		}
		line := string(out[:i])
		out = out[i+1:]
		meta, p, ok := strings.Cut(line, "\t")
		f := strings.Fields(meta)
		if !ok || len(f) != 3 {
			return nil, false
		}
		regular := f[1] == "blob" && (f[0] == "100644" || f[0] == "100755")
		entries = append(entries, treeEntry{path: p, object: f[2], regular: regular})
	}
	return entries, true
}

// jobFiles is jobconfig.Files on the entries of a tree under jobsRel: the
// .yaml and .yml regular files, none under a name starting with "..", in
// filepath.Walk's order. false where the walk's rules need the disk: a
// .prowignore, two files of one basename, no file at jobsRel.
func jobFiles(jobsRel string, entries []treeEntry) ([]treeEntry, bool) {
	if len(entries) == 0 || strings.HasPrefix(path.Base(jobsRel), "..") {
		return nil, false
	}
	if len(entries) == 1 && entries[0].path == jobsRel {
		// A single file is read whatever its name.
		return entries, entries[0].regular
	}
	var out []treeEntry
	basenames := map[string]bool{}
	for _, e := range entries {
		rel := strings.TrimPrefix(e.path, jobsRel+"/")
		if jobsRel == "." {
			rel = e.path
		}
		names := strings.Split(rel, "/")
		if slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, "..") }) {
			continue
		}
		base := names[len(names)-1]
		if base == config.ProwIgnoreFileName {
			return nil, false
		}
		if ext := path.Ext(base); (ext != ".yaml" && ext != ".yml") || !e.regular {
			continue
		}
		if basenames[base] {
			return nil, false
		}
		basenames[base] = true
		out = append(out, e)
	}
	// filepath.Walk visits a directory's entries sorted by name, which is
	// not git's order ("a-b/x" before "a/x"): compare name by name.
	slices.SortFunc(out, func(a, b treeEntry) int {
		return slices.Compare(strings.Split(a.path, "/"), strings.Split(b.path, "/"))
	})
	return out, true
}

// catBlobs reads the entries' blobs with one git cat-file --batch.
func (l *Loader) catBlobs(run func(io.Reader, io.Writer, ...string) error, entries []treeEntry) ([][]byte, bool) {
	var in strings.Builder
	for _, e := range entries {
		in.WriteString(e.object + "\n")
	}
	// git writes to a file, not a pipe: a pipe's reader is a goroutine,
	// which waits for a core while the other side's files are decoded on
	// all of them, and git waited for it at every pipe's worth of the
	// megabytes of blobs, finishing after the other side's whole load.
	// Unlinked at once, the file goes away with its descriptor.
	out, err := os.CreateTemp("", "prowctl-blobs-")
	if err != nil {
		return nil, false
	}
	defer out.Close()
	if err := os.Remove(out.Name()); err != nil {
		return nil, false
	}
	if err := run(strings.NewReader(in.String()), out, "cat-file", "--batch"); err != nil {
		return nil, false
	}
	st, err := out.Stat()
	if err != nil {
		return nil, false
	}
	b := make([]byte, st.Size())
	if _, err := out.ReadAt(b, 0); err != nil {
		return nil, false
	}
	blobs := make([][]byte, len(entries))
	for i, e := range entries {
		// "OBJECT blob SIZE\n" CONTENTS "\n"
		nl := bytes.IndexByte(b, '\n')
		if nl < 0 {
			return nil, false
		}
		f := strings.Fields(string(b[:nl]))
		if len(f) != 3 || f[0] != e.object || f[1] != "blob" {
			return nil, false
		}
		size, err := strconv.Atoi(f[2])
		if err != nil || size < 0 || nl+1+size+1 > len(b) {
			return nil, false
		}
		blobs[i] = b[nl+1 : nl+1+size : nl+1+size]
		b = b[nl+1+size+1:]
	}
	return blobs, true
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
