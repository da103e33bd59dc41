package provider

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/yaml"
)

// ServiceAccountDir is where Kubernetes mounts a pod's service account.
const ServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// InCluster is the cluster the run's pod runs in, through the pod's service
// account: a Prow job on the personal cluster deploys into that very
// cluster. Nothing is created and nothing deleted; what the run may do is
// what the service account's RBAC allows. The cluster's registry, if it
// has one, comes from its KEP-1755 ConfigMap.
type InCluster struct {
	// SADir is the service account's directory; ServiceAccountDir when
	// empty.
	SADir string
}

// Up writes a kubeconfig for the pod's service account (the token file is
// named, not copied: the kubelet rotates it) and finds the registry.
func (p InCluster) Up(ctx context.Context, req Request) (Cluster, error) {
	sa := p.SADir
	if sa == "" {
		sa = ServiceAccountDir
	}
	host, port := lookupEnv(req.Environ, "KUBERNETES_SERVICE_HOST"), lookupEnv(req.Environ, "KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return Cluster{}, errorf("in-cluster", "not in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset")
	}
	for _, f := range []string{"token", "ca.crt", "namespace"} {
		if _, err := os.Stat(filepath.Join(sa, f)); err != nil {
			return Cluster{}, errorf("in-cluster", "no service account in the pod: %w", err)
		}
	}
	ns, err := os.ReadFile(filepath.Join(sa, "namespace"))
	if err != nil {
		return Cluster{}, errorf("in-cluster", "%w", err)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["in-cluster"] = &clientcmdapi.Cluster{Server: "https://" + net.JoinHostPort(host, port), CertificateAuthority: filepath.Join(sa, "ca.crt")}
	cfg.AuthInfos["in-cluster"] = &clientcmdapi.AuthInfo{TokenFile: filepath.Join(sa, "token")}
	cfg.Contexts["in-cluster"] = &clientcmdapi.Context{Cluster: "in-cluster", AuthInfo: "in-cluster", Namespace: string(ns)}
	cfg.CurrentContext = "in-cluster"
	if err := os.MkdirAll(req.Dir, 0o700); err != nil {
		return Cluster{}, errorf("in-cluster", "%w", err)
	}
	path := filepath.Join(req.Dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return Cluster{}, errorf("in-cluster", "%w", err)
	}
	c := Cluster{Provider: "in-cluster", Name: host, Kubeconfig: path}
	h, err := RegistryHosting(ctx, path, "")
	if err != nil {
		return c, errorf("in-cluster", "%w", err)
	}
	// From a pod: the cluster network's name to push, the runtime's to pull.
	c.Registry = Registry{Push: h.HostFromClusterNetwork, Pull: h.HostFromContainerRuntime}
	if c.Registry.Push == "" || c.Registry.Pull == "" {
		c.Registry = Registry{}
	}
	return c, nil
}

// Down does nothing: the cluster is not the run's.
func (InCluster) Down(context.Context, Env, Cluster) error { return nil }

// Hosting is a cluster's KEP-1755 registry hosting: where its local registry
// is, from the host (Host), from the container runtime (what images to run
// must be named with) and from pods.
type Hosting struct {
	Host                     string `json:"host"`
	HostFromContainerRuntime string `json:"hostFromContainerRuntime"`
	HostFromClusterNetwork   string `json:"hostFromClusterNetwork"`
}

// RegistryHosting reads the cluster's KEP-1755 ConfigMap
// (kube-public/local-registry-hosting, as the personal cluster, kind and
// minikube publish it); zero when the cluster has none.
func RegistryHosting(ctx context.Context, kubeconfig, context string) (Hosting, error) {
	rest, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig},
		&clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return Hosting{}, err
	}
	rest.Timeout = 10 * time.Second
	kube, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return Hosting{}, err
	}
	return RegistryHostingOf(ctx, kube)
}

// RegistryHostingOf is RegistryHosting through a client of the cluster.
func RegistryHostingOf(ctx context.Context, kube kubernetes.Interface) (Hosting, error) {
	cm, err := kube.CoreV1().ConfigMaps(metav1.NamespacePublic).Get(ctx, "local-registry-hosting", metav1.GetOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
		return Hosting{}, nil
	}
	if err != nil {
		return Hosting{}, fmt.Errorf("the cluster's registry hosting (kube-public/local-registry-hosting): %w", err)
	}
	var h Hosting
	if err := yaml.Unmarshal([]byte(cm.Data["localRegistryHosting.v1"]), &h); err != nil {
		return Hosting{}, fmt.Errorf("kube-public/local-registry-hosting: localRegistryHosting.v1: %w", err)
	}
	return h, nil
}

// lookupEnv is getenv on environ, or on the process's environment when
// environ is nil.
func lookupEnv(environ []string, key string) string {
	if environ == nil {
		return os.Getenv(key)
	}
	return getenv(environ, key)
}
