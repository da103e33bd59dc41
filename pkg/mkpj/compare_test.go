package mkpj

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/pkg/cluster"
)

// prowMkpj returns the path of Prow's mkpj that `make tools` builds at the
// pinned Prow version; without it the test fails naming `make tools`.
func prowMkpj(t testing.TB) string {
	t.Helper()
	p, err := cluster.ToolPath(cluster.DefaultToolsDir(), "mkpj")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCompareWithProwMkpj builds every job of testdata/compare with prowctl
// and with Prow's own mkpj, with the same refs, and wants the same ProwJob
// but for the random name and the start time.
func TestCompareWithProwMkpj(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Prow's mkpj from `make tools`")
	}
	bin := prowMkpj(t)
	const cfgPath, jobsPath = "testdata/compare/config.yaml", "testdata/compare/jobs"
	all, err := LoadAll(cfgPath, jobsPath)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[prowapi.ProwJobType]int{}
	for _, name := range Names(all) {
		t.Run(name, func(t *testing.T) {
			m := Matches(all, name)
			if len(m) != 1 {
				t.Fatalf("%d jobs named %s; Prow's mkpj would pick one at random", len(m), name)
			}
			seen[m[0].Type]++
			refs := refsFor(m[0])
			args := []string{"--config-path", cfgPath, "--job-config-path", jobsPath, "--job", name}
			if m[0].Type != prowapi.PeriodicJob {
				args = append(args, "--base-ref", refs.BaseRef, "--base-sha", refs.BaseSHA)
			}
			if m[0].Type == prowapi.PresubmitJob {
				args = append(args, "--pull-number", strconv.Itoa(refs.PullNumber), "--pull-sha", refs.PullSHA,
					"--pull-author", refs.PullAuthor, "--pull-head-ref", refs.PullHeadRef)
			}
			cmd := exec.Command(bin, args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("Prow's mkpj %v: %v\n%s", args, err, stderr.String())
			}
			var want prowapi.ProwJob
			if err := yaml.UnmarshalStrict(stdout.Bytes(), &want); err != nil {
				t.Fatalf("Prow's mkpj output: %v\n%s", err, stdout.String())
			}

			res, err := Build(context.Background(), Options{
				ConfigPath: cfgPath, JobConfigPath: jobsPath, Query: Query{Name: name, BaseRef: refs.BaseRef}, Refs: refs,
			})
			if err != nil {
				t.Fatal(err)
			}
			// Compare what each prints, as a user would.
			var printed bytes.Buffer
			if err := Print(&printed, &res.ProwJob, "yaml"); err != nil {
				t.Fatal(err)
			}
			var got prowapi.ProwJob
			if err := yaml.UnmarshalStrict(printed.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if want.Name == got.Name || want.Status.StartTime.IsZero() || got.Status.StartTime.IsZero() {
				t.Errorf("names %q and %q should differ and start times be set", want.Name, got.Name)
			}
			if diff := cmp.Diff(want, got, ignoreNameAndStart...); diff != "" {
				t.Errorf("prowctl mkpj differs from Prow's mkpj (-prow +prowctl):\n%s", diff)
			}
		})
	}
	for _, typ := range []prowapi.ProwJobType{prowapi.PresubmitJob, prowapi.PostsubmitJob, prowapi.PeriodicJob} {
		if seen[typ] < 2 {
			t.Errorf("testdata has %d %s jobs, want at least 2", seen[typ], typ)
		}
	}
}
