// Package jobpreset is what a cluster adds to the jobs created on it, as a
// Prow preset adds env and volumes, published in a ConfigMap: the personal
// cluster writes it (pkg/cluster), prowctl's ProwJob client applies it
// (pkg/prowjob).
package jobpreset

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Name is the ConfigMap, in kube-public, in which a cluster says what the
// jobs created on it need and Prow's config cannot say: the personal
// cluster's service account for jobs, module proxy, build cache and e2e
// provider (pkg/cluster publishes it). prowjob.Submit adds it to every
// ProwJob it creates there, whatever made the ProwJob (run, mkpj --create,
// create, rerun), so a job runs the same way however it was started.
const Name = "prowctl-job-preset"

// Key is the key of the preset, as JSON, in the ConfigMap.
const Key = "preset.json"

// Preset is added to a job's pod as Prow adds a preset: env and
// volume mounts to every container, volumes to the pod; and the service
// account, which Prow's presets cannot set (without one, Prow's decoration
// mounts no token in the pod).
type Preset struct {
	ServiceAccountName string               `json:"serviceAccountName,omitempty"`
	Env                []corev1.EnvVar      `json:"env,omitempty"`
	Volumes            []corev1.Volume      `json:"volumes,omitempty"`
	VolumeMounts       []corev1.VolumeMount `json:"volumeMounts,omitempty"`
}

// Apply adds p to spec. What the job has already (a variable, volume or
// mount of the same name or path, a service account) is the job's own and
// stays. It returns what it added, for the record.
func (p Preset) Apply(spec *corev1.PodSpec) []string {
	if spec == nil {
		return nil
	}
	added := map[string]bool{}
	if p.ServiceAccountName != "" && spec.ServiceAccountName == "" {
		spec.ServiceAccountName = p.ServiceAccountName
		added["service account "+p.ServiceAccountName] = true
	}
	for i := range spec.Containers {
		c := &spec.Containers[i]
		for _, e := range p.Env {
			if !hasEnv(c.Env, e.Name) {
				c.Env = append(c.Env, e)
				added["$"+e.Name] = true
			}
		}
		for _, m := range p.VolumeMounts {
			if !hasMount(c.VolumeMounts, m) {
				c.VolumeMounts = append(c.VolumeMounts, m)
			}
		}
	}
	for _, v := range p.Volumes {
		if !hasVolume(spec.Volumes, v.Name) {
			spec.Volumes = append(spec.Volumes, v)
			added["volume "+v.Name] = true
		}
	}
	var out []string
	for a := range added {
		out = append(out, a)
	}
	sort.Strings(out)
	return out
}

func hasEnv(env []corev1.EnvVar, name string) bool {
	for _, e := range env {
		if e.Name == name {
			return true
		}
	}
	return false
}

func hasMount(mounts []corev1.VolumeMount, m corev1.VolumeMount) bool {
	for _, x := range mounts {
		if x.Name == m.Name || x.MountPath == m.MountPath {
			return true
		}
	}
	return false
}

func hasVolume(vols []corev1.Volume, name string) bool {
	for _, v := range vols {
		if v.Name == name {
			return true
		}
	}
	return false
}

// Read returns the preset the cluster of kube publishes; nil when it
// publishes none (any cluster but the personal one) or hides it from us.
func Read(ctx context.Context, kube kubernetes.Interface) (*Preset, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	cm, err := kube.CoreV1().ConfigMaps(metav1.NamespacePublic).Get(ctx, Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) || apierrors.IsForbidden(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("the cluster's job preset (kube-public/%s): %w", Name, err)
	}
	var p Preset
	if err := json.Unmarshal([]byte(cm.Data[Key]), &p); err != nil {
		return nil, fmt.Errorf("kube-public/%s: %s: %w", Name, Key, err)
	}
	return &p, nil
}
