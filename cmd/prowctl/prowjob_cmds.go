package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/prowjob"
	"github.com/prowctl/prowctl/pkg/yamlpos"
)

// newCmdsProwJob returns the verbs on ProwJobs of a cluster: create, rerun,
// watch and get.
func newCmdsProwJob(f *Factory) []*cobra.Command {
	return []*cobra.Command{
		newCmdCreate(f, nil),
		newCmdRerun(f, nil),
		newCmdWatch(f, nil),
		newCmdGet(f, nil),
		newCmdLogs(f, nil),
		newCmdOpen(f, nil),
	}
}

// maxProwJobBytes bounds what create and rerun read: the apiserver stores
// objects of at most 1.5 MiB, so a larger input is no ProwJob it would take,
// and an endless one (a device) ends with an error instead of all memory.
const maxProwJobBytes = 3 << 20

// readProwJob reads the ProwJob of -f; "-" is standard input, so mkpj's
// output can be piped in as with kubectl. A read that blocks (an idle pipe)
// ends when ctx does.
func readProwJob(ctx context.Context, in io.Reader, path string) (*prowapi.ProwJob, error) {
	name, r := "standard input", in
	if path != "-" {
		// Stat first: opening a FIFO would block until it has a writer.
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if !fi.Mode().IsRegular() {
			return nil, usageErrorf("-f %s: not a regular file (%s): give a ProwJob file, or - for standard input", path, yamlpos.SpecialKind(fi.Mode()))
		}
		file, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer file.Close()
		name, r = path, file
	}
	b, err := readAll(ctx, r, maxProwJobBytes)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return prowjob.Decode(name, b)
}

// readAll reads r to its end, at most limit bytes, or until ctx ends. The
// read itself cannot be interrupted: it is left to the process's exit.
func readAll(ctx context.Context, r io.Reader, limit int64) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		b, err := io.ReadAll(io.LimitReader(r, limit+1))
		ch <- result{b, err}
	}()
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case res := <-ch:
		if res.err == nil && int64(len(res.b)) > limit {
			return nil, fmt.Errorf("larger than %d MiB: a ProwJob is at most 1.5 MiB", limit>>20)
		}
		return res.b, res.err
	}
}
