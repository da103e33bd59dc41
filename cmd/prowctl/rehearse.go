package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/cluster"
	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobrun"
	"github.com/prowctl/prowctl/pkg/jobs/lint"
	"github.com/prowctl/prowctl/pkg/jobs/touched"
	"github.com/prowctl/prowctl/pkg/jobsecret"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/printer"
	"github.com/prowctl/prowctl/pkg/process"
	"github.com/prowctl/prowctl/pkg/prowjob"
	"github.com/prowctl/prowctl/pkg/rehearse"
)

// RehearseOptions are the flags of `prowctl rehearse`.
type RehearseOptions struct {
	IO *iostreams.IOStreams

	ConfigPath    string
	JobConfigPath string
	Base          string
	Head          string
	Worktree      bool
	RepoDir       string
	LocalRepo     string
	Refs          mkpj.Refs

	secretFlags

	Limit           int
	AllowPublishing bool
	DryRun          bool
	Output          string
	Wait            bool
	Timeout         time.Duration

	// Dir is the personal cluster rehearsals go to unless --kubeconfig or
	// --context names another.
	Dir        string
	ToolsDir   string
	Spec       string
	Kubeconfig string
	Context    string
	Namespace  string

	Runner  process.Runner
	Connect func(context.Context, prowjob.ConnectOptions) (*prowjob.Client, error)
	Now     func() time.Time
}

func newCmdRehearse(f *Factory, runF func(context.Context, *RehearseOptions) error) *cobra.Command {
	o := &RehearseOptions{IO: f.IO, Runner: process.Exec{}, Connect: f.Connect, Now: f.Now}
	if runF == nil {
		runF = rehearseRun
	}
	cmd := &cobra.Command{
		Use:   "rehearse [--base REF] [--head REF | --worktree] [--wait]",
		Short: "Run the jobs a config change touches, as rehearsals, before it merges",
		Long: `rehearse finds the jobs a change to the config touches, as ` + "`prowctl jobs diff`" + `
does (the ProwJob spec Prow would build at --base and at --head, default the
work tree), and runs each as a rehearsal: the job as the head config defines
it, named ` + rehearse.Prefix + `[PULL-]JOB, labelled ` + rehearse.LabelRehearsal + `=true and
` + rehearse.LabelOf + `=JOB, with report false and the context rehearse/JOB, so
its history, artifacts and status never mix with the real job's.

Presubmits run against the pull request the refs flags give (or, with
--local-repo, the checkout's HEAD and uncommitted changes); postsubmits against
the base; periodics against their own extra_refs. Removed jobs are listed,
never run. A job labelled ` + rehearse.LabelOptOut + `: "false" is skipped, and so is a
postsubmit or periodic labelled ` + rehearse.LabelPublishes + `: "true" unless
--allow-publishing. More than --limit rehearsals is refused.

Rehearsals go to the personal cluster in --dir unless --kubeconfig or
--context name another cluster ($KUBECONFIG alone does not: a rehearsal should
never reach production by accident). On the personal cluster's real node,
--local-repo publishes the checkout to the cluster's git server.

Exit status: 0 when every rehearsal succeeded (or, without --wait, was
created), 1 when one failed, 2 on a usage or config error, or when --limit or
--timeout is exceeded. With --dry-run the ProwJobs are printed (YAML, or the
whole plan with -o json) and nothing is created.`,
		Example: `  prowctl rehearse --dry-run
  prowctl rehearse --local-repo ~/src/tf-k8s --wait
  prowctl rehearse --base origin/main --pull-number 42 --pull-sha SHA --pull-author me \
      --base-ref main --base-sha SHA --kubeconfig ~/.kube/prow-build --wait`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkTextOutput(o.Output); err != nil {
				return err
			}
			if o.Worktree && o.Head != "" {
				return usageErrorf("--head %s and --worktree: choose one", o.Head)
			}
			if o.Limit < 1 {
				return usageErrorf("--limit %d: want at least 1", o.Limit)
			}
			return runF(cmd.Context(), o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.ConfigPath, "config-path", pjDefaultConfigPath, "Prow config file (a path in the checkout)")
	fs.StringVar(&o.JobConfigPath, "job-config-path", pjDefaultJobConfigPath, "job config file or directory (a path in the checkout)")
	fs.StringVar(&o.Base, "base", "", "git ref of the config before the change (default: the fork point from origin's default branch, else HEAD)")
	fs.StringVar(&o.Head, "head", "", "git ref of the config after the change (default: the work tree)")
	fs.BoolVar(&o.Worktree, "worktree", false, "the config after the change is the work tree, uncommitted changes included (the default)")
	fs.StringVar(&o.RepoDir, "repo-dir", ".", "the config repo's checkout")
	fs.StringVar(&o.LocalRepo, "local-repo", "", "checkout the rehearsed presubmits run against (its HEAD and uncommitted changes) and postsubmits' base")
	addRefFlags(fs, &o.Refs)
	o.secretFlags.add(fs)
	fs.IntVar(&o.Limit, "limit", rehearse.DefaultLimit, "refuse to rehearse more jobs than this")
	fs.BoolVar(&o.AllowPublishing, "allow-publishing", false, "rehearse postsubmits and periodics labelled "+rehearse.LabelPublishes+`: "true" too`)
	fs.BoolVar(&o.DryRun, "dry-run", false, "print the rehearsal ProwJobs, create nothing")
	fs.StringVarP(&o.Output, "output", "o", "text", "text, yaml or json")
	fs.BoolVar(&o.Wait, "wait", false, "follow the rehearsals to their end, a line per job: exit 0 if all succeed, 1 if any did not")
	fs.DurationVar(&o.Timeout, "timeout", 0, "with --wait, give up after this long and exit 2 (default: no limit)")
	fs.StringVar(&o.Dir, "dir", cluster.DefaultDir(), "the personal cluster's state directory (the default target)")
	fs.StringVar(&o.ToolsDir, "tools", cluster.DefaultToolsDir(), "where `make tools` put the binaries ($PROWCTL_TOOLS)")
	fs.StringVar(&o.Spec, "spec", defaultJobSpec, "the tf-k8s jobs' spec: on the personal cluster's real node, rehearsals running its image get it built and loaded first")
	fs.StringVar(&o.Kubeconfig, "kubeconfig", "", "rehearse on the cluster of this kubeconfig instead of the personal cluster")
	fs.StringVar(&o.Context, "context", "", "kubeconfig context (with --kubeconfig, or of $KUBECONFIG)")
	fs.StringVarP(&o.Namespace, "namespace", "n", "", "namespace of the ProwJobs (default the Prow config's prowjob_namespace)")
	markPaths(cmd, "config-path", "job-config-path", "repo-dir", "local-repo", "dir", "tools", "spec", "kubeconfig", "secret-file")
	return cmd
}

func rehearseRun(ctx context.Context, o *RehearseOptions) error {
	secrets, flush, err := o.secretFlags.load(o.IO)
	if err != nil {
		return err
	}
	defer flush()
	ch, err := loadConfigChange(ctx, o.Runner, o.RepoDir, o.Base, o.Head, o.ConfigPath, o.JobConfigPath)
	var hce *headConfigError
	if errors.As(err, &hce) {
		return headInvalid(ctx, o, hce)
	}
	if err != nil {
		return asUsage(err)
	}
	changes, err := ch.configs.Jobs(ctx)
	if err != nil {
		return err
	}
	if len(changes) == 0 {
		fmt.Fprintf(o.IO.ErrOut, "no job touched between %s and %s: nothing to rehearse\n", ch.baseName, ch.headName)
		if o.Output != "text" {
			return printer.Print(o.IO.Out, &rehearse.Plan{Rehearsals: []rehearse.Rehearsal{}, Skipped: []rehearse.Skipped{}, Removed: []touched.Change{}}, o.Output)
		}
		return nil
	}

	// The target decides the refs a local checkout gives: the personal
	// cluster's real node clones it from its git server, so made-up pull
	// numbers are fine there; elsewhere the flags must name a real one.
	var target *rehearsalTarget
	if !o.DryRun {
		if target, err = o.target(ctx, ch); err != nil {
			return err
		}
	}
	refs, sources := o.Refs, mkpj.RefSources{}
	var local *mkpj.LocalRepo
	if o.LocalRepo != "" {
		local = &mkpj.LocalRepo{Dir: o.LocalRepo, Runner: o.Runner, Env: os.Environ()}
		sources.Local = local
		if target == nil || target.publish {
			if refs.PullNumber == 0 {
				refs.PullNumber = 1
			}
			if refs.PullAuthor == "" {
				refs.PullAuthor = "prowctl"
			}
			if refs.BaseRef == "" {
				if refs.BaseRef, err = local.DefaultBranch(ctx); err != nil {
					return err
				}
			}
		}
	}
	plan, err := rehearse.NewPlan(ctx, rehearse.Options{
		Changes: changes, Head: ch.head, Refs: refs, Sources: sources,
		Limit: o.Limit, AllowPublishing: o.AllowPublishing,
	})
	var le *rehearse.LimitError
	if errors.As(err, &le) && plan != nil {
		printPlan(o.IO.ErrOut, plan, ch)
	}
	if err != nil {
		return err
	}
	summary := o.IO.Out
	if o.Output != "text" || o.DryRun {
		summary = o.IO.ErrOut
	}
	printPlan(summary, plan, ch)
	if o.DryRun {
		if o.Output == "text" {
			return printProwJobs(o.IO.Out, plan)
		}
		return printer.Print(o.IO.Out, plan, o.Output)
	}
	if len(plan.Rehearsals) == 0 {
		fmt.Fprintln(summary, "nothing to rehearse")
		return nil
	}

	ro := rehearse.RunOptions{Out: summary, Live: o.IO.OutTTY && o.Output == "text", Wait: o.Wait, Timeout: o.Timeout, Now: o.Now}
	if local != nil && target.publish {
		sha, dirty, err := local.Snapshot(ctx)
		if err != nil {
			return err
		}
		if dirty {
			fmt.Fprintf(o.IO.ErrOut, "%s has uncommitted changes: rehearsing against %s, a commit of them on HEAD\n", local.Dir, sha[:12])
		}
		ro.Prepare = func(ctx context.Context, pj *prowapi.ProwJob) error {
			return jobrun.UseCheckout(ctx, target.state, o.Runner, local.Dir, sha, pj)
		}
	}
	// On the personal cluster every rehearsal's Secrets are checked; on
	// another, only when some are given (its jobs may run on a build
	// cluster whose Secrets this one cannot see).
	if target.state != nil || secrets != nil {
		if err := ensureSecrets(ctx, target.client, plan, secrets); err != nil {
			return err
		}
	}
	if target.publish && specGiven(o.Spec) {
		var images []string
		for _, r := range plan.Rehearsals {
			if ps := r.ProwJob.Spec.PodSpec; ps != nil {
				for _, c := range ps.Containers {
					images = append(images, c.Image)
				}
			}
		}
		if err := jobImage(ctx, o.Spec, o.ToolsDir, o.IO.ErrOut, target.state, images); err != nil {
			return err
		}
	}
	created, err := rehearse.Run(ctx, target.client, plan, ro)
	if o.Output != "text" {
		for i := range created {
			plan.Rehearsals[i].ProwJob = created[i]
		}
		if perr := printer.Print(o.IO.Out, plan, o.Output); err == nil {
			err = perr
		}
	}
	if err == nil && o.Wait {
		fmt.Fprintf(summary, "all %d rehearsals succeeded\n", len(created))
	}
	if err == nil && !o.Wait {
		fmt.Fprintf(summary, "follow them with: prowctl get -l %s=true%s\n", rehearse.LabelRehearsal, target.flags)
	}
	return err
}

// rehearsalTarget is the cluster rehearsals are created on.
type rehearsalTarget struct {
	client *prowjob.Client
	// state is the personal cluster's, nil for another cluster.
	state *cluster.State
	// publish: local commits go to the cluster's git server.
	publish bool
	// flags reach the cluster again from the command line.
	flags string
}

// target connects to the cluster of the flags, else the personal one.
func (o *RehearseOptions) target(ctx context.Context, ch *configChange) (*rehearsalTarget, error) {
	co := prowjob.ConnectOptions{Kubeconfig: o.Kubeconfig, Context: o.Context, Namespace: o.Namespace, DefaultNamespace: ch.head.ProwJobNamespace}
	t := &rehearsalTarget{}
	if o.Kubeconfig == "" && o.Context == "" {
		state, err := cluster.LoadState(o.Dir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no personal cluster in %s: start one with `prowctl cluster up`, or rehearse on another cluster with --kubeconfig", o.Dir)
		}
		if err != nil {
			return nil, err
		}
		co.Kubeconfig, co.Context = state.Kubeconfig, state.Context
		t.state, t.publish = state, state.Node == cluster.NodeReal
		t.flags = " --kubeconfig " + state.Kubeconfig
	} else {
		if o.Kubeconfig != "" {
			t.flags += " --kubeconfig " + o.Kubeconfig
		}
		if o.Context != "" {
			t.flags += " --context " + o.Context
		}
	}
	c, err := o.Connect(ctx, co)
	if err != nil {
		return nil, err
	}
	t.client = c
	t.flags += " -n " + c.Namespace
	return t, nil
}

// printPlan says what will be rehearsed, skipped and left out.
func printPlan(w io.Writer, p *rehearse.Plan, ch *configChange) {
	n := len(p.Rehearsals) + len(p.Skipped) + len(p.Removed)
	fmt.Fprintf(w, "%d job(s) touched between %s and %s: %d to rehearse, %d skipped, %d removed\n",
		n, ch.baseName, ch.headName, len(p.Rehearsals), len(p.Skipped), len(p.Removed))
	row := func(verb string, c touched.Change, extra string) {
		repo := c.Repo
		if repo == "" {
			repo = "-"
		}
		fmt.Fprintf(w, "%-9s %-8s %-10s %s %s%s\n", verb, c.Status, c.Type, repo, c.Job, extra)
	}
	for _, r := range p.Rehearsals {
		row("rehearse", r.Change, " as "+r.ProwJob.Spec.Job)
		for _, f := range r.Diff {
			fmt.Fprintf(w, "            %s: %s -> %s\n", f.Path, orAbsent(f.Old), orAbsent(f.New))
		}
	}
	for _, s := range p.Skipped {
		row("skip", s.Change, ": "+s.Reason)
	}
	for _, r := range p.Removed {
		row("removed", r, ": not run")
	}
}

// printProwJobs writes the rehearsals as a YAML stream, what
// `kubectl create -f -` takes.
func printProwJobs(w io.Writer, p *rehearse.Plan) error {
	for i := range p.Rehearsals {
		if i > 0 {
			fmt.Fprintln(w, "---")
		}
		if err := mkpj.Print(w, &p.Rehearsals[i].ProwJob, "yaml"); err != nil {
			return err
		}
	}
	return nil
}

// headInvalid shows why Prow refuses the head config: every error `jobs
// lint` finds in the work tree, with positions, else Prow's own error.
func headInvalid(ctx context.Context, o *RehearseOptions, hce *headConfigError) error {
	if hce.worktree {
		res, err := lint.Lint(ctx, lint.Options{ConfigPath: o.ConfigPath, JobConfigPath: o.JobConfigPath})
		if err == nil {
			var errs []lint.Finding
			for _, f := range res.Findings {
				if f.Severity == lint.SeverityError {
					errs = append(errs, f)
				}
			}
			if len(errs) > 0 {
				if werr := lint.Write(o.IO.ErrOut, "text", &lint.Result{Findings: errs}); werr == nil {
					return usageErrorf("the head config is invalid (%d error(s) above, as `prowctl jobs lint` finds them): nothing rehearsed", len(errs))
				}
			}
		}
	}
	return usageErrorf("the head config is invalid: %s: nothing rehearsed", strings.TrimSpace(hce.Error()))
}

// ensureSecrets checks the Secrets of all rehearsals, by namespace, before
// one is written: a rehearsal short of one refuses them all.
func ensureSecrets(ctx context.Context, c *prowjob.Client, p *rehearse.Plan, given *jobsecret.Given) error {
	need := map[string][]jobsecret.Ref{}
	var namespaces []string
	for _, r := range p.Rehearsals {
		ns := r.ProwJob.Spec.Namespace
		if _, ok := need[ns]; !ok {
			namespaces = append(namespaces, ns)
		}
		for _, ref := range jobsecret.Needed(r.ProwJob.Spec.PodSpec) {
			ref.Via = r.ProwJob.Spec.Job + ": " + ref.Via
			need[ns] = append(need[ns], ref)
		}
	}
	for _, ns := range namespaces {
		if err := jobsecret.Ensure(ctx, c.Kube, ns, "the rehearsals", need[ns], given); err != nil {
			return err
		}
	}
	return nil
}
