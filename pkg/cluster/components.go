package cluster

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/pkg/atomicfile"
)

// Names of the default components.
const (
	EtcdName              = "etcd"
	APIServerName         = "kube-apiserver"
	ControllerManagerName = "kube-controller-manager"
	SchedulerName         = "kube-scheduler"
	KwokName              = "kwok"
	ProwJobCRDName        = "prowjob-crd"
	PlankName             = "plank"
)

// ContextName is the context of the kubeconfig Up writes.
const ContextName = "prowctl-local"

// NodeName is the simulated node kwok keeps Ready.
const NodeName = "prowctl-sim-node"

// DefaultComponents is the personal Prow cluster: etcd, the API server,
// controller manager and scheduler, one simulated node (kwok), the ProwJob
// CRD with Prow's namespaces, and Prow's plank.
func DefaultComponents() []Component {
	return []Component{
		etcdComponent(),
		apiServerComponent(),
		controllerManagerComponent(),
		schedulerComponent(),
		kwokComponent(),
		prowJobCRDComponent(),
		plankComponent(),
	}
}

func etcdComponent() Component {
	return Component{
		Name: EtcdName, Tool: Etcd, Binary: "etcd",
		Ports: []string{"client", "peer"},
		Setup: func(ctx context.Context, e *Env) error {
			return os.MkdirAll(e.Path(EtcdName, "data"), 0o700)
		},
		Args: func(e *Env) []string {
			client, peer := "http://"+e.Addr(EtcdName, "client"), "http://"+e.Addr(EtcdName, "peer")
			return []string{
				"--name=prowctl",
				"--data-dir=" + e.Path(EtcdName, "data"),
				"--listen-client-urls=" + client,
				"--advertise-client-urls=" + client,
				"--listen-peer-urls=" + peer,
				"--initial-advertise-peer-urls=" + peer,
				"--initial-cluster=prowctl=" + peer,
				// The ProwJob CRD alone is 3.9 MB; the default 1.5 MiB
				// limit refuses it.
				"--max-request-bytes=" + strconv.Itoa(16<<20),
				// A throwaway cluster: losing the last writes on a crash
				// is fine, waiting for fsync is not.
				"--unsafe-no-fsync",
				"--log-level=warn",
			}
		},
		Ready: func(ctx context.Context, e *Env) error {
			body, err := readyGet(ctx, e.HTTPClient(false), "http://"+e.Addr(EtcdName, "client")+"/health")
			if err != nil {
				return err
			}
			if !strings.Contains(body, `"health":`) {
				return fmt.Errorf("%w: /health answered %.100q", ErrForeignServer, body)
			}
			if !strings.Contains(body, `"health":"true"`) {
				return fmt.Errorf("unhealthy: %s", body)
			}
			return nil
		},
		Endpoint: func(e *Env) string { return "http://" + e.Addr(EtcdName, "client") },
	}
}

func apiServerComponent() Component {
	dir := func(e *Env, name string) string { return e.Path(APIServerName, name) }
	return Component{
		Name: APIServerName, Tool: Kubernetes, Binary: "kube-apiserver",
		Needs: []string{EtcdName},
		Ports: []string{"secure"},
		// Accepting the ProwJob CRD is mostly garbage collection of copies
		// of its schema: collecting less often shortens it, and the memory
		// limit brings the heap back to about what the default would keep
		// (RSS ~0.6 GB instead of 1.4 GB with GOGC=400 alone).
		Environ: func(*Env) []string { return []string{"GOGC=400", "GOMEMLIMIT=640MiB"} },
		Setup: func(ctx context.Context, e *Env) error {
			p, err := newPKI(time.Now())
			if err != nil {
				return err
			}
			if err := os.MkdirAll(e.Path(APIServerName), 0o700); err != nil {
				return err
			}
			files := map[string][]byte{
				"ca.crt":      p.caCert,
				"ca.key":      p.caKey,
				"serving.crt": p.servingCert,
				"serving.key": p.servingKey,
				"sa.key":      p.saKey,
				"sa.pub":      p.saPub,
				"tokens.csv":  []byte(p.adminToken + `,prowctl-admin,prowctl-admin,"system:masters"` + "\n"),
			}
			for name, b := range files {
				if err := atomicfile.Write(dir(e, name), b, 0o600); err != nil {
					return err
				}
			}
			// kubectl's default namespace is where ProwJobs go, so that
			// `mkpj ... | kubectl create -f -` does what it says.
			namespace := ""
			if e.ProwConfig != "" {
				ns, err := ReadProwNamespaces(e.ProwConfig)
				if err != nil {
					return err
				}
				namespace = ns.ProwJobs
			}
			return writeKubeconfig(e.componentKubeconfig(), ContextName, namespace, "https://"+e.Addr(APIServerName, "secure"), p.caCert, p.adminToken)
		},
		Args: func(e *Env) []string {
			return []string{
				"--etcd-servers=http://" + e.Addr(EtcdName, "client"),
				"--bind-address=127.0.0.1",
				"--advertise-address=127.0.0.1",
				"--secure-port=" + strconv.Itoa(e.Port(APIServerName, "secure")),
				"--cert-dir=" + dir(e, "certs"),
				"--tls-cert-file=" + dir(e, "serving.crt"),
				"--tls-private-key-file=" + dir(e, "serving.key"),
				"--client-ca-file=" + dir(e, "ca.crt"),
				"--token-auth-file=" + dir(e, "tokens.csv"),
				"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
				"--service-account-key-file=" + dir(e, "sa.pub"),
				"--service-account-signing-key-file=" + dir(e, "sa.key"),
				"--service-cluster-ip-range=" + serviceCIDR,
				"--authorization-mode=RBAC",
				"--allow-privileged=true",
				// With one API server on loopback there is no endpoint to
				// reconcile; the default logs a warning every 10 s.
				"--endpoint-reconciler-type=none",
				"--profiling=false",
			}
		},
		Ready: func(ctx context.Context, e *Env) error {
			cfg, err := e.Rest()
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
		Endpoint: func(e *Env) string { return "https://" + e.Addr(APIServerName, "secure") },
	}
}

// controllerArgs are the flags the controller manager and the scheduler share:
// the admin kubeconfig and a health endpoint on loopback.
func controllerArgs(e *Env, name string) []string {
	return []string{
		"--kubeconfig=" + e.componentKubeconfig(),
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(e.Port(name, "secure")),
		"--cert-dir=" + e.Path(name, "certs"),
		"--leader-elect=false",
	}
}

// The controller manager's and the scheduler's health endpoints serve a
// certificate they made up at start, and the only thing read from them is a
// health status of a process this cluster started: their checks skip
// verifying it (Env.HTTPClient(true)).
func healthzReady(name string) func(ctx context.Context, e *Env) error {
	return func(ctx context.Context, e *Env) error {
		_, err := readyGet(ctx, e.HTTPClient(true), "https://"+e.Addr(name, "secure")+"/healthz")
		return err
	}
}

func controllerManagerComponent() Component {
	return Component{
		Name: ControllerManagerName, Tool: Kubernetes, Binary: "kube-controller-manager",
		Needs: []string{APIServerName},
		Ports: []string{"secure"},
		Setup: func(ctx context.Context, e *Env) error { return os.MkdirAll(e.Path(ControllerManagerName), 0o700) },
		Args: func(e *Env) []string {
			return append(controllerArgs(e, ControllerManagerName),
				// nodeipam would need a pod CIDR per node; kwok makes up pod IPs.
				"--controllers=*,-nodeipam",
				"--service-account-private-key-file="+e.Path(APIServerName, "sa.key"),
				"--root-ca-file="+e.Path(APIServerName, "ca.crt"),
				"--profiling=false",
			)
		},
		Ready:    healthzReady(ControllerManagerName),
		Endpoint: func(e *Env) string { return "https://" + e.Addr(ControllerManagerName, "secure") },
	}
}

func schedulerComponent() Component {
	return Component{
		Name: SchedulerName, Tool: Kubernetes, Binary: "kube-scheduler",
		Needs: []string{APIServerName},
		Ports: []string{"secure"},
		Setup: func(ctx context.Context, e *Env) error { return os.MkdirAll(e.Path(SchedulerName), 0o700) },
		Args: func(e *Env) []string {
			return append(controllerArgs(e, SchedulerName), "--profiling=false")
		},
		Ready:    healthzReady(SchedulerName),
		Endpoint: func(e *Env) string { return "https://" + e.Addr(SchedulerName, "secure") },
	}
}

func prowJobCRDComponent() Component {
	return Component{
		Name: ProwJobCRDName,
		Tool: Prow, ToolFiles: []string{ProwJobCRDFile},
		Needs: []string{APIServerName},
		Setup: func(ctx context.Context, e *Env) error {
			if err := installProwJobCRD(ctx, e); err != nil {
				return err
			}
			namespaces, err := prowNamespaces(e.ProwConfig)
			if err != nil {
				return err
			}
			kube, err := e.kube()
			if err != nil {
				return err
			}
			for _, ns := range namespaces {
				_, err := kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
				if err != nil && !apierrors.IsAlreadyExists(err) {
					return fmt.Errorf("create namespace %s: %w", ns, err)
				}
			}
			return nil
		},
		Ready:    prowJobCRDEstablished,
		Endpoint: func(e *Env) string { return "customresourcedefinition/" + prowJobCRD },
	}
}

// ProwNamespaces are the namespaces a Prow config names: ProwJobs live in the
// first, their pods in the second.
type ProwNamespaces struct {
	ProwJobs string `json:"prowjob_namespace"`
	Pods     string `json:"pod_namespace"`
}

// ReadProwNamespaces reads prowjob_namespace and pod_namespace from the Prow
// config at path, with Prow's defaults for what it leaves out.
func ReadProwNamespaces(path string) (ProwNamespaces, error) {
	ns := ProwNamespaces{ProwJobs: "default", Pods: "default"}
	b, err := os.ReadFile(path)
	if err != nil {
		return ns, fmt.Errorf("read the Prow config: %w", err)
	}
	if err := yaml.Unmarshal(b, &ns); err != nil {
		return ns, fmt.Errorf("%s: %w", path, err)
	}
	return ns, nil
}

func prowNamespaces(path string) ([]string, error) {
	if path == "" {
		return nil, errNoProwConfig
	}
	ns, err := ReadProwNamespaces(path)
	if err != nil {
		return nil, err
	}
	if ns.ProwJobs == ns.Pods {
		return []string{ns.ProwJobs}, nil
	}
	return []string{ns.ProwJobs, ns.Pods}, nil
}

var errNoProwConfig = errors.New("no Prow config (Options.ProwConfig, e.g. config/prow/config.yaml)")

func plankComponent() Component {
	return Component{
		Name: PlankName, Tool: Prow, Binary: "prow-controller-manager",
		Needs: []string{ProwJobCRDName},
		// prow-controller-manager has no bind address flag: these listen on
		// all interfaces. Picking free ports at least keeps two clusters
		// (or a cluster and Prow's defaults) from colliding.
		Ports: []string{"health", "metrics", "pprof"},
		Setup: func(ctx context.Context, e *Env) error {
			if e.ProwConfig == "" {
				return errNoProwConfig
			}
			if _, err := os.Stat(e.ProwConfig); err != nil {
				return fmt.Errorf("the Prow config: %w", err)
			}
			cfg, err := e.Rest()
			if err != nil {
				return err
			}
			// Prow takes the current context as its own cluster and each
			// context as a build cluster; one context named "default" is
			// both, without watching the same cluster twice.
			return writeKubeconfigFromRest(e.Path(PlankName, "kubeconfig"), "default", cfg)
		},
		Args: func(e *Env) []string {
			return []string{
				"--enable-controller=plank",
				"--config-path=" + e.ProwConfig,
				"--kubeconfig=" + e.Path(PlankName, "kubeconfig"),
				"--dry-run=false",
				"--health-port=" + strconv.Itoa(e.Port(PlankName, "health")),
				"--metrics-port=" + strconv.Itoa(e.Port(PlankName, "metrics")),
				"--pprof-port=" + strconv.Itoa(e.Port(PlankName, "pprof")),
			}
		},
		Ready: func(ctx context.Context, e *Env) error {
			return prowHealthReady(ctx, e, PlankName)
		},
		Endpoint: func(e *Env) string { return "http://" + e.Addr(PlankName, "health") + "/healthz" },
	}
}

func (e *Env) kube() (kubernetes.Interface, error) {
	cfg, err := e.Rest()
	if err != nil {
		return nil, err
	}
	return kubernetes.NewForConfig(cfg)
}

// readyGet is httpGet for a readiness check: an answer that cannot come from
// the component (a path it serves not found, a certificate not of the
// cluster's CA, plain HTTP where it speaks TLS) wraps ErrForeignServer.
func readyGet(ctx context.Context, client *http.Client, url string) (string, error) {
	body, err := httpGet(ctx, client, url)
	var status *httpStatusError
	var unknownCA x509.UnknownAuthorityError
	var verify *tls.CertificateVerificationError
	var notTLS tls.RecordHeaderError
	switch {
	case err == nil:
		return body, nil
	case errors.As(err, &status) && status.Code == http.StatusNotFound,
		errors.As(err, &unknownCA), errors.As(err, &verify), errors.As(err, &notTLS),
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"),
		strings.Contains(err.Error(), "malformed HTTP response"):
		return "", fmt.Errorf("%w: %w", ErrForeignServer, err)
	}
	return "", err
}

// httpStatusError is a response other than 200 OK.
type httpStatusError struct {
	URL    string
	Code   int
	Status string
	Body   string
}

func (e *httpStatusError) Error() string {
	return fmt.Sprintf("GET %s: %s: %s", e.URL, e.Status, e.Body)
}

// httpGet returns the body of a 200 response, or an error.
func httpGet(ctx context.Context, client *http.Client, url string) (string, error) {
	return httpGetAccept(ctx, client, url, "")
}

func httpGetAccept(ctx context.Context, client *http.Client, url, accept string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return "", &httpStatusError{URL: url, Code: resp.StatusCode, Status: resp.Status, Body: strings.TrimSpace(string(b))}
	}
	return string(b), nil
}

// prowHealthReady checks the health port of Prow's component c. Prow's
// health server answers /healthz with "OK" as soon as it listens, and adds
// /healthz/ready only once the controllers have synced
// (pjutil.Health.ServeReady): until then that path is a 404 from the
// component itself. So /healthz tells it from another server on its port
// (Prow only logs that it could not bind it, and runs on), and
// /healthz/ready says when it is ready.
func prowHealthReady(ctx context.Context, e *Env, c string) error {
	base := "http://" + e.Addr(c, "health")
	body, err := readyGet(ctx, e.HTTPClient(false), base+"/healthz")
	if err != nil {
		return err
	}
	if body != "OK" {
		return fmt.Errorf("%w: /healthz answered %.100q", ErrForeignServer, body)
	}
	_, err = httpGet(ctx, e.HTTPClient(false), base+"/healthz/ready")
	return err
}
