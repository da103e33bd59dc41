package cluster

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"

	"github.com/prowctl/prowctl/pkg/registry"
)

// RegistryName is the real node's image registry: what an e2e run deploys
// is pushed there and the node pulls it, as a CI cluster pulls from its
// project's registry. It is prowctl's own (pkg/registry) in the cluster's
// namespace on all its addresses: pods push to it at the node's address,
// the host through the forwarder. containerd pulls from it over plain HTTP
// (hosts.toml, written by Setup).
const RegistryName = "registry"

// RegistryCommand --port=N: the registry.
const RegistryCommand = "__prowctl-registry"

func registryComponent() Component {
	return Component{
		Name: RegistryName, Self: true,
		Needs: []string{NodeNetworkName},
		Ports: []string{"http"},
		Setup: func(ctx context.Context, e *Env) error {
			// containerd reads certs.d at each pull: the file may come
			// after containerd started, and again after a restart on a
			// fresh port.
			host := e.registryNodeAddr()
			dir := e.Path(ContainerdName, "certs.d", host)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			hosts := fmt.Sprintf("server = %q\n\n[host.%q]\n  capabilities = [\"pull\", \"resolve\"]\n", "http://"+host, "http://"+host)
			return os.WriteFile(dir+"/hosts.toml", []byte(hosts), 0o644)
		},
		Args: func(e *Env) []string {
			return []string{RegistryCommand, "--port=" + strconv.Itoa(e.Port(RegistryName, "http"))}
		},
		Ready: func(ctx context.Context, e *Env) error {
			_, err := httpGet(ctx, e.HTTPClient(false), "http://"+e.Addr(RegistryName, "http")+"/v2/")
			return err
		},
		Endpoint: func(e *Env) string { return "http://" + e.registryNodeAddr() },
	}
}

// registryNodeAddr is the registry as pods and the node reach it.
func (e *Env) registryNodeAddr() string {
	return net.JoinHostPort(nodeIP, strconv.Itoa(e.Port(RegistryName, "http")))
}

// ImageRegistry is the cluster's registry: push is where the host reaches
// it (127.0.0.1:PORT, through the forwarder), pull is the name the node and
// pods know it by (NODE-IP:PORT), which images to run must carry. Both are
// "" when the cluster has none (a kwok node).
func (s *State) ImageRegistry() (push, pull string) {
	port := s.port(RegistryName, "http")
	if port == 0 {
		return "", ""
	}
	return s.HostAddr(RegistryName, "http"), net.JoinHostPort(nodeIP, strconv.Itoa(port))
}

// serveRegistry serves the registry on all addresses of the cluster's
// namespace until ctx ends.
func serveRegistry(ctx context.Context, args []string, logw io.Writer) error {
	fs := flag.NewFlagSet(RegistryCommand, flag.ContinueOnError)
	fs.SetOutput(logw)
	port := fs.Int("port", 0, "port")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *port <= 0 || *port > 65535 {
		return errors.New("registry: --port is required")
	}
	srv, err := registry.Listen(net.JoinHostPort("", strconv.Itoa(*port)), logw)
	if err != nil {
		return err
	}
	fmt.Fprintf(logw, "registry: serving on port %d\n", *port)
	<-ctx.Done()
	return srv.Close(context.Background())
}
