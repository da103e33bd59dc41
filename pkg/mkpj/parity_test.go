package mkpj

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/yaml"
)

const compareConfig, compareJobs = "testdata/compare/config.yaml", "testdata/compare/jobs"

// A job whose only config does not run on --base-ref is still built, as
// Prow's mkpj builds it, with one warning; the refs are the ones asked for.
func TestBuildOffBranchWarns(t *testing.T) {
	res, err := Build(context.Background(), Options{
		ConfigPath: compareConfig, JobConfigPath: compareJobs,
		Query: Query{Name: "post-repo-one-push", BaseRef: "dev"},
		Refs:  Refs{BaseRef: "dev", BaseSHA: sha1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := res.ProwJob.Spec.Refs; got == nil || got.BaseRef != "dev" || got.BaseSHA != sha1 {
		t.Errorf("refs %+v, want base dev at %s", got, sha1)
	}
	want := []string{"job post-repo-one-push does not run on branch dev (it is the postsubmit of org-a/repo-one (branches ^main$) in " +
		res.Job.Base().SourcePath + "): Prow would not trigger it there; built anyway, as Prow's mkpj does"}
	if diff := cmp.Diff(want, res.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}

	// On its branch: no warning.
	res, err = Build(context.Background(), Options{
		ConfigPath: compareConfig, JobConfigPath: compareJobs,
		Query: Query{Name: "post-repo-one-push", BaseRef: "main"},
		Refs:  Refs{BaseRef: "main", BaseSHA: sha1},
	})
	if err != nil || len(res.Warnings) != 0 {
		t.Errorf("on main: warnings %q, err %v", res.Warnings, err)
	}
}

// TestOffBranchLikeProwMkpj: Prow's mkpj, given the same off-branch refs,
// makes the same ProwJob.
func TestOffBranchLikeProwMkpj(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Prow's mkpj from `make tools`")
	}
	bin := prowMkpj(t)
	args := []string{"--config-path", compareConfig, "--job-config-path", compareJobs, "--job", "post-repo-one-push", "--base-ref", "dev", "--base-sha", sha1}
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("Prow's mkpj %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var want prowapi.ProwJob
	if err := yaml.UnmarshalStrict(stdout.Bytes(), &want); err != nil {
		t.Fatal(err)
	}
	res, err := Build(context.Background(), Options{
		ConfigPath: compareConfig, JobConfigPath: compareJobs,
		Query: Query{Name: "post-repo-one-push", BaseRef: "dev"},
		Refs:  Refs{BaseRef: "dev", BaseSHA: sha1},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Compare what each prints, as TestCompareWithProwMkpj does: an empty
	// list and a missing one print alike.
	var printed bytes.Buffer
	if err := Print(&printed, &res.ProwJob, "yaml"); err != nil {
		t.Fatal(err)
	}
	var got prowapi.ProwJob
	if err := yaml.UnmarshalStrict(printed.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, ignoreNameAndStart...); diff != "" {
		t.Errorf("(-prow +prowctl):\n%s", diff)
	}
}
