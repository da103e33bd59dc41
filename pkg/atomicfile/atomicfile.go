// Package atomicfile replaces files so that a reader sees the old bytes or
// the new ones, never a mix, and a crash leaves no partial file: the data
// goes to a temporary file beside the target, which is then renamed over it.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrReadOnly is returned for a target whose mode grants no write
// permission: it was made read-only on purpose, and a rename would replace
// it regardless of its mode.
var ErrReadOnly = errors.New("file is read-only")

// Write replaces path with data. The parent directory is created (0755)
// when missing. A new file gets perm; an existing file keeps its mode and is
// refused with ErrReadOnly when that mode has no write bit. A symlink is
// followed: the file it points to is replaced and the link kept.
func Write(path string, data []byte, perm fs.FileMode) error {
	return WriteFunc(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFunc is Write for data too big to hold in memory: write streams it
// into the temporary file; when it fails, path is left as it was.
func WriteFunc(path string, perm fs.FileMode, write func(io.Writer) error) error {
	target, err := resolve(path)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	mode := perm
	switch fi, err := os.Stat(target); {
	case err == nil:
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("write %s: not a regular file (%s)", path, fi.Mode().Type())
		}
		mode = fi.Mode().Perm()
		if mode&0o222 == 0 {
			return fmt.Errorf("write %s: %w (mode %04o); make it writable first", path, ErrReadOnly, mode)
		}
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
	default:
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	werr := write(tmp)
	err = errors.Join(werr, tmp.Chmod(mode), tmp.Sync(), tmp.Close())
	if err == nil {
		err = os.Rename(tmp.Name(), target)
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// resolve follows symlinks at path to the file they name; a path that does
// not exist yet, or a dangling link, resolves to where the file would be.
func resolve(path string) (string, error) {
	for range 40 { // as the kernel's own bound on link chains
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return path, nil
		}
		if err != nil {
			return "", err
		}
		if fi.Mode()&fs.ModeSymlink == 0 {
			return path, nil
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	return "", errors.New("too many levels of symbolic links")
}
