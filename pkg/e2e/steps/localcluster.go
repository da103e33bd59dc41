package steps

import (
	"context"
	"errors"
	"io"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/e2e/steps/provider"
)

// localCluster runs the personal cluster of pkg/cluster.
type localCluster struct {
	// stopWithParent ties the cluster to this process, for tests. Otherwise
	// the cluster outlives it: `e2e step cluster-up` hands it to later
	// steps run by hand, and teardown stops it.
	stopWithParent bool
}

func (l localCluster) Up(ctx context.Context, dir, prowConfig, node string, log io.Writer) (provider.LocalUp, error) {
	st, running, err := cluster.Up(ctx, cluster.Options{Dir: dir, ProwConfig: prowConfig, Node: node, Progress: log, StopWithParent: l.stopWithParent})
	if err != nil {
		return provider.LocalUp{}, err
	}
	up := provider.LocalUp{Kubeconfig: st.Kubeconfig, Started: !running}
	up.Registry.Push, up.Registry.Pull = st.ImageRegistry()
	return up, nil
}

func (localCluster) Down(ctx context.Context, dir string, log io.Writer) error {
	_, err := cluster.Down(ctx, dir, cluster.DownOptions{})
	if errors.Is(err, cluster.ErrNoCluster) {
		return nil // stopped already
	}
	return err
}
