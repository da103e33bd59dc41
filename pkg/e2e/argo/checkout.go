package argo

import (
	"fmt"
	"path"

	corev1 "k8s.io/api/core/v1"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/pod-utils/clone"
	"sigs.k8s.io/prow/pkg/pod-utils/decorate"
	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"
)

// The checkout: a first task clones the job spec's refs onto the
// Workflow's volume with Prow's own clonerefs, configured by Prow's own
// decorate.CloneRefs, the same code that makes a decorated job's init
// container. So the steps run on the commit under test, as the Prow job's
// own test container does, and the image needs not hold the repository.
const (
	// CheckoutTemplate is the checkout task's and template's name; no step
	// may have it.
	CheckoutTemplate = "checkout"
	// CodeDir is where the refs are cloned (clonerefs' src_root, Prow's
	// /home/prow/go): the repository is at CodeDir/src/github.com/ORG/REPO,
	// or its path_alias.
	CodeDir = "/home/prow/go"
	// cloneLogDir holds clonerefs' record of what it cloned, in the
	// checkout's pod only.
	cloneLogDir = "/logs"
)

// refsOf are the refs a job spec clones: its refs, then its extra refs.
func refsOf(spec *downwardapi.JobSpec) []prowapi.Refs {
	var refs []prowapi.Refs
	if spec.Refs != nil {
		refs = append(refs, *spec.Refs)
	}
	return append(refs, spec.ExtraRefs...)
}

// checkoutWorkDir is where a decorated job's test container starts: the
// first ref's clone.
func checkoutWorkDir(spec *downwardapi.JobSpec) string {
	return clone.PathForRefs(CodeDir, refsOf(spec)[0])
}

// codeMount is the volume's subdirectory the refs are cloned into, mounted
// at CodeDir in the checkout and in every step.
var codeMount = VolumeMount{Name: VolumeName, MountPath: CodeDir, SubPath: "code"}

// checkoutTemplate is the checkout's container template: clonerefs as
// decorate.CloneRefs makes it for the job spec (its SSH key and OAuth
// token secrets, its cookie file) with image, and the volumes it needs.
func checkoutTemplate(spec *downwardapi.JobSpec, image string) (Template, []Volume, error) {
	dc := &prowapi.DecorationConfig{}
	if spec.DecorationConfig != nil {
		dc = spec.DecorationConfig.DeepCopy()
	}
	if dc.UtilityImages == nil {
		dc.UtilityImages = &prowapi.UtilityImages{}
	}
	dc.UtilityImages.CloneRefs = image
	dc.SkipCloning = nil
	pj := prowapi.ProwJob{Spec: prowapi.ProwJobSpec{Refs: spec.Refs, ExtraRefs: spec.ExtraRefs, DecorationConfig: dc}}
	code := corev1.VolumeMount{Name: codeMount.Name, MountPath: codeMount.MountPath, SubPath: codeMount.SubPath}
	logs := corev1.VolumeMount{Name: "clone-logs", MountPath: cloneLogDir}
	c, _, vols, err := decorate.CloneRefs(pj, code, logs)
	if err != nil {
		return Template{}, nil, fmt.Errorf("checkout: %w", err)
	}
	if c == nil {
		return Template{}, nil, fmt.Errorf("checkout: the job spec has no refs to clone")
	}
	vols = append(vols, corev1.Volume{Name: logs.Name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	t := Template{Name: CheckoutTemplate, Container: &Container{
		Image: c.Image,
		// By name, as Argo's emissary executor needs a command: Prow's
		// images have it on their PATH (/ko-app), as the personal
		// cluster's has.
		Command: append([]string{"clonerefs"}, c.Args...),
		// clonerefs' own default is the container's, the image's root.
		WorkingDir: "/",
	}}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			return Template{}, nil, fmt.Errorf("checkout: clonerefs' variable %s is not a value", e.Name)
		}
		t.Container.Env = append(t.Container.Env, EnvVar{Name: e.Name, Value: e.Value})
	}
	for _, m := range c.VolumeMounts {
		t.Container.VolumeMounts = append(t.Container.VolumeMounts, VolumeMount{Name: m.Name, MountPath: m.MountPath, SubPath: m.SubPath, ReadOnly: m.ReadOnly})
	}
	var out []Volume
	for _, v := range vols {
		w, err := volumeOf(v)
		if err != nil {
			return Template{}, nil, fmt.Errorf("checkout: %w", err)
		}
		out = append(out, w)
	}
	return t, out, nil
}

// volumeOf is one of the volumes decorate.CloneRefs asks for, in the
// Workflow's structs.
func volumeOf(v corev1.Volume) (Volume, error) {
	switch {
	case v.EmptyDir != nil:
		return Volume{Name: v.Name, EmptyDir: &EmptyDirSource{}}, nil
	case v.HostPath != nil:
		h := &HostPathSource{Path: v.HostPath.Path}
		if v.HostPath.Type != nil {
			h.Type = string(*v.HostPath.Type)
		}
		return Volume{Name: v.Name, HostPath: h}, nil
	case v.Secret != nil:
		s := &SecretSource{SecretName: v.Secret.SecretName, DefaultMode: v.Secret.DefaultMode}
		for _, it := range v.Secret.Items {
			s.Items = append(s.Items, KeyToPath{Key: it.Key, Path: path.Clean(it.Path)})
		}
		return Volume{Name: v.Name, Secret: s}, nil
	}
	return Volume{}, fmt.Errorf("volume %s: only Secrets, emptyDirs and host paths are supported", v.Name)
}
