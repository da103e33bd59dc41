// Package operatortest is what the tests that run the e2e pipeline on a
// real node (the whole loop, Argo) share about the fixture operator
// (testdata/operator): a checkout whose commit breaks it, and the check
// that teardown removed what deploy made.
package operatortest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/prowctl/prowctl/pkg/process"
)

// BrokenCheckout clones root into repo and commits there an operator that
// never marks a TFJob Succeeded, so the pipeline's test step fails; the
// operator's tests then wait 20s, not a minute, for the TFJob that never
// succeeds (E2E_CASE_TIMEOUT in the pipeline's env). home is git's $HOME.
func BrokenCheckout(t testing.TB, root, repo, home string) {
	t.Helper()
	git := func(args ...string) {
		t.Helper()
		if out, err := process.Output(context.Background(), process.Exec{}, process.Cmd{Name: "git", Args: args, Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}}); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("clone", "--quiet", root, repo)
	edit := func(rel, old, new string) {
		t.Helper()
		p := filepath.Join(repo, rel)
		src, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		changed := strings.Replace(string(src), old, new, 1)
		if changed == string(src) {
			t.Fatalf("%s: no %q to change", rel, old)
		}
		if err := os.WriteFile(p, []byte(changed), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	edit(filepath.Join("testdata", "operator", "reconcile.go"), "case done == len(pods):", "case false && done == len(pods): // broken: never Succeeded")
	edit(filepath.Join("config", "e2e.yaml"), "\nsteps:\n", "\nenv:\n  E2E_CASE_TIMEOUT: 20s\nsteps:\n")
	git("-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-am", "operator: never mark TFJobs Succeeded")
}

// NothingLeft checks that teardown removed what deploy made: the run's
// namespace, the helm release, the chart's ClusterRoles, the TFJob CRD.
func NothingLeft(t testing.TB, kube kubernetes.Interface) {
	t.Helper()
	ctx := context.Background()
	nss, err := kube.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range nss.Items {
		if strings.HasPrefix(ns.Name, "e2e-") && ns.Status.Phase != "Terminating" {
			t.Errorf("namespace %s is left", ns.Name)
		}
	}
	releases, err := kube.CoreV1().Secrets("").List(ctx, metav1.ListOptions{LabelSelector: "owner=helm"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range releases.Items {
		t.Errorf("helm release secret %s/%s is left", s.Namespace, s.Name)
	}
	roles, err := kube.RbacV1().ClusterRoles().List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=tf-operator"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range roles.Items {
		t.Errorf("the chart's ClusterRole %s is left", r.Name)
	}
	ext, err := kube.Discovery().ServerResourcesForGroupVersion("kubeflow.org/v1alpha1")
	if err == nil && len(ext.APIResources) > 0 {
		t.Errorf("the TFJob CRD is left: %v", ext.APIResources)
	}
}
