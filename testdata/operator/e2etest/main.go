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
	"sort"
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
	// The replicas run the operator's own image (its worker mode).
	image := func(ctx context.Context) string {
		d, err := kube.AppsV1().Deployments(ns).Get(ctx, release, metav1.GetOptions{})
		if err != nil || len(d.Spec.Template.Spec.Containers) == 0 {
			return "no-operator-deployment"
		}
		return d.Spec.Template.Spec.Containers[0].Image
	}
	replicaPods := func(ctx context.Context, job string) ([]corev1.Pod, error) {
		l, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: "tf-operator.kubeflow.org/job-name=" + job})
		if err != nil {
			return nil, err
		}
		sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
		return l.Items, nil
	}
	var done []string // TFJobs that succeeded, for the deletion case
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
		{"TFJobSucceeds", func(ctx context.Context) error {
			created, err := jobs.Create(ctx, tfjob("mnist", "WORKER", 2, worker(image(ctx), 0)), metav1.CreateOptions{})
			if err != nil {
				return err
			}
			done = append(done, created.GetName())
			// The pods' end is the operator's cue: it has a few passes
			// after that to say so.
			settled := func(ctx context.Context) (bool, error) {
				pods, err := replicaPods(ctx, created.GetName())
				if err != nil || len(pods) != 2 {
					return false, err
				}
				for _, p := range pods {
					if p.Status.Phase != corev1.PodSucceeded {
						return false, nil
					}
				}
				return true, nil
			}
			if err := waitCondition(ctx, jobs, created.GetName(), "Succeeded", settled); err != nil {
				return err
			}
			pods, err := replicaPods(ctx, created.GetName())
			if err != nil {
				return err
			}
			var phases []string
			for _, p := range pods {
				phases = append(phases, p.Name+"="+string(p.Status.Phase))
			}
			if len(pods) != 2 || pods[0].Status.Phase != corev1.PodSucceeded || pods[1].Status.Phase != corev1.PodSucceeded {
				return fmt.Errorf("replica pods %v, want 2 Succeeded", phases)
			}
			return nil
		}},
		{"TFJobFailsWhenAReplicaFails", func(ctx context.Context) error {
			created, err := jobs.Create(ctx, tfjob("failing", "WORKER", 1, worker(image(ctx), 1)), metav1.CreateOptions{})
			if err != nil {
				return err
			}
			return waitCondition(ctx, jobs, created.GetName(), "Failed", nil)
		}},
		{"DeletingATFJobDeletesItsPods", func(ctx context.Context) error {
			if len(done) == 0 {
				return errors.New("no TFJob left by TFJobSucceeds to delete")
			}
			name := done[0]
			if err := jobs.Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
				return err
			}
			for {
				pods, err := replicaPods(ctx, name)
				if err != nil {
					return err
				}
				if len(pods) == 0 {
					return nil
				}
				select {
				case <-ctx.Done():
					return fmt.Errorf("%d pods of deleted TFJob %s are still there: %w", len(pods), name, ctx.Err())
				case <-time.After(500 * time.Millisecond):
				}
			}
		}},
		{"RejectBadReplicaType", func(ctx context.Context) error {
			_, err := jobs.Create(ctx, tfjob("bad", "CHIEF", 1, worker(image(ctx), 0)), metav1.CreateOptions{})
			if !apierrors.IsInvalid(err) {
				return fmt.Errorf("creating a TFJob with tfReplicaType CHIEF: %v, want it refused by the CRD's schema", err)
			}
			return nil
		}},
	}
	suite := junitSuite{Name: "tf-operator-e2e"}
	began := time.Now()
	// E2E_CASE_TIMEOUT: tests of a broken operator need not wait a
	// minute for what never happens.
	caseTimeout := 60 * time.Second
	if d, err := time.ParseDuration(os.Getenv("E2E_CASE_TIMEOUT")); err == nil && d > 0 {
		caseTimeout = d
	}
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), caseTimeout)
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

func tfjob(name, replicaType string, replicas int64, container map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kubeflow.org/v1alpha1",
		"kind":       "TFJob",
		"metadata":   map[string]any{"generateName": name + "-"},
		"spec": map[string]any{
			"replicaSpecs": []any{map[string]any{
				"replicas":      replicas,
				"tfReplicaType": replicaType,
				"template":      map[string]any{"spec": map[string]any{"containers": []any{container}}},
			}},
		},
	}}
}

// worker is a replica's container: the operator's image in worker mode,
// exiting with code after a second of work.
func worker(image string, code int) map[string]any {
	return map[string]any{
		"name":            "tensorflow",
		"image":           image,
		"imagePullPolicy": "IfNotPresent",
		"args":            []any{"worker", fmt.Sprintf("-exit-code=%d", code)},
	}
}

// waitCondition waits until the TFJob has condition want True, and fails
// at once when it reaches the other end (Failed for Succeeded and back), or
// when settled (if given) has said for 10 s that the replicas are done and
// the TFJob still does not say want: the operator missed it.
func waitCondition(ctx context.Context, jobs dynamic.ResourceInterface, name, want string, settled func(context.Context) (bool, error)) error {
	last := "none"
	var doneSince time.Time
	for {
		got, err := jobs.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			c, _ := c.(map[string]any)
			if c["status"] != "True" {
				continue
			}
			last = fmt.Sprintf("%v (%v)", c["type"], c["message"])
			switch c["type"] {
			case want:
				return nil
			case "Succeeded", "Failed":
				return fmt.Errorf("TFJob %s is %s, want %s", name, last, want)
			}
		}
		if settled != nil {
			done, err := settled(ctx)
			if err != nil {
				return err
			}
			switch {
			case !done:
				doneSince = time.Time{}
			case doneSince.IsZero():
				doneSince = time.Now()
			case time.Since(doneSince) > 10*time.Second:
				return fmt.Errorf("TFJob %s: its replicas are done, but after 10 s its condition is still %s, not %s", name, last, want)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("TFJob %s never became %s; last condition: %s: %w", name, want, last, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
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
