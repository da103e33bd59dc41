package deckproxy

import (
	"encoding/json"
	"net/url"

	"k8s.io/apimachinery/pkg/runtime"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// KubeconfigExtension names the kubeconfig cluster extension in which `prowctl
// cluster up` records the address of the cluster's Deck, as minikube records
// its own in the same place: whoever holds the kubeconfig (a copy, a merged
// one) finds the UI of the cluster it talks to, with no other file.
const KubeconfigExtension = "prowctl.dev/deck"

type deckExtension struct {
	URL string `json:"url"`
}

// SetKubeconfigURL records deck as the Deck of every cluster of cfg.
func SetKubeconfigURL(cfg *clientcmdapi.Config, deck string) error {
	raw, err := json.Marshal(deckExtension{URL: deck})
	if err != nil {
		return err
	}
	for _, c := range cfg.Clusters {
		if c.Extensions == nil {
			c.Extensions = map[string]runtime.Object{}
		}
		c.Extensions[KubeconfigExtension] = &runtime.Unknown{Raw: raw, ContentType: runtime.ContentTypeJSON}
	}
	return nil
}

// KubeconfigURL is the Deck recorded for the cluster of context, or "".
func KubeconfigURL(cfg *clientcmdapi.Config, context string) string {
	ctx, ok := cfg.Contexts[context]
	if !ok {
		return ""
	}
	cluster, ok := cfg.Clusters[ctx.Cluster]
	if !ok {
		return ""
	}
	u, ok := cluster.Extensions[KubeconfigExtension].(*runtime.Unknown)
	if !ok {
		return ""
	}
	var ext deckExtension
	if json.Unmarshal(u.Raw, &ext) != nil {
		return ""
	}
	// Only a web address: the value is printed and may be opened.
	if p, err := url.Parse(ext.URL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	return ext.URL
}
