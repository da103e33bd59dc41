package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/e2e/argo"
	"github.com/prowctl/prowctl/pkg/e2e/steps"
	"github.com/prowctl/prowctl/pkg/e2e/steps/provider"
	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobpreset"
	"github.com/prowctl/prowctl/pkg/jobs"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/process"
	"github.com/prowctl/prowctl/pkg/prowjob"
	"github.com/prowctl/prowctl/pkg/shutdown"
)

// E2ESubmitOptions are the flags of `prowctl e2e submit`: export's, and the
// cluster and the wait.
type E2ESubmitOptions struct {
	E2EExportOptions
	Wait       bool
	Kubeconfig string
	Context    string
	// Dir is the personal cluster the Workflow goes to when neither
	// Kubeconfig nor Context is given and it is up.
	Dir       string
	StopGrace time.Duration
}

func newCmdE2ESubmit(streams *iostreams.IOStreams, runF func(context.Context, *E2ESubmitOptions) error) *cobra.Command {
	o := &E2ESubmitOptions{E2EExportOptions: E2EExportOptions{IO: streams, Getenv: os.Getenv, Output: "yaml"}}
	if runF == nil {
		runF = runE2ESubmit
	}
	cmd := &cobra.Command{
		Use:   "submit --argo [--wait] [export's flags] [--kubeconfig FILE] [--context C] [-n NS]",
		Short: "Run the pipeline on Argo Workflows: export it and create the Workflow",
		Long: `submit --argo creates the Workflow ` + "`prowctl e2e export --argo`" + ` prints (same flags)
on the personal cluster in --dir when it is up and neither --kubeconfig nor
--context is given, else on the cluster of --kubeconfig/--context, in -n
(default: the context's namespace).

What the cluster publishes for the jobs it runs goes into every step as into
a ProwJob's pod: its job preset (kube-public/prowctl-job-preset: the service
account, the module proxy, a build cache, the cluster provider) and its local
registry (kube-public/local-registry-hosting, KEP-1755), spoken to over plain
HTTP, for the registry steps unless --registry says; what the flags say
stays. On the personal cluster's real node the jobs' image (--spec's image:)
is built and loaded first when the steps run it, as ` + "`prowctl run`" + ` does.

With --wait it follows the Workflow, a line per step as ` + "`e2e run`" + `
prints them, and exits 0 when it Succeeded, 1 when it Failed; on Ctrl-C or
SIGTERM it stops the Workflow the Argo way (spec.shutdown: Stop: the exit
handler, teardown and upload, still runs) and follows it to its end, within
--stop-grace.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !o.Argo {
				return usageErrorf("submit needs an engine: give --argo (Argo Workflows, the only one for now)")
			}
			o.JobSpecSet = cmd.Flags().Changed("job-spec")
			return runF(cmd.Context(), o)
		},
	}
	o.addFlags(cmd)
	// -o is export's; submit prints progress.
	_ = cmd.Flags().MarkHidden("output")
	cmd.Flags().BoolVar(&o.Wait, "wait", false, "follow the Workflow to its end: exit 0 if it Succeeded, 1 if not")
	cmd.Flags().StringVar(&o.Kubeconfig, "kubeconfig", "", "kubeconfig file (default $KUBECONFIG or ~/.kube/config)")
	cmd.Flags().StringVar(&o.Context, "context", "", "kubeconfig context (default its current context)")
	cmd.Flags().StringVar(&o.Dir, "dir", cluster.DefaultDir(), "the personal cluster's state directory: the target when it is up and neither --kubeconfig nor --context is given")
	cmd.Flags().DurationVar(&o.StopGrace, "stop-grace", 10*time.Minute, "after Ctrl-C, how long the stopped Workflow's exit handler may run")
	markPaths(cmd, "kubeconfig", "dir")
	return cmd
}

func runE2ESubmit(ctx context.Context, o *E2ESubmitOptions) error {
	co := prowjob.ConnectOptions{Kubeconfig: o.Kubeconfig, Context: o.Context, Namespace: o.Workflow.Namespace}
	var state *cluster.State
	if o.Kubeconfig == "" && o.Context == "" {
		s, err := cluster.LoadState(o.Dir)
		switch {
		case err == nil:
			state = s
			co.Kubeconfig, co.Context = s.Kubeconfig, s.Context
		case !errors.Is(err, fs.ErrNotExist):
			return err
		}
	}
	if state != nil && o.Workflow.Namespace == "" {
		// Where the cluster runs jobs: its job preset's service account
		// is there.
		pns, err := cluster.ReadProwNamespaces(state.ProwConfig)
		if err != nil {
			return err
		}
		co.Namespace = pns.Pods
	}
	cfg, ns, err := prowjob.RestConfig(co)
	if err != nil {
		return err
	}
	o.Workflow.Namespace = ns
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	if o.Workflow.Preset, err = jobpreset.Read(ctx, kube); err != nil {
		return err
	}
	if state != nil && state.Node == cluster.NodeReal {
		if o.Workflow.Upload == "" {
			// The cluster's GCS emulator, where its Deck shows the run
			// (the job preset points the steps' storage client there).
			_, buckets, err := steps.PersonalStore(ctx, o.Dir)
			if err != nil {
				return err
			}
			if len(buckets) > 0 {
				o.Workflow.Upload = "gs://" + buckets[0]
			}
		}
		// The steps run this checkout, as `prowctl run --local-repo`
		// runs a job on it, cloned by the node's clonerefs.
		o.localRefs = func() ([]prowapi.Refs, error) { return publishCheckout(ctx, o, state) }
		if o.Workflow.CloneRefsImage == "" {
			o.Workflow.CloneRefsImage = cluster.UtilityImage("clonerefs")
		}
	}
	if o.Workflow.Registry == "" {
		h, err := provider.RegistryHostingOf(ctx, kube)
		if err != nil {
			return err
		}
		if h.HostFromClusterNetwork != "" {
			// KEP-1755's local registries are development ones, which
			// speak plain HTTP (kind's, the personal cluster's).
			o.Workflow.Registry = "http://" + h.HostFromClusterNetwork
		}
	}
	wf, err := o.workflow()
	if err != nil {
		return err
	}
	if state != nil {
		if err := jobImage(ctx, o.Spec, cluster.DefaultToolsDir(), o.IO.ErrOut, state, workflowImages(wf)); err != nil {
			return err
		}
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return err
	}
	// After a signal, the stop and the exit handler take their time.
	defer shutdown.Hold(ctx, o.StopGrace+5*time.Second)()
	_, err = argo.Submit(ctx, dyn, ns, wf, argo.SubmitOptions{Out: o.IO.ErrOut, Wait: o.Wait, StopGrace: o.StopGrace})
	return err
}

// workflowImages are the images the Workflow's containers run.
func workflowImages(wf *argo.Workflow) []string {
	var images []string
	for _, t := range wf.Spec.Templates {
		if t.Container != nil && !slices.Contains(images, t.Container.Image) {
			images = append(images, t.Container.Image)
		}
	}
	return images
}

// publishCheckout publishes the checkout holding the pipeline (HEAD, and
// uncommitted changes as a commit on it) to the personal cluster's git
// server, on the jobs' first branch, and returns the refs that clone it.
func publishCheckout(ctx context.Context, o *E2ESubmitOptions, state *cluster.State) ([]prowapi.Refs, error) {
	spec, err := jobs.LoadSpec(o.Spec)
	if err != nil {
		return nil, err
	}
	org, repo, _ := strings.Cut(spec.Repo, "/")
	branch := "master"
	if len(spec.Branches) > 0 {
		branch = spec.Branches[0]
	}
	dir := filepath.Dir(o.Pipeline)
	local := &mkpj.LocalRepo{Dir: dir, Env: os.Environ()}
	sha, dirty, err := local.Snapshot(ctx)
	if err != nil {
		return nil, err
	}
	uri, err := cluster.PublishCommits(ctx, state, process.Exec{}, org, repo, dir, map[string]string{"refs/heads/" + branch: sha})
	if err != nil {
		return nil, err
	}
	what := "HEAD"
	if dirty {
		what = "HEAD and its uncommitted changes"
	}
	fmt.Fprintf(o.IO.ErrOut, "checkout: %s (%s) published to the cluster's git server as %s/%s %s\n", sha[:12], what, org, repo, branch)
	return []prowapi.Refs{{Org: org, Repo: repo, BaseRef: branch, BaseSHA: sha, CloneURI: uri}}, nil
}
