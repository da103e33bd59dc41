package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"
	"sigs.k8s.io/prow/pkg/pod-utils/downwardapi"

	"github.com/prowctl/prowctl/internal/filetree"
	"github.com/prowctl/prowctl/internal/gcstest"
)

// artifactsFixture writes the files a run leaves in its artifacts directory.
func artifactsFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"build-log.txt":         "the build log\n",
		"started.json":          `{"timestamp":1}`,
		"finished.json":         `{"passed":true}`,
		"junit_e2e-steps.xml":   "<testsuites/>",
		"steps/deploy.log":      "deployed\n",
		"e2e-state.json":        "{}",
		"e2e-state.json.lock":   "",
		".e2e-state.json.12345": "partial write",
	}
	filetree.Write(t, dir, files)
	return dir
}

func periodicSpec() *downwardapi.JobSpec {
	return LocalJobSpec("periodic-tf-k8s-e2e", "20261125120000")
}

// wantObjects lists the objects of a run of spec under base, with content.
func wantObjects(base string) map[string]string {
	return map[string]string{
		base + "/build-log.txt":                 "the build log\n",
		base + "/started.json":                  `{"timestamp":1}`,
		base + "/finished.json":                 `{"passed":true}`,
		base + "/artifacts/junit_e2e-steps.xml": "<testsuites/>",
		base + "/artifacts/steps/deploy.log":    "deployed\n",
		base + "/artifacts/e2e-state.json":      "{}",
	}
}

func TestUploadLocalDir(t *testing.T) {
	tests := []struct {
		name string
		spec *downwardapi.JobSpec
		want func(dest string) map[string]string
	}{
		{
			name: "periodic",
			spec: periodicSpec(),
			want: func(string) map[string]string {
				w := wantObjects("logs/periodic-tf-k8s-e2e/20261125120000")
				w["logs/periodic-tf-k8s-e2e/latest-build.txt"] = "20261125120000"
				return w
			},
		},
		{
			name: "presubmit",
			spec: presubmitSpec(),
			want: func(dest string) map[string]string {
				base := "pr-logs/pull/tensorflow_k8s/42/pull-tf-k8s-e2e/1729"
				w := wantObjects(base)
				w["pr-logs/directory/pull-tf-k8s-e2e/latest-build.txt"] = "1729"
				w["pr-logs/pull/tensorflow_k8s/42/pull-tf-k8s-e2e/latest-build.txt"] = "1729"
				w["pr-logs/directory/pull-tf-k8s-e2e/1729.txt"] = dest + "/" + base
				return w
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dest := t.TempDir()
			up, err := Upload(context.Background(), UploadOptions{Dest: dest, Job: tt.spec, Artifacts: artifactsFixture(t)})
			if err != nil {
				t.Fatal(err)
			}
			keys := up.Keys
			got := map[string]string{}
			err = filepath.WalkDir(dest, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				rel, _ := filepath.Rel(dest, p)
				got[filepath.ToSlash(rel)] = string(b)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want(dest)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("files under %s (-want +got):\n%s", dest, d)
			}
			if len(keys) != len(want) {
				t.Errorf("Upload returned %d keys, want %d: %v", len(keys), len(want), keys)
			}
		})
	}
}

// TestUploadGCS uploads through Prow's opener, built as in production, to
// a GCS emulator on loopback that it finds through STORAGE_EMULATOR_HOST.
func TestUploadGCS(t *testing.T) {
	server := gcstest.Start(t, "tf-k8s-logs")
	t.Setenv("STORAGE_EMULATOR_HOST", server.URL())

	tests := []struct {
		name string
		spec *downwardapi.JobSpec
		dest string
		want map[string]string
	}{
		{
			name: "presubmit",
			spec: presubmitSpec(),
			dest: "gs://tf-k8s-logs",
			want: func() map[string]string {
				base := "pr-logs/pull/tensorflow_k8s/42/pull-tf-k8s-e2e/1729"
				w := wantObjects(base)
				w["pr-logs/directory/pull-tf-k8s-e2e/latest-build.txt"] = "1729"
				w["pr-logs/pull/tensorflow_k8s/42/pull-tf-k8s-e2e/latest-build.txt"] = "1729"
				w["pr-logs/directory/pull-tf-k8s-e2e/1729.txt"] = "gs://tf-k8s-logs/" + base
				return w
			}(),
		},
		{
			name: "periodic with prefix",
			spec: periodicSpec(),
			dest: "gs://tf-k8s-logs/ci",
			want: func() map[string]string {
				w := wantObjects("ci/logs/periodic-tf-k8s-e2e/20261125120000")
				// As with Prow's gcsupload, the prefix moves the build's
				// directory only.
				w["logs/periodic-tf-k8s-e2e/latest-build.txt"] = "20261125120000"
				return w
			}(),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Upload(context.Background(), UploadOptions{Dest: tt.dest, Job: tt.spec, Artifacts: artifactsFixture(t)}); err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for key := range tt.want {
				obj, err := server.GetObject("tf-k8s-logs", key)
				if err != nil {
					t.Errorf("%s: %v", key, err)
					continue
				}
				got[key] = string(obj.Content)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("objects (-want +got):\n%s", d)
			}
			if tt.spec.Type == "presubmit" {
				obj, _ := server.GetObject("tf-k8s-logs", "pr-logs/directory/pull-tf-k8s-e2e/1729.txt")
				if link := obj.Metadata["x-goog-meta-link"]; link != tt.want["pr-logs/directory/pull-tf-k8s-e2e/1729.txt"] {
					t.Errorf("alias x-goog-meta-link = %q", link)
				}
			}
		})
	}
	// Nothing else landed in the bucket: no lock or temp files, no strays.
	objs, _, err := server.ListObjects("tf-k8s-logs", "", "", false)
	if err != nil {
		t.Fatal(err)
	}
	if want := 2*6 + 3 + 1; len(objs) != want {
		var names []string
		for _, o := range objs {
			names = append(names, o.Name)
		}
		t.Errorf("%d objects in the bucket, want %d: %v", len(objs), want, names)
	}
}

// TestUploadGCSEndpoint uploads to an emulator named in the options, as
// `e2e run` does for the personal cluster's, with no variable of the process
// set, and says where Deck shows the build.
func TestUploadGCSEndpoint(t *testing.T) {
	server := gcstest.Start(t, "tf-k8s-prow-artifacts")
	t.Setenv("STORAGE_EMULATOR_HOST", "")
	spec := periodicSpec()
	up, err := Upload(context.Background(), UploadOptions{Dest: "gs://tf-k8s-prow-artifacts", Job: spec, Artifacts: artifactsFixture(t), GCSEndpoint: server.URL()})
	if err != nil {
		t.Fatal(err)
	}
	base := "logs/" + spec.Job + "/" + spec.BuildID
	if up.Bucket != "gs://tf-k8s-prow-artifacts" || up.Base != base || up.History != "logs/"+spec.Job {
		t.Errorf("uploaded to %s: base %q, history %q", up.Bucket, up.Base, up.History)
	}
	if obj, err := server.GetObject("tf-k8s-prow-artifacts", "logs/"+spec.Job+"/latest-build.txt"); err != nil || string(obj.Content) != spec.BuildID {
		t.Errorf("latest-build.txt: %v %q", err, obj.Content)
	}
	if _, err := server.GetObject("tf-k8s-prow-artifacts", base+"/finished.json"); err != nil {
		t.Errorf("finished.json: %v", err)
	}
	for _, tc := range []struct{ deck, view, history string }{
		{"http://127.0.0.1:9/", "http://127.0.0.1:9/view/gs/tf-k8s-prow-artifacts/" + base, "http://127.0.0.1:9/job-history/gs/tf-k8s-prow-artifacts/logs/" + spec.Job},
		{"", "", ""},
	} {
		if got := up.SpyglassURL(tc.deck); got != tc.view {
			t.Errorf("SpyglassURL(%q) = %q, want %q", tc.deck, got, tc.view)
		}
		if got := up.HistoryURL(tc.deck); got != tc.history {
			t.Errorf("HistoryURL(%q) = %q, want %q", tc.deck, got, tc.history)
		}
	}
}

func TestUploadStepSkips(t *testing.T) {
	decorated := periodicSpec()
	decorated.DecorationConfig = &prowapi.DecorationConfig{}
	for _, tt := range []struct {
		name     string
		job      *downwardapi.JobSpec
		flag, to string
		want     string
	}{
		{name: "decorated", job: decorated, to: "gs://b", want: "skipped: the job is decorated: Prow uploads $ARTIFACTS"},
		{name: "nowhere", job: periodicSpec(), want: "skipped: no destination (set with.to or pass --upload)"},
		{name: "flag beats decoration", job: decorated, flag: "DIR", want: "passed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &StepSpec{Name: "upload", Uses: "upload", Always: true, Step: &UploadStep{settings: uploadSettings{To: tt.to}}}
			flagDest := tt.flag
			if flagDest == "DIR" {
				flagDest = t.TempDir()
			}
			rep := run(t, pipeline(s), Options{Job: tt.job, Upload: flagDest, Results: true})
			if got := statuses(rep)["upload"]; got != tt.want {
				t.Errorf("upload: %s, want %s", got, tt.want)
			}
		})
	}
}

// TestRunUploadsToGCS runs a pipeline whose upload finalizer sends the run's
// results to a GCS emulator, chosen by the environment: what lands there is
// the complete record of the run, finished.json included.
func TestRunUploadsToGCS(t *testing.T) {
	server := gcstest.Start(t, "logs")
	t.Setenv("STORAGE_EMULATOR_HOST", server.URL())

	spec := `steps:
- name: test
  run: echo "hello from $JOB_NAME"
- name: upload
  uses: upload
  needs: [test]
  always: true
  with:
    to: gs://$LOGS_BUCKET/ci
`
	p, err := ParsePipeline("e2e.yaml", []byte(spec), CoreKinds())
	if err != nil {
		t.Fatal(err)
	}
	rep := run(t, p, Options{Job: periodicSpec(), Results: true, Environ: append(os.Environ(), "LOGS_BUCKET=logs")})
	if !rep.Passed() {
		t.Fatalf("run failed: %v", statuses(rep))
	}
	base := "ci/logs/periodic-tf-k8s-e2e/20261125120000/"
	get := func(key string) string {
		t.Helper()
		obj, err := server.GetObject("logs", key)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		return string(obj.Content)
	}
	if got := get(base + "build-log.txt"); !strings.Contains(got, "[test] hello from periodic-tf-k8s-e2e\n") {
		t.Errorf("build-log.txt:\n%s", got)
	}
	if got := get(base + "artifacts/steps/test.log"); got != "hello from periodic-tf-k8s-e2e\n" {
		t.Errorf("steps/test.log = %q", got)
	}
	var finished struct {
		Passed   bool                      `json:"passed"`
		Result   string                    `json:"result"`
		Metadata map[string]map[string]any `json:"metadata"`
	}
	if err := json.Unmarshal([]byte(get(base+"finished.json")), &finished); err != nil {
		t.Fatal(err)
	}
	if !finished.Passed || finished.Result != "SUCCESS" || finished.Metadata["e2e-steps"]["upload"] != "passed" {
		t.Errorf("uploaded finished.json: %+v", finished)
	}
	if got := get(base + "artifacts/" + JUnitFile); !strings.Contains(got, `<testcase name="upload"`) {
		t.Errorf("uploaded JUnit lacks the upload step:\n%s", got)
	}
	if got := get("logs/periodic-tf-k8s-e2e/latest-build.txt"); got != "20261125120000" {
		t.Errorf("latest-build.txt = %q", got)
	}
}
