package steps

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/registry"
)

// registrySettings: `uses: registry`.
type registrySettings struct {
	// Addr is an existing registry (host:port) to use instead of starting
	// one; http://host:port for one that speaks plain HTTP (as a cluster's
	// own registry on a private address does), which every step then
	// speaks to it. A registry on loopback speaks HTTP anyway.
	Addr string `yaml:"addr"`
}

// addr splits the configured address into host:port and whether it is
// plain HTTP.
func (s registrySettings) addr() (hostport string, plain bool, err error) {
	rest, plain := strings.CutPrefix(s.Addr, "http://")
	rest = strings.TrimPrefix(rest, "https://")
	if strings.Contains(rest, "/") || strings.Contains(rest, "://") {
		return "", false, fmt.Errorf("%q: want HOST:PORT, or http://HOST:PORT for plain HTTP", s.Addr)
	}
	return rest, plain || loopback(rest), nil
}

type registryStep struct{ registrySettings }

func newRegistry(s registrySettings, n *yaml.Node) (e2e.Step, error) {
	if _, _, err := s.addr(); err != nil {
		return nil, settingsError(n, "addr", "%v", err)
	}
	return &registryStep{s}, nil
}

// Run starts a registry on loopback that lives until the run ends (or checks
// the configured one answers) and records its address. A registry it started
// leaves the state when it stops: steps run later by hand then write the
// image as an OCI layout and the chart as a .tgz instead.
func (r *registryStep) Run(ctx context.Context, env *e2e.Env) error {
	addr, plain, err := r.addr()
	if err != nil {
		return err
	}
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
	} else if err := ping(ctx, addr, plain); err != nil {
		return err
	}
	return env.State.Update(func(m map[string]string) {
		m[e2e.StateRegistry] = addr
		delete(m, e2e.StateRegistryScheme)
		if plain && !loopback(addr) {
			m[e2e.StateRegistryScheme] = "http"
		}
	})
}

// ping checks that a registry answers the OCI distribution API's base URL.
func ping(ctx context.Context, addr string, plain bool) error {
	scheme := "https"
	if plain {
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
