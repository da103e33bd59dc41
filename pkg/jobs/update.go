package jobs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"

	"github.com/prowctl/prowctl/pkg/atomicfile"
	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// Target is the file the spec's jobs are written to: a standalone generated
// file, or (InPlace) a shared Prow config whose tf-k8s entries are edited.
type Target struct {
	Path    string
	InPlace bool
}

// Change is what bringing a target up to date would do: its current and
// wanted content.
type Change struct {
	Target Target
	// Exists is false when the standalone file is not there yet.
	Exists   bool
	Old, New []byte
}

// UpToDate reports whether the target already holds what the spec generates.
func (c *Change) UpToDate() bool { return c.Exists && bytes.Equal(c.Old, c.New) }

// Diff is a unified diff from the target's content to the wanted content,
// empty when up to date.
func (c *Change) Diff() string {
	if c.UpToDate() {
		return ""
	}
	from := c.Target.Path
	if !c.Exists {
		from = "/dev/null"
	}
	return UnifiedDiff(from, c.Target.Path+" (generated)", c.Old, c.New, 3)
}

// Plan computes the change that brings target up to date with the spec,
// without writing anything. In-place targets must exist.
func Plan(s *Spec, target Target) (*Change, error) {
	if err := s.CheckWithProw(); err != nil {
		return nil, err
	}
	c := &Change{Target: target}
	// A named pipe as the target would block the read until it had a
	// writer: yamlpos refuses special files and oversized ones up front.
	old, err := yamlpos.ReadFile(target.Path)
	var pe *fs.PathError
	switch {
	case err == nil:
		c.Exists, c.Old = true, old
	case errors.Is(err, fs.ErrNotExist) && !target.InPlace:
	case errors.As(err, &pe):
		// The path error names the path again: keep only its reason.
		return nil, fmt.Errorf("read %s: %w", target.Path, pe.Err)
	default:
		return nil, err
	}
	if target.InPlace {
		c.New, err = UpdateInPlace(old, s)
		var pe *Error
		if errors.As(err, &pe) && pe.File == "" {
			pe.File = target.Path
		}
	} else {
		c.New, err = Generate(s)
	}
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Write stores the wanted content unless the target is up to date; it reports
// whether it wrote.
func (c *Change) Write() (bool, error) {
	if c.UpToDate() {
		return false, nil
	}
	// A symlinked target is written through (the link stays), and a
	// read-only one is refused rather than replaced.
	if err := atomicfile.Write(c.Target.Path, c.New, 0o644); err != nil {
		return false, err
	}
	return true, nil
}

// OutOfDateError reports a target that differs from what the spec generates;
// it makes the command exit 1.
type OutOfDateError struct {
	Path string
	// Command regenerates the target.
	Command string
}

func (e *OutOfDateError) Error() string {
	return fmt.Sprintf("%s is out of date; run: %s", e.Path, e.Command)
}

// ExitCode is 1: the check ran and failed.
func (e *OutOfDateError) ExitCode() int { return 1 }
