package cluster

import (
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/prowctl/prowctl/pkg/atomicfile"
)

// writeKubeconfig writes a kubeconfig with one cluster, user and context, all
// named context, authenticating with a bearer token.
func writeKubeconfig(path, context, namespace, server string, caPEM []byte, token string) error {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[context] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[context] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[context] = &clientcmdapi.Context{Cluster: context, AuthInfo: context, Namespace: namespace}
	cfg.CurrentContext = context
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, b, 0o600)
}

func writeKubeconfigFromRest(path, context string, cfg *rest.Config) error {
	return writeKubeconfig(path, context, "", cfg.Host, cfg.CAData, cfg.BearerToken)
}

func loadRestConfig(kubeconfig string) (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", kubeconfig, err)
	}
	// Tests and Up poll and create many objects in a burst.
	cfg.QPS, cfg.Burst = 100, 200
	return cfg, nil
}
