package cluster

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/prowctl/prowctl/pkg/atomicfile"
	"github.com/prowctl/prowctl/pkg/deckproxy"
	"github.com/prowctl/prowctl/pkg/netns"
	"github.com/prowctl/prowctl/pkg/process"
)

// A real node runs pods for real: containerd (runc, CNI bridge) and a
// kubelet, with kube-proxy for Services. Nothing of it may reach past the
// machine, so the whole cluster, control plane included, runs in a network
// namespace of its own that has no route but to its own interfaces, and a
// private mount namespace, so that the mounts kubelet and containerd make
// vanish with it:
//
//	namespace   lo, which also holds nodeIP; cni0, the pods' bridge
//	            (podCIDR), which the bridge plugin makes. No default route,
//	            no veth to the host, no masquerading: a packet for any other
//	            address has nowhere to go.
//	mounts      a fresh tmpfs on /run (containerd's shim sockets, iptables'
//	            lock), DIR/node/var-log on /var/log and DIR/node/var-lib on
//	            /var/lib (CNI's cache, container logs), which kubelet and
//	            containerd write to whatever their flags say;
//	            DIR/storage/volumes on /tmp/hostpath_pv, where the claims'
//	            volumes are made (storage.go).
//	cgroups     everything under /prowctl-<cluster id> in each hierarchy.
//
// The host reaches the cluster only through the forwarder, a prowctl process
// that serves the API server's and GCS's ports on the host's 127.0.0.1 (see
// pkg/netns.Forward) at ports of its own, and the host's kubeconfig names
// them; the components use their own kubeconfig, and prowctl's own checks
// dial into the namespace directly (Env.Dial).

// Names of the real node's components.
const (
	NamespaceName   = "namespace"
	NodeNetworkName = "node-network"
	ContainerdName  = "containerd"
	KubeletName     = "kubelet"
	KubeProxyName   = "kube-proxy"
	NodeImagesName  = "node-images"
	ForwarderName   = "forwarder"
)

// RealNodeName is the real node's name.
const RealNodeName = "prowctl-node"

// Node kinds: which node runs the cluster's pods.
const (
	NodeReal = "real"
	NodeKwok = "kwok"
)

// Components returns the personal cluster with the given kind of node.
func Components(node string) ([]Component, error) {
	switch node {
	case NodeKwok, "":
		return DefaultComponents(), nil
	case NodeReal:
		return RealNodeComponents(), nil
	}
	return nil, fmt.Errorf("unknown node kind %q: want %s or %s", node, NodeReal, NodeKwok)
}

// RealNodeComponents is the personal Prow cluster with a real node: the
// namespace holder and its network, the control plane, volumes for claims,
// containerd, kubelet, kube-proxy, the sandbox image, the ProwJob CRD, plank
// and the forwarder.
func RealNodeComponents() []Component {
	inside := func(c Component) Component {
		c.Namespaces = func(e *Env) process.Namespaces { return e.NS }
		if ep := c.Endpoint; ep != nil {
			// Only the forwarder's ports reach the host.
			c.Endpoint = func(e *Env) string { return ep(e) + " (namespace)" }
		}
		return c
	}
	api := apiServerComponent()
	api.Needs = append(api.Needs, NodeNetworkName)
	apiArgs := api.Args
	api.Args = func(e *Env) []string {
		args := apiArgs(e)
		for i, a := range args {
			switch {
			case a == "--bind-address=127.0.0.1":
				// Pods reach it at nodeIP, through the kubernetes Service.
				args[i] = "--bind-address=0.0.0.0"
			case a == "--advertise-address=127.0.0.1":
				args[i] = "--advertise-address=" + nodeIP
			case a == "--endpoint-reconciler-type=none":
				// The kubernetes Service needs its endpoint now.
				args[i] = "--endpoint-reconciler-type=lease"
			}
		}
		// Logs and exec go to the node's address: there is no name
		// server to look its name up.
		return append(args, "--kubelet-preferred-address-types=InternalIP")
	}
	etcd := etcdComponent()
	etcd.Needs = []string{NodeNetworkName}
	return []Component{
		namespaceComponent(),
		nodeNetworkComponent(),
		inside(etcd),
		inside(api),
		storageComponent(),
		// It provisions volumes only once they are bound where it makes them.
		inside(withNeeds(withHostPathProvisioner(controllerManagerComponent()), StorageName)),
		inside(schedulerComponent()),
		inside(containerdComponent()),
		inside(gcsComponent()),
		inside(registryComponent()),
		inside(goProxyComponent()),
		inside(gitComponent()),
		nodeImagesComponent(),
		inside(kubeletComponent()),
		inside(kubeProxyComponent()),
		prowJobCRDComponent(),
		decorationComponent(),
		deckProxyComponent(),
		servedConfigComponent(),
		inside(withServedConfig(withNeeds(plankComponent(), DecorationName, ServedConfigName))),
		inside(deckComponent()),
		forwarderComponent(),
		jobAccessComponent(),
	}
}

// forwarded are the components (and their ports) the forwarder serves on
// the host's 127.0.0.1. Its own port for each is named after the component.
var forwarded = []struct{ component, port string }{{APIServerName, "secure"}, {GCSName, "http"}, {RegistryName, "http"}}

// ClusterID names what the cluster makes outside its directory (its cgroups),
// from the directory, so two clusters never share them.
func ClusterID(dir string) string {
	return fmt.Sprintf("prowctl-%x", sha256.Sum256([]byte(dir)))[:20]
}

func namespaceComponent() Component {
	return Component{
		Name: NamespaceName, Tool: Pause, Binary: "pause",
		Holder: true,
		Ready: func(ctx context.Context, e *Env) error {
			if e.NS.Net == "" {
				return fmt.Errorf("no namespace yet")
			}
			self, err := os.Readlink("/proc/self/ns/net")
			if err != nil {
				return err
			}
			if l, err := os.Readlink(e.NS.Net); err != nil || l == self {
				return fmt.Errorf("the holder has not entered its namespace yet")
			}
			return nil
		},
		Endpoint: func(e *Env) string { return e.NS.Net },
	}
}

// cgroupHierarchies are the cgroup v1 hierarchies kubelet and runc use.
func cgroupHierarchies() ([]string, error) {
	entries, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range entries {
		if !d.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", d.Name(), "cgroup.procs")); err == nil {
			out = append(out, filepath.Join("/sys/fs/cgroup", d.Name()))
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no cgroup hierarchies under /sys/fs/cgroup")
	}
	return out, nil
}

func nodeNetworkComponent() Component {
	return Component{
		Name:  NodeNetworkName,
		Needs: []string{NamespaceName},
		Setup: func(ctx context.Context, e *Env) error {
			for _, d := range []string{"var-log", "var-lib"} {
				if err := os.MkdirAll(e.Path(NodeNetworkName, d), 0o755); err != nil {
					return err
				}
			}
			steps := [][]string{
				{"ip", "link", "set", "lo", "up"},
				// The node's address; on lo, as these kernels have no
				// dummy interfaces.
				{"ip", "addr", "add", nodeIP + "/32", "dev", "lo"},
				// Pods on the bridge reach Services through the node.
				{"sysctl", "-q", "-w", "net.ipv4.ip_forward=1"},
				{"mount", "-t", "tmpfs", "-o", "mode=0755", "prowctl-run", "/run"},
				{"mount", "--bind", e.Path(NodeNetworkName, "var-log"), "/var/log"},
				{"mount", "--bind", e.Path(NodeNetworkName, "var-lib"), "/var/lib"},
			}
			for _, s := range steps {
				var out strings.Builder
				err := e.Runner.Run(ctx, process.Cmd{Name: s[0], Args: s[1:], Namespaces: e.NS, Stdout: &out, Stderr: &out})
				if err != nil {
					return fmt.Errorf("%s: %w: %s", strings.Join(s, " "), err, strings.TrimSpace(out.String()))
				}
			}
			id := ClusterID(e.Dir)
			if err := makeCgroups(id); err != nil {
				return err
			}
			// The holder started before the cgroups existed.
			holder, err := strconv.Atoi(strings.Split(e.NS.Net, "/")[2])
			if err != nil {
				return fmt.Errorf("namespace holder of %s: %w", e.NS.Net, err)
			}
			return joinCgroup(id, holder)
		},
		Ready: func(ctx context.Context, e *Env) error {
			routes, err := NamespaceRoutes(ctx, e)
			if err != nil {
				return err
			}
			for _, r := range routes {
				if strings.HasPrefix(r, "default") {
					return fmt.Errorf("the cluster's namespace has a default route: %s", r)
				}
			}
			return nil
		},
		Endpoint: func(e *Env) string { return nodeIP },
	}
}

// NamespaceRoutes lists the routes of the cluster's network namespace, one
// line each as `ip route` prints them, in every table.
func NamespaceRoutes(ctx context.Context, e *Env) ([]string, error) {
	var out strings.Builder
	err := e.Runner.Run(ctx, process.Cmd{Name: "ip", Args: []string{"route", "show", "table", "all"}, Namespaces: process.Namespaces{Net: e.NS.Net}, Stdout: &out})
	if err != nil {
		return nil, fmt.Errorf("ip route: %w", err)
	}
	var routes []string
	for _, l := range strings.Split(out.String(), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			routes = append(routes, l)
		}
	}
	return routes, nil
}

// systemCgroup holds the cluster's own processes, beside kubelet's kubepods.
const systemCgroup = "system"

// joinCgroup moves pid into /<id>/system in every hierarchy.
func joinCgroup(id string, pid int) error {
	hs, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	for _, h := range hs {
		f := filepath.Join(h, id, systemCgroup, "cgroup.procs")
		if err := os.WriteFile(f, []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return fmt.Errorf("move pid %d into %s: %w", pid, filepath.Dir(f), err)
		}
	}
	return nil
}

// makeCgroups makes /<id> and /<id>/system in every hierarchy, the root of everything kubelet
// and runc create (kubelet refuses a cgroup root that does not exist).
func makeCgroups(id string) error {
	hs, err := cgroupHierarchies()
	if err != nil {
		return err
	}
	for _, h := range hs {
		parent := h
		for _, d := range []string{filepath.Join(h, id), filepath.Join(h, id, systemCgroup)} {
			if err := os.Mkdir(d, 0o755); err != nil && !os.IsExist(err) {
				return fmt.Errorf("make cgroup %s: %w", d, err)
			}
			// A cpuset cgroup starts with no CPUs and memory nodes: give
			// it its parent's, or no process can join it.
			for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
				if b, err := os.ReadFile(filepath.Join(parent, f)); err == nil {
					if err := os.WriteFile(filepath.Join(d, f), b, 0o644); err != nil {
						return fmt.Errorf("%s: %w", filepath.Join(d, f), err)
					}
				}
			}
			parent = d
		}
	}
	return nil
}

// containerdSocket is containerd's socket inside the cluster's mount
// namespace: on its private /run, so a long cluster directory cannot push it
// past the length limit of a socket path.
const containerdSocket = "/run/prowctl/containerd.sock"

func containerdConfig(e *Env) string {
	dir := func(elem ...string) string { return e.Path(append([]string{ContainerdName}, elem...)...) }
	return fmt.Sprintf(`# Written by prowctl cluster up.
version = 2
# Images and containers' writable layers live in memory, on the namespace's
# private /run: importing the node's images onto the disk (fsync'd blobs)
# took 3 s more of every cluster start. A job writing gigabytes outside its
# volumes uses memory for them.
root = "/run/prowctl/containerd-root"
state = "/run/prowctl/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = %[1]q

[plugins."io.containerd.internal.v1.opt"]
  path = %[2]q

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = %[3]q
  # Root here lacks CAP_SYS_RESOURCE: without this every sandbox hangs in
  # ContainerCreating (runc cannot set oom_score_adj -998).
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = %[4]q
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = %[5]q
`, containerdSocket, dir("opt"), SandboxImage(), dir("net.d"), dir("certs.d"))
}

// cniConfig is the pods' network: a bridge in the cluster's namespace with
// the pods' gateway on it, and nothing beyond.
func cniConfig(e *Env) string {
	return fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "prowctl",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cni0",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": %q,
        "ranges": [[{"subnet": %q}]],
        "routes": [{"dst": "0.0.0.0/0"}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, e.Path(ContainerdName, "ipam"), podCIDR)
}

func containerdComponent() Component {
	return Component{
		Name: ContainerdName, Binary: "containerd", System: true,
		Needs: []string{NodeNetworkName},
		Setup: func(ctx context.Context, e *Env) error {
			for _, d := range []string{"opt", "net.d", "certs.d", "ipam"} {
				if err := os.MkdirAll(e.Path(ContainerdName, d), 0o700); err != nil {
					return err
				}
			}
			if err := atomicfile.Write(e.Path(ContainerdName, "config.toml"), []byte(containerdConfig(e)), 0o644); err != nil {
				return err
			}
			return atomicfile.Write(e.Path(ContainerdName, "net.d", "10-prowctl.conflist"), []byte(cniConfig(e)), 0o644)
		},
		Args: func(e *Env) []string {
			return []string{"--config=" + e.Path(ContainerdName, "config.toml"), "--log-level=warn"}
		},
		Ready: func(ctx context.Context, e *Env) error {
			return e.Runner.Run(ctx, ctrCmd(e, "version"))
		},
		Endpoint: func(e *Env) string { return "unix://" + containerdSocket },
	}
}

// ctrCmd runs containerd's own client on the cluster's containerd, in the
// namespace Kubernetes' images live in.
func ctrCmd(e *Env, args ...string) process.Cmd {
	return process.Cmd{Name: "ctr", Args: append([]string{"--address", containerdSocket, "--namespace", "k8s.io"}, args...), Namespaces: e.NS}
}

func kubeletConfig(e *Env) string {
	return fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
cgroupRoot: /%[1]s
failSwapOn: false
containerRuntimeEndpoint: unix://%[2]s
address: %[3]s
port: %[4]d
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: %[5]d
# The kubelet's API is only reachable inside the cluster's namespace.
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
resolvConf: %[6]q
serializeImagePulls: false
# A small disk must not evict the jobs under test.
evictionHard:
  memory.available: 50Mi
  nodefs.available: 1%%
  nodefs.inodesFree: 1%%
  imagefs.available: 1%%
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
protectKernelDefaults: false
`, ClusterID(e.Dir), containerdSocket, nodeIP, e.Port(KubeletName, "api"), e.Port(KubeletName, "healthz"), e.Path(KubeletName, "resolv.conf"))
}

func kubeletComponent() Component {
	return Component{
		Name: KubeletName, Tool: Kubernetes, Binary: "kubelet",
		// Not the node's images: Up waits for them too, and they take
		// longest to import.
		Needs: []string{ContainerdName, APIServerName},
		Ports: []string{"api", "healthz"},
		Setup: func(ctx context.Context, e *Env) error {
			if err := os.MkdirAll(e.Path(KubeletName, "root"), 0o700); err != nil {
				return err
			}
			// Pods get no name server: there is none to reach.
			if err := atomicfile.Write(e.Path(KubeletName, "resolv.conf"), []byte("# no name servers: pods of the personal cluster have no network beyond it\n"), 0o644); err != nil {
				return err
			}
			return atomicfile.Write(e.Path(KubeletName, "config.yaml"), []byte(kubeletConfig(e)), 0o644)
		},
		Args: func(e *Env) []string {
			return []string{
				"--config=" + e.Path(KubeletName, "config.yaml"),
				"--kubeconfig=" + e.componentKubeconfig(),
				"--root-dir=" + e.Path(KubeletName, "root"),
				"--cert-dir=" + e.Path(KubeletName, "pki"),
				"--hostname-override=" + RealNodeName,
				"--node-ip=" + nodeIP,
				"--v=1",
			}
		},
		Ready: func(ctx context.Context, e *Env) error {
			if _, err := httpGet(ctx, e.HTTPClient(false), "http://127.0.0.1:"+strconv.Itoa(e.Port(KubeletName, "healthz"))+"/healthz"); err != nil {
				return err
			}
			kube, err := e.kube()
			if err != nil {
				return err
			}
			node, err := kube.CoreV1().Nodes().Get(ctx, RealNodeName, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for _, c := range node.Status.Conditions {
				if c.Type == corev1.NodeReady {
					if c.Status == corev1.ConditionTrue {
						return nil
					}
					return fmt.Errorf("node %s not ready: %s", RealNodeName, c.Message)
				}
			}
			return fmt.Errorf("node %s has no Ready condition yet", RealNodeName)
		},
		Endpoint: func(e *Env) string { return "https://" + nodeIP + ":" + strconv.Itoa(e.Port(KubeletName, "api")) },
	}
}

func kubeProxyComponent() Component {
	return Component{
		Name: KubeProxyName, Tool: Kubernetes, Binary: "kube-proxy",
		// It needs the node object, and backs off for long without it.
		Needs: []string{KubeletName},
		Ports: []string{"healthz", "metrics"},
		Args: func(e *Env) []string {
			return []string{
				"--kubeconfig=" + e.componentKubeconfig(),
				"--hostname-override=" + RealNodeName,
				"--proxy-mode=iptables",
				"--cluster-cidr=" + podCIDR,
				"--healthz-bind-address=" + e.Addr(KubeProxyName, "healthz"),
				"--metrics-bind-address=" + e.Addr(KubeProxyName, "metrics"),
				// A network namespace cannot change the host's conntrack
				// table size or timeouts: leave them as they are.
				"--conntrack-max-per-core=0",
				"--conntrack-tcp-timeout-established=0",
				"--conntrack-tcp-timeout-close-wait=0",
			}
		},
		Ready: func(ctx context.Context, e *Env) error {
			_, err := httpGet(ctx, e.HTTPClient(false), "http://"+e.Addr(KubeProxyName, "healthz")+"/healthz")
			return err
		},
		Endpoint: func(e *Env) string { return "http://" + e.Addr(KubeProxyName, "healthz") + "/healthz" },
	}
}

func forwarderComponent() Component {
	var ports, needs []string
	for _, f := range forwarded {
		ports = append(ports, f.component)
		needs = append(needs, f.component)
	}
	return Component{
		Name: ForwarderName, Self: true,
		// After Deck's proxy, whose address the kubeconfig records
		// (WithoutDeck drops the need).
		Needs: append(needs, DeckProxyName),
		Ports: ports,
		// The host's kubeconfig: the components' one, at the forwarder's
		// port, with Deck's address for `prowctl open` and the URLs
		// mkpj --create prints.
		Setup: func(ctx context.Context, e *Env) error {
			cfg, err := clientcmd.LoadFromFile(e.componentKubeconfig())
			if err != nil {
				return err
			}
			for _, c := range cfg.Clusters {
				c.Server = "https://" + e.Addr(ForwarderName, APIServerName)
			}
			if e.Port(DeckProxyName, "http") != 0 {
				if err := deckproxy.SetKubeconfigURL(cfg, "http://"+e.Addr(DeckProxyName, "http")+"/"); err != nil {
					return err
				}
			}
			b, err := clientcmd.Write(*cfg)
			if err != nil {
				return err
			}
			return atomicfile.Write(e.Kubeconfig(), b, 0o600)
		},
		Args: func(e *Env) []string {
			args := []string{ForwardCommand, "--netns=" + e.NS.Net}
			for _, f := range forwarded {
				args = append(args, netns.Port{Host: e.Port(ForwarderName, f.component), Target: e.Port(f.component, f.port)}.String())
			}
			return args
		},
		Ready: func(ctx context.Context, e *Env) error {
			// The API server through the forwarder, as the host sees it.
			cfg, err := loadRestConfig(e.Kubeconfig())
			if err != nil {
				return err
			}
			client, err := rest.HTTPClientFor(cfg)
			if err != nil {
				return err
			}
			_, err = readyGet(ctx, client, cfg.Host+"/readyz")
			return err
		},
		Endpoint: func(e *Env) string {
			return "https://" + e.Addr(ForwarderName, APIServerName) + " (host: API server), http://" + e.Addr(ForwarderName, GCSName) + " (host: GCS), " + e.Addr(ForwarderName, RegistryName) + " (host: registry)"
		},
	}
}

// withServedConfig makes c load the served Prow config (see
// servedConfigComponent) instead of the user's.
func withServedConfig(c Component) Component {
	args := c.Args
	c.Args = func(e *Env) []string {
		out := args(e)
		for i, a := range out {
			if strings.HasPrefix(a, "--config-path=") {
				out[i] = "--config-path=" + e.servedConfig()
			}
		}
		return out
	}
	return c
}

func withNeeds(c Component, needs ...string) Component {
	c.Needs = append(append([]string{}, c.Needs...), needs...)
	return c
}
