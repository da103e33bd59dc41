package deploy

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
)

// A namespace a teardown is deleting is waited for; one that stays is an
// error once the step's time is up; one that lives is used as it is.
func TestWaitNamespaceGone(t *testing.T) {
	now := metav1.Now()
	terminating := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-1", DeletionTimestamp: &now, Finalizers: []string{"kubernetes"}}}
	live := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "e2e-2"}}
	kube := kubefake.NewSimpleClientset(terminating, live)

	if err := waitNamespaceGone(context.Background(), kube, "e2e-2"); err != nil {
		t.Errorf("a live namespace: %v", err)
	}
	if err := waitNamespaceGone(context.Background(), kube, "e2e-3"); err != nil {
		t.Errorf("no namespace: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := waitNamespaceGone(ctx, kube, "e2e-1"); err == nil || !strings.Contains(err.Error(), "namespace e2e-1 is still being deleted") {
		t.Errorf("a namespace that stays: %v", err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		kube.CoreV1().Namespaces().Delete(context.Background(), "e2e-1", metav1.DeleteOptions{})
	}()
	began := time.Now()
	if err := waitNamespaceGone(context.Background(), kube, "e2e-1"); err != nil || time.Since(began) < 100*time.Millisecond {
		t.Errorf("a namespace deleted after 100ms: %v after %s", err, time.Since(began))
	}
}
