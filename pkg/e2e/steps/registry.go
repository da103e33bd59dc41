package steps

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/registry"
)

// registrySettings: `uses: registry`.
type registrySettings struct {
	// Addr is an existing registry (host:port) to use instead of starting one.
	Addr string `yaml:"addr"`
}

type registryStep struct{ registrySettings }

func newRegistry(s registrySettings, _ *yaml.Node) (e2e.Step, error) {
	return &registryStep{s}, nil
}

// Run starts a registry on loopback that lives until the run ends (or checks
// the configured one answers) and records its address. A registry it started
// leaves the state when it stops: steps run later by hand then write the
// image as an OCI layout and the chart as a .tgz instead.
func (r *registryStep) Run(ctx context.Context, env *e2e.Env) error {
	addr := r.Addr
	if addr == "" {
		srv, err := registry.Start(nil)
		if err != nil {
			return err
		}
		addr = srv.Addr()
		env.AtExit(func(ctx context.Context) error {
			err := srv.Close(ctx)
			// Steps run later, in other processes, must not push to it.
			return errors.Join(err, env.State.Update(func(m map[string]string) {
				if m[e2e.StateRegistry] == addr {
					delete(m, e2e.StateRegistry)
				}
			}))
		})
		fmt.Fprintf(env.Log, "registry serving on %s until the run ends\n", addr)
	} else if err := ping(ctx, addr); err != nil {
		return err
	}
	return env.State.Set(e2e.StateRegistry, addr)
}

// ping checks that a registry answers the OCI distribution API's base URL.
func ping(ctx context.Context, addr string) error {
	scheme := "https"
	if loopback(addr) {
		scheme = "http"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+addr+"/v2/", nil)
	if err != nil {
		return fmt.Errorf("registry %s: %w", addr, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("registry %s: %w", addr, err)
	}
	resp.Body.Close()
	// 401 is a registry asking for credentials: it is there.
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusUnauthorized {
		return fmt.Errorf("registry %s: GET /v2/: %s", addr, resp.Status)
	}
	return nil
}
