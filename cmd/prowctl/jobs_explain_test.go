package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/jobs/explain"
)

// explainConfig are the flags for the repository's own config.
func explainConfig(t *testing.T) []string {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return []string{"--config-path", filepath.Join(root, "config/prow/config.yaml"), "--job-config-path", filepath.Join(root, "config/jobs")}
}

// jobs explain -o json on the repository's presubmit: the preset's
// variable and a decoration default, each at its line of config.yaml.
func TestJobsExplainJSON(t *testing.T) {
	cfg := explainConfig(t)
	streams, _, out, errOut := iostreams.Test()
	if code := runProwctl(t, streams, append([]string{"jobs", "explain", "tf-k8s-presubmit", "-o", "json"}, cfg...)...); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var fields []explain.Field
	if err := json.Unmarshal(out.Bytes(), &fields); err != nil {
		t.Fatalf("not a list of fields: %v\n%s", err, out)
	}
	got := map[string]explain.Field{}
	for _, f := range fields {
		got[f.Path] = f
	}
	config, jobFile := cfg[1], filepath.Join(cfg[3], "tensorflow/k8s/tf-k8s.yaml")
	for _, want := range []explain.Field{
		{Path: "containers[test].env[GOOGLE_APPLICATION_CREDENTIALS].value", Value: "/etc/service-account/service-account.json",
			Source: explain.Source{Kind: explain.KindPreset, File: config, Line: lineIn(t, config, "value: /etc/service-account/service-account.json"), Labels: map[string]string{"preset-service-account": "true"}}},
		{Path: "initContainers[clonerefs].image", Value: "us-docker.pkg.dev/k8s-infra-prow/images/clonerefs:v20240619-cfb8754e0",
			Source: explain.Source{Kind: explain.KindDecorationDefault, File: config, Line: lineIn(t, config, "clonerefs: us-docker.pkg.dev/"), Field: "utility_images.clonerefs", Entry: "*"}},
		{Path: "containers[test].resources.requests.cpu", Value: "1500m",
			Source: explain.Source{Kind: explain.KindJob, File: jobFile, Line: lineIn(t, jobFile, "cpu: 1500m")}},
	} {
		if diff := cmp.Diff(want, got[want.Path]); diff != "" {
			t.Errorf("%s (-want +got):\n%s", want.Path, diff)
		}
	}
}

// lineIn is the first line of file that holds text.
func lineIn(t *testing.T, file, text string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, text) {
			return i + 1
		}
	}
	t.Fatalf("%s has no %q", file, text)
	return 0
}

func TestJobsExplainUsage(t *testing.T) {
	cfg := explainConfig(t)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"tf-k8s-presubmt"}, 1, "prowctl: no job tf-k8s-presubmt; did you mean tf-k8s-presubmit?\n"},
		{nil, 2, "prowctl: accepts 1 arg(s), received 0\n"},
		{[]string{"tf-k8s-presubmit", "-o", "xml"}, 2, "prowctl: -o xml: use yaml or json, or text\n"},
		{[]string{"tf-k8s-presubmit", "--type", "batch"}, 2, "prowctl: --type batch: use presubmit, postsubmit or periodic\n"},
		{[]string{"tf-k8s-presubmit", "--job-config-path", ""}, 2, "prowctl: --job-config-path: empty path: give a file or directory, or leave the flag out for its default\n"},
	} {
		streams, _, out, errOut := iostreams.Test()
		// The case's flags last: they override the config's.
		code := runProwctl(t, streams, append(append([]string{"jobs", "explain"}, cfg...), tc.args...)...)
		if code != tc.code || errOut.String() != tc.msg || out.Len() != 0 {
			t.Errorf("jobs explain %v: exit %d, stderr %q, stdout %q; want exit %d, stderr %q", tc.args, code, errOut, out, tc.code, tc.msg)
		}
	}
}

// The flags reach the options; the job is the argument.
func TestJobsExplainFlags(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	var got *JobsExplainOptions
	cmd := newCmdJobsExplain(&Factory{IO: streams}, func(_ context.Context, o *JobsExplainOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"j", "--repo", "o/r", "--type", "postsubmit", "--base-ref", "dev", "-o", "yaml", "--config-path", "c.yaml", "--job-config-path", "jobs"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	want := &JobsExplainOptions{IO: streams, Job: "j", ConfigPath: "c.yaml", JobConfigPath: "jobs", Repo: "o/r", Type: "postsubmit", BaseRef: "dev", Output: "yaml"}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b *iostreams.IOStreams) bool { return a == b })); diff != "" {
		t.Errorf("options (-want +got):\n%s", diff)
	}
}
