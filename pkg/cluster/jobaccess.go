package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/prowctl/prowctl/pkg/jobpreset"
)

// What a job's pod on the personal cluster needs to run the e2e pipeline
// against the cluster it runs in, with no route off the machine:
//
//   - goproxy: the host's Go module download cache, served read-only in the
//     GOPROXY layout (it is that layout already) at the node's address.
//   - job-access: the KEP-1755 ConfigMap kube-public/local-registry-hosting,
//     which says where the cluster's registry is (as kind's and minikube's
//     do), and the service account the jobs run as, E2ERoleName in the
//     pods' namespace, with the RBAC to deploy a chart and test it.
//   - the jobs' preset, kube-public/prowctl-job-preset, which prowctl adds
//     to the ProwJobs it creates on the cluster (jobpreset.Preset): the
//     service account, GOPROXY, the pods' Go build cache, the e2e
//     pipeline's cluster provider.
const (
	GoProxyName   = "goproxy"
	JobAccessName = "job-access"
	// GoProxyCommand --root=DIR --port=N: the module proxy.
	GoProxyCommand = "__prowctl-goproxy"
	// E2ERoleName is the service account the jobs run as, and its
	// ClusterRole and binding.
	E2ERoleName = "prowctl-e2e"
	// RegistryHostingName is the KEP-1755 ConfigMap, in kube-public.
	RegistryHostingName = "local-registry-hosting"
)

// GoModCache is the Go module cache the cluster serves: $GOMODCACHE, else
// the first GOPATH entry's pkg/mod, else ~/go/pkg/mod (the go command's
// own defaults, without running it). Under sudo, ~ is the invoking user's
// home: `sudo prowctl cluster up` serves your module cache, not root's.
func GoModCache() string {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if p := filepath.SplitList(os.Getenv("GOPATH")); len(p) > 0 && p[0] != "" {
		return filepath.Join(p[0], "pkg", "mod")
	}
	home, _ := os.UserHomeDir()
	if name := os.Getenv("SUDO_USER"); name != "" && os.Geteuid() == 0 {
		if u, err := user.Lookup(name); err == nil && u.HomeDir != "" {
			home = u.HomeDir
		}
	}
	return filepath.Join(home, "go", "pkg", "mod")
}

func goProxyComponent() Component {
	return Component{
		Name: GoProxyName, Self: true,
		Needs: []string{NodeNetworkName},
		Ports: []string{"http"},
		Args: func(e *Env) []string {
			return []string{GoProxyCommand, "--root=" + filepath.Join(GoModCache(), "cache", "download"), "--port=" + strconv.Itoa(e.Port(GoProxyName, "http"))}
		},
		Ready: func(ctx context.Context, e *Env) error {
			_, err := httpGet(ctx, e.HTTPClient(false), "http://"+e.Addr(GoProxyName, "http")+"/")
			return err
		},
		Endpoint: func(e *Env) string { return "http://" + e.goProxyNodeAddr() },
	}
}

func (e *Env) goProxyNodeAddr() string {
	return net.JoinHostPort(nodeIP, strconv.Itoa(e.Port(GoProxyName, "http")))
}

// serveGoProxy serves --root read-only (GET and HEAD) on all addresses of
// the cluster's namespace until ctx ends. A module missing from the host's
// cache is a 404, which the go command reports as not found: the pods have
// nowhere else to fetch it from.
func serveGoProxy(ctx context.Context, args []string, logw io.Writer) error {
	fs := flag.NewFlagSet(GoProxyCommand, flag.ContinueOnError)
	fs.SetOutput(logw)
	root := fs.String("root", "", "the module download cache")
	port := fs.Int("port", 0, "port")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *root == "" || *port <= 0 || *port > 65535 {
		return errors.New("goproxy: --root and --port are required")
	}
	files := http.FileServer(http.Dir(*root))
	srv := &http.Server{
		Addr:              net.JoinHostPort("", strconv.Itoa(*port)),
		ReadHeaderTimeout: 10 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				http.Error(w, "read-only", http.StatusMethodNotAllowed)
				return
			}
			if r.URL.Path == "/" {
				fmt.Fprintln(w, "prowctl goproxy: the host's module cache")
				return
			}
			files.ServeHTTP(w, r)
		}),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	fmt.Fprintf(logw, "goproxy: serving %s on port %d\n", *root, *port)
	select {
	case err := <-errc:
		return fmt.Errorf("goproxy: %w", err)
	case <-ctx.Done():
		return srv.Close()
	}
}

func jobAccessComponent() Component {
	return Component{
		Name:  JobAccessName,
		Needs: []string{ForwarderName, DecorationName, GoProxyName},
		Setup: func(ctx context.Context, e *Env) error {
			kube, err := e.kube()
			if err != nil {
				return err
			}
			ns, err := ReadProwNamespaces(e.ProwConfig)
			if err != nil {
				return err
			}
			hosting := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: RegistryHostingName, Namespace: metav1.NamespacePublic},
				Data: map[string]string{"localRegistryHosting.v1": fmt.Sprintf(
					"host: %q\nhostFromContainerRuntime: %q\nhostFromClusterNetwork: %q\nhelp: %q\n",
					e.Addr(ForwarderName, RegistryName), e.registryNodeAddr(), e.registryNodeAddr(),
					"https://github.com/prowctl/prowctl#prowctl-cluster-a-personal-prow-cluster-on-one-machine")},
			}
			preset, err := json.Marshal(e.jobPreset())
			if err != nil {
				return err
			}
			presetMap := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: jobpreset.Name, Namespace: metav1.NamespacePublic},
				Data:       map[string]string{jobpreset.Key: string(preset)},
			}
			objs := []struct {
				what   string
				create func() error
			}{
				{"configmap " + RegistryHostingName, func() error {
					_, err := kube.CoreV1().ConfigMaps(hosting.Namespace).Create(ctx, hosting, metav1.CreateOptions{})
					return err
				}},
				{"serviceaccount " + E2ERoleName, func() error {
					_, err := kube.CoreV1().ServiceAccounts(ns.Pods).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: E2ERoleName}}, metav1.CreateOptions{})
					return err
				}},
				{"clusterrole " + E2ERoleName, func() error {
					_, err := kube.RbacV1().ClusterRoles().Create(ctx, e2eRole(), metav1.CreateOptions{})
					return err
				}},
				{"clusterrolebinding " + E2ERoleName, func() error {
					_, err := kube.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
						ObjectMeta: metav1.ObjectMeta{Name: E2ERoleName},
						RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: E2ERoleName},
						Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: E2ERoleName, Namespace: ns.Pods}},
					}, metav1.CreateOptions{})
					return err
				}},
			}
			for _, o := range objs {
				if err := o.create(); err != nil && !apierrors.IsAlreadyExists(err) {
					return fmt.Errorf("create %s: %w", o.what, err)
				}
			}
			// The registry and the module proxy may have moved to other
			// ports since a previous up (a restart on fresh ports): say
			// where they are now.
			for _, cm := range []*corev1.ConfigMap{hosting, presetMap} {
				_, err := kube.CoreV1().ConfigMaps(cm.Namespace).Update(ctx, cm, metav1.UpdateOptions{})
				if apierrors.IsNotFound(err) {
					_, err = kube.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{})
				}
				if err != nil {
					return fmt.Errorf("write configmap %s: %w", cm.Name, err)
				}
			}
			return nil
		},
		Ready: func(ctx context.Context, e *Env) error {
			kube, err := e.kube()
			if err != nil {
				return err
			}
			for _, name := range []string{RegistryHostingName, jobpreset.Name} {
				if _, err := kube.CoreV1().ConfigMaps(metav1.NamespacePublic).Get(ctx, name, metav1.GetOptions{}); err != nil {
					return err
				}
			}
			_, err = kube.RbacV1().ClusterRoleBindings().Get(ctx, E2ERoleName, metav1.GetOptions{})
			return err
		},
		Endpoint: func(e *Env) string {
			return "configmaps kube-public/{" + RegistryHostingName + "," + jobpreset.Name + "}, serviceaccount " + E2ERoleName
		},
	}
}

// e2eRole is what the jobs' pods may do: what the e2e pipeline does when it
// deploys the tf-k8s chart into the cluster it runs in, tests it and tears
// it down. It names every resource and verb, but it is not a sandbox:
//   - Installing the chart is cluster-wide work (a CRD, a ClusterRole and its
//     binding), and the run's namespace does not exist before the run, so
//     the rules are cluster-wide: a job can read the cluster's secrets
//     (stand-ins, and your own) and delete namespaces.
//   - RBAC lets a role be granted only by someone who holds its rules (there
//     is no escalate or bind here), so the operator's own rules (TFJobs,
//     pods) are listed too, and creating pods on a single-node cluster is
//     access to the node. The jobs are your own code, run on your machine.
//   - CRDs other than the chart's cannot be changed or deleted, so a job
//     cannot take Prow's ProwJob CRD (and every ProwJob) down with it.
//
// A chart that needs more fails its deploy with a Forbidden naming the
// missing permission; add it here.
func e2eRole() *rbacv1.ClusterRole {
	rw := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	return &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: E2ERoleName},
		Rules: []rbacv1.PolicyRule{
			// The run's namespace, and what helm and the chart put in it
			// (helm keeps releases in Secrets).
			{APIGroups: []string{""}, Resources: []string{"namespaces", "serviceaccounts", "secrets", "configmaps", "services", "pods"}, Verbs: rw},
			{APIGroups: []string{""}, Resources: []string{"pods/log", "events"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "replicasets"}, Verbs: rw},
			{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}, Verbs: []string{"get", "list", "watch", "create"}},
			{APIGroups: []string{"apiextensions.k8s.io"}, Resources: []string{"customresourcedefinitions"}, ResourceNames: []string{"tfjobs.kubeflow.org"}, Verbs: []string{"update", "patch", "delete"}},
			{APIGroups: []string{"rbac.authorization.k8s.io"}, Resources: []string{"clusterroles", "clusterrolebindings", "roles", "rolebindings"}, Verbs: rw},
			// The operator's own, which its ClusterRole grants.
			{APIGroups: []string{"kubeflow.org"}, Resources: []string{"tfjobs"}, Verbs: rw},
			{APIGroups: []string{"kubeflow.org"}, Resources: []string{"tfjobs/status"}, Verbs: []string{"get", "update", "patch"}},
			// A pipeline run as an Argo Workflow from a job (`e2e submit
			// --argo`): submitted, followed, stopped (a patch), deleted.
			{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"get", "list", "watch", "create", "patch", "delete"}},
		},
	}
}

// podGoCache is where the jobs' pods keep their Go build cache, on the
// host: it outlives the cluster, so only a pod's first build compiles the
// standard library and the modules.
func podGoCache() string {
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "prowctl", "pod-go-build")
}

// jobPreset is what the jobs on this cluster get (prowjob.Submit adds it
// to every ProwJob prowctl creates here): the service account E2ERoleName,
// the cluster's Go module proxy, a Go build and module cache that outlive
// pods, the GCS emulator for uploads, and
// the e2e pipeline's cluster provider (the cluster the pod runs in).
func (e *Env) jobPreset() jobpreset.Preset {
	dirType := corev1.HostPathDirectoryOrCreate
	return jobpreset.Preset{
		ServiceAccountName: E2ERoleName,
		Env: []corev1.EnvVar{
			{Name: "GOPROXY", Value: "http://" + e.goProxyNodeAddr()},
			{Name: "GOCACHE", Value: "/prowctl/go-build"},
			// Modules too, or each pod downloads and extracts every
			// module it builds with (client-go's: minutes) from the proxy.
			{Name: "GOMODCACHE", Value: "/prowctl/go-mod"},
			{Name: "E2E_CLUSTER_PROVIDER", Value: "in-cluster"},
			// A job that uploads to GCS itself (an undecorated one, an
			// Argo Workflow's upload step) uploads to the cluster's
			// emulator: nothing leaves the machine.
			{Name: "STORAGE_EMULATOR_HOST", Value: e.gcsNodeAddr()},
		},
		Volumes: []corev1.Volume{
			{Name: "prowctl-go-build", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: podGoCache(), Type: &dirType}}},
			{Name: "prowctl-go-mod", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: filepath.Join(filepath.Dir(podGoCache()), "pod-go-mod"), Type: &dirType}}},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: "prowctl-go-build", MountPath: "/prowctl/go-build"}, {Name: "prowctl-go-mod", MountPath: "/prowctl/go-mod"}},
	}
}
