package prowjob

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kubefake "k8s.io/client-go/kubernetes/fake"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/jobpreset"
)

// Submit adds the preset a cluster publishes to the jobs it creates there,
// keeping what the job has of its own; a cluster without one gets the job
// as it is.
func TestSubmitAddsTheClustersPreset(t *testing.T) {
	preset := jobpreset.Preset{
		ServiceAccountName: "prowctl-e2e",
		Env:                []corev1.EnvVar{{Name: "GOPROXY", Value: "http://10.88.0.1:3000"}, {Name: "E2E_CLUSTER_PROVIDER", Value: "in-cluster"}},
		Volumes:            []corev1.Volume{{Name: "cache", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
		VolumeMounts:       []corev1.VolumeMount{{Name: "cache", MountPath: "/cache"}},
	}
	raw, err := json.Marshal(preset)
	if err != nil {
		t.Fatal(err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: jobpreset.Name, Namespace: metav1.NamespacePublic}, Data: map[string]string{jobpreset.Key: string(raw)}}
	job := func() *prowapi.ProwJob {
		return &prowapi.ProwJob{
			ObjectMeta: metav1.ObjectMeta{Name: "j", Namespace: "prow"},
			Spec: prowapi.ProwJobSpec{Job: "tf-k8s-presubmit", Type: prowapi.PresubmitJob, Agent: prowapi.KubernetesAgent, PodSpec: &corev1.PodSpec{
				Containers: []corev1.Container{{Name: "test", Image: "x", Env: []corev1.EnvVar{{Name: "GOPROXY", Value: "the job's own"}}}},
			}},
		}
	}
	for _, tc := range []struct {
		name     string
		objs     []corev1.ConfigMap
		wantSA   string
		wantEnv  []corev1.EnvVar
		wantVols int
		wantSaid string
	}{
		{"the personal cluster", []corev1.ConfigMap{*cm}, "prowctl-e2e",
			[]corev1.EnvVar{{Name: "GOPROXY", Value: "the job's own"}, {Name: "E2E_CLUSTER_PROVIDER", Value: "in-cluster"}}, 1,
			"added: $E2E_CLUSTER_PROVIDER, service account prowctl-e2e, volume cache"},
		{"another cluster", nil, "", []corev1.EnvVar{{Name: "GOPROXY", Value: "the job's own"}}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _, _ := fakeClient()
			kube := kubefake.NewSimpleClientset()
			for i := range tc.objs {
				if _, err := kube.CoreV1().ConfigMaps(tc.objs[i].Namespace).Create(context.Background(), &tc.objs[i], metav1.CreateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			c.Kube = kube
			var out bytes.Buffer
			created, err := Submit(context.Background(), c, job(), SubmitOptions{FollowOptions: FollowOptions{Out: &out, ErrOut: &out}})
			if err != nil {
				t.Fatal(err)
			}
			spec := created.Spec.PodSpec
			if spec.ServiceAccountName != tc.wantSA {
				t.Errorf("service account %q, want %q", spec.ServiceAccountName, tc.wantSA)
			}
			if diff := cmp.Diff(tc.wantEnv, spec.Containers[0].Env); diff != "" {
				t.Errorf("env (-want +got):\n%s", diff)
			}
			if len(spec.Volumes) != tc.wantVols || len(spec.Containers[0].VolumeMounts) != tc.wantVols {
				t.Errorf("volumes %v, mounts %v: want %d each", spec.Volumes, spec.Containers[0].VolumeMounts, tc.wantVols)
			}
			if said := strings.Contains(out.String(), "job preset"); said != (tc.wantSaid != "") || !strings.Contains(out.String(), tc.wantSaid) {
				t.Errorf("output %q, want it to say %q", out.String(), tc.wantSaid)
			}
		})
	}
}
