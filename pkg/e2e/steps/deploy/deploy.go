// Package deploy installs a helm chart into a test cluster with the helm SDK
// and waits until its CRDs are established and its Deployments available;
// Undeploy removes the release, the CRDs the install created (helm never
// deletes CRDs from crds/) and the namespace it created.
package deploy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/releaseutil"
	"helm.sh/helm/v3/pkg/storage/driver"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensions "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Target is a release in a cluster.
type Target struct {
	// Kubeconfig and Context select the cluster ("" Context: the current one).
	Kubeconfig, Context string
	Namespace           string
	// Release name; Deploy defaults it to the chart's name.
	Release string
	// Log receives helm's messages.
	Log io.Writer
}

// Options say what to install.
type Options struct {
	Target
	// Chart is the path of the chart (.tgz or directory).
	Chart string
	// Values override the chart's values.yaml.
	Values map[string]any
	// Timeout bounds helm's wait when ctx has no deadline (default 5m).
	Timeout time.Duration
}

// Result is what Deploy did; Undeploy takes it back.
type Result struct {
	Target
	Revision int
	// NamespaceCreated is true when Deploy created the namespace.
	NamespaceCreated bool
	// CRDs are the names of the CRDs Deploy created (not those that existed).
	CRDs []string
	// Deployments are the names of the release's Deployments, all available.
	Deployments []string
}

// Deploy installs (or upgrades) the chart and waits for its CRDs and
// Deployments, bounded by ctx. When it fails after creating something, the
// Result it returns says what, for Undeploy.
func Deploy(ctx context.Context, o Options) (Result, error) {
	res := Result{Target: o.Target}
	ch, err := loader.Load(o.Chart)
	if err != nil {
		return res, fmt.Errorf("deploy: load chart %s: %w", o.Chart, err)
	}
	if o.Release == "" {
		o.Release = ch.Name()
		res.Release = o.Release
	}
	c, err := newClients(o.Target)
	if err != nil {
		return res, err
	}
	crds, err := crdNames(ch)
	if err != nil {
		return res, fmt.Errorf("deploy: chart %s: %w", o.Chart, err)
	}
	for _, name := range crds {
		_, err := c.ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			res.CRDs = append(res.CRDs, name) // the install creates it: teardown deletes it
		case err != nil:
			return res, fmt.Errorf("deploy: crd %s: %w", name, err)
		}
	}
	// A teardown of the same build (a retry, a rerun) deleted the namespace;
	// nothing can be created in it until the deletion ends.
	if err := waitNamespaceGone(ctx, c.kube, o.Namespace); err != nil {
		return res, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: o.Namespace, Labels: map[string]string{"created-by": "prowctl"}}}
	if _, err := c.kube.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err == nil {
		res.NamespaceCreated = true
	} else if !apierrors.IsAlreadyExists(err) {
		return res, fmt.Errorf("deploy: namespace %s: %w", o.Namespace, err)
	}

	timeout := o.Timeout
	if timeout == 0 {
		timeout = 5 * time.Minute
	}
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	cfg, err := c.helm(o.Namespace, timeout)
	if err != nil {
		return res, err
	}
	var manifest string
	if _, err := action.NewHistory(cfg).Run(o.Release); errors.Is(err, driver.ErrReleaseNotFound) {
		install := action.NewInstall(cfg)
		install.ReleaseName, install.Namespace = o.Release, o.Namespace
		install.Wait, install.Timeout = true, timeout
		rel, err := install.RunWithContext(ctx, ch, o.Values)
		if err != nil {
			return res, fmt.Errorf("deploy: install %s into %s: %w", o.Release, o.Namespace, err)
		}
		res.Revision, manifest = rel.Version, rel.Manifest
	} else if err != nil {
		return res, fmt.Errorf("deploy: release %s: %w", o.Release, err)
	} else {
		upgrade := action.NewUpgrade(cfg)
		upgrade.Namespace = o.Namespace
		upgrade.Wait, upgrade.Timeout = true, timeout
		rel, err := upgrade.RunWithContext(ctx, o.Release, ch, o.Values)
		if err != nil {
			return res, fmt.Errorf("deploy: upgrade %s in %s: %w", o.Release, o.Namespace, err)
		}
		res.Revision, manifest = rel.Version, rel.Manifest
	}

	for _, name := range crds {
		if err := waitEstablished(ctx, c.ext, name); err != nil {
			return res, err
		}
	}
	deployments, err := deploymentNames(manifest)
	if err != nil {
		return res, fmt.Errorf("deploy: release %s: %w", o.Release, err)
	}
	for _, name := range deployments {
		if err := waitAvailable(ctx, c.kube, o.Namespace, name); err != nil {
			return res, err
		}
	}
	res.Deployments = deployments
	return res, nil
}

// Undeploy uninstalls the release and deletes the CRDs and the namespace
// that r says Deploy created, waiting until the CRDs are gone. What is
// already gone is fine: Undeploy can run twice.
func Undeploy(ctx context.Context, r Result) error {
	c, err := newClients(r.Target)
	if err != nil {
		return err
	}
	var errs []error
	if r.Release != "" {
		cfg, err := c.helm(r.Namespace, undeployTimeout)
		if err != nil {
			return err
		}
		uninstall := action.NewUninstall(cfg)
		uninstall.IgnoreNotFound = true
		uninstall.Timeout = undeployTimeout
		if _, err := uninstall.Run(r.Release); err != nil && !errors.Is(err, driver.ErrReleaseNotFound) {
			errs = append(errs, fmt.Errorf("undeploy: uninstall %s from %s: %w", r.Release, r.Namespace, err))
		}
	}
	crds := c.ext.ApiextensionsV1().CustomResourceDefinitions()
	for _, name := range r.CRDs {
		if err := crds.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("undeploy: delete crd %s: %w", name, err))
		}
	}
	for _, name := range r.CRDs {
		err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			_, err := crds.Get(ctx, name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				return true, nil
			}
			return false, nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("undeploy: crd %s still there: %w", name, err))
		}
	}
	if r.NamespaceCreated {
		err := c.kube.CoreV1().Namespaces().Delete(ctx, r.Namespace, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("undeploy: delete namespace %s: %w", r.Namespace, err))
		}
	}
	return errors.Join(errs...)
}

type clients struct {
	t      Target
	getter *genericclioptions.ConfigFlags
	kube   kubernetes.Interface
	ext    apiextensions.Interface
}

func newClients(t Target) (*clients, error) {
	rc, err := restConfig(t.Kubeconfig, t.Context)
	if err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	ext, err := apiextensions.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	getter := genericclioptions.NewConfigFlags(false)
	getter.KubeConfig, getter.Context = &t.Kubeconfig, &t.Context
	return &clients{t: t, getter: getter, kube: kube, ext: ext}, nil
}

// undeployTimeout bounds helm's uninstall.
const undeployTimeout = 2 * time.Minute

// helm configures helm's client for namespace. A request may take as long
// as the whole action (timeout): without that client-go gives up on each
// after 32 s, and helm's schema validation reads the API server's OpenAPI
// v2 document, which the server rebuilds after every CRD change. With
// large CRDs installed (Argo's full Workflow CRD is over a megabyte) that
// took longer than 32 s on a loaded 2-core machine, right after the chart's
// own CRD was created, and failed the install.
func (c *clients) helm(namespace string, timeout time.Duration) (*action.Configuration, error) {
	ns, requestTimeout := namespace, timeout.String()
	c.getter.Namespace, c.getter.Timeout = &ns, &requestTimeout
	log := c.t.Log
	if log == nil {
		log = io.Discard
	}
	cfg := new(action.Configuration)
	logf := func(format string, v ...any) { fmt.Fprintf(log, format+"\n", v...) }
	if err := cfg.Init(c.getter, namespace, "secret", logf); err != nil {
		return nil, fmt.Errorf("helm: %w", err)
	}
	return cfg, nil
}

func restConfig(kubeconfig, context string) (*rest.Config, error) {
	rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	return cfg, nil
}

// crdNames returns the names of the CRDs in the chart's crds/ directory.
func crdNames(ch *chart.Chart) ([]string, error) {
	var names []string
	for _, crd := range ch.CRDObjects() {
		dec := yaml.NewDecoder(bytes.NewReader(crd.File.Data))
		for {
			var obj struct {
				Kind     string `yaml:"kind"`
				Metadata struct {
					Name string `yaml:"name"`
				} `yaml:"metadata"`
			}
			err := dec.Decode(&obj)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", crd.Filename, err)
			}
			if obj.Kind == "CustomResourceDefinition" && obj.Metadata.Name != "" {
				names = append(names, obj.Metadata.Name)
			}
		}
	}
	sort.Strings(names)
	return names, nil
}

// deploymentNames returns the names of the Deployments in a release manifest.
func deploymentNames(manifest string) ([]string, error) {
	var names []string
	for _, doc := range releaseutil.SplitManifests(manifest) {
		var obj struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name string `yaml:"name"`
			} `yaml:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil {
			return nil, err
		}
		if obj.Kind == "Deployment" {
			names = append(names, obj.Metadata.Name)
		}
	}
	sort.Strings(names)
	return names, nil
}

func waitEstablished(ctx context.Context, ext apiextensions.Interface, name string) error {
	var last string
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		crd, err := ext.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		for _, c := range crd.Status.Conditions {
			if c.Type == apiextensionsv1.Established {
				last = string(c.Status) + ": " + c.Message
				return c.Status == apiextensionsv1.ConditionTrue, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("deploy: crd %s not established (%s): %w", name, last, err)
	}
	return nil
}

func waitAvailable(ctx context.Context, kube kubernetes.Interface, namespace, name string) error {
	var last string
	err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		d, err := kube.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		for _, c := range d.Status.Conditions {
			if c.Type == appsv1.DeploymentAvailable {
				last = strings.TrimSpace(string(c.Status) + " " + c.Message)
				return c.Status == corev1.ConditionTrue && d.Status.ObservedGeneration >= d.Generation, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("deploy: deployment %s/%s not available (%s): %w", namespace, name, last, err)
	}
	return nil
}

// waitNamespaceGone waits, as long as ctx lets it, for a namespace being
// deleted to be gone; one that exists and is not being deleted is fine.
func waitNamespaceGone(ctx context.Context, kube kubernetes.Interface, name string) error {
	for {
		ns, err := kube.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			return nil
		case err != nil:
			return fmt.Errorf("deploy: namespace %s: %w", name, err)
		case ns.DeletionTimestamp == nil:
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("deploy: namespace %s is still being deleted (a teardown of this build): %w", name, ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}
