// Package jobrun runs one job of the config on the personal cluster, as
// `act` does for GitHub Actions: bring the cluster up if it is not, build the
// ProwJob exactly as mkpj does, point its refs at a local checkout (commits
// and uncommitted changes, through the cluster's git server) when asked,
// create it, stream the test container's log, and say where the artifacts
// are. It is `prowctl run`.
package jobrun

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"
	"sigs.k8s.io/prow/pkg/pod-utils/gcs"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/jobsecret"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/process"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

// Options say which job to run, against what, on which cluster.
type Options struct {
	// Cluster is how to bring the personal cluster up if it is not
	// running (Dir, ToolsDir, ProwConfig, Node, Progress...).
	Cluster cluster.Options
	// ConfigPath and JobConfigPath are the config the job comes from.
	ConfigPath, JobConfigPath string
	Query                     mkpj.Query
	Refs                      mkpj.Refs
	// Local, when set, is a checkout of the job's repository: the job runs
	// against it as it is on disk (see mkpj.LocalRepo.Snapshot).
	Local *mkpj.LocalRepo
	// Runner runs git; process.Exec{} when nil.
	Runner process.Runner
	// Out gets the job's test log and the summary, ErrOut progress.
	Out, ErrOut io.Writer
	// Images, when set, makes the images of the job's containers available
	// on the node before the job is created: prowctl run builds the tf-k8s
	// jobs' image there (pkg/jobimage). It gets the images' names.
	Images func(ctx context.Context, state *cluster.State, images []string) error
	// Secrets are written to the job's namespace before it is created; a
	// job that needs a Secret neither given nor on the cluster does not
	// start (*jobsecret.MissingError).
	Secrets *jobsecret.Given
	// Timeout bounds the wait for the job; 0 waits for as long as it runs.
	Timeout time.Duration
	Now     func() time.Time
}

// Result is what ran and where its artifacts are.
type Result struct {
	ProwJob *prowapi.ProwJob
	// Artifacts is the job's directory in the GCS emulator (gs://...), and
	// ArtifactsURL the emulator's listing of it, reachable from the host.
	Artifacts    string
	ArtifactsURL string
}

func (o *Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

// Run runs the job and returns when it ended: a nil error when it succeeded,
// a *prowjob.FailedError when it failed.
func Run(ctx context.Context, o Options) (*Result, error) {
	if o.Runner == nil {
		o.Runner = process.Exec{}
	}
	state, running, err := cluster.Up(ctx, o.Cluster)
	if err != nil {
		return nil, fmt.Errorf("personal cluster: %w", err)
	}
	if running {
		fmt.Fprintf(o.ErrOut, "using the personal cluster in %s\n", state.Dir)
	}

	refs := o.Refs
	if o.Local != nil {
		// A local run needs no pull request: make up the parts Prow wants.
		if refs.PullNumber == 0 {
			refs.PullNumber = 1
		}
		if refs.PullAuthor == "" {
			refs.PullAuthor = "prowctl"
		}
		if refs.BaseRef == "" {
			if refs.BaseRef, err = o.Local.DefaultBranch(ctx); err != nil {
				return nil, err
			}
		}
	}
	res, err := mkpj.Build(ctx, mkpj.Options{
		ConfigPath: o.ConfigPath, JobConfigPath: o.JobConfigPath,
		Query: o.Query, Refs: refs, Sources: mkpj.RefSources{Local: o.Local},
	})
	if err != nil {
		return nil, err
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(o.ErrOut, "warning: %s\n", w)
	}
	pj := res.ProwJob
	// Before anything is published or built: a job short of a Secret
	// would only wait in ContainerCreating.
	c, err := prowjob.Connect(ctx, prowjob.ConnectOptions{Kubeconfig: state.Kubeconfig, Context: state.Context, DefaultNamespace: res.Config.ProwJobNamespace})
	if err != nil {
		return nil, err
	}
	podNS := pj.Spec.Namespace
	if podNS == "" {
		podNS = res.Config.PodNamespace
	}
	if err := jobsecret.Ensure(ctx, c.Kube, podNS, "job "+pj.Spec.Job, jobsecret.Needed(pj.Spec.PodSpec), o.Secrets); err != nil {
		return nil, err
	}
	if o.Local != nil {
		if err := useLocal(ctx, o, state, &pj); err != nil {
			return nil, err
		}
	}
	if o.Images != nil && pj.Spec.PodSpec != nil {
		var images []string
		for _, c := range pj.Spec.PodSpec.Containers {
			images = append(images, c.Image)
		}
		if err := o.Images(ctx, state, images); err != nil {
			return nil, err
		}
	}

	created, err := prowjob.Submit(ctx, c, &pj, prowjob.SubmitOptions{FollowOptions: prowjob.FollowOptions{Out: o.ErrOut, ErrOut: o.ErrOut, Now: o.Now}})
	if err != nil {
		return nil, err
	}
	out := &Result{ProwJob: created}

	kube := c.Kube
	// The pod's problems end the wait early: Prow would leave a pod whose
	// image cannot be pulled pending until the job's timeout.
	followCtx, stopFollow := context.WithCancelCause(ctx)
	defer stopFollow(nil)
	logDone := make(chan struct{})
	logCtx, stopLog := context.WithCancel(ctx)
	go func() {
		defer close(logDone)
		if err := followPod(logCtx, kube, c, created.Name, res.Config.PodNamespace, o.Out, o.ErrOut); err != nil {
			stopFollow(err)
		}
	}()
	final, err := prowjob.Follow(followCtx, c, created.Name, prowjob.FollowOptions{Out: o.ErrOut, ErrOut: o.ErrOut, Timeout: o.Timeout, Now: o.Now})
	if cause := context.Cause(followCtx); cause != nil && ctx.Err() == nil && !errors.Is(cause, context.Canceled) {
		stopLog()
		<-logDone
		abort(ctx, c, created.Name)
		return out, cause
	}
	// The log ends with the test container; give it a moment to drain.
	select {
	case <-logDone:
	case <-time.After(2 * time.Second):
	}
	stopLog()
	<-logDone
	if final != nil {
		out.ProwJob = final
	}
	// The build ID, part of the path, is plank's: known once it ran.
	if p, perr := artifactsPath(out.ProwJob); perr == nil && out.ProwJob.Status.BuildID != "" {
		bucket := out.ProwJob.Spec.DecorationConfig.GCSConfiguration.Bucket
		out.Artifacts = "gs://" + bucket + "/" + p
		if addr := state.HostAddr(cluster.GCSName, "http"); addr != "" {
			out.ArtifactsURL = fmt.Sprintf("http://%s/storage/v1/b/%s/o?prefix=%s/", addr, bucket, p)
		}
	}
	if out.Artifacts != "" {
		fmt.Fprintf(o.ErrOut, "artifacts: %s\n", out.Artifacts)
		if out.ArtifactsURL != "" {
			fmt.Fprintf(o.ErrOut, "           %s\n", out.ArtifactsURL)
		}
	}
	if u := out.ProwJob.Status.URL; u != "" && out.ProwJob.Complete() {
		fmt.Fprintf(o.ErrOut, "spyglass:  %s\n", u)
	}
	return out, err
}

// useLocal points pj's refs at a snapshot of the checkout on the cluster's
// git server.
func useLocal(ctx context.Context, o Options, state *cluster.State, pj *prowapi.ProwJob) error {
	if pj.Spec.Refs == nil {
		return fmt.Errorf("job %s has no refs (a periodic without extra_refs): --local-repo has nothing to point at", pj.Spec.Job)
	}
	sha, dirty, err := o.Local.Snapshot(ctx)
	if err != nil {
		return err
	}
	if dirty {
		fmt.Fprintf(o.ErrOut, "%s has uncommitted changes: running against %s, a commit of them on HEAD (no ref names it in your checkout)\n", o.Local.Dir, sha[:12])
	}
	return UseCheckout(ctx, state, o.Runner, o.Local.Dir, sha, pj)
}

// UseCheckout points pj's refs at commit sha of the checkout in dir: the
// commits are published to the cluster's git server under the refs
// clonerefs fetches (a presubmit's pull head and base branch, a
// postsubmit's branch), and the refs clone from there. A job without refs
// is left alone.
func UseCheckout(ctx context.Context, state *cluster.State, runner process.Runner, dir, sha string, pj *prowapi.ProwJob) error {
	r := pj.Spec.Refs
	if r == nil {
		return nil
	}
	publish := map[string]string{}
	switch pj.Spec.Type {
	case prowapi.PresubmitJob:
		r.Pulls[0].SHA = sha
		publish["refs/pull/"+strconv.Itoa(r.Pulls[0].Number)+"/head"] = sha
		publish["refs/heads/"+r.BaseRef] = r.BaseSHA
	default:
		r.BaseSHA = sha
		publish["refs/heads/"+r.BaseRef] = sha
	}
	uri, err := cluster.PublishCommits(ctx, state, runner, r.Org, r.Repo, dir, publish)
	if err != nil {
		return err
	}
	r.CloneURI = uri
	return nil
}

// artifactsPath is where Prow's utilities upload the job's artifacts in
// its bucket.
func artifactsPath(pj *prowapi.ProwJob) (string, error) {
	dc := pj.Spec.DecorationConfig
	if dc == nil || dc.GCSConfiguration == nil {
		return "", errors.New("job is not decorated")
	}
	spec := downwardapi.NewJobSpec(pj.Spec, pj.Status.BuildID, pj.Name)
	g := dc.GCSConfiguration
	// As gcsupload picks the builder (its builderForStrategy is not
	// exported).
	var builder gcs.RepoPathBuilder
	switch g.PathStrategy {
	case prowapi.PathStrategyLegacy:
		builder = gcs.NewLegacyRepoPathBuilder(g.DefaultOrg, g.DefaultRepo)
	case prowapi.PathStrategySingle:
		builder = gcs.NewSingleDefaultRepoPathBuilder(g.DefaultOrg, g.DefaultRepo)
	default:
		builder = gcs.NewExplicitRepoPathBuilder()
	}
	return gcs.PathForSpec(&spec, builder), nil
}

// ImageError says a container's image is not on the node, which has no
// network to pull it.
type ImageError struct {
	Container, Image, Reason string
}

func (e *ImageError) Error() string {
	return fmt.Sprintf("container %s: image %s is not on the personal cluster's node (%s), which cannot pull it: load it with `prowctl cluster load %s` (or a tarball with `prowctl cluster load FILE --name %s`), then run again",
		e.Container, e.Image, e.Reason, e.Image, e.Image)
}

// ExitCode is 1: the job could not run.
func (e *ImageError) ExitCode() int { return 1 }

// abort marks the job aborted, so plank deletes its pod.
func abort(ctx context.Context, c *prowjob.Client, name string) {
	ctx = context.WithoutCancel(ctx)
	pj, err := c.Get(ctx, name)
	if err != nil || pj.Complete() {
		return
	}
	pj.Status.State = prowapi.AbortedState
	pj.Status.Description = "prowctl run: the pod could not start"
	pj.SetComplete()
	// Prow's CRD has no status subresource: the status goes with the object.
	c.ProwJobs.Update(ctx, pj, metav1.UpdateOptions{})
}

// followPod waits for plank to make the job's pod and streams its test
// container's log to out once it starts. A container whose image cannot be
// had is an *ImageError.
func followPod(ctx context.Context, kube kubernetes.Interface, c *prowjob.Client, name, podNS string, out, errOut io.Writer) error {
	var pod string
	for pod == "" {
		if pj, err := c.Get(ctx, name); err == nil {
			pod = pj.Status.PodName
		}
		if pod != "" {
			break
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
	for {
		p, err := kube.CoreV1().Pods(podNS).Get(ctx, pod, metav1.GetOptions{})
		if err == nil {
			if ie := imageProblem(p); ie != nil {
				return ie
			}
			if prowjob.ContainerStarted(p, "test") {
				break
			}
			if cname, code := failedInit(p); cname != "" {
				// The test never starts: show why.
				fmt.Fprintf(errOut, "container %s of the pod exited %d; the end of its log:\n", cname, code)
				var log bytes.Buffer
				if prowjob.Logs(ctx, c, name, &log, prowjob.LogsOptions{Container: cname}) == nil {
					errOut.Write(tailLines(log.Bytes(), 10))
				}
				return nil
			}
			if why := unschedulable(ctx, kube, p); why != "" {
				return &SchedulingError{Reason: why}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
	if err := prowjob.Logs(ctx, c, name, out, prowjob.LogsOptions{Follow: true}); err != nil && ctx.Err() == nil {
		fmt.Fprintf(errOut, "log of %s/%s: %v\n", podNS, pod, err)
	}
	return nil
}

// failedInit names an init container of p that failed, and its exit code.
func failedInit(p *corev1.Pod) (string, int32) {
	for _, cs := range p.Status.InitContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode != 0 {
			return cs.Name, t.ExitCode
		}
	}
	return "", 0
}

// tailLines is the last n lines of b.
func tailLines(b []byte, n int) []byte {
	lines := bytes.SplitAfter(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return append(bytes.Join(lines, nil), '\n')
}

// SchedulingError says the job's pod can never be scheduled: it asks for
// more than any node has.
type SchedulingError struct{ Reason string }

func (e *SchedulingError) Error() string {
	return "the job's pod cannot run on the personal cluster's node: " + e.Reason + "; lower the job's resource requests to run it here, or run it on a real cluster"
}

// ExitCode is 1: the job could not run.
func (e *SchedulingError) ExitCode() int { return 1 }

// unschedulable says why p can never be scheduled, when the scheduler has
// given up on it for now and it asks for more of a resource than any node
// can give; "" while it may still fit (a burst of jobs waits its turn).
func unschedulable(ctx context.Context, kube kubernetes.Interface, p *corev1.Pod) string {
	waiting := false
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			waiting = true
		}
	}
	if !waiting {
		return ""
	}
	nodes, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil || len(nodes.Items) == 0 {
		return ""
	}
	want := podRequests(p)
	var why []string
	for name, q := range want {
		var most resource.Quantity
		for _, n := range nodes.Items {
			if have, ok := n.Status.Allocatable[name]; ok && have.Cmp(most) > 0 {
				most = have
			}
		}
		if q.Cmp(most) > 0 {
			why = append(why, fmt.Sprintf("its containers request %s %s in all, and a node has at most %s", q.String(), name, most.String()))
		}
	}
	sort.Strings(why)
	return strings.Join(why, "; ")
}

// podRequests is what the scheduler counts for p: the sum of its
// containers' requests, or the largest init container's when larger.
func podRequests(p *corev1.Pod) corev1.ResourceList {
	sum := corev1.ResourceList{}
	for _, c := range p.Spec.Containers {
		for name, q := range c.Resources.Requests {
			v := sum[name]
			v.Add(q)
			sum[name] = v
		}
	}
	for _, c := range p.Spec.InitContainers {
		for name, q := range c.Resources.Requests {
			if v, ok := sum[name]; !ok || q.Cmp(v) > 0 {
				sum[name] = q.DeepCopy()
			}
		}
	}
	return sum
}

// imageProblem finds a container of p waiting for an image it cannot get.
func imageProblem(p *corev1.Pod) *ImageError {
	images := map[string]string{}
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		images[c.Name] = c.Image
	}
	for _, cs := range append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...) {
		if w := cs.State.Waiting; w != nil {
			switch w.Reason {
			case "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName":
				return &ImageError{Container: cs.Name, Image: images[cs.Name], Reason: w.Reason}
			}
		}
	}
	return nil
}
