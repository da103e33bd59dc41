package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

// exportJobSpec is the JOB_SPEC of pkg/e2e/argo's config-e2e golden file.
const exportJobSpec = `{"type":"presubmit","job":"tf-k8s-presubmit","buildid":"1866223386540453888","prowjobid":"9a3c2d3e-6f7e-4b1c-9d2a-7e1f0c5b8a44","refs":{"org":"tensorflow","repo":"k8s","base_ref":"master","base_sha":"5e7c3a1","pulls":[{"number":42,"author":"alice","sha":"feedbee"}]},"decoration_config":{"utility_images":{"clonerefs":"us-docker.pkg.dev/k8s-infra-prow/images/clonerefs:v20240619-cfb8754e0"},"ssh_key_secrets":["ssh-secret"],"oauth_token_secret":{"name":"oauth-token","key":"token"}}}`

// exportArgs are the flags that give pkg/e2e/argo's config-e2e golden
// Workflow, the image and working directory left to config/tf-k8s.yaml.
func exportArgs(extra ...string) []string {
	return append([]string{"e2e", "export", "--argo",
		"--pipeline", "../../config/e2e.yaml", "--spec", "../../config/tf-k8s.yaml",
		"-n", "argo", "--service-account", "prowctl-e2e",
		"--registry", "registry.example.com:5000", "--cluster-provider", "in-cluster",
		"--upload", "gs://tf-k8s-prow-artifacts",
		"--env", "GOOGLE_APPLICATION_CREDENTIALS=/etc/service-account/service-account.json",
		"--secret-volume", "service-account:/etc/service-account",
	}, extra...)
}

// TestE2EExportGolden: the command prints what the library's golden files
// hold, as yaml and json; the pipeline's path in the pod is its path in the
// repository, whatever directory export runs in; the image and the working
// directory come from the jobs' spec.
func TestE2EExportGolden(t *testing.T) {
	for _, tc := range []struct{ args []string }{
		{exportArgs("--job-spec", exportJobSpec)},
		{exportArgs("--job-spec", exportJobSpec, "-o", "yaml", "--image", "gcr.io/mlkube-testing/builder:v20180207-c4bd9d7b", "--workdir", "/home/prow/go/src/github.com/tensorflow/k8s")},
	} {
		streams, _, out, errOut := iostreams.Test()
		if code := runProwctl(t, streams, tc.args...); code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if errOut.Len() != 0 {
			t.Errorf("stderr: %s", errOut)
		}
		want, err := os.ReadFile("../../pkg/e2e/argo/testdata/config-e2e.golden")
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(string(want), out.String()); d != "" {
			t.Errorf("(-golden +export):\n%s", d)
		}
	}
	streams, _, out, errOut := iostreams.Test()
	if code := runProwctl(t, streams, exportArgs("--job-spec", exportJobSpec, "-o", "json")...); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want, err := os.ReadFile("../../pkg/e2e/argo/testdata/config-e2e.json.golden")
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(string(want), out.String()); d != "" {
		t.Errorf("-o json (-golden +export):\n%s", d)
	}
}

// TestE2EExportJobSpec: $JOB_SPEC when --job-spec is not given; --job-spec
// wins, and --job-spec "" asks for a local job even inside Prow.
func TestE2EExportJobSpec(t *testing.T) {
	t.Setenv("JOB_SPEC", strings.Replace(exportJobSpec, "1866223386540453888", "7", 1))
	for _, tc := range []struct {
		args       []string
		job, build string
	}{
		{nil, "tf-k8s-presubmit", "7"},
		{[]string{"--job-spec", exportJobSpec}, "tf-k8s-presubmit", "1866223386540453888"},
		{[]string{"--job-spec", ""}, "local-e2e", ""},
	} {
		streams, _, out, errOut := iostreams.Test()
		if code := runProwctl(t, streams, exportArgs(tc.args...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errOut)
		}
		var wf struct {
			Metadata struct {
				Labels map[string]string `json:"labels"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(out.Bytes(), &wf); err != nil {
			t.Fatal(err)
		}
		if l := wf.Metadata.Labels; l["prow.k8s.io/job"] != tc.job || l["prow.k8s.io/build-id"] != tc.build {
			t.Errorf("%v: labels %v, want job %s build %q", tc.args, l, tc.job, tc.build)
		}
	}
}

// TestE2EExportErrors: usage errors exit 2, a pipeline that cannot run a pod
// per step exits 1 with a line per problem at its file:line:col, and
// nothing is printed on stdout.
func TestE2EExportErrors(t *testing.T) {
	// A git repository of its own (export reads the pipeline's path in it).
	repo := t.TempDir()
	if err := os.Mkdir(filepath.Join(repo, ".git"), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(dir, text string) string {
		f := filepath.Join(dir, "e2e.yaml")
		if err := os.WriteFile(f, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	inRepo := write(repo, "steps:\n- name: registry\n  uses: registry\n- name: build\n  run: make\n  needs: [registry]\n")
	outside := write(t.TempDir(), "steps:\n- name: a\n  run: 'true'\n")
	badYAML := write(t.TempDir(), "steps:\n- name: a\n  run: 'true'\n  timeout: soon\n")
	image := []string{"--image", "img", "--workdir", "/src"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no --argo", []string{"e2e", "export", "--pipeline", inRepo},
			2, "prowctl: export needs a format: give --argo (an Argo Workflow, the only one for now)\n"},
		{"-o text", append([]string{"e2e", "export", "--argo", "--pipeline", inRepo, "-o", "text"}, image...),
			2, "prowctl: -o \"text\": want yaml or json\n"},
		{"registry without addr", append([]string{"e2e", "export", "--argo", "--pipeline", inRepo}, image...),
			1, "prowctl: " + inRepo + ":2:3: steps[registry]: without addr: it starts a registry in the step's process, which ends with the step's pod, on a loopback no other pod reaches: give it addr: HOST:PORT, a registry the pods reach, or export with --registry HOST:PORT\n"},
		{"registry on loopback", append([]string{"e2e", "export", "--argo", "--pipeline", inRepo, "--registry", "127.0.0.1:5000"}, image...),
			2, "prowctl: registry 127.0.0.1:5000: on loopback, which is each step's own pod: give a registry the pods reach\n"},
		{"bad pipeline", append([]string{"e2e", "export", "--argo", "--pipeline", badYAML}, image...),
			1, "prowctl: " + badYAML + ":4:12: steps[a].timeout: bad duration \"soon\" (want e.g. 90s, 5m, 1h30m)\n"},
		{"not in a repository", append([]string{"e2e", "export", "--argo", "--pipeline", outside}, image...),
			1, "prowctl: --pipeline " + outside + ": not in a git repository: the steps read the pipeline from the repository's checkout (--workdir), so export a pipeline of that repository\n"},
		{"no image, no spec", []string{"e2e", "export", "--argo", "--pipeline", inRepo, "--registry", "r.example.com"},
			2, "prowctl: no --image, and no config/tf-k8s.yaml to take it from: give --image (the image holds prowctl, git, Go and the repository's checkout at --workdir)\n"},
		{"no workdir, no spec", []string{"e2e", "export", "--argo", "--pipeline", inRepo, "--registry", "r.example.com", "--image", "img"},
			2, "prowctl: no --workdir, and no config/tf-k8s.yaml to take it from: give --workdir (the image holds prowctl, git, Go and the repository's checkout at --workdir)\n"},
		{"--env", append([]string{"e2e", "export", "--argo", "--pipeline", inRepo, "--env", "NOVALUE"}, image...),
			2, "prowctl: --env \"NOVALUE\": want NAME=VALUE\n"},
		{"--secret-volume", append([]string{"e2e", "export", "--argo", "--pipeline", inRepo, "--secret-volume", "creds"}, image...),
			2, "prowctl: --secret-volume \"creds\": want SECRET:MOUNTPATH\n"},
		{"empty --pipeline", []string{"e2e", "export", "--argo", "--pipeline", ""},
			2, "prowctl: --pipeline: empty path: give a file or directory, or leave the flag out for its default\n"},
		{"--cluster-provider local", append([]string{"e2e", "export", "--argo", "--pipeline", inRepo, "--registry", "r.example.com", "--cluster-provider", "local"}, image...),
			2, "prowctl: cluster provider \"local\": its cluster lives in the cluster-up step's pod and ends with it (want gke, in-cluster, kubeconfig)\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			streams, _, out, errOut := iostreams.Test()
			if code := runProwctl(t, streams, tc.args...); code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if d := cmp.Diff(tc.want, errOut.String()); d != "" {
				t.Errorf("stderr (-want +got):\n%s", d)
			}
			if out.Len() != 0 {
				t.Errorf("stdout: %s", out)
			}
		})
	}
}

// TestE2EExportWarning: a Workflow that uploads nothing is printed, with a
// warning on stderr that its artifacts go with it.
func TestE2EExportWarning(t *testing.T) {
	streams, _, out, errOut := iostreams.Test()
	args := []string{"e2e", "export", "--argo", "--pipeline", "../../pkg/e2e/argo/testdata/parallel.yaml", "--image", "img", "--workdir", "/src", "--job-spec", ""}
	if code := runProwctl(t, streams, args...); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "prowctl: warning: the artifacts stay on the Workflow's volume, which Argo deletes with the Workflow: the pipeline has no upload step\n"
	if errOut.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errOut, want)
	}
	if !strings.Contains(out.String(), "- pkg/e2e/argo/testdata/parallel.yaml\n") {
		t.Errorf("the steps do not read the pipeline at its path in the repository:\n%s", out)
	}
}
