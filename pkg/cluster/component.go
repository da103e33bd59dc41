package cluster

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"k8s.io/client-go/rest"

	"github.com/prowctl/prowctl/pkg/netns"
	"github.com/prowctl/prowctl/pkg/process"
)

// A Component is one part of the personal cluster: usually a process built by
// `make tools`, sometimes only objects put into the API server (the ProwJob
// CRD). Up starts a component once every component it Needs is ready: it runs
// Setup, starts Binary with Args (if Binary is set), then polls Ready.
// Adding a part to the cluster (a real node, Deck, a GCS emulator) means
// adding one Component to the list DefaultComponents returns.
type Component struct {
	Name string
	// Tool and Binary name the executable; Binary is empty for a component
	// that runs no process.
	Tool   Tool
	Binary string
	// ToolFiles are other files of Tool the component reads; like Binary,
	// Up checks they exist before it starts anything.
	ToolFiles []string
	// Needs names the components that must be ready before this one starts.
	Needs []string
	// Ports names the ports this component listens on; Up picks a free
	// port on 127.0.0.1 for each.
	Ports []string
	// Setup writes the files the component owns under Env.Dir and creates
	// what it needs in the API server, before its process starts.
	Setup func(ctx context.Context, e *Env) error
	// Args are the command line arguments of Binary.
	Args func(e *Env) []string
	// Environ is added to the clean environment Binary runs in.
	Environ func(e *Env) []string
	// Namespaces are the Linux namespaces Binary runs in; nil for prowctl's
	// own. A node, its runtime and the servers pods reach will run in a
	// network and mount namespace of the cluster's own; Command fills
	// process.Cmd.Namespaces from this, so a test can assert where each
	// component runs without starting it.
	Namespaces func(e *Env) process.Namespaces
	// Ready checks once, without waiting, whether the component is ready.
	// An error wrapping ErrForeignServer says that what answers on the
	// component's port is some other server: Up then restarts the
	// component on fresh ports.
	Ready func(ctx context.Context, e *Env) error
	// Endpoint is what `prowctl cluster status` shows as its address.
	Endpoint func(e *Env) string
	// Holder marks the component whose process holds the cluster's network
	// and mount namespaces: Up starts Binary in new ones (unshare) and,
	// once it runs, sets Env.NS to them for every later component.
	Holder bool
	// System marks a Binary that comes from the machine's packages (PATH),
	// not from `make tools`: containerd.
	System bool
	// Self marks a component that is prowctl itself (Options.Executable),
	// e.g. the forwarder from the host's loopback into the namespace.
	Self bool
}

// Env is what components build their files, flags and checks from. Up fills
// it while starting; Status and Down rebuild it from the state file.
type Env struct {
	// Dir is the cluster's state directory; every file of the cluster lives
	// under it.
	Dir      string
	ToolsDir string
	// ProwConfig is the absolute path of the Prow config plank loads.
	ProwConfig string
	// Ports holds each component's ports by component and port name. Up
	// fills a component's entry when it starts it; read it through Port.
	Ports map[string]map[string]int
	// NS are the cluster's own network and mount namespaces, with a real
	// node; zero when the cluster runs in the host's (a kwok node).
	NS process.Namespaces
	// Runner runs the programs a Setup needs (ip, mount, ctr).
	Runner process.Runner

	portsMu sync.RWMutex // components start concurrently
	mu      sync.Mutex   // guards rest
	rest    *rest.Config
}

// Port returns the port named name of component c.
func (e *Env) Port(c, name string) int {
	e.portsMu.RLock()
	defer e.portsMu.RUnlock()
	return e.Ports[c][name]
}

func (e *Env) setPorts(c string, ports map[string]int) {
	e.portsMu.Lock()
	defer e.portsMu.Unlock()
	if e.Ports == nil {
		e.Ports = map[string]map[string]int{}
	}
	e.Ports[c] = ports
}

// Addr returns 127.0.0.1:port for the port named name of component c.
func (e *Env) Addr(c, name string) string {
	return "127.0.0.1:" + strconv.Itoa(e.Port(c, name))
}

// Dial dials addr where the components listen: inside the cluster's
// network namespace when it has one.
func (e *Env) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	return netns.Dialer{Path: e.NS.Net}.DialContext(ctx, network, addr)
}

// HTTPClient is a client for the components' own endpoints; insecure
// skips verifying the certificate (see healthzReady).
func (e *Env) HTTPClient(insecure bool) *http.Client {
	t := &http.Transport{DialContext: e.Dial, DisableKeepAlives: true}
	if insecure {
		t.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // see healthzReady
	}
	return &http.Client{Timeout: 5 * time.Second, Transport: t}
}

// hostHTTPClient is a client for what the cluster serves on the host's
// loopback (the forwarder, Deck's proxy).
func hostHTTPClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
}

// Path returns a path under the state directory.
func (e *Env) Path(elem ...string) string {
	return filepath.Join(append([]string{e.Dir}, elem...)...)
}

// Kubeconfig is the admin kubeconfig of the cluster, context ContextName:
// the one the host uses.
func (e *Env) Kubeconfig() string { return e.Path("kubeconfig") }

// componentKubeconfig is the admin kubeconfig the components use. With a
// real node it names the API server's port inside the namespace, and the
// host's (Kubeconfig, written by the forwarder) the forwarder's port.
func (e *Env) componentKubeconfig() string {
	if e.NS.Net != "" {
		return e.Path(APIServerName, "kubeconfig")
	}
	return e.Kubeconfig()
}

// Rest returns the admin client configuration, loading it from the
// kubeconfig the first time.
func (e *Env) Rest() (*rest.Config, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.rest != nil {
		return rest.CopyConfig(e.rest), nil
	}
	cfg, err := loadRestConfig(e.componentKubeconfig())
	if err != nil {
		return nil, err
	}
	if e.NS.Net != "" {
		cfg.Dial = e.Dial
	}
	e.rest = cfg
	return rest.CopyConfig(cfg), nil
}

// forgetRest drops the cached client configuration: the API server is
// starting again, on another port.
func (e *Env) forgetRest() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.rest = nil
}

// LogPath is where the component's output goes.
func (e *Env) LogPath(c string) string { return e.Path("logs", c+".log") }

// binaryPath returns the path of the component's binary ("" for none) after
// checking that it and the component's tool files exist. self is prowctl's
// own executable, for a Self component.
func (c *Component) binaryPath(toolsDir, self string) (string, error) {
	for _, f := range c.ToolFiles {
		if _, err := c.Tool.Path(toolsDir, f); err != nil {
			return "", fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	switch {
	case c.Self:
		if self == "" {
			return "", fmt.Errorf("%s: no prowctl executable to run it with (Options.Executable)", c.Name)
		}
		return self, nil
	case c.Binary == "":
		return "", nil
	case c.System:
		p, err := process.LookPath(c.Binary)
		if err != nil {
			return "", fmt.Errorf("%s: %s is not installed (`make tools` installs it from Debian's packages as root): %w", c.Name, c.Binary, err)
		}
		return p, nil
	}
	p, err := c.Tool.Path(toolsDir, c.Binary)
	if err != nil {
		return "", fmt.Errorf("%s: %w", c.Name, err)
	}
	return p, nil
}

// runsProcess says whether the component is a process (else only Setup and
// Ready: objects in the API server, images, the namespace's network).
func (c *Component) runsProcess() bool { return c.Binary != "" || c.Self }
