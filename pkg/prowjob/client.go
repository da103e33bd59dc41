// Package prowjob creates, reruns, watches and lists ProwJobs on a cluster:
// what Prow's mkpj --trigger-job, Deck's rerun and `kubectl get prowjobs` do,
// as a library.
package prowjob

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/client/clientset/versioned"
	prowv1 "sigs.k8s.io/prow/pkg/client/clientset/versioned/typed/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/kube"

	"github.com/prowctl/prowctl/pkg/deckproxy"
	"github.com/prowctl/prowctl/pkg/redact"
)

// DefaultConnectTimeout bounds how long Connect waits for the apiserver.
const DefaultConnectTimeout = 10 * time.Second

// Client works on the ProwJobs of one namespace of one cluster.
type Client struct {
	ProwJobs prowv1.ProwJobInterface
	// Kube reaches the jobs' pods (logs).
	Kube      kubernetes.Interface
	Namespace string
	// Context names the kubeconfig context and Kubeconfig the file given
	// to Connect, if any, for messages.
	Context    string
	Kubeconfig string
	// RequestTimeout bounds each request that is not a watch.
	RequestTimeout time.Duration
	// DeckURL is the cluster's Deck as its kubeconfig records it (see
	// DeckExtension), or "".
	DeckURL string
	// Rest is the configuration Kube was made from: streams (exec into a
	// pod) need it. Nil for fake clients.
	Rest *rest.Config
}

// ConnectOptions say which cluster and namespace to use.
type ConnectOptions struct {
	// Kubeconfig is a kubeconfig file; empty means $KUBECONFIG or ~/.kube/config.
	Kubeconfig string
	// Context is a context of the kubeconfig; empty means its current context.
	Context string
	// Namespace wins over DefaultNamespace, which wins over the context's.
	Namespace        string
	DefaultNamespace string
	// Timeout bounds the reachability check and each request; 0 means
	// DefaultConnectTimeout.
	Timeout time.Duration
}

// CRDMissingError says the cluster has no ProwJob CRD.
type CRDMissingError struct{ Context string }

func (e *CRDMissingError) Error() string {
	return fmt.Sprintf("ProwJob CRD not installed on context %s (no prow.k8s.io/v1 prowjobs resource): is this a Prow cluster?", e.Context)
}

// InClusterContext names the cluster of the pod prowctl runs in, which it
// connects to when there is no kubeconfig at all.
const InClusterContext = "in-cluster"

// inClusterNamespaceFile is where Kubernetes says a pod's namespace.
const inClusterNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// RestConfig is the client configuration of the kubeconfig context o
// names, and the namespace o resolves to, without Connect's check that
// ProwJobs are served: for clusters that run other things (Argo).
func RestConfig(o ConnectOptions) (*rest.Config, string, error) {
	cfg, ns, _, _, err := restConfig(o)
	return cfg, ns, err
}

func restConfig(o ConnectOptions) (*rest.Config, string, string, *clientcmdapi.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: o.Context})
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, "", "", nil, fmt.Errorf("load kubeconfig: %w", err)
	}
	contextName := o.Context
	if contextName == "" {
		contextName = raw.CurrentContext
	}
	if contextName == "" && o.Kubeconfig == "" && len(raw.Contexts) == 0 {
		// No kubeconfig at all: in a pod (a Prow job's), its cluster.
		if cfg, err := rest.InClusterConfig(); err == nil {
			ns := o.Namespace
			if ns == "" {
				ns = o.DefaultNamespace
			}
			if ns == "" {
				b, err := os.ReadFile(inClusterNamespaceFile)
				if err != nil {
					return nil, "", "", nil, fmt.Errorf("in-cluster: the pod's namespace: %w", err)
				}
				ns = strings.TrimSpace(string(b))
			}
			return cfg, ns, InClusterContext, &raw, nil
		}
	}
	if contextName == "" {
		return nil, "", "", nil, errors.New("kubeconfig has no current context: set --context or --kubeconfig")
	}
	if _, ok := raw.Contexts[contextName]; !ok {
		return nil, "", "", nil, fmt.Errorf("kubeconfig has no context %q", contextName)
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, "", "", nil, fmt.Errorf("kubeconfig context %s: %w", contextName, err)
	}
	ns := o.Namespace
	if ns == "" {
		ns = o.DefaultNamespace
	}
	if ns == "" {
		if ns, _, err = cc.Namespace(); err != nil {
			return nil, "", "", nil, fmt.Errorf("kubeconfig context %s: %w", contextName, err)
		}
	}
	return cfg, ns, contextName, &raw, nil
}

// Connect builds a client for the cluster of o and checks, within
// o.Timeout, that it is reachable and serves ProwJobs.
func Connect(ctx context.Context, o ConnectOptions) (*Client, error) {
	cfg, ns, contextName, raw, err := restConfig(o)
	if err != nil {
		return nil, err
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultConnectTimeout
	}
	// A dialer with a timeout keeps a black-holed address from hanging
	// watches too, whose requests cannot have an overall timeout.
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	cfg.Dial = dialer.DialContext
	if err := checkCRD(ctx, cfg, contextName, timeout); err != nil {
		return nil, err
	}
	cs, err := versioned.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("context %s: %w", contextName, err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("context %s: %w", contextName, err)
	}
	return &Client{ProwJobs: cs.ProwV1().ProwJobs(ns), Kube: kube, Namespace: ns, Context: contextName, Kubeconfig: o.Kubeconfig, RequestTimeout: timeout, DeckURL: deckproxy.KubeconfigURL(raw, contextName), Rest: cfg}, nil
}

func checkCRD(ctx context.Context, cfg *rest.Config, contextName string, timeout time.Duration) error {
	dc := rest.CopyConfig(cfg)
	dc.Timeout = timeout
	disco, err := discovery.NewDiscoveryClientForConfig(dc)
	if err != nil {
		return fmt.Errorf("context %s: %w", contextName, err)
	}
	type result struct {
		res *metav1.APIResourceList
		err error
	}
	ch := make(chan result, 1)
	go func() {
		res, err := disco.ServerResourcesForGroupVersion(prowapi.SchemeGroupVersion.String())
		ch <- result{res, err}
	}()
	var r result
	select {
	case r = <-ch:
	case <-ctx.Done():
		return fmt.Errorf("cannot reach the apiserver of context %s (%s): %w", contextName, redact.String(cfg.Host), ctx.Err())
	}
	if apierrors.IsNotFound(r.err) {
		return &CRDMissingError{Context: contextName}
	}
	if r.err != nil {
		var ne net.Error
		if errors.As(r.err, &ne) && ne.Timeout() {
			return fmt.Errorf("cannot reach the apiserver of context %s (%s): no answer within %s: %w", contextName, redact.String(cfg.Host), timeout, r.err)
		}
		return fmt.Errorf("cannot reach the apiserver of context %s (%s): %w", contextName, redact.String(cfg.Host), r.err)
	}
	for _, res := range r.res.APIResources {
		if res.Name == "prowjobs" {
			return nil
		}
	}
	return &CRDMissingError{Context: contextName}
}

func (c *Client) requestContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if c.RequestTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, c.RequestTimeout)
}

// where says where the client's ProwJobs live, for messages.
func (c *Client) where() string {
	if c.Context == "" {
		return "namespace " + c.Namespace
	}
	return fmt.Sprintf("namespace %s of context %s", c.Namespace, c.Context)
}

// Get returns the ProwJob called name.
func (c *Client) Get(ctx context.Context, name string) (*prowapi.ProwJob, error) {
	ctx, cancel := c.requestContext(ctx)
	defer cancel()
	pj, err := c.ProwJobs.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, fmt.Errorf("no ProwJob %s in %s", name, c.where())
	}
	if err != nil {
		return nil, fmt.Errorf("get ProwJob %s: %w", name, err)
	}
	setTypeMeta(pj)
	return pj, nil
}

// List returns every ProwJob of the namespace, oldest first.
func (c *Client) List(ctx context.Context) ([]prowapi.ProwJob, error) {
	return c.ListSelected(ctx, "")
}

// ListSelected returns the ProwJobs of the namespace that the label
// selector selects ("" for all), oldest first.
func (c *Client) ListSelected(ctx context.Context, selector string) ([]prowapi.ProwJob, error) {
	ctx, cancel := c.requestContext(ctx)
	defer cancel()
	l, err := c.ProwJobs.List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list ProwJobs in %s: %w", c.where(), err)
	}
	for i := range l.Items {
		setTypeMeta(&l.Items[i])
	}
	sortByStart(l.Items)
	return l.Items, nil
}

// Create creates pj and returns it as stored.
func (c *Client) Create(ctx context.Context, pj *prowapi.ProwJob) (*prowapi.ProwJob, error) {
	ctx, cancel := c.requestContext(ctx)
	defer cancel()
	created, err := c.ProwJobs.Create(ctx, pj, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("ProwJob %s already exists in %s: `prowctl rerun %s` runs it again under a new name", pj.Name, c.where(), pj.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("create ProwJob %s in %s: %w", pj.Name, c.where(), err)
	}
	setTypeMeta(created)
	return created, nil
}

// setTypeMeta restores what typed clients drop, so printed objects can be
// fed back to `prowctl create -f`.
func setTypeMeta(pj *prowapi.ProwJob) {
	pj.APIVersion = prowapi.SchemeGroupVersion.String()
	pj.Kind = "ProwJob"
}

// LabelValue is v as Prow puts it in a label: cut to 63 characters, without
// the separators that cannot end one.
func LabelValue(v string) string {
	if len(v) > 63 {
		v = v[:63]
	}
	return strings.TrimRight(v, "-_.")
}

// NoRunError says a job has no ProwJob in the namespace.
type NoRunError struct{ Job, Namespace string }

func (e *NoRunError) Error() string {
	return fmt.Sprintf("job %s has no ProwJob in namespace %s", e.Job, e.Namespace)
}

// LastRun is the newest ProwJob of job (spec.job), by creation.
func (c *Client) LastRun(ctx context.Context, job string) (*prowapi.ProwJob, error) {
	l, err := c.ListSelected(ctx, kube.ProwJobAnnotation+"="+LabelValue(job))
	if err != nil {
		return nil, err
	}
	var last *prowapi.ProwJob
	for i := range l {
		pj := &l[i]
		// The label may be cut: the spec says whose it is.
		if pj.Spec.Job != job {
			continue
		}
		if last == nil || pj.CreationTimestamp.After(last.CreationTimestamp.Time) ||
			(pj.CreationTimestamp.Equal(&last.CreationTimestamp) && pj.Status.StartTime.After(last.Status.StartTime.Time)) {
			last = pj
		}
	}
	if last == nil {
		return nil, &NoRunError{Job: job, Namespace: c.Namespace}
	}
	return last, nil
}
