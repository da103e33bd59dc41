package provider

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/prowctl/prowctl/pkg/process"
)

// GKE creates a GKE cluster with gcloud, labelled created-by=prowctl plus the
// job and build, and deletes it at Down.
type GKE struct {
	Project string
	// Zone or Region (one of them).
	Zone, Region string
	NumNodes     int
	MachineType  string
	// Version is the cluster version (--cluster-version); empty: GKE's default.
	Version string
	// ExtraArgs go to `clusters create` as they are.
	ExtraArgs []string
	// Gcloud is the gcloud program (default "gcloud").
	Gcloud string
	Runner process.Runner
}

func (g GKE) gcloud() string {
	if g.Gcloud == "" {
		return "gcloud"
	}
	return g.Gcloud
}

func (g GKE) location() []string {
	if g.Region != "" {
		return []string{"--region=" + g.Region}
	}
	return []string{"--zone=" + g.Zone}
}

// Up creates the cluster and fetches its credentials into req.Dir.
func (g GKE) Up(ctx context.Context, req Request) (Cluster, error) {
	if g.Project == "" || (g.Zone == "") == (g.Region == "") {
		return Cluster{}, errorf("gke", "project and one of zone or region are required")
	}
	if err := os.MkdirAll(req.Dir, 0o700); err != nil {
		return Cluster{}, errorf("gke", "%w", err)
	}
	c := Cluster{
		Provider:   "gke",
		Name:       req.Name,
		Kubeconfig: filepath.Join(req.Dir, "kubeconfig"),
		Extra:      map[string]string{"project": g.Project, "zone": g.Zone, "region": g.Region},
	}
	args := []string{"container", "clusters", "create", req.Name, "--project=" + g.Project}
	args = append(args, g.location()...)
	if g.NumNodes > 0 {
		args = append(args, "--num-nodes="+strconv.Itoa(g.NumNodes))
	}
	if g.MachineType != "" {
		args = append(args, "--machine-type="+g.MachineType)
	}
	if g.Version != "" {
		args = append(args, "--cluster-version="+g.Version)
	}
	args = append(args, "--labels=created-by=prowctl,job="+labelValue(req.Job)+",build="+labelValue(req.Build))
	args = append(args, g.ExtraArgs...)
	args = append(args, "--quiet")
	// From here on a cluster may exist, even if create fails or is cut short.
	c.Created = true
	if _, err := g.run(ctx, req.Env, args); err != nil {
		return c, errorf("gke", "create cluster %s: %w", req.Name, err)
	}
	args = append([]string{"container", "clusters", "get-credentials", req.Name, "--project=" + g.Project}, g.location()...)
	if _, err := g.run(ctx, req.Env, args); err != nil {
		return c, errorf("gke", "credentials of cluster %s: %w", req.Name, err)
	}
	return c, nil
}

// Down deletes the cluster if this run created it.
func (g GKE) Down(ctx context.Context, env Env, c Cluster) error {
	if !c.Created {
		return nil
	}
	g.Project, g.Zone, g.Region = c.Extra["project"], c.Extra["zone"], c.Extra["region"]
	args := append([]string{"container", "clusters", "delete", c.Name, "--project=" + g.Project}, g.location()...)
	args = append(args, "--quiet")
	out, err := g.run(ctx, env, args)
	if err != nil {
		if strings.Contains(out, "NOT_FOUND") || strings.Contains(out, "not found") {
			return nil // already gone: deleting again is fine
		}
		return errorf("gke", "delete cluster %s: %w", c.Name, err)
	}
	return nil
}

// run runs gcloud with KUBECONFIG in env.Dir (where get-credentials writes)
// and returns its error output.
func (g GKE) run(ctx context.Context, env Env, args []string) (string, error) {
	environ := env.Environ
	if environ == nil {
		environ = os.Environ()
	}
	environ = append(append([]string(nil), environ...), "KUBECONFIG="+filepath.Join(env.Dir, "kubeconfig"))
	var stderr bytes.Buffer
	log := logWriter(env.Log)
	err := g.Runner.Run(ctx, process.Cmd{
		Name:   g.gcloud(),
		Args:   args,
		Env:    environ,
		Stdout: log,
		Stderr: io.MultiWriter(log, &stderr),
	})
	return stderr.String(), err
}
