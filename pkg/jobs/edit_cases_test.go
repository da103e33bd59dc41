package jobs

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tinySpec has one job of each type with little text, so expected files can
// be written out by hand.
func tinySpec(t *testing.T, jobs string) *Spec {
	t.Helper()
	s, err := ParseSpec("tiny.yaml", []byte(`repo: tensorflow/k8s
branches: [master]
periodic_prefix: tf-k8s-
image: gcr.io/x/builder:v1
command: [run]
decorate: false
jobs:
`+jobs))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const (
	tinyPre  = "- name: tf-k8s-presubmit\n  type: presubmit\n  always_run: true\n"
	tinyPost = "- name: tf-k8s-postsubmit\n  type: postsubmit\n"
	tinyPer  = "- name: tf-k8s-periodic\n  type: periodic\n  interval: 8h\n"
)

func TestUpdateInPlaceCases(t *testing.T) {
	all := tinyPre + tinyPost + tinyPer
	for _, tc := range []struct {
		name, jobs, in, want string
	}{{
		name: "empty file gets every section",
		jobs: all,
		in:   "",
		want: `presubmits:
  tensorflow/k8s:
  - name: tf-k8s-presubmit
    always_run: true
    context: tf-k8s-presubmit
    branches:
    - master
    decorate: false
    spec:
      containers:
      - image: gcr.io/x/builder:v1
        command:
        - run
postsubmits:
  tensorflow/k8s:
  - name: tf-k8s-postsubmit
    branches:
    - master
    decorate: false
    spec:
      containers:
      - image: gcr.io/x/builder:v1
        command:
        - run
periodics:
- name: tf-k8s-periodic
  interval: 8h
  decorate: false
  spec:
    containers:
    - image: gcr.io/x/builder:v1
      command:
      - run
`,
	}, {
		name: "repository added in alphabetical position, indented style kept",
		jobs: tinyPost,
		in: `postsubmits:
    apache/a:
      - name: a
    # zorg's jobs
    zorg/z:
      - name: z
`,
		want: `postsubmits:
    apache/a:
      - name: a
    tensorflow/k8s:
      - name: tf-k8s-postsubmit
        branches:
          - master
        decorate: false
        spec:
            containers:
              - image: gcr.io/x/builder:v1
                command:
                  - run
    # zorg's jobs
    zorg/z:
      - name: z
`,
	}, {
		name: "repository added first",
		jobs: tinyPost,
		in:   "postsubmits:\n  zorg/z:\n  - name: z\n",
		want: "postsubmits:\n  tensorflow/k8s:\n  - name: tf-k8s-postsubmit\n    branches:\n    - master\n    decorate: false\n    spec:\n      containers:\n      - image: gcr.io/x/builder:v1\n        command:\n        - run\n  zorg/z:\n  - name: z\n",
	}, {
		name: "jobs the spec no longer has are removed",
		jobs: tinyPer,
		in: `presubmits:
  apache/a:
  - name: a
  tensorflow/k8s:
  - name: tf-k8s-presubmit
    always_run: true
  # zorg
  zorg/z:
  - name: z
postsubmits:
  tensorflow/k8s:
  - name: tf-k8s-postsubmit
periodics:
- name: tf-k8s-old
  interval: 1h
- name: other
  interval: 1h
- name: clones-tf-k8s
  interval: 1h
  extra_refs:
  - org: tensorflow
    repo: k8s
    base_ref: master
`,
		want: `presubmits:
  apache/a:
  - name: a
  # zorg
  zorg/z:
  - name: z
postsubmits:
periodics:
- name: other
  interval: 1h
- name: tf-k8s-periodic
  interval: 8h
  decorate: false
  spec:
    containers:
    - image: gcr.io/x/builder:v1
      command:
      - run
`,
	}, {
		name: "empty values filled, comment on the key line kept",
		jobs: tinyPost + tinyPer,
		in:   "postsubmits: {} # none yet\nperiodics: []\nlog_level: info\n",
		want: `postsubmits: # none yet
  tensorflow/k8s:
  - name: tf-k8s-postsubmit
    branches:
    - master
    decorate: false
    spec:
      containers:
      - image: gcr.io/x/builder:v1
        command:
        - run
periodics:
- name: tf-k8s-periodic
  interval: 8h
  decorate: false
  spec:
    containers:
    - image: gcr.io/x/builder:v1
      command:
      - run
log_level: info
`,
	}, {
		name: "null values filled",
		jobs: tinyPer,
		in:   "periodics:\nlog_level: info\n",
		want: "periodics:\n- name: tf-k8s-periodic\n  interval: 8h\n  decorate: false\n  spec:\n    containers:\n    - image: gcr.io/x/builder:v1\n      command:\n      - run\nlog_level: info\n",
	}, {
		name: "missing final newline stays missing",
		jobs: tinyPer,
		in:   "periodics:\n- name: tf-k8s-periodic\n  interval: 1h",
		want: "periodics:\n- name: tf-k8s-periodic\n  interval: 8h\n  decorate: false\n  spec:\n    containers:\n    - image: gcr.io/x/builder:v1\n      command:\n      - run",
	}, {
		name: "CRLF line endings kept",
		jobs: tinyPer,
		in:   "# c\r\nperiodics:\r\n- name: tf-k8s-periodic\r\n  interval: 1h\r\n- name: x\r\n  cron: '0 * * * *'\r\n",
		want: "# c\r\nperiodics:\r\n- name: tf-k8s-periodic\r\n  interval: 8h\r\n  decorate: false\r\n  spec:\r\n    containers:\r\n    - image: gcr.io/x/builder:v1\r\n      command:\r\n      - run\r\n- name: x\r\n  cron: '0 * * * *'\r\n",
	}, {
		name: "non-ASCII text around the edited values",
		jobs: tinyPost,
		in:   "# Überblick: jobs für alle\npostsubmits:\n  \"ünïcode/€\": [a]\n  tensorflow/k8s: [] # später\nx: y\n",
		want: "# Überblick: jobs für alle\npostsubmits:\n  \"ünïcode/€\": [a]\n  tensorflow/k8s: # später\n  - name: tf-k8s-postsubmit\n    branches:\n    - master\n    decorate: false\n    spec:\n      containers:\n      - image: gcr.io/x/builder:v1\n        command:\n        - run\nx: y\n",
	}, {
		name: "alias periodic owned by its anchor's name is replaced",
		jobs: tinyPer,
		in:   "base: &p\n  name: tf-k8s-periodic\n  interval: 1h\nperiodics:\n- *p\n",
		want: "base: &p\n  name: tf-k8s-periodic\n  interval: 1h\nperiodics:\n- name: tf-k8s-periodic\n  interval: 8h\n  decorate: false\n  spec:\n    containers:\n    - image: gcr.io/x/builder:v1\n      command:\n      - run\n",
	}} {
		t.Run(tc.name, func(t *testing.T) {
			s := tinySpec(t, tc.jobs)
			got, err := UpdateInPlace([]byte(tc.in), s)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			again, err := UpdateInPlace(got, s)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(got), string(again)); diff != "" {
				t.Errorf("not idempotent (-first +second):\n%s", diff)
			}
		})
	}
}

func TestUpdateInPlaceErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"anchor used elsewhere", "periodics:\n- &tf\n  name: tf-k8s-periodic\n  interval: 1h\nextra: *tf\n", "5:8: alias *tf refers to an anchor inside the tensorflow/k8s entries that are regenerated; move the anchor out of them first"},
		{"duplicate section", "periodics: []\nperiodics: []\n", "2:1: periodics: duplicate key (first at line 1)"},
		{"duplicate repository", "presubmits:\n  tensorflow/k8s: []\n  'tensorflow/k8s': []\n", "3:3: presubmits.tensorflow/k8s: duplicate key (first at line 2)"},
		{"flow periodics", "periodics: [{name: a, interval: 1h}]\n", "1:12: periodics: expected a block list of jobs; cannot edit it in place"},
		{"periodics not a list", "periodics:\n  a: b\n", "2:3: periodics: expected a block list of jobs; cannot edit it in place"},
		{"not a mapping", "- a\n", "1:1: a Prow config must be a block mapping (key: value lines)"},
		{"UTF-16", "\xfe\xff\x00p\x00:", "1:1: not UTF-8 text; Prow reads job config as UTF-8"},
		{"lone carriage return", "a: 1\r\nb: 2\rc: 3\n", "2:5: carriage return without a newline; use \\n or \\r\\n line endings"},
		{"tab", "periodics:\n\t- name: x\n", "2:1: tab character in indentation; indent YAML with spaces"},
		{"malformed", "presubmits: [\n", "1:13: invalid YAML: did not find expected node content"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := UpdateInPlace([]byte(tc.in), tinySpec(t, tinyPre+tinyPer))
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("want a positioned *Error, got %v", err)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestUpdateInPlaceDetectsOwnStyleWhenAlone(t *testing.T) {
	// With only the spec's entries to go by, their own indentation wins.
	in := "periodics:\n  - name: tf-k8s-periodic\n    interval: 1h\n"
	got, err := UpdateInPlace([]byte(in), tinySpec(t, tinyPer))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(got), "\n  spec:\n      containers:\n        - image:") && !strings.Contains(string(got), "    spec:\n      containers:\n        - image") {
		t.Errorf("indented sequence style not kept:\n%s", got)
	}
}
