package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"

	"github.com/prowctl/prowctl/pkg/process"
)

// DefaultPipeline is the spec `prowctl e2e` reads when not told otherwise.
const DefaultPipeline = "config/e2e.yaml"

// DefaultArtifacts is the artifacts directory outside Prow without $ARTIFACTS.
const DefaultArtifacts = "_artifacts"

// StateBuildID is the state key of a local run's build id: steps run one by
// one by hand belong to the same build (and so name the same cluster).
const StateBuildID = "build-id"

// Invocation is one `prowctl e2e run` or `prowctl e2e step`: what the flags
// and the environment say. The command's flags bind straight onto it.
type Invocation struct {
	Pipeline string
	// Kinds are the step kinds the pipeline may use (steps.Builtin() for
	// prowctl's own; nil allows none).
	Kinds       Kinds
	Only, Skip  []string
	Parallelism int
	GracePeriod time.Duration
	Upload      string
	// Store is where gs:// uploads go and which Deck shows them (zero:
	// Google's GCS, or $STORAGE_EMULATOR_HOST).
	Store     Store
	Artifacts string
	// Step, when set, runs that one step alone: no dependencies, no
	// finalizers, no results files; state is read and written as usual.
	Step string
	// StepResults, with Step, writes the results from the steps' record
	// (Options.StepResults): each step of the build runs alone.
	StepResults bool
	// FromFailed retries the build whose state file is in the artifacts
	// directory: it runs what failed there (PlanRetry) and reuses what
	// passed. It does not combine with Only, Skip or Step.
	FromFailed bool

	Out io.Writer
	TTY bool
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
	Now    func() time.Time
	// Runner runs external programs (default process.Exec).
	Runner process.Runner
}

// Invoke loads the pipeline, works out the job spec and artifacts directory
// (Prow's JOB_SPEC and ARTIFACTS, or local defaults) and runs it.
func Invoke(ctx context.Context, inv Invocation) (*Report, error) {
	if inv.Getenv == nil {
		inv.Getenv = os.Getenv
	}
	if inv.Now == nil {
		inv.Now = time.Now
	}
	if inv.Pipeline == "" {
		inv.Pipeline = DefaultPipeline
	}
	p, err := LoadPipeline(inv.Pipeline, inv.Kinds)
	if err != nil {
		return nil, err
	}
	var retry *RetryPlan
	if inv.FromFailed {
		if inv.Step != "" || len(inv.Only) > 0 || len(inv.Skip) > 0 {
			return nil, errors.New("a retry runs what failed in the previous run: it takes no --only, --skip or step")
		}
		// Planned before the directory is made: a retry of nothing leaves
		// nothing behind.
		dir, err := artifactsPath(inv.Artifacts, inv.Getenv)
		if err != nil {
			return nil, err
		}
		if retry, err = PlanRetry(p, OpenState(StatePath(dir))); err != nil {
			return nil, err
		}
	}
	artifacts, err := ArtifactsDir(inv.Artifacts, inv.Getenv)
	if err != nil {
		return nil, err
	}
	opts := Options{
		Artifacts:   artifacts,
		Only:        inv.Only,
		Skip:        inv.Skip,
		Parallelism: inv.Parallelism,
		GracePeriod: inv.GracePeriod,
		Upload:      inv.Upload,
		Store:       inv.Store,
		Results:     inv.Step == "",
		StepResults: inv.Step != "" && inv.StepResults,
		Out:         inv.Out,
		TTY:         inv.TTY && inv.Step == "",
		Runner:      inv.Runner,
		Now:         inv.Now,
		Retry:       retry,
	}
	if inv.Step != "" {
		if p.Lookup(inv.Step) == nil {
			_, err := selectSteps(p, []string{inv.Step}, nil)
			return nil, err
		}
		opts.Only, opts.Skip = []string{inv.Step}, nil
	}
	// A whole fresh run starts a new build with empty state; a partial run
	// (--only, --skip, one step) and a retry carry on the last one.
	fresh := inv.Step == "" && len(inv.Only) == 0 && len(inv.Skip) == 0 && !inv.FromFailed
	if opts.Job, err = JobSpec(inv.Getenv, artifacts, fresh, inv.Now()); err != nil {
		return nil, err
	}
	if opts.Job.DecorationConfig == nil && opts.Job.Refs == nil && len(opts.Job.ExtraRefs) == 0 && opts.Job.Job == LocalJob {
		// A local build records the checkout it tested, as Prow's would.
		if refs, ok := localRefs(ctx, inv.Runner); ok {
			opts.Job.ExtraRefs = []prowapi.Refs{refs}
		}
	}
	if opts.GracePeriod <= 0 {
		opts.GracePeriod = GracePeriod(opts.Job)
	}
	if fresh {
		for _, f := range []string{BuildLogFile, "started.json", "finished.json"} {
			os.Remove(filepath.Join(artifacts, f))
		}
		os.RemoveAll(filepath.Join(artifacts, StepLogDir))
		// Every JUnit report, the run's own (JUnitFile) and those steps
		// collected: Spyglass would show an earlier build's tests as this
		// one's.
		old, _ := filepath.Glob(filepath.Join(artifacts, "junit_*.xml"))
		for _, f := range old {
			os.Remove(f)
		}
	}
	if opts.Retry != nil {
		if err := keepAttempt(artifacts, opts.Retry); err != nil {
			return nil, err
		}
	}
	return Run(ctx, p, opts)
}

// ArtifactsDir returns the artifacts directory: the flag, else $ARTIFACTS,
// else ./_artifacts; made absolute, since steps run in other directories.
func ArtifactsDir(flag string, getenv func(string) string) (string, error) {
	abs, err := artifactsPath(flag, getenv)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("artifacts: %w", err)
	}
	return abs, nil
}

// artifactsPath is ArtifactsDir without making the directory.
func artifactsPath(flag string, getenv func(string) string) (string, error) {
	dir := flag
	if dir == "" {
		dir = getenv("ARTIFACTS")
	}
	if dir == "" {
		dir = DefaultArtifacts
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("artifacts: %w", err)
	}
	return abs, nil
}

// JobSpec returns the job spec of a run: Prow's, from JOB_SPEC, or a local
// periodic one. A local build id is kept in the state so steps run by hand
// belong to the same build; fresh starts a new build and clears the state.
func JobSpec(getenv func(string) string, artifacts string, fresh bool, now time.Time) (*downwardapi.JobSpec, error) {
	state := OpenState(StatePath(artifacts))
	if fresh {
		if err := os.Remove(state.Path()); err != nil && !os.IsNotExist(err) {
			return nil, fmt.Errorf("reset state: %w", err)
		}
	}
	if raw := getenv(downwardapi.JobSpecEnv); raw != "" {
		if raw == os.Getenv(downwardapi.JobSpecEnv) {
			return downwardapi.ResolveSpecFromEnv()
		}
		// An injected environment (tests): parse it the same way.
		spec := &downwardapi.JobSpec{}
		if err := json.Unmarshal([]byte(raw), spec); err != nil {
			return nil, fmt.Errorf("malformed $%s: %w", downwardapi.JobSpecEnv, err)
		}
		return spec, nil
	}
	build := state.Lookup(StateBuildID)
	if build == "" {
		build = LocalBuildID(now)
		if err := state.Set(StateBuildID, build); err != nil {
			return nil, err
		}
	}
	return LocalJobSpec(LocalJob, build), nil
}

// GracePeriod is how long finalizers may run after SIGINT/SIGTERM when no
// flag says: within a decorated job, nine tenths of the grace period Prow's
// entrypoint gives the process between SIGINT and SIGKILL (its default 15s
// when the job sets none), so the results are written before the kill;
// otherwise 30s.
func GracePeriod(job *downwardapi.JobSpec) time.Duration {
	dc := job.DecorationConfig
	if dc == nil {
		return 30 * time.Second
	}
	g := 15 * time.Second // Prow's entrypoint.DefaultGracePeriod
	if dc.GracePeriod != nil && dc.GracePeriod.Duration > 0 {
		g = dc.GracePeriod.Duration
	}
	return g * 9 / 10
}

// localRefs describes the git checkout of the current directory as the refs
// of a local build: the branch and commit under test.
func localRefs(ctx context.Context, runner process.Runner) (prowapi.Refs, bool) {
	if runner == nil {
		runner = process.Exec{}
	}
	git := func(args ...string) (string, bool) {
		out, err := process.Output(ctx, runner, process.Cmd{Name: "git", Args: args})
		return out, err == nil && out != ""
	}
	top, ok1 := git("rev-parse", "--show-toplevel")
	sha, ok2 := git("rev-parse", "HEAD")
	if !ok1 || !ok2 {
		return prowapi.Refs{}, false
	}
	branch, _ := git("rev-parse", "--abbrev-ref", "HEAD")
	return prowapi.Refs{Org: "local", Repo: filepath.Base(top), BaseRef: branch, BaseSHA: sha}, true
}
