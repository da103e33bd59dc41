// Package jobconfig lists the job config files Prow reads from a directory,
// for every command that reads job config (the lint, mkpj), so they agree
// with Prow and with each other on which files count.
package jobconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	gitignore "github.com/denormal/go-gitignore"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// Error is a path that keeps the job config from being read: "path: reason".
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Duplicate is a file whose basename another file already has; Prow
// refuses the config (updateconfig keys its configmap by basename).
type Duplicate struct {
	Path, First string
}

// Problem says what Prow makes of a duplicate, for lint and mkpj alike.
func (d Duplicate) Problem() string {
	return fmt.Sprintf("duplicated basename is not allowed: %s (also %s); rename one", filepath.Base(d.Path), d.First)
}

// Listing is what Files found.
type Listing struct {
	// Files in Prow's order (lexical, depth first).
	Files []string
	// Duplicates are not in Files.
	Duplicates []Duplicate
}

// Files lists the files Prow's config.ReadJobConfig reads from path: path
// itself when it is a file; else every *.yaml and *.yml below it, minus
// those .prowignore files exclude and Kubernetes' "..*" volume entries.
//
// Where Prow would block or spin it refuses, with an *Error: a listed file
// that is a named pipe, device or socket (Prow would block reading it), a
// .prowignore that is not a regular file (a directory spins Prow's ignore
// parser forever), files totalling more than yamlpos.MaxTotalBytes. A
// directory Prow cannot walk is an error too, where Prow logs and goes on.
func Files(path string) (*Listing, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &Error{Path: path, Err: yamlpos.UnwrapPath(err)}
	}
	if !st.IsDir() {
		if err := yamlpos.CheckRegular(path); err != nil {
			return nil, err
		}
		return &Listing{Files: []string{path}}, nil
	}
	ignore, err := gitignore.NewRepositoryWithFile(path, config.ProwIgnoreFileName)
	if err != nil {
		return nil, &Error{Path: filepath.Join(path, config.ProwIgnoreFileName), Err: err}
	}
	l := &Listing{}
	basenames := map[string]string{}
	checked := map[string]ignoreFile{}
	var total int64
	err = filepath.Walk(path, func(p string, info fs.FileInfo, err error) error {
		if err != nil {
			return &Error{Path: p, Err: yamlpos.UnwrapPath(err)}
		}
		if strings.HasPrefix(info.Name(), "..") {
			if info.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		// Matching reads the .prowignore of every directory from p's up to
		// the root: check them before the library opens them.
		anyIgnore, err := checkIgnoreFiles(filepath.Clean(path), filepath.Dir(p), checked)
		if err != nil {
			return err
		}
		// Matching costs more than the rest of the walk; with no ignore
		// file on the way up nothing can match.
		if anyIgnore {
			if m := ignore.Match(p); m != nil && m.Ignore() {
				return nil
			}
		}
		if info.IsDir() {
			return nil
		}
		st, err := os.Stat(p) // follows a symlink, as Prow's read does
		if err != nil {
			return &Error{Path: p, Err: yamlpos.UnwrapPath(err)}
		}
		if kind := yamlpos.SpecialKind(st.Mode()); kind != "" {
			return &Error{Path: p, Err: fmt.Errorf("is %s, not a regular file; Prow reads every *.yaml and *.yml here: remove it or add it to %s", kind, config.ProwIgnoreFileName)}
		}
		if st.Size() > yamlpos.MaxFileBytes {
			return yamlpos.CheckRegular(p) // its one-line "too big"
		}
		total += st.Size()
		if total > yamlpos.MaxTotalBytes {
			return &Error{Path: path, Err: fmt.Errorf("job config files total more than %d MiB, the limit (yamlpos.MaxTotalBytes); real configs are far smaller", yamlpos.MaxTotalBytes>>20)}
		}
		base := filepath.Base(p)
		if first, ok := basenames[base]; ok {
			l.Duplicates = append(l.Duplicates, Duplicate{Path: p, First: first})
			return nil
		}
		basenames[base] = p
		l.Files = append(l.Files, p)
		return nil
	})
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			return nil, e
		}
		return nil, &Error{Path: path, Err: err}
	}
	return l, nil
}

// checkIgnoreFiles refuses a .prowignore that is not a regular file in dir
// or any directory between it and root, and says whether there is one.
func checkIgnoreFiles(root, dir string, checked map[string]ignoreFile) (bool, error) {
	found := false
	for {
		c, ok := checked[dir]
		if !ok {
			p := filepath.Join(dir, config.ProwIgnoreFileName)
			if st, serr := os.Stat(p); serr == nil {
				c.exists = true
				if kind := yamlpos.SpecialKind(st.Mode()); kind != "" {
					c.err = &Error{Path: p, Err: fmt.Errorf("is %s; %s must be a file of patterns", kind, config.ProwIgnoreFileName)}
				}
			}
			checked[dir] = c
		}
		if c.err != nil {
			return false, c.err
		}
		found = found || c.exists
		up := filepath.Dir(dir)
		if dir == root || up == dir {
			return found, nil
		}
		dir = up
	}
}

// ignoreFile is what checkIgnoreFiles found in one directory.
type ignoreFile struct {
	exists bool
	err    error
}

// ReadFile reads one job config file as Prow does (gzipped or not), within
// yamlpos's budgets and refusing special files.
func ReadFile(path string) ([]byte, error) {
	return yamlpos.ReadFileMaybeGzip(path)
}
