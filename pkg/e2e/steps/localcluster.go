package steps

import (
	"context"
	"errors"
	"io"
)

// localCluster runs the personal cluster of pkg/cluster.
type localCluster struct{}

func (localCluster) Up(ctx context.Context, dir string, log io.Writer) (string, bool, error) {
	return "", false, errors.New("the personal cluster (pkg/cluster) is not available in this build")
}

func (localCluster) Down(ctx context.Context, dir string, log io.Writer) error {
	return errors.New("the personal cluster (pkg/cluster) is not available in this build")
}
