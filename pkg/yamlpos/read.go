// Package yamlpos reads YAML input with positions: it refuses what would
// block or exhaust a command (special files, oversized files, alias bombs),
// places syntax errors at their real line and column, and decodes strictly
// with "did you mean" for unknown fields. Every reader of user YAML (the
// jobs spec, the lint, the e2e pipeline, ProwJob files) goes through it, so
// one mistake is reported at one position whichever command meets it.
package yamlpos

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"syscall"
)

// Budgets. Real inputs are far below them: a job config file is under 1 MB
// and a 600-file config repository about 10 MB; a spec or pipeline is a few
// KB. They exist so hostile input (a 50 MB file, a 56 KB alias bomb that
// expands to gigabytes) fails in milliseconds with a message instead of
// taking minutes and gigabytes.
const (
	// MaxFileBytes bounds one input file (after gunzip for job config).
	MaxFileBytes = 8 << 20
	// MaxTotalBytes bounds all the job config files of one directory.
	MaxTotalBytes = 64 << 20
	// MaxNodes bounds one document's nodes counted with every alias
	// expanded, which is what decoding it into Go values builds.
	MaxNodes = 1 << 20
)

// ReadFile reads a file a command was pointed at. A directory, named pipe,
// device or socket is refused before opening (opening a pipe blocks until a
// writer comes), and a file over MaxFileBytes is refused without reading it.
// Errors are one line: "path: reason".
func ReadFile(path string) ([]byte, error) {
	if err := CheckRegular(path); err != nil {
		return nil, err
	}
	f, st, err := openRegular(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	size := st.Size()
	// Sized up front, as os.ReadFile does: lint reads hundreds of files.
	var buf bytes.Buffer
	buf.Grow(int(min(size, MaxFileBytes)) + bytes.MinRead)
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxFileBytes+1)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, UnwrapPath(err))
	}
	if buf.Len() > MaxFileBytes {
		return nil, tooBig(path)
	}
	return buf.Bytes(), nil
}

// ReadAll reads r (standard input, say) up to MaxFileBytes; name names it
// in errors.
func ReadAll(name string, r io.Reader) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, UnwrapPath(err))
	}
	if len(b) > MaxFileBytes {
		return nil, tooBig(name)
	}
	return b, nil
}

// ReadFileMaybeGzip is ReadFile for files Prow reads gzipped or not (job
// config); the budget applies to the uncompressed bytes.
func ReadFileMaybeGzip(path string) ([]byte, error) {
	b, err := ReadFile(path)
	if err != nil || !bytes.HasPrefix(b, []byte("\x1F\x8B")) {
		return b, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%s: gzip: %w", path, err)
	}
	defer zr.Close()
	out, err := ReadAll(path, zr)
	if err != nil {
		return nil, err
	}
	return out, nil
}

func tooBig(name string) error {
	return fmt.Errorf("%s: larger than %d MiB, the limit for one input file (yamlpos.MaxFileBytes); real config files are far smaller", name, MaxFileBytes>>20)
}

// CheckRegular refuses, with a one-line error, a path that is not a regular
// file (symlinks are followed) or is larger than MaxFileBytes.
func CheckRegular(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return &fs.PathError{Op: "read", Path: path, Err: UnwrapPath(err)}
	}
	if kind := specialKind(st.Mode()); kind != "" {
		return fmt.Errorf("%s: is %s, not a regular file", path, kind)
	}
	if st.Size() > MaxFileBytes {
		return tooBig(path)
	}
	return nil
}

// openRegular opens path for reading only if it is a regular file. With
// O_NONBLOCK, should the path have become a named pipe since an earlier
// check, the open returns at once instead of waiting for a writer, and the
// Stat of what was opened refuses it.
func openRegular(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, &fs.PathError{Op: "read", Path: path, Err: UnwrapPath(err)}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, &fs.PathError{Op: "read", Path: path, Err: UnwrapPath(err)}
	}
	if kind := specialKind(st.Mode()); kind != "" {
		f.Close()
		return nil, nil, fmt.Errorf("%s: is %s, not a regular file", path, kind)
	}
	return f, st, nil
}

// specialKind names a mode that is not a regular file, "" for a regular one.
func specialKind(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return ""
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// SpecialKind names what a non-regular file is ("a directory", "a named
// pipe (FIFO)", ...), "" for a regular file.
func SpecialKind(m fs.FileMode) string { return specialKind(m) }

// UnwrapPath returns the reason of a *fs.PathError, for messages that
// name the path themselves; any other error as it is.
func UnwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
