package argo

import (
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
)

// presetAdds is what the cluster's job preset adds to every step.
type presetAdds struct {
	volumes []Volume
	mounts  []VolumeMount
}

// applyPreset applies o.Preset, the preset a cluster publishes for the
// jobs it runs (pkg/jobpreset), to the steps as prowjob.Submit applies it
// to a ProwJob's pod, by the preset's own Apply on a pod standing for a
// step's: what the options set already (a variable, a mount path, the
// service account) stays. The preset's E2E_CLUSTER_PROVIDER becomes the
// cluster provider; its other variables go into o.Env.
func (o *Options) applyPreset() (presetAdds, error) {
	if o.Preset == nil {
		return presetAdds{}, nil
	}
	spec := corev1.PodSpec{ServiceAccountName: o.ServiceAccount, Containers: []corev1.Container{{}}}
	c := &spec.Containers[0]
	for _, e := range o.Env {
		c.Env = append(c.Env, corev1.EnvVar{Name: e.Name, Value: e.Value})
	}
	for _, name := range Reserved {
		if name != providerEnv || o.ClusterProvider != "" {
			c.Env = append(c.Env, corev1.EnvVar{Name: name})
		}
	}
	for _, at := range []string{ArtifactsDir, CacheDir, CodeDir, RegistryPipelineDir} {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: VolumeName, MountPath: at})
	}
	for _, sv := range o.SecretVolumes {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "secret-" + sv.Secret, MountPath: sv.MountPath})
	}
	given := len(c.Env)
	mountsGiven := len(c.VolumeMounts)
	o.Preset.Apply(&spec)

	o.ServiceAccount = spec.ServiceAccountName
	for _, e := range c.Env[given:] {
		if e.ValueFrom != nil {
			return presetAdds{}, fmt.Errorf("the cluster's job preset: variable %s: only values are supported", e.Name)
		}
		if e.Name == providerEnv {
			o.ClusterProvider = e.Value
			continue
		}
		o.Env = append(o.Env, EnvVar{Name: e.Name, Value: e.Value})
	}
	var adds presetAdds
	for _, m := range c.VolumeMounts[mountsGiven:] {
		adds.mounts = append(adds.mounts, VolumeMount{Name: m.Name, MountPath: m.MountPath, SubPath: m.SubPath, ReadOnly: m.ReadOnly})
	}
	for _, v := range spec.Volumes {
		if !slices.ContainsFunc(adds.mounts, func(m VolumeMount) bool { return m.Name == v.Name }) {
			continue // mounted nowhere in the steps
		}
		w, err := volumeOf(v)
		if err != nil {
			return presetAdds{}, fmt.Errorf("the cluster's job preset: %w", err)
		}
		adds.volumes = append(adds.volumes, w)
	}
	return adds, nil
}
