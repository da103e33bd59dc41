package provider

import (
	"context"
	"fmt"
	"io"
)

// LocalCluster is the personal cluster's library (pkg/cluster), behind an
// interface so this package does not start one in its unit tests.
type LocalCluster interface {
	// Up starts the cluster in dir unless it runs already. prowConfig is
	// the Prow config its Prow components load, node the kind of node a
	// cluster it starts gets (pkg/cluster's NodeReal or NodeKwok).
	Up(ctx context.Context, dir, prowConfig, node string, log io.Writer) (LocalUp, error)
	// Down stops the cluster in dir and removes its state.
	Down(ctx context.Context, dir string, log io.Writer) error
}

// LocalUp is the cluster LocalCluster.Up found or started.
type LocalUp struct {
	Kubeconfig string
	// Started is true when Up started it.
	Started bool
	// Registry is the cluster's own, when its node pulls images for real.
	Registry Registry
}

// Local is the personal cluster on this machine. A cluster that ran before
// the run is used and left running; one the run started is stopped at Down.
type Local struct {
	// Dir is the cluster's directory (empty: the request's private directory).
	Dir        string
	ProwConfig string
	// Node is the kind of node a cluster the run starts gets; a cluster
	// that runs already is used as it is.
	Node    string
	Cluster LocalCluster
}

// Up starts the personal cluster, or finds it running.
func (l Local) Up(ctx context.Context, req Request) (Cluster, error) {
	dir := l.Dir
	if dir == "" {
		dir = req.Dir
	}
	c := Cluster{Provider: "local", Name: req.Name, Extra: map[string]string{"dir": dir}}
	up, err := l.Cluster.Up(ctx, dir, l.ProwConfig, l.Node, logWriter(req.Log))
	c.Kubeconfig, c.Created, c.Registry = up.Kubeconfig, up.Started, up.Registry
	if err != nil {
		// pkg/cluster stops what it started when it fails, and the
		// directory may hold someone else's running cluster: not ours.
		c.Created = false
		return c, fmt.Errorf("local: start cluster in %s: %w", dir, err)
	}
	return c, nil
}

// Down stops the cluster if the run started it.
func (l Local) Down(ctx context.Context, env Env, c Cluster) error {
	if !c.Created {
		return nil
	}
	if err := l.Cluster.Down(ctx, c.Extra["dir"], logWriter(env.Log)); err != nil {
		return fmt.Errorf("local: stop cluster in %s: %w", c.Extra["dir"], err)
	}
	return nil
}
