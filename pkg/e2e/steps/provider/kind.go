package provider

import (
	"context"
	"os"
	"path/filepath"

	"github.com/prowctl/prowctl/pkg/process"
)

// Kind creates a kind cluster (Kubernetes in Docker) and deletes it at Down.
type Kind struct {
	// Image is the node image (--image); Config a kind config file.
	Image, Config string
	// Wait is how long kind waits for the control plane (--wait), e.g. "5m".
	Wait string
	// Kind is the kind program (default "kind").
	Kind   string
	Runner process.Runner
}

func (k Kind) kind() string {
	if k.Kind == "" {
		return "kind"
	}
	return k.Kind
}

// Up creates the cluster with its kubeconfig in req.Dir.
func (k Kind) Up(ctx context.Context, req Request) (Cluster, error) {
	if err := os.MkdirAll(req.Dir, 0o700); err != nil {
		return Cluster{}, errorf("kind", "%w", err)
	}
	c := Cluster{
		Provider:   "kind",
		Name:       req.Name,
		Kubeconfig: filepath.Join(req.Dir, "kubeconfig"),
		Context:    "kind-" + req.Name,
	}
	args := []string{"create", "cluster", "--name", req.Name, "--kubeconfig", c.Kubeconfig}
	if k.Image != "" {
		args = append(args, "--image", k.Image)
	}
	if k.Config != "" {
		args = append(args, "--config", k.Config)
	}
	if k.Wait != "" {
		args = append(args, "--wait", k.Wait)
	}
	c.Created = true
	if err := k.run(ctx, req.Env, args); err != nil {
		return c, errorf("kind", "create cluster %s: %w", req.Name, err)
	}
	return c, nil
}

// Down deletes the cluster if this run created it. `kind delete cluster`
// succeeds for a cluster that does not exist.
func (k Kind) Down(ctx context.Context, env Env, c Cluster) error {
	if !c.Created {
		return nil
	}
	args := []string{"delete", "cluster", "--name", c.Name, "--kubeconfig", c.Kubeconfig}
	if err := k.run(ctx, env, args); err != nil {
		return errorf("kind", "delete cluster %s: %w", c.Name, err)
	}
	return nil
}

func (k Kind) run(ctx context.Context, env Env, args []string) error {
	environ := env.Environ
	if environ == nil {
		environ = os.Environ()
	}
	log := logWriter(env.Log)
	return k.Runner.Run(ctx, process.Cmd{Name: k.kind(), Args: args, Env: environ, Stdout: log, Stderr: log})
}
