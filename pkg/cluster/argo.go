package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/pkg/process"
)

// Argo Workflows on a real node (`cluster up --with argo`): Argo's own
// workflow-controller, built by `make tools`, out of cluster inside the
// cluster's namespace (its pprof port 6060 is fixed and its metrics take
// 9090: inside, they are the cluster's own, so two clusters coexist), with
// Argo's minimal CRDs (what Argo's own install manifests install) and its
// executor, argoexec, as an image of the node's.
const (
	ArgoName = "argo"
	// ArgoNamespace holds the controller's ConfigMap; the controller
	// watches every namespace.
	ArgoNamespace = "argo"
	// ArgoServiceAccount runs workflows in the pods' namespace: the
	// executor's wait container records task results with it.
	ArgoServiceAccount = "argo-workflow"
	argoConfigMap      = "workflow-controller-configmap"
	argoExecutorRole   = "prowctl-argo-executor"
	// argoHealthPort is the controller's pprof server, which serves
	// /healthz; fixed in the controller.
	argoHealthPort = 6060
)

// ArgoExecutorImage is the node's image of Argo's executor.
func ArgoExecutorImage() string { return imagePrefix + "argoexec:" + Argo.Version }

// WithArgo adds Argo Workflows to a real node's components.
func WithArgo(components []Component) []Component {
	return append(components, argoComponent())
}

func argoComponent() Component {
	return Component{
		Name:      ArgoName,
		Tool:      Argo,
		Binary:    "workflow-controller",
		ToolFiles: []string{"argoexec", ArgoMinimalCRDs},
		// The pods' namespace and the node's images come first.
		Needs: []string{ProwJobCRDName, NodeImagesName},
		Setup: func(ctx context.Context, e *Env) error {
			cfg, err := e.Rest()
			if err != nil {
				return err
			}
			// The full CRDs' schemas (7.6 MB) cost the API server more
			// than everything else the cluster does: it checks every
			// write of a Workflow (Argo's controller writes each at
			// every step) against them and rebuilds its OpenAPI
			// documents from them. Measured on `cluster up --with argo`
			// and two 5-step Workflows: 205 s of the API server's CPU
			// with the full CRDs, 14 s with the minimal ones. Argo's
			// controller validates a Workflow itself when it runs it.
			if err := InstallArgoCRDs(ctx, cfg, e.ToolsDir, ArgoMinimalCRDs); err != nil {
				return err
			}
			if err := argoObjects(ctx, e); err != nil {
				return err
			}
			im := nodeImage{Refs: []string{ArgoExecutorImage()}, Binaries: []toolBinary{{Argo, "argoexec"}},
				// The controller runs `argoexec` by name.
				Env: []string{"PATH=/:/usr/local/bin:/usr/bin:/bin"}}
			if err := importImages(ctx, e, []nodeImage{im}); err != nil {
				return fmt.Errorf("the executor image: %w", err)
			}
			return writeKubeconfigFromRest(e.Path(ArgoName, "kubeconfig"), "default", cfg)
		},
		Args: func(e *Env) []string {
			return []string{
				"--kubeconfig=" + e.Path(ArgoName, "kubeconfig"),
				"--namespace=" + ArgoNamespace,
				"--executor-image=" + ArgoExecutorImage(),
				"--executor-image-pull-policy=IfNotPresent",
				"--loglevel=info",
			}
		},
		// One controller, no peers to elect a leader among. It looks at a
		// Workflow again every DEFAULT_REQUEUE_TIME (10s by default), and
		// a step's dependents start only then: each step of a pipeline
		// waited up to 10s after the one it needs. One workflow at a time
		// on one machine affords a second.
		Environ: func(e *Env) []string { return []string{"LEADER_ELECTION_DISABLE=true", "DEFAULT_REQUEUE_TIME=1s"} },
		Ready: func(ctx context.Context, e *Env) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/healthz", argoHealthPort), nil)
			if err != nil {
				return err
			}
			resp, err := e.HTTPClient(false).Do(req)
			if err != nil {
				return err
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("workflow-controller /healthz: %s", resp.Status)
			}
			return nil
		},
		Endpoint: func(e *Env) string { return fmt.Sprintf("http://127.0.0.1:%d/healthz (namespace)", argoHealthPort) },
		// Inside the cluster's namespaces, as plank: the API server's
		// address there, and its fixed ports the cluster's own.
		Namespaces: func(e *Env) process.Namespaces { return e.NS },
	}
}

// Argo's CRDs, as `make tools` copies them from Argo's manifests: the full
// ones, whose schemas describe every field (the Workflow one is over a
// megabyte: create, never client-side apply), and the minimal ones, which
// take any spec and status.
const (
	ArgoFullCRDs    = "crds"
	ArgoMinimalCRDs = "crds-minimal"
)

// InstallArgoCRDs creates Argo's CRDs of the kind ArgoFullCRDs or
// ArgoMinimalCRDs from `make tools` in the cluster of cfg and waits for
// them to be established, so the controller's informers start on served
// types. Tests validate Workflows against the full ones; resources
// ("workflows") limits it to those, all when empty.
func InstallArgoCRDs(ctx context.Context, cfg *rest.Config, toolsDir, kind string, resources ...string) error {
	dir, err := Argo.Path(toolsDir, kind)
	if err != nil {
		return err
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return err
	}
	if len(resources) > 0 {
		var only []string
		for _, r := range resources {
			if f := filepath.Join(dir, "argoproj.io_"+r+".yaml"); slices.Contains(files, f) {
				only = append(only, f)
			}
		}
		files = only
	}
	if len(files) == 0 {
		return fmt.Errorf("no Argo CRDs in %s: run `make tools`", dir)
	}
	sort.Strings(files)
	client, err := apiextensions.NewForConfig(cfg)
	if err != nil {
		return err
	}
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(b, &crd); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		if _, err := client.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, &crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create the CRD %s: %w", crd.Name, err)
		}
		names = append(names, crd.Name)
	}
	for _, n := range names {
		if err := waitEstablished(ctx, client, n); err != nil {
			return err
		}
	}
	return nil
}

func waitEstablished(ctx context.Context, client apiextensions.Interface, name string) error {
	for {
		crd, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			for _, c := range crd.Status.Conditions {
				if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the CRD %s is not established: %w", name, errors.Join(err, ctx.Err()))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// argoObjects are what the controller and the workflows' pods need: the
// controller's ConfigMap (it exits at start without one, even empty) and,
// in the pods' namespace, a service account allowed to record task
// results, as the executor's wait container does. The jobs' service
// account (E2ERoleName) may too: a job that submits a Workflow (`e2e
// submit --argo`) runs its steps as itself, with what the job preset gives.
func argoObjects(ctx context.Context, e *Env) error {
	kube, err := e.kube()
	if err != nil {
		return err
	}
	ns, err := ReadProwNamespaces(e.ProwConfig)
	if err != nil {
		return err
	}
	ignoreExists := func(what string, err error) error {
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create %s: %w", what, err)
		}
		return nil
	}
	_, err = kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ArgoNamespace}}, metav1.CreateOptions{})
	if err := ignoreExists("namespace "+ArgoNamespace, err); err != nil {
		return err
	}
	_, err = kube.CoreV1().ConfigMaps(ArgoNamespace).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: argoConfigMap}}, metav1.CreateOptions{})
	if err := ignoreExists("configmap "+argoConfigMap, err); err != nil {
		return err
	}
	_, err = kube.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: argoExecutorRole},
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflowtaskresults"}, Verbs: []string{"create", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "watch", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"pods/log"}, Verbs: []string{"get", "watch"}},
		},
	}, metav1.CreateOptions{})
	if err := ignoreExists("clusterrole "+argoExecutorRole, err); err != nil {
		return err
	}
	_, err = kube.CoreV1().ServiceAccounts(ns.Pods).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: ArgoServiceAccount}}, metav1.CreateOptions{})
	if err := ignoreExists("service account "+ArgoServiceAccount, err); err != nil {
		return err
	}
	_, err = kube.RbacV1().RoleBindings(ns.Pods).Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: argoExecutorRole},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: argoExecutorRole},
		Subjects: []rbacv1.Subject{
			{Kind: "ServiceAccount", Name: ArgoServiceAccount, Namespace: ns.Pods},
			{Kind: "ServiceAccount", Name: E2ERoleName, Namespace: ns.Pods},
		},
	}, metav1.CreateOptions{})
	return ignoreExists("rolebinding "+argoExecutorRole+" in "+ns.Pods, err)
}
