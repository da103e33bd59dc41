// Package argo exports an e2e pipeline (config/e2e.yaml) as an Argo Workflow
// (argoproj.io/v1alpha1), so a cluster with Argo Workflows can run it with
// a pod per step: one DAG template whose tasks are the regular steps and
// their needs, an exit handler (spec.onExit) with the finalizers, and a
// container template per step running `prowctl e2e step NAME`, which is how
// a step already runs alone, in a process of its own.
//
// What steps hand on goes through files in $ARTIFACTS (e2e-state.json with
// the image digest, chart ref and kubeconfig path; the chart's .tgz; an
// image's OCI layout), so every pod mounts one volume there. A step kind
// that keeps something in its process or on its pod's loopback for later
// steps (the registry started in process, the personal cluster) cannot work
// that way: Export refuses such pipelines at the step's file:line.
package argo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/jobpreset"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

// Paths in every step's container.
const (
	// ArtifactsDir is $ARTIFACTS: where Prow's decorated pods have it, so a
	// step sees the paths it sees under Prow.
	ArtifactsDir = "/logs/artifacts"
	// CacheDir is $XDG_CACHE_HOME, also on the Workflow's volume: the
	// cluster-up step writes the cluster's kubeconfig under it
	// (prowctl/e2e/NAME), never under $ARTIFACTS, which is uploaded; the
	// later steps' pods must find it at the path the state file records.
	// Go's build cache (go-build) is shared between the steps the same way.
	CacheDir = "/e2e-cache"
	// RegistryPipelineDir holds the one-step pipeline a registry step runs
	// with Options.Registry (an input artifact, outside the volume).
	RegistryPipelineDir = "/e2e-export"
)

// Names in the Workflow.
const (
	// VolumeName is the volume claim template's and the volume's name.
	VolumeName = "e2e"
	// MainTemplate is the entrypoint DAG, FinalizersTemplate the exit
	// handler's; no step may have these names.
	MainTemplate       = "main"
	FinalizersTemplate = "finalizers"
	// DefaultVolumeSize is the volume's size when Options say none: the
	// artifacts, an image's OCI layout, the chart and Go's build cache.
	DefaultVolumeSize = "10Gi"
	// DefaultWorkDirRoot is where Prow's clonerefs clones a repository
	// (GOPATH /home/prow/go) and so where a decorated job's test container
	// starts: DefaultWorkDirRoot + "org/repo".
	DefaultWorkDirRoot = "/home/prow/go/src/github.com/"
)

// DeadlineSlack is added to a step's own time limit in its pod's
// activeDeadlineSeconds. `prowctl e2e step` enforces the step's timeout
// itself, per attempt, and records the failure in the state file; Argo's
// deadline, which counts from the pod's start (volume, image pull, Argo's
// init container included), only stops a pod whose process did not.
const DeadlineSlack = 2 * time.Minute

// RetryPolicy is the retryStrategy.retryPolicy of a step with retries.
// `prowctl e2e step` retries a failed step itself (its retries: attempts,
// as `e2e run` does), so Argo's Always or OnFailure would run a failing
// step (retries+1)² times; OnError leaves Argo what the process cannot
// retry: a pod deleted or evicted, Argo's own containers failing.
const RetryPolicy = "OnError"

// Options say how the Workflow runs the pipeline. Image and PipelinePath
// are required, and WorkDir unless the Workflow checks out the job spec's
// refs.
type Options struct {
	// Image runs every step: it must have prowctl on its PATH and what the
	// steps run (git, Go; the tf-k8s jobs' image, pkg/jobimage).
	Image string
	// WorkDir is the steps' working directory: the repository's checkout,
	// on the volume (the default when the Workflow checks out: the first
	// ref's clone, as in a decorated Prow job) or in the image
	// (DefaultWorkDirRoot + "org/repo" is where a decorated Prow job runs).
	WorkDir string
	// CloneRefsImage is Prow's clonerefs image, which the Workflow's first
	// task (CheckoutTemplate) runs to clone the job spec's refs onto the
	// volume, at CodeDir; "" takes the job spec's decoration config's.
	// A job spec with refs is checked out unless NoCheckout.
	CloneRefsImage string
	// NoCheckout leaves the checkout to the image: it holds the repository
	// at WorkDir.
	NoCheckout bool
	// PipelinePath is the pipeline's path in the pod, relative to WorkDir
	// (its path in the repository) or absolute.
	PipelinePath string
	// Namespace of the Workflow ("": the one it is submitted to).
	Namespace string
	// ServiceAccount the pods run as ("": the namespace's default).
	ServiceAccount string
	// StorageClass of the volume ("": the cluster's default class).
	StorageClass string
	// VolumeSize of the volume (default DefaultVolumeSize).
	VolumeSize string
	// JobSpec is Prow's JOB_SPEC (JSON) the steps get. "" gives a local
	// periodic job (e2e.LocalJob) whose build id is the Workflow's creation
	// time, the same for every pod (JOB_SPEC with Argo's
	// {{workflow.creationTimestamp}} variables).
	JobSpec string
	// Registry (host:port, or http://host:port for one that speaks plain
	// HTTP) is the registry the pipeline's registry steps use instead of
	// their own settings. It must not be on loopback.
	Registry string
	// ClusterProvider is $E2E_CLUSTER_PROVIDER of the steps: the
	// cluster-up steps' provider whatever the pipeline says (in-cluster,
	// kubeconfig or gke).
	ClusterProvider string
	// Upload is the upload steps' destination (`e2e step --upload`):
	// gs://BUCKET[/prefix] or s3://BUCKET[/prefix].
	Upload string
	// Env is set in every step's container, after the export's own.
	Env []EnvVar
	// SecretVolumes are mounted, read-only, in every step's container.
	SecretVolumes []SecretVolume
	// LocalRefs are the extra refs of the local job the Workflow runs when
	// JobSpec is "": a checkout published where the cluster clones from
	// (the personal cluster's git server), checked out as a job's.
	LocalRefs []prowapi.Refs
	// Preset is what the cluster adds to the jobs it runs (its job preset:
	// a service account, the module proxy, a build cache, the cluster
	// provider), added to every step as to a ProwJob's pod: what the
	// options set stays.
	Preset *jobpreset.Preset
}

// SecretVolume is a Secret mounted in the steps' containers.
type SecretVolume struct {
	Secret, MountPath string
}

// Providers a cluster-up step may use in a Workflow (Options.ClusterProvider).
var Providers = []string{"gke", "in-cluster", "kubeconfig"}

// Reserved are the variables the export sets itself; Options.Env may not.
var Reserved = []string{"ARTIFACTS", downwardapi.JobSpecEnv, "XDG_CACHE_HOME", providerEnv}

// providerEnv is steps.ProviderEnv (pkg/e2e/steps imports the cluster
// libraries; this package needs only the name).
const providerEnv = "E2E_CLUSTER_PROVIDER"

// OptionError is an Options value the export cannot use.
type OptionError struct{ Msg string }

func (e *OptionError) Error() string { return e.Msg }

func optionErrorf(format string, args ...any) error {
	return &OptionError{Msg: fmt.Sprintf(format, args...)}
}

// Export returns the Workflow that runs p, and warnings about what it will
// not do (no upload, so the artifacts go with the Workflow's volume). A
// pipeline that cannot run a pod per step is an *e2e.ValidationError, one
// line per problem at its file:line:col; bad Options an *OptionError.
func Export(p *e2e.Pipeline, o Options) (*Workflow, []string, error) {
	preset, err := o.applyPreset()
	if err != nil {
		return nil, nil, err
	}
	job, err := o.check()
	if err != nil {
		return nil, nil, err
	}
	checkout, err := o.checkout(job.spec)
	if err != nil {
		return nil, nil, err
	}
	o.uploadAsDecorated(job.spec)
	if errs := append(checkNames(p, checkout), checkAcrossPods(p, o)...); len(errs) > 0 {
		return nil, nil, &e2e.ValidationError{File: p.File, Errs: errs}
	}
	var regular, finalizers []*e2e.StepSpec
	for _, s := range p.Steps {
		if s.Always {
			finalizers = append(finalizers, s)
		} else {
			regular = append(regular, s)
		}
	}
	if len(regular) == 0 {
		// Argo refuses a DAG without tasks, and an exit handler alone
		// would be the whole run.
		return nil, nil, fmt.Errorf("%s: every step is a finalizer (always: true): the Workflow needs a regular step to run", p.File)
	}

	wf := &Workflow{
		APIVersion: APIVersion,
		Kind:       Kind,
		Metadata: ObjectMeta{
			GenerateName: generateName(job.spec.Job),
			Namespace:    o.Namespace,
			Labels:       map[string]string{"prow.k8s.io/job": prowjob.LabelValue(job.spec.Job)},
		},
		Spec: WorkflowSpec{
			Entrypoint:         MainTemplate,
			ServiceAccountName: o.ServiceAccount,
			VolumeClaimTemplates: []PersistentVolumeClaim{{
				Metadata: ObjectMeta{Name: VolumeName},
				// ReadWriteOnce, which every storage class offers: the
				// Workflow's pods share the volume on the node it is
				// attached to, where the state file's flock works as it
				// does between processes of one machine.
				Spec: ClaimSpec{
					AccessModes:      []string{"ReadWriteOnce"},
					StorageClassName: o.StorageClass,
					Resources:        Resources{Requests: map[string]string{"storage": o.VolumeSize}},
				},
			}},
		},
	}
	if job.given {
		// A local job's build id is only known when Argo creates the
		// Workflow, and metadata is not templated.
		wf.Metadata.Labels["prow.k8s.io/build-id"] = prowjob.LabelValue(job.spec.BuildID)
	}
	c := newContainers(o, job.raw, checkout != nil)
	c.mounts = append(c.mounts, preset.mounts...)
	wf.Spec.Volumes = append(c.volumes, preset.volumes...)

	// As in `e2e run`, a failed step skips only what needs it: the other
	// branches go on (Argo's failFast would stop scheduling them).
	mainDAG := &DAG{FailFast: new(bool)}
	if checkout != nil {
		mainDAG.Tasks = append(mainDAG.Tasks, DAGTask{Name: CheckoutTemplate, Template: CheckoutTemplate})
		wf.Spec.Volumes = append(wf.Spec.Volumes, checkout.volumes...)
	}
	for _, s := range regular {
		deps := slices.Clone(s.Needs)
		if checkout != nil && len(deps) == 0 {
			deps = []string{CheckoutTemplate}
		}
		mainDAG.Tasks = append(mainDAG.Tasks, DAGTask{Name: s.Name, Template: s.Name, Dependencies: deps})
	}
	if err := uniqueVolumes(wf.Spec.Volumes); err != nil {
		return nil, nil, err
	}
	wf.Spec.Templates = append(wf.Spec.Templates, Template{Name: MainTemplate, DAG: mainDAG})
	if checkout != nil {
		wf.Spec.Templates = append(wf.Spec.Templates, checkout.template)
	}
	if len(finalizers) > 0 {
		wf.Spec.OnExit = FinalizersTemplate
		wf.Spec.Templates = append(wf.Spec.Templates, Template{Name: FinalizersTemplate, DAG: finalizerDAG(finalizers)})
	}
	for _, s := range p.Steps {
		t, err := c.template(s)
		if err != nil {
			return nil, nil, err
		}
		wf.Spec.Templates = append(wf.Spec.Templates, t)
	}
	return wf, warnings(p, o, job.spec), nil
}

// finalizerDAG is the exit handler: the finalizers with the needs they have
// among themselves. A need on a regular step is dropped: the exit handler
// runs once the main DAG is over. As in `e2e run`, a finalizer runs
// whatever became of the finalizers it needs, so its depends accepts every
// result; `dependencies` would skip it after a failure.
func finalizerDAG(finalizers []*e2e.StepSpec) *DAG {
	isFinalizer := map[string]bool{}
	for _, s := range finalizers {
		isFinalizer[s.Name] = true
	}
	// failFast would also end the exit handler at a failed finalizer.
	d := &DAG{FailFast: new(bool)}
	for _, s := range finalizers {
		var terms []string
		for _, n := range s.Needs {
			if isFinalizer[n] {
				terms = append(terms, fmt.Sprintf("(%[1]s.Succeeded || %[1]s.Failed || %[1]s.Errored)", n))
			}
		}
		d.Tasks = append(d.Tasks, DAGTask{Name: s.Name, Template: s.Name, Depends: strings.Join(terms, " && ")})
	}
	return d
}

// containers builds the step templates' containers: what all share (image,
// working directory, environment, mounts) and what each runs.
type containers struct {
	o       Options
	env     []EnvVar
	mounts  []VolumeMount
	volumes []Volume
}

func newContainers(o Options, jobSpec string, checkout bool) *containers {
	c := &containers{o: o}
	c.env = []EnvVar{
		{Name: "ARTIFACTS", Value: ArtifactsDir},
		{Name: downwardapi.JobSpecEnv, Value: jobSpec},
		{Name: "XDG_CACHE_HOME", Value: CacheDir},
	}
	if o.ClusterProvider != "" {
		c.env = append(c.env, EnvVar{Name: providerEnv, Value: o.ClusterProvider})
	}
	c.env = append(c.env, o.Env...)
	// The state goes through files because that is how steps already hand
	// on (e2e-state.json, the chart's .tgz, an image's OCI layout, the
	// kubeconfig): Argo's output parameters carry strings, not those files,
	// and its artifacts need an artifact repository, which the personal
	// cluster and many others do not have. One claim, two directories.
	c.mounts = []VolumeMount{
		{Name: VolumeName, MountPath: ArtifactsDir, SubPath: "artifacts"},
		{Name: VolumeName, MountPath: CacheDir, SubPath: "cache"},
	}
	if checkout {
		c.mounts = append(c.mounts, codeMount)
	}
	byName := map[string]string{} // volume name -> Secret
	volumeOf := map[string]string{}
	for _, sv := range o.SecretVolumes {
		name, ok := volumeOf[sv.Secret]
		if !ok {
			name = volumeName(sv.Secret, byName)
			byName[name], volumeOf[sv.Secret] = sv.Secret, name
			c.volumes = append(c.volumes, Volume{Name: name, Secret: &SecretSource{SecretName: sv.Secret}})
		}
		c.mounts = append(c.mounts, VolumeMount{Name: name, MountPath: path.Clean(sv.MountPath), ReadOnly: true})
	}
	return c
}

// volumeName names the volume of a Secret: the Secret's name made a DNS
// label (Secret names may hold dots), unlike the claim's and the others'.
func volumeName(secret string, taken map[string]string) string {
	base := strings.Trim(strings.ReplaceAll(secret, ".", "-"), "-")
	if len(base) > 50 {
		base = strings.TrimRight(base[:50], "-")
	}
	name := base
	for i := 2; name == VolumeName || taken[name] != ""; i++ {
		name = fmt.Sprintf("%s-%d", base, i)
	}
	return name
}

// template is the container template of step s.
func (c *containers) template(s *e2e.StepSpec) (Template, error) {
	t := Template{Name: s.Name}
	pipeline := c.o.PipelinePath
	if s.Uses == registryKind && c.o.Registry != "" {
		data, err := registryPipeline(c.o.PipelinePath, s, c.o.Registry)
		if err != nil {
			return Template{}, err
		}
		pipeline = path.Join(RegistryPipelineDir, s.Name+".yaml")
		t.Inputs = &Inputs{Artifacts: []Artifact{{Name: "pipeline", Path: pipeline, Raw: &RawArtifact{Data: data}}}}
	}
	if s.Timeout > 0 {
		limit := s.Timeout*time.Duration(s.Retries+1) + DeadlineSlack
		t.ActiveDeadlineSeconds = int64((limit + time.Second - 1) / time.Second)
	}
	if s.Retries > 0 {
		t.RetryStrategy = &RetryStrategy{Limit: s.Retries, RetryPolicy: RetryPolicy}
	}
	// Argo's emissary executor needs the command: it does not read the
	// image's entrypoint.
	// --results: the upload step uploads the results of every step's pod.
	cmd := []string{"prowctl", "e2e", "step", s.Name, "--results", "--pipeline", pipeline}
	if s.Uses == e2e.UploadKindName && c.o.Upload != "" {
		cmd = append(cmd, "--upload", c.o.Upload)
	}
	t.Container = &Container{
		Image:        c.o.Image,
		Command:      cmd,
		WorkingDir:   c.o.WorkDir,
		Env:          slices.Clone(c.env),
		VolumeMounts: slices.Clone(c.mounts),
	}
	return t, nil
}

// job is the job spec the steps get: as JSON for JOB_SPEC, and parsed.
type job struct {
	raw   string
	spec  *downwardapi.JobSpec
	given bool
}

// localBuildID is e2e.LocalBuildID's format (20060102150405) in Argo's
// variables: the Workflow's creation time, in UTC.
const localBuildID = "{{workflow.creationTimestamp.Y}}{{workflow.creationTimestamp.m}}{{workflow.creationTimestamp.d}}" +
	"{{workflow.creationTimestamp.H}}{{workflow.creationTimestamp.M}}{{workflow.creationTimestamp.S}}"

// check checks the options, fills in defaults and returns the job spec.
func (o *Options) check() (job, error) {
	switch {
	case o.Image == "":
		return job{}, optionErrorf("no image: the steps' image (with prowctl, git and Go) is required")
	case o.WorkDir != "" && !path.IsAbs(o.WorkDir):
		return job{}, optionErrorf("working directory %q: want the absolute path of the repository's checkout in the pod", o.WorkDir)
	case o.PipelinePath == "":
		return job{}, optionErrorf("no pipeline path: the pipeline's path in the pod is required")
	case !path.IsAbs(o.PipelinePath) && !validRelative(o.PipelinePath):
		return job{}, optionErrorf("pipeline path %q: outside the checkout the steps run in", o.PipelinePath)
	}
	if o.Namespace != "" {
		if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
			return job{}, optionErrorf("namespace %q: %s", o.Namespace, errs[0])
		}
	}
	if o.ServiceAccount != "" {
		if errs := validation.IsDNS1123Subdomain(o.ServiceAccount); len(errs) > 0 {
			return job{}, optionErrorf("service account %q: %s", o.ServiceAccount, errs[0])
		}
	}
	if o.VolumeSize == "" {
		o.VolumeSize = DefaultVolumeSize
	}
	if q, err := resource.ParseQuantity(o.VolumeSize); err != nil || q.Sign() <= 0 {
		return job{}, optionErrorf("volume size %q: want a quantity such as 10Gi", o.VolumeSize)
	}
	if o.Registry != "" {
		hostport := strings.TrimPrefix(o.Registry, "http://")
		if strings.Contains(hostport, "/") || hostport != strings.TrimSpace(hostport) {
			return job{}, optionErrorf("registry %q: want HOST[:PORT], or http://HOST[:PORT] for plain HTTP, no path", o.Registry)
		}
		if loopback(hostport) {
			return job{}, optionErrorf("registry %s: on loopback, which is each step's own pod: give a registry the pods reach", o.Registry)
		}
	}
	if o.ClusterProvider != "" && !slices.Contains(Providers, o.ClusterProvider) {
		why := "unknown"
		if o.ClusterProvider == "local" || o.ClusterProvider == "kind" {
			why = "its cluster lives in the cluster-up step's pod and ends with it"
		}
		return job{}, optionErrorf("cluster provider %q: %s (want %s)", o.ClusterProvider, why, strings.Join(Providers, ", "))
	}
	if o.Upload != "" && !strings.HasPrefix(o.Upload, "gs://") && !strings.HasPrefix(o.Upload, "s3://") {
		return job{}, optionErrorf("upload destination %q: want gs://BUCKET[/prefix] or s3://BUCKET[/prefix] (a directory would be in the upload step's pod)", o.Upload)
	}
	seen := map[string]bool{}
	for _, e := range o.Env {
		switch {
		case slices.Contains(Reserved, e.Name):
			return job{}, optionErrorf("environment variable %s: the export sets it (%s)", e.Name, strings.Join(Reserved, ", "))
		case len(validation.IsEnvVarName(e.Name)) > 0:
			return job{}, optionErrorf("environment variable %q: %s", e.Name, validation.IsEnvVarName(e.Name)[0])
		case seen[e.Name]:
			return job{}, optionErrorf("environment variable %s given twice", e.Name)
		}
		seen[e.Name] = true
	}
	mounted := map[string]bool{ArtifactsDir: true, CacheDir: true, RegistryPipelineDir: true, CodeDir: true}
	for _, sv := range o.SecretVolumes {
		if errs := validation.IsDNS1123Subdomain(sv.Secret); len(errs) > 0 {
			return job{}, optionErrorf("secret %q: %s", sv.Secret, errs[0])
		}
		at := path.Clean(sv.MountPath)
		if !path.IsAbs(at) || at == "/" {
			return job{}, optionErrorf("secret %s: mount path %q: want an absolute directory", sv.Secret, sv.MountPath)
		}
		for m := range mounted {
			if at == m || strings.HasPrefix(at, m+"/") || strings.HasPrefix(m, at+"/") {
				return job{}, optionErrorf("secret %s: mount path %s overlaps %s", sv.Secret, at, m)
			}
		}
		mounted[at] = true
	}
	return o.jobSpec()
}

func (o *Options) jobSpec() (job, error) {
	if o.JobSpec == "" {
		spec := e2e.LocalJobSpec(e2e.LocalJob, localBuildID)
		spec.ExtraRefs = o.LocalRefs
		b, err := json.Marshal(spec)
		if err != nil {
			return job{}, err
		}
		return job{raw: string(b), spec: spec}, nil
	}
	spec := &downwardapi.JobSpec{}
	if err := json.Unmarshal([]byte(o.JobSpec), spec); err != nil {
		return job{}, optionErrorf("job spec: %v", err)
	}
	if spec.Job == "" || spec.BuildID == "" {
		return job{}, optionErrorf("job spec: want a job and a build id (Prow's JOB_SPEC)")
	}
	// Compact: the same spec gives the same Workflow, however it was indented.
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(o.JobSpec)); err != nil {
		return job{}, optionErrorf("job spec: %v", err)
	}
	return job{raw: b.String(), spec: spec, given: true}, nil
}

// GCSCredentialsDir is where the steps find the decoration config's GCS
// credentials (its gcs_credentials_secret), as Prow's sidecar does.
const GCSCredentialsDir = "/secrets/gcs"

// uploadAsDecorated makes a decorated job's Workflow upload where Prow's
// sidecar would (the decoration config's bucket and path strategy, with
// its credentials): the sidecar uploads only the submitting pod's own
// $ARTIFACTS, and the steps' artifacts are on the Workflow's volume.
func (o *Options) uploadAsDecorated(spec *downwardapi.JobSpec) {
	dc := spec.DecorationConfig
	if o.Upload != "" || dc == nil || dc.GCSConfiguration == nil || dc.GCSConfiguration.Bucket == "" {
		return
	}
	o.Upload = dc.GCSConfiguration.Bucket
	if !strings.Contains(o.Upload, "://") {
		o.Upload = "gs://" + o.Upload
	}
	if dc.GCSCredentialsSecret == nil || *dc.GCSCredentialsSecret == "" || slices.ContainsFunc(o.Env, func(e EnvVar) bool { return e.Name == "GOOGLE_APPLICATION_CREDENTIALS" }) {
		return
	}
	o.SecretVolumes = append(o.SecretVolumes, SecretVolume{Secret: *dc.GCSCredentialsSecret, MountPath: GCSCredentialsDir})
	// The key Prow's sidecar reads its credentials from.
	o.Env = append(o.Env, EnvVar{Name: "GOOGLE_APPLICATION_CREDENTIALS", Value: GCSCredentialsDir + "/service-account.json"})
}

// ChecksOut says whether the Workflow clones the job spec's refs in a
// first task (a job spec with refs, NoCheckout unset); WorkDir then
// defaults to the first ref's clone.
func (o Options) ChecksOut() bool {
	if o.NoCheckout {
		return false
	}
	j, err := o.jobSpec()
	return err == nil && len(refsOf(j.spec)) > 0
}

// checkoutTask is the checkout's template and the volumes it adds.
type checkoutTask struct {
	template Template
	volumes  []Volume
}

// checkout works out whether the Workflow checks out the job spec's refs
// (nil when not), and the steps' working directory.
func (o *Options) checkout(spec *downwardapi.JobSpec) (*checkoutTask, error) {
	if o.NoCheckout || len(refsOf(spec)) == 0 {
		if o.WorkDir == "" {
			if o.NoCheckout {
				return nil, optionErrorf("no working directory: without a checkout, give the path of the repository in the image")
			}
			return nil, optionErrorf("no working directory: the job spec has no refs to check out, give the path of the repository in the image")
		}
		return nil, nil
	}
	image := o.CloneRefsImage
	if image == "" && spec.DecorationConfig != nil && spec.DecorationConfig.UtilityImages != nil {
		image = spec.DecorationConfig.UtilityImages.CloneRefs
	}
	if image == "" {
		r := refsOf(spec)[0]
		return nil, optionErrorf("the job spec has refs to check out (%s/%s) and no clonerefs image: give Prow's (--clonerefs-image), or export with --no-checkout when the image holds the repository at --workdir", r.Org, r.Repo)
	}
	if o.WorkDir == "" {
		o.WorkDir = checkoutWorkDir(spec)
	}
	t, vols, err := checkoutTemplate(spec, image)
	if err != nil {
		return nil, err
	}
	return &checkoutTask{template: t, volumes: vols}, nil
}

// uniqueVolumes refuses two volumes of one name (a Secret given to mount
// and one clonerefs mounts).
func uniqueVolumes(vols []Volume) error {
	seen := map[string]bool{VolumeName: true}
	for _, v := range vols {
		if seen[v.Name] {
			return optionErrorf("volume %s: two volumes of that name (a secret given to mount, and one the checkout mounts?)", v.Name)
		}
		seen[v.Name] = true
	}
	return nil
}

// validRelative says whether a relative path stays below its directory.
func validRelative(p string) bool {
	c := path.Clean(p)
	return c != ".." && !strings.HasPrefix(c, "../")
}

// generateName is e2e-JOB-: the job as a DNS label, cut so that the name
// Kubernetes makes (five more characters) is at most 63, the longest label
// value Argo puts it in.
func generateName(jobName string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(jobName) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	name := "e2e-" + strings.Trim(b.String(), "-")
	if len(name) > 57 {
		name = name[:57]
	}
	return strings.TrimRight(name, "-") + "-"
}

// warnings says what the Workflow will not do that a Prow job would: with
// no upload step that has somewhere to upload, the artifacts stay on the
// volume, which Argo deletes with the Workflow. And which options no step
// uses.
func warnings(p *e2e.Pipeline, o Options, spec *downwardapi.JobSpec) []string {
	var warns []string
	for _, unused := range []struct {
		set        bool
		kind, what string
	}{
		{o.Registry != "", registryKind, "registry " + o.Registry},
		{o.ClusterProvider != "", clusterUpKind, "cluster provider " + o.ClusterProvider},
	} {
		if unused.set && !slices.ContainsFunc(p.Steps, func(s *e2e.StepSpec) bool { return s.Uses == unused.kind }) {
			warns = append(warns, fmt.Sprintf("%s: unused, the pipeline has no %s step", unused.what, unused.kind))
		}
	}
	if w := uploadWarning(p, o, spec); w != "" {
		warns = append(warns, w)
	}
	return warns
}

// uploadWarning says why no upload step will upload, "" when one will.
func uploadWarning(p *e2e.Pipeline, o Options, spec *downwardapi.JobSpec) string {
	env := map[string]string{}
	for _, e := range o.Env {
		env[e.Name] = e.Value
	}
	uploads, decoratedSkips := 0, 0
	for _, s := range p.Steps {
		if s.Uses != e2e.UploadKindName {
			continue
		}
		uploads++
		if o.Upload != "" {
			return ""
		}
		if spec.DecorationConfig != nil && settingValue(s, "decorated") != "true" {
			decoratedSkips++
			continue
		}
		if os.Expand(settingValue(s, "to"), func(k string) string { return env[k] }) != "" {
			return ""
		}
	}
	const lost = "the artifacts stay on the Workflow's volume, which Argo deletes with the Workflow"
	switch {
	case uploads == 0:
		return lost + ": the pipeline has no upload step"
	case decoratedSkips > 0:
		return lost + ": the job spec is a decorated job's, so the upload steps skip (Prow's pod utilities upload $ARTIFACTS): give --upload gs://BUCKET[/prefix]"
	}
	return lost + ": no upload step has a destination: give --upload gs://BUCKET[/prefix], or set the variable its with.to names with --env"
}
