package rehearse

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/config"

	"github.com/prowctl/prowctl/internal/filetree"
	"github.com/prowctl/prowctl/pkg/jobs/touched"
	"github.com/prowctl/prowctl/pkg/mkpj"
	"github.com/prowctl/prowctl/pkg/prowjob"
)

const prowConfig = `prowjob_namespace: prow
pod_namespace: test-pods
presets:
- labels: {preset-cache: "true"}
  env:
  - {name: CACHE, value: CACHE_VALUE}
`

const jobs = `presubmits:
  org/repo:
  - name: pull-unit
    always_run: true
    labels: {preset-cache: "true"}
    spec:
      containers:
      - {image: golang, command: [make, COMMAND]}
  - name: pull-lint
    always_run: true
    spec:
      containers:
      - {image: golang, command: [make, lint, COMMAND]}
  - name: pull-not-here-again
    always_run: true
    labels: {preset-cache: "true", prowctl.dev/rehearse: "false"}
    spec:
      containers:
      - {image: golang, command: [make, COMMAND]}
  - name: pull-removed
    always_run: true
    spec:
      containers:
      - {image: golang, command: [make, COMMAND]}
postsubmits:
  org/repo:
  - name: post-push
    labels: {preset-cache: "true", prowctl.dev/publishes: "true"}
    spec:
      containers:
      - {image: golang, command: [make, push, COMMAND]}
  - name: post-build
    labels: {preset-cache: "true"}
    spec:
      containers:
      - {image: golang, command: [make, COMMAND]}
periodics:
- name: ci-nightly
  interval: 24h
  labels: {preset-cache: "true"}
  extra_refs:
  - {org: org, repo: repo, base_ref: main}
  spec:
    containers:
    - {image: golang, command: [make, COMMAND]}
`

func load(t *testing.T, cache, command string, drop string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	j := strings.ReplaceAll(jobs, "COMMAND", command)
	if drop != "" {
		j = strings.Replace(j, "  - name: "+drop+"\n    always_run: true\n    spec:\n      containers:\n      - {image: golang, command: [make, "+command+"]}\n", "", 1)
	}
	filetree.Write(t, dir, map[string]string{
		"config.yaml":    strings.ReplaceAll(prowConfig, "CACHE_VALUE", cache),
		"jobs/jobs.yaml": j,
	})
	c, err := mkpj.LoadAll(filepath.Join(dir, "config.yaml"), filepath.Join(dir, "jobs"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	sha1 = strings.Repeat("1", 40)
	sha2 = strings.Repeat("2", 40)
	pr   = mkpj.Refs{BaseRef: "main", BaseSHA: sha1, PullNumber: 7, PullSHA: sha2, PullAuthor: "alice"}
)

func plan(t *testing.T, base, head *config.Config, o Options) (*Plan, error) {
	t.Helper()
	changes, err := touched.Jobs(context.Background(), base, head)
	if err != nil {
		t.Fatal(err)
	}
	o.Changes, o.Head = changes, head
	return NewPlan(context.Background(), o)
}

type row struct{ Job, Status, Name, Reason string }

func rows(p *Plan) []row {
	var out []row
	for _, r := range p.Rehearsals {
		out = append(out, row{Job: r.Job, Status: r.Status, Name: r.ProwJob.Spec.Job})
	}
	for _, s := range p.Skipped {
		out = append(out, row{Job: s.Job, Status: s.Status, Reason: s.Reason})
	}
	for _, r := range p.Removed {
		out = append(out, row{Job: r.Job, Status: r.Status})
	}
	return out
}

func TestPlan(t *testing.T) {
	base := load(t, "v1", "test", "")
	for _, tc := range []struct {
		name string
		head *config.Config
		o    Options
		want []row
	}{{
		name: "a preset change rehearses every job using it, minus opt-outs and publishers",
		head: load(t, "v2", "test", ""),
		o:    Options{Refs: pr},
		want: []row{
			{Job: "ci-nightly", Status: "changed", Name: "rehearse-ci-nightly"},
			{Job: "post-build", Status: "changed", Name: "rehearse-post-build"},
			{Job: "pull-unit", Status: "changed", Name: "rehearse-7-pull-unit"},
			{Job: "post-push", Status: "changed", Reason: `publishes (labelled prowctl.dev/publishes: "true"): rehearse it with --allow-publishing`},
			{Job: "pull-not-here-again", Status: "changed", Reason: `opted out: labelled prowctl.dev/rehearse: "false"`},
		},
	}, {
		name: "publishing allowed",
		head: load(t, "v2", "test", ""),
		o:    Options{Refs: pr, AllowPublishing: true},
		want: []row{
			{Job: "ci-nightly", Status: "changed", Name: "rehearse-ci-nightly"},
			{Job: "post-build", Status: "changed", Name: "rehearse-post-build"},
			{Job: "post-push", Status: "changed", Name: "rehearse-post-push"},
			{Job: "pull-unit", Status: "changed", Name: "rehearse-7-pull-unit"},
			{Job: "pull-not-here-again", Status: "changed", Reason: `opted out: labelled prowctl.dev/rehearse: "false"`},
		},
	}, {
		name: "a removed job is listed, not run",
		head: load(t, "v1", "test", "pull-removed"),
		o:    Options{Refs: pr},
		want: []row{{Job: "pull-removed", Status: "removed"}},
	}, {
		name: "nothing touched",
		head: load(t, "v1", "test", ""),
		o:    Options{Refs: pr},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := plan(t, base, tc.head, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, rows(p)); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		})
	}
}

// A rehearsal is the job as mkpj builds it, under its own name, context and
// labels, never reporting; the refs each type gets are its own.
func TestRehearsalProwJobs(t *testing.T) {
	p, err := plan(t, load(t, "v1", "test", ""), load(t, "v2", "test", ""), Options{Refs: pr})
	if err != nil {
		t.Fatal(err)
	}
	byJob := map[string]prowapi.ProwJob{}
	for _, r := range p.Rehearsals {
		byJob[r.Job] = r.ProwJob
	}
	pre := byJob["pull-unit"]
	if pre.Spec.Context != "rehearse/pull-unit" || pre.Spec.Report {
		t.Errorf("presubmit: context %q report %v, want rehearse/pull-unit, false", pre.Spec.Context, pre.Spec.Report)
	}
	want := map[string]string{LabelRehearsal: "true", LabelOf: "pull-unit", "prow.k8s.io/job": "rehearse-7-pull-unit", "preset-cache": "true", "prow.k8s.io/refs.pull": "7"}
	for k, v := range want {
		if got := pre.Labels[k]; got != v {
			t.Errorf("presubmit label %s = %q, want %q", k, got, v)
		}
	}
	if pre.Annotations[AnnotationOf] != "pull-unit" {
		t.Errorf("annotation %s = %q", AnnotationOf, pre.Annotations[AnnotationOf])
	}
	if r := pre.Spec.Refs; r == nil || r.BaseSHA != sha1 || len(r.Pulls) != 1 || r.Pulls[0].SHA != sha2 || r.Pulls[0].Author != "alice" {
		t.Errorf("presubmit refs %+v, want the pull request's", r)
	}
	if env := pre.Spec.PodSpec.Containers[0].Env; len(env) != 1 || env[0].Value != "v2" {
		t.Errorf("presubmit env %+v: want the head preset's CACHE=v2", env)
	}
	post := byJob["post-build"]
	if r := post.Spec.Refs; r == nil || r.BaseSHA != sha1 || len(r.Pulls) != 0 {
		t.Errorf("postsubmit refs %+v, want the base alone", r)
	}
	periodic := byJob["ci-nightly"]
	if periodic.Spec.Refs != nil || len(periodic.Spec.ExtraRefs) != 1 || periodic.Spec.ExtraRefs[0].BaseRef != "main" {
		t.Errorf("periodic refs %+v extra %+v, want its own extra_refs", periodic.Spec.Refs, periodic.Spec.ExtraRefs)
	}
	if periodic.Spec.Job != "rehearse-ci-nightly" || periodic.Labels["prow.k8s.io/job"] != "rehearse-ci-nightly" {
		t.Errorf("periodic job %q label %q", periodic.Spec.Job, periodic.Labels["prow.k8s.io/job"])
	}
}

func TestPlanErrors(t *testing.T) {
	base, head := load(t, "v1", "test", ""), load(t, "v2", "test", "")
	var le *LimitError
	if _, err := plan(t, base, head, Options{Refs: pr, Limit: 2}); !errors.As(err, &le) || le.N != 3 || le.Limit != 2 || le.ExitCode() != 2 {
		t.Errorf("limit 2: %v, want a LimitError of 3 > 2", err)
	}
	var me *mkpj.MissingRefsError
	if _, err := plan(t, base, head, Options{Refs: mkpj.Refs{BaseRef: "main", BaseSHA: sha1}}); !errors.As(err, &me) {
		t.Errorf("no pull request: %v, want the flags that give one", err)
	} else if !strings.Contains(err.Error(), "--pull-number") {
		t.Errorf("%v: want --pull-number named", err)
	}
}

func TestName(t *testing.T) {
	for _, tc := range []struct {
		job  string
		pull int
		want string
	}{{"pull-unit", 12, "rehearse-12-pull-unit"}, {"ci-nightly", 0, "rehearse-ci-nightly"}} {
		if got := Name(tc.job, tc.pull); got != tc.want {
			t.Errorf("Name(%q, %d) = %q, want %q", tc.job, tc.pull, got, tc.want)
		}
	}
	long := strings.Repeat("a", 62) + "-b"
	if got := prowjob.LabelValue(long); got != strings.Repeat("a", 62) {
		t.Errorf("LabelValue cut %q", got)
	}
}
