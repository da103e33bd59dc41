// Command e2etest is the fixture operator's end-to-end test: the test step
// of the e2e pipeline runs it against the cluster the chart was deployed to
// (KUBECONFIG, E2E_NAMESPACE, E2E_RELEASE) and it writes a JUnit report into
// $JUNIT_DIR. It exits 1 when a case fails.
package main

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

var tfjobs = schema.GroupVersionResource{Group: "kubeflow.org", Version: "v1alpha1", Resource: "tfjobs"}

type testCase struct {
	name string
	run  func(ctx context.Context) error
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2etest:", err)
		os.Exit(1)
	}
}

func run() error {
	ns, release := os.Getenv("E2E_NAMESPACE"), os.Getenv("E2E_RELEASE")
	if ns == "" || release == "" {
		return errors.New("E2E_NAMESPACE and E2E_RELEASE must be set (the deploy step records them)")
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{CurrentContext: os.Getenv("E2E_CONTEXT")}).ClientConfig()
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	jobs := dyn.Resource(tfjobs).Namespace(ns)
	cases := []testCase{
		{"OperatorAvailable", func(ctx context.Context) error {
			d, err := kube.AppsV1().Deployments(ns).Get(ctx, release, metav1.GetOptions{})
			if err != nil {
				return err
			}
			for _, c := range d.Status.Conditions {
				if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
					return nil
				}
			}
			return fmt.Errorf("deployment %s/%s not available: %+v", ns, release, d.Status.Conditions)
		}},
		{"CreateTFJob", func(ctx context.Context) error {
			created, err := jobs.Create(ctx, tfjob("mnist", "WORKER"), metav1.CreateOptions{})
			if err != nil {
				return err
			}
			got, err := jobs.Get(ctx, created.GetName(), metav1.GetOptions{})
			if err != nil {
				return err
			}
			specs, _, _ := unstructured.NestedSlice(got.Object, "spec", "replicaSpecs")
			if len(specs) != 1 {
				return fmt.Errorf("read back %d replicaSpecs, want 1", len(specs))
			}
			return jobs.Delete(ctx, created.GetName(), metav1.DeleteOptions{})
		}},
		{"RejectBadReplicaType", func(ctx context.Context) error {
			_, err := jobs.Create(ctx, tfjob("bad", "CHIEF"), metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) {
				return fmt.Errorf("creating a TFJob with tfReplicaType CHIEF: %v, want it refused by the CRD's schema", err)
			}
			return nil
		}},
	}
	suite := junitSuite{Name: "tf-operator-e2e"}
	began := time.Now()
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		err := c.run(ctx)
		cancel()
		tc := junitCase{Name: c.name, ClassName: "e2e", Time: seconds(time.Since(start))}
		status := "PASS"
		if err != nil {
			tc.Failure = &junitFailure{Message: err.Error(), Text: err.Error()}
			suite.Failures++
			status = "FAIL"
		}
		fmt.Printf("--- %s: %s (%s)\n", status, c.name, time.Since(start).Round(time.Millisecond))
		if err != nil {
			fmt.Printf("    %v\n", err)
		}
		suite.Cases = append(suite.Cases, tc)
	}
	suite.Tests, suite.Time = len(suite.Cases), seconds(time.Since(began))
	if dir := os.Getenv("JUNIT_DIR"); dir != "" {
		b, err := xml.MarshalIndent(junitSuites{Suites: []junitSuite{suite}}, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "junit_operator.xml"), append([]byte(xml.Header), b...), 0o644); err != nil {
			return err
		}
	}
	if suite.Failures > 0 {
		return fmt.Errorf("%d of %d cases failed", suite.Failures, suite.Tests)
	}
	return nil
}

func tfjob(name, replicaType string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubeflow.org/v1alpha1",
		"kind":       "TFJob",
		"metadata":   map[string]any{"generateName": name + "-"},
		"spec": map[string]any{
			"replicaSpecs": []any{map[string]any{
				"replicas":      int64(1),
				"tfReplicaType": replicaType,
				"template":      map[string]any{"spec": map[string]any{"containers": []any{map[string]any{"name": "tensorflow", "image": "tensorflow/tensorflow"}}}},
			}},
		},
	}}
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}
