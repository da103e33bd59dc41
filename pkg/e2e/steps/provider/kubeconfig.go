package provider

import (
	"context"
	"os"
	"path/filepath"

	"k8s.io/client-go/tools/clientcmd"
)

// Kubeconfig is the cluster kubectl is configured to use: nothing is created
// and nothing deleted.
type Kubeconfig struct {
	// Path of the kubeconfig; empty means the usual rules ($KUBECONFIG,
	// then ~/.kube/config).
	Path string
	// Context to use; empty means the current context.
	Context string
}

// Up checks that the kubeconfig has the context and returns it.
func (k Kubeconfig) Up(_ context.Context, req Request) (Cluster, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if k.Path != "" {
		rules.ExplicitPath = k.Path
	} else if kc := getenv(req.Environ, "KUBECONFIG"); kc != "" {
		rules.Precedence = filepath.SplitList(kc)
	}
	cfg, err := rules.Load()
	if err != nil {
		return Cluster{}, errorf("kubeconfig", "%w", err)
	}
	ctxName := k.Context
	if ctxName == "" {
		ctxName = cfg.CurrentContext
	}
	kctx, ok := cfg.Contexts[ctxName]
	if ctxName == "" || !ok {
		return Cluster{}, errorf("kubeconfig", "no context %q in %s", ctxName, describeRules(rules))
	}
	path := k.Path
	if path == "" {
		path = rules.GetDefaultFilename()
		if len(rules.Precedence) > 1 {
			// Several files merge into one view: hand on that view.
			path = filepath.Join(req.Dir, "kubeconfig")
			if err := os.MkdirAll(req.Dir, 0o700); err != nil {
				return Cluster{}, errorf("kubeconfig", "%w", err)
			}
			if err := clientcmd.WriteToFile(*cfg, path); err != nil {
				return Cluster{}, errorf("kubeconfig", "%w", err)
			}
		}
	}
	return Cluster{Provider: "kubeconfig", Name: kctx.Cluster, Kubeconfig: path, Context: ctxName}, nil
}

// Down does nothing: the cluster is not the run's.
func (Kubeconfig) Down(context.Context, Env, Cluster) error { return nil }

func describeRules(r *clientcmd.ClientConfigLoadingRules) string {
	if r.ExplicitPath != "" {
		return r.ExplicitPath
	}
	return r.GetDefaultFilename()
}

// getenv returns the last value of key in environ.
func getenv(environ []string, key string) string {
	for i := len(environ) - 1; i >= 0; i-- {
		if len(environ[i]) > len(key) && environ[i][:len(key)] == key && environ[i][len(key)] == '=' {
			return environ[i][len(key)+1:]
		}
	}
	return ""
}
