package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/spf13/cobra"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"

	"github.com/prowctl/prowctl/pkg/e2e"
	"github.com/prowctl/prowctl/pkg/e2e/argo"
	"github.com/prowctl/prowctl/pkg/e2e/steps"
	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobs"
	"github.com/prowctl/prowctl/pkg/printer"
)

// defaultJobsSpec is the tf-k8s jobs' spec: its image: runs the steps
// unless --image says, its repo: places the checkout unless --workdir says.
const defaultJobsSpec = "config/tf-k8s.yaml"

// E2EExportOptions are the flags of `prowctl e2e export`.
type E2EExportOptions struct {
	IO *iostreams.IOStreams

	Argo     bool
	Pipeline string
	Spec     string
	Output   string
	// Workflow are the export's options; Image and WorkDir may come from
	// Spec, JobSpec from $JOB_SPEC, PipelinePath from Pipeline, Env and
	// SecretVolumes from the flags below.
	Workflow      argo.Options
	Env           []string
	SecretVolumes []string
	// JobSpecSet says --job-spec was given (even empty).
	JobSpecSet bool
	// Getenv reads JOB_SPEC.
	Getenv func(string) string
	// localRefs, when set, gives the refs of a local job (no job spec) to
	// check out: submit's publishing of the checkout to the personal
	// cluster.
	localRefs func() ([]prowapi.Refs, error)
}

func newCmdE2EExport(streams *iostreams.IOStreams, runF func(*E2EExportOptions) error) *cobra.Command {
	o := &E2EExportOptions{IO: streams, Getenv: os.Getenv}
	if runF == nil {
		runF = runE2EExport
	}
	cmd := &cobra.Command{
		Use:   "export --argo [--pipeline config/e2e.yaml] [--image IMAGE] [-n NS] [-o yaml|json]",
		Short: "Print the pipeline as an Argo Workflow, a pod per step",
		Long: `export --argo prints an Argo Workflow (argoproj.io/v1alpha1) that runs the
pipeline with a pod per step: a DAG whose tasks are the steps and their needs,
each running ` + "`prowctl e2e step NAME`" + ` in --image, from the checkout at --workdir;
the finalizers (always: true) in the exit handler, with the needs they have
among themselves, run whatever happened; a step's timeout: and retries: stay
with ` + "`e2e step`" + `, which applies them (Argo's activeDeadlineSeconds adds 2m,
its retryStrategy retries the pod only on Argo's errors). Submit it with
` + "`argo submit`" + ` or ` + "`kubectl create -f`" + `.

The steps hand on what they make through files in $ARTIFACTS, so every pod
mounts one ReadWriteOnce volume (a claim per Workflow, deleted with it) at
$ARTIFACTS (` + argo.ArtifactsDir + `) and at $XDG_CACHE_HOME (` + argo.CacheDir + `, the cluster's
kubeconfig and Go's build cache). Only the upload step keeps the artifacts:
give --upload. Prow's JOB_SPEC comes from --job-spec, else $JOB_SPEC, else a
local periodic job whose build id is the Workflow's creation time. A job
spec with refs (a Prow job's) is checked out first: a task runs Prow's
clonerefs (--clonerefs-image, else the job spec's decoration config's) to
clone them onto the volume, as a decorated job's init container does, and the
steps start in the first ref's clone. Every step runs ` + "`e2e step --results`" + `,
so the upload step uploads finished.json and the JUnit of all the steps.

A step that keeps what later steps use in its own pod is refused at its
file:line: a registry without addr: (or on loopback; --registry sets one),
cluster-up's local and kind providers (--cluster-provider), a cluster-up dir:,
an upload to a directory. The image must hold prowctl and what the steps run
(the tf-k8s jobs' image does: ` + "`prowctl image build`" + `), and the repository's
checkout at --workdir when there is no checkout task; the pipeline is read
from the checkout, at its path in the repository.`,
		Example: `  prowctl e2e export --argo --registry registry.example.com --cluster-provider in-cluster \
    --upload gs://tf-k8s-prow-artifacts -n argo --service-account prowctl-e2e \
    --secret-volume service-account:/etc/service-account \
    --env GOOGLE_APPLICATION_CREDENTIALS=/etc/service-account/service-account.json | argo submit -
  prowctl e2e export --argo --pipeline pkg/e2e/testdata/retry-demo.yaml --image IMAGE -o json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !o.Argo {
				return usageErrorf("export needs a format: give --argo (an Argo Workflow, the only one for now)")
			}
			if err := printer.Check(o.Output); err != nil || o.Output == "" {
				return usageErrorf("-o %q: want yaml or json", o.Output)
			}
			o.JobSpecSet = cmd.Flags().Changed("job-spec")
			return runF(o)
		},
	}
	o.addFlags(cmd)
	return cmd
}

func runE2EExport(o *E2EExportOptions) error {
	wf, err := o.workflow()
	if err != nil {
		return err
	}
	return printer.Print(o.IO.Out, wf, o.Output)
}

// workflow builds the Workflow of the flags, its warnings printed.
func (o *E2EExportOptions) workflow() (*argo.Workflow, error) {
	opts := o.Workflow
	for _, e := range o.Env {
		name, value, ok := strings.Cut(e, "=")
		if !ok || name == "" {
			return nil, usageErrorf("--env %q: want NAME=VALUE", e)
		}
		opts.Env = append(opts.Env, argo.EnvVar{Name: name, Value: value})
	}
	for _, sv := range o.SecretVolumes {
		secret, at, ok := strings.Cut(sv, ":")
		if !ok || secret == "" || at == "" {
			return nil, usageErrorf("--secret-volume %q: want SECRET:MOUNTPATH", sv)
		}
		opts.SecretVolumes = append(opts.SecretVolumes, argo.SecretVolume{Secret: secret, MountPath: at})
	}
	if !o.JobSpecSet {
		opts.JobSpec = o.Getenv(downwardapi.JobSpecEnv)
	}
	if opts.JobSpec == "" && !opts.NoCheckout && o.localRefs != nil {
		refs, err := o.localRefs()
		if err != nil {
			return nil, err
		}
		opts.LocalRefs = refs
	}

	p, err := e2e.LoadPipeline(o.Pipeline, steps.Builtin())
	if err != nil {
		return nil, err
	}
	if opts.PipelinePath, err = repoPath(o.Pipeline); err != nil {
		return nil, err
	}
	if opts.Image == "" || opts.WorkDir == "" && !opts.ChecksOut() {
		if err := o.fromJobsSpec(&opts); err != nil {
			return nil, err
		}
	}

	wf, warnings, err := argo.Export(p, opts)
	var oe *argo.OptionError
	if errors.As(err, &oe) {
		return nil, usageErrorf("%v", err)
	}
	if err != nil {
		return nil, err
	}
	for _, w := range warnings {
		fmt.Fprintf(o.IO.ErrOut, "prowctl: warning: %s\n", w)
	}
	return wf, nil
}

// fromJobsSpec fills in the image and working directory the flags left out
// from the jobs' spec: the image the jobs run, and the directory their
// decorated pods start in (clonerefs' checkout of the spec's repo).
func (o *E2EExportOptions) fromJobsSpec(opts *argo.Options) error {
	if _, err := os.Stat(o.Spec); errors.Is(err, fs.ErrNotExist) && o.Spec == defaultJobsSpec {
		missing := "--image"
		if opts.Image != "" {
			missing = "--workdir"
		}
		return usageErrorf("no %s, and no %s to take it from: give %s (the image holds prowctl, git, Go and the repository's checkout at --workdir)", missing, o.Spec, missing)
	}
	spec, err := jobs.LoadSpec(o.Spec)
	if err != nil {
		return err
	}
	if opts.Image == "" {
		opts.Image = spec.Image
	}
	if opts.WorkDir == "" && !opts.ChecksOut() {
		opts.WorkDir = argo.DefaultWorkDirRoot + spec.Repo
	}
	return nil
}

// repoPath is the pipeline's path in the git repository holding it: the
// steps read it from the repository's checkout, whatever directory export
// runs in.
func repoPath(file string) (string, error) {
	rel, ok := jobs.RepoRelative(file)
	if !ok {
		return "", fmt.Errorf("--pipeline %s: not in a git repository: the steps read the pipeline from the repository's checkout (--workdir), so export a pipeline of that repository", file)
	}
	return rel, nil
}

// addFlags are export's flags, which submit shares.
func (o *E2EExportOptions) addFlags(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.BoolVar(&o.Argo, "argo", false, "print an Argo Workflow (required: the only format for now)")
	fs.StringVar(&o.Pipeline, "pipeline", e2e.DefaultPipeline, "pipeline spec; the steps read it from the checkout, at its path in the repository")
	fs.StringVar(&o.Spec, "spec", defaultJobsSpec, "the tf-k8s jobs' spec: its image: is the default --image, its repo: the default --workdir")
	fs.StringVarP(&o.Output, "output", "o", "yaml", "yaml or json")
	fs.StringVar(&o.Workflow.Image, "image", "", "the steps' image, with prowctl, git, Go and the checkout at --workdir (default: the jobs' image, from --spec)")
	fs.StringVar(&o.Workflow.WorkDir, "workdir", "", "where the steps run: the checkout (default: the job spec's first ref's clone, else "+argo.DefaultWorkDirRoot+"ORG/REPO of --spec's repo in the image, where a decorated Prow job runs)")
	fs.StringVar(&o.Workflow.CloneRefsImage, "clonerefs-image", "", "Prow's clonerefs image, which clones the job spec's refs onto the Workflow's volume first (default: the job spec's decoration config's)")
	fs.BoolVar(&o.Workflow.NoCheckout, "no-checkout", false, "clone nothing: the image holds the checkout at --workdir")
	fs.StringVarP(&o.Workflow.Namespace, "namespace", "n", "", "namespace of the Workflow (default: the one it is submitted to)")
	fs.StringVar(&o.Workflow.ServiceAccount, "service-account", "", "service account of the steps' pods (the in-cluster provider deploys with it)")
	fs.StringVar(&o.Workflow.StorageClass, "storage-class", "", "storage class of the Workflow's volume (default: the cluster's default class)")
	fs.StringVar(&o.Workflow.VolumeSize, "volume-size", argo.DefaultVolumeSize, "size of the Workflow's volume")
	fs.StringVar(&o.Workflow.JobSpec, "job-spec", "", "Prow's JOB_SPEC (JSON) for the steps (default $JOB_SPEC; none: a local periodic job)")
	fs.StringVar(&o.Workflow.Registry, "registry", "", "HOST[:PORT] of a registry the pods reach, for the pipeline's registry steps; http://HOST[:PORT] when it speaks plain HTTP")
	fs.StringVar(&o.Workflow.ClusterProvider, "cluster-provider", "", "cluster-up's provider in every step ($E2E_CLUSTER_PROVIDER): in-cluster, kubeconfig or gke")
	fs.StringVar(&o.Workflow.Upload, "upload", "", "where the upload steps upload: gs://BUCKET[/prefix] or s3://BUCKET[/prefix]")
	fs.StringArrayVar(&o.Env, "env", nil, "NAME=VALUE in every step's environment, e.g. GOOGLE_APPLICATION_CREDENTIALS=/etc/service-account/service-account.json; repeatable")
	fs.StringArrayVar(&o.SecretVolumes, "secret-volume", nil, "SECRET:MOUNTPATH: a Secret mounted read-only in every step; repeatable")
	markPaths(cmd, "pipeline", "spec")
}
