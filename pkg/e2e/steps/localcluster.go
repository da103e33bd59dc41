package steps

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
)

// LocalDir is where the local provider runs the personal cluster by default.
var LocalDir = func() string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".local", "state", "prowctl", "cluster")
}

var errNoLocal = errors.New("the personal cluster (pkg/cluster) is not in this build yet")

// localCluster will run the personal cluster of pkg/cluster.
type localCluster struct{}

func (localCluster) Up(context.Context, string, string, io.Writer) (string, bool, error) {
	return "", false, errNoLocal
}

func (localCluster) Down(context.Context, string, io.Writer) error { return errNoLocal }
