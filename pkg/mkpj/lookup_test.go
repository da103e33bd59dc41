package mkpj

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
)

const (
	sha1 = "1111111111111111111111111111111111111111"
	sha2 = "2222222222222222222222222222222222222222"
)

func TestBuildLookup(t *testing.T) {
	full := Refs{BaseRef: "main", BaseSHA: sha1, PullNumber: 7, PullSHA: sha2, PullAuthor: "alice"}
	tests := []struct {
		name     string
		query    Query
		refs     Refs
		wantErr  string
		wantRepo string
		wantType prowapi.ProwJobType
		wantImg  string
	}{{
		name:    "unknown job suggests the closest",
		query:   Query{Name: "pull-shared-lnt"},
		wantErr: "no job pull-shared-lnt; did you mean pull-shared-lint?",
	}, {
		name:    "unknown job without a close name",
		query:   Query{Name: "zzz"},
		wantErr: "no job zzz in the job config",
	}, {
		name:    "same name in two repos asks for --repo",
		query:   Query{Name: "pull-shared-lint"},
		refs:    full,
		wantErr: "job pull-shared-lint is in 2 repos: set --repo to one of org-a/one, org-b/two",
	}, {
		name:     "--repo picks one",
		query:    Query{Name: "pull-shared-lint", Repo: "org-b/two"},
		refs:     full,
		wantRepo: "org-b/two",
		wantType: prowapi.PresubmitJob,
		wantImg:  "golang:1.22",
	}, {
		name:    "--repo that has no such job",
		query:   Query{Name: "pull-shared-lint", Repo: "org-c/three"},
		wantErr: "job pull-shared-lint is not a job of org-c/three: it is the presubmit of org-a/one in ",
	}, {
		name:    "one config per branch needs --base-ref",
		query:   Query{Name: "pull-branchy"},
		wantErr: "job pull-branchy has one config per branch: set --base-ref",
	}, {
		name:     "branch filter picks the release config",
		query:    Query{Name: "pull-branchy", BaseRef: "release-1.0"},
		refs:     Refs{BaseRef: "release-1.0", BaseSHA: sha1, PullNumber: 7, PullSHA: sha2, PullAuthor: "alice"},
		wantRepo: "org-a/one",
		wantType: prowapi.PresubmitJob,
		wantImg:  "golang:1.21",
	}, {
		name:    "branch no config runs on",
		query:   Query{Name: "pull-branchy", BaseRef: "dev"},
		wantErr: "job pull-branchy does not run on branch dev",
	}, {
		name:    "presubmit and postsubmit of one name ask for --type",
		query:   Query{Name: "both-kinds"},
		wantErr: "job both-kinds has 2 types: set --type",
	}, {
		name:     "--type picks the postsubmit",
		query:    Query{Name: "both-kinds", Type: prowapi.PostsubmitJob},
		refs:     Refs{BaseRef: "main", BaseSHA: sha1},
		wantRepo: "org-a/one",
		wantType: prowapi.PostsubmitJob,
		wantImg:  "golang:1.22",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.query
			if q.BaseRef == "" {
				q.BaseRef = ""
			}
			res, err := Build(context.Background(), Options{
				ConfigPath:    "testdata/ambiguous/config.yaml",
				JobConfigPath: "testdata/ambiguous/jobs",
				Query:         q,
				Refs:          tc.refs,
			})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := []string{res.Job.Repo, string(res.ProwJob.Spec.Type), res.ProwJob.Spec.PodSpec.Containers[0].Image}
			want := []string{tc.wantRepo, string(tc.wantType), tc.wantImg}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestNotFoundErrorIsTyped(t *testing.T) {
	_, err := Build(context.Background(), Options{
		ConfigPath: "testdata/ambiguous/config.yaml", JobConfigPath: "testdata/ambiguous/jobs", Query: Query{Name: "pull-branch"},
	})
	var nf *NotFoundError
	if !errors.As(err, &nf) || nf.Suggestion != "pull-branchy" {
		t.Fatalf("error = %#v, want NotFoundError suggesting pull-branchy", err)
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"pull-kubernetes-unit", "pull-kubernetes-e2e-gce", "ci-kubernetes-build"}
	for in, want := range map[string]string{
		"pull-kubernetes-unti":    "pull-kubernetes-unit",
		"pull-kubernetes-e2e":     "pull-kubernetes-e2e-gce",
		"ci-kubernetes-biuld":     "ci-kubernetes-build",
		"something-else-entirely": "",
	} {
		if got := Suggest(in, names); got != want {
			t.Errorf("Suggest(%q) = %q, want %q", in, got, want)
		}
	}
}
