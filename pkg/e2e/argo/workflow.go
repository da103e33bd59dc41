package argo

// The Workflow as our own structs, holding only the fields the export sets.
// Argo's Go module (github.com/argoproj/argo-workflows) would give us its
// types, but it requires Kubernetes' v0.33 libraries and prowctl is pinned
// to client-go v0.28 (Prow's); k8s.io/api's Container and PVC types add
// `resources: {}` and `creationTimestamp: null` to the output. Field names
// are Argo's and Kubernetes' JSON names; pkg/printer sorts the keys, so the
// same pipeline and options always print the same bytes.

// APIVersion and Kind of an Argo Workflow.
const (
	APIVersion = "argoproj.io/v1alpha1"
	Kind       = "Workflow"
)

// Workflow is an Argo Workflow.
type Workflow struct {
	APIVersion string       `json:"apiVersion"`
	Kind       string       `json:"kind"`
	Metadata   ObjectMeta   `json:"metadata"`
	Spec       WorkflowSpec `json:"spec"`
}

// ObjectMeta is the part of Kubernetes' metadata the export sets.
type ObjectMeta struct {
	Name         string            `json:"name,omitempty"`
	GenerateName string            `json:"generateName,omitempty"`
	Namespace    string            `json:"namespace,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
}

// WorkflowSpec is the Workflow's spec.
type WorkflowSpec struct {
	Entrypoint           string                  `json:"entrypoint"`
	OnExit               string                  `json:"onExit,omitempty"`
	ServiceAccountName   string                  `json:"serviceAccountName,omitempty"`
	VolumeClaimTemplates []PersistentVolumeClaim `json:"volumeClaimTemplates"`
	Volumes              []Volume                `json:"volumes,omitempty"`
	Templates            []Template              `json:"templates"`
}

// PersistentVolumeClaim is a claim Argo creates for the Workflow and deletes
// after it.
type PersistentVolumeClaim struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     ClaimSpec  `json:"spec"`
}

// ClaimSpec is a PersistentVolumeClaim's spec. An empty StorageClassName is
// left out, which means the cluster's default class ("" written out would
// mean no class at all).
type ClaimSpec struct {
	AccessModes      []string  `json:"accessModes"`
	StorageClassName string    `json:"storageClassName,omitempty"`
	Resources        Resources `json:"resources"`
}

// Resources are resource quantities by name.
type Resources struct {
	Requests map[string]string `json:"requests"`
}

// Volume is a pod volume of the Workflow's pods: the Secrets given, and
// what clonerefs needs.
type Volume struct {
	Name     string          `json:"name"`
	Secret   *SecretSource   `json:"secret,omitempty"`
	EmptyDir *EmptyDirSource `json:"emptyDir,omitempty"`
	HostPath *HostPathSource `json:"hostPath,omitempty"`
}

// HostPathSource is a directory of the node (a cluster's job preset's
// shared Go build cache).
type HostPathSource struct {
	Path string `json:"path"`
	Type string `json:"type,omitempty"`
}

// SecretSource mounts a Secret's keys as files: all, or Items.
type SecretSource struct {
	SecretName  string      `json:"secretName"`
	Items       []KeyToPath `json:"items,omitempty"`
	DefaultMode *int32      `json:"defaultMode,omitempty"`
}

// KeyToPath mounts one key of a Secret at a path of its own.
type KeyToPath struct {
	Key  string `json:"key"`
	Path string `json:"path"`
}

// EmptyDirSource is a pod's scratch directory.
type EmptyDirSource struct{}

// Template is one of the Workflow's templates: a DAG or a container.
type Template struct {
	Name   string  `json:"name"`
	Inputs *Inputs `json:"inputs,omitempty"`
	DAG    *DAG    `json:"dag,omitempty"`
	// ActiveDeadlineSeconds bounds the template's pod.
	ActiveDeadlineSeconds int64          `json:"activeDeadlineSeconds,omitempty"`
	RetryStrategy         *RetryStrategy `json:"retryStrategy,omitempty"`
	Container             *Container     `json:"container,omitempty"`
}

// DAG is a DAG template's tasks. FailFast nil means true: Argo schedules
// nothing more once a task failed.
type DAG struct {
	Tasks    []DAGTask `json:"tasks"`
	FailFast *bool     `json:"failFast,omitempty"`
}

// DAGTask is one task of a DAG. Argo refuses a DAG that mixes
// Dependencies (each must have succeeded) and Depends (an expression over
// the tasks' results).
type DAGTask struct {
	Name         string   `json:"name"`
	Template     string   `json:"template"`
	Dependencies []string `json:"dependencies,omitempty"`
	Depends      string   `json:"depends,omitempty"`
}

// RetryStrategy says when Argo runs a template's pod again.
type RetryStrategy struct {
	Limit       int    `json:"limit"`
	RetryPolicy string `json:"retryPolicy"`
}

// Container is a container template's container.
type Container struct {
	Image        string        `json:"image"`
	Command      []string      `json:"command"`
	WorkingDir   string        `json:"workingDir"`
	Env          []EnvVar      `json:"env"`
	VolumeMounts []VolumeMount `json:"volumeMounts"`
}

// EnvVar is an environment variable of a container.
type EnvVar struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// VolumeMount mounts a volume (or SubPath of it) in a container.
type VolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
	SubPath   string `json:"subPath,omitempty"`
	ReadOnly  bool   `json:"readOnly,omitempty"`
}

// Inputs are a template's inputs: files Argo's init container writes
// before the main container starts.
type Inputs struct {
	Artifacts []Artifact `json:"artifacts"`
}

// Artifact is an input artifact. Only raw ones (the data inline in the
// Workflow), which need no artifact repository.
type Artifact struct {
	Name string       `json:"name"`
	Path string       `json:"path"`
	Raw  *RawArtifact `json:"raw,omitempty"`
}

// RawArtifact is an artifact's content, inline.
type RawArtifact struct {
	Data string `json:"data"`
}
