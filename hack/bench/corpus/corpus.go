// Package corpus generates a Prow job config shaped like Kubernetes' own
// (presubmits, postsubmits, periodics and presets across many orgs and repos)
// for benchmarks of `prowctl jobs lint` and Prow's checkconfig. The output is
// deterministic for a given size and seed.
package corpus

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
)

var orgs = []string{"kubernetes", "kubernetes-sigs", "kubernetes-csi", "kubernetes-client", "containerd", "cri-o", "etcd-io", "tensorflow"}

var words = []string{"api", "node", "cloud", "storage", "network", "scheduler", "kubelet", "proxy", "dns", "ingress",
	"metrics", "autoscaler", "driver", "operator", "controller", "provider", "runtime", "image", "registry", "tools"}

var images = []string{
	"gcr.io/k8s-staging-test-infra/kubekins-e2e:v20240611-597c402033-master",
	"gcr.io/k8s-staging-test-infra/krte:v20240611-597c402033-master",
	"golang:1.22.4",
	"public.ecr.aws/docker/library/python:3.12.4",
	"gcr.io/k8s-staging-test-infra/gcloud-in-go:v20240611-597c402033",
}

// Generate writes nfiles job config files under dir/jobs and dir/config.yaml,
// and returns how many lines it wrote.
func Generate(dir string, nfiles int, seed int64) (int, error) {
	r := rand.New(rand.NewSource(seed))
	if err := os.MkdirAll(filepath.Join(dir, "jobs"), 0o755); err != nil {
		return 0, err
	}
	total := 0
	prow := prowConfig()
	total += strings.Count(prow, "\n")
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(prow), 0o644); err != nil {
		return 0, err
	}
	for i := 0; i < nfiles; i++ {
		org := orgs[i%len(orgs)]
		repo := fmt.Sprintf("%s-%s-%d", words[r.Intn(len(words))], words[r.Intn(len(words))], i)
		var b strings.Builder
		writeFile(&b, r, org, repo, i)
		path := filepath.Join(dir, "jobs", org, repo, fmt.Sprintf("%s-%s.yaml", org, repo))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return 0, err
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			return 0, err
		}
		total += strings.Count(b.String(), "\n")
	}
	return total, nil
}

func prowConfig() string {
	var b strings.Builder
	b.WriteString(`prowjob_namespace: prow
pod_namespace: test-pods
log_level: info
plank:
  job_url_prefix_config:
    '*': https://prow.example/view/
  default_decoration_config_entries:
  - config:
      timeout: 2h
      grace_period: 15m
      utility_images:
        clonerefs: us-docker.pkg.dev/k8s-infra-prow/images/clonerefs:v20240619-cfb8754e0
        initupload: us-docker.pkg.dev/k8s-infra-prow/images/initupload:v20240619-cfb8754e0
        entrypoint: us-docker.pkg.dev/k8s-infra-prow/images/entrypoint:v20240619-cfb8754e0
        sidecar: us-docker.pkg.dev/k8s-infra-prow/images/sidecar:v20240619-cfb8754e0
      gcs_configuration:
        bucket: bench-prow-artifacts
        path_strategy: explicit
      gcs_credentials_secret: gcs-credentials
tide:
  queries:
`)
	for _, org := range orgs {
		fmt.Fprintf(&b, "  - orgs:\n    - %s\n    labels:\n    - lgtm\n    - approved\n    missingLabels:\n    - do-not-merge/hold\n    - needs-rebase\n", org)
	}
	b.WriteString("presets:\n")
	for i, w := range words {
		fmt.Fprintf(&b, `- labels:
    preset-%s-credentials: "true"
  env:
  - name: %s_CREDENTIALS
    value: /etc/%s/key.json
  volumes:
  - name: %s-creds-%d
    secret:
      secretName: %s-creds
  volumeMounts:
  - name: %s-creds-%d
    mountPath: /etc/%s
    readOnly: true
`, w, strings.ToUpper(w), w, w, i, w, w, i, w)
	}
	return b.String()
}

func writeFile(b *strings.Builder, r *rand.Rand, org, repo string, idx int) {
	full := org + "/" + repo
	fmt.Fprintf(b, "# Jobs for %s.\n", full)
	if idx%25 == 0 {
		// A few files carry their own presets, as real config repos do.
		fmt.Fprintf(b, "presets:\n- labels:\n    preset-%s-%d: \"true\"\n  env:\n  - name: REPO_%d\n    value: %q\n", repo, idx, idx, repo)
	}
	npre := 2 + r.Intn(3)
	fmt.Fprintf(b, "presubmits:\n  %s:\n", full)
	for j := 0; j < npre; j++ {
		name := fmt.Sprintf("pull-%s-%s-%d", repo, words[r.Intn(len(words))], j)
		if len(name) > 60 {
			name = fmt.Sprintf("pull-%d-%s-%d", idx, words[r.Intn(len(words))], j)
		}
		fmt.Fprintf(b, "  - name: %s\n    cluster: default\n    decorate: true\n", name)
		if r.Intn(3) == 0 {
			fmt.Fprintf(b, "    always_run: true\n")
		} else {
			fmt.Fprintf(b, "    run_if_changed: '^(pkg/%s|cmd/%s|test/e2e)/.*\\.go$'\n", words[r.Intn(len(words))], words[r.Intn(len(words))])
		}
		fmt.Fprintf(b, "    optional: %v\n    path_alias: k8s.io/%s\n    branches:\n    - ^main$\n    - ^release-1\\.\\d+$\n", r.Intn(4) == 0, repo)
		fmt.Fprintf(b, "    decoration_config:\n      timeout: %dm\n", 30+r.Intn(150))
		writeJobBody(b, r, "pull", name, "    ")
	}
	fmt.Fprintf(b, "postsubmits:\n  %s:\n", full)
	for j := 0; j < 1+r.Intn(3); j++ {
		name := fmt.Sprintf("post-%s-%s-%d", repo, words[r.Intn(len(words))], j)
		if len(name) > 60 {
			name = fmt.Sprintf("post-%d-%s-%d", idx, words[r.Intn(len(words))], j)
		}
		fmt.Fprintf(b, "  - name: %s\n    cluster: default\n    decorate: true\n    branches:\n    - ^main$\n", name)
		writeJobBody(b, r, "post", name, "    ")
	}
	fmt.Fprintf(b, "periodics:\n")
	for j := 0; j < 1+r.Intn(3); j++ {
		name := fmt.Sprintf("ci-%s-%s-%d", repo, words[r.Intn(len(words))], j)
		if len(name) > 60 {
			name = fmt.Sprintf("ci-%d-%s-%d", idx, words[r.Intn(len(words))], j)
		}
		fmt.Fprintf(b, "- name: %s\n  cluster: default\n  decorate: true\n", name)
		if r.Intn(2) == 0 {
			fmt.Fprintf(b, "  interval: %dh\n", 2+r.Intn(23)) // never shorter than the 2h default timeout
		} else {
			fmt.Fprintf(b, "  cron: \"%d %d * * *\"\n", r.Intn(60), r.Intn(24))
		}
		fmt.Fprintf(b, "  extra_refs:\n  - org: %s\n    repo: %s\n    base_ref: main\n    path_alias: k8s.io/%s\n", org, repo, repo)
		writeJobBody(b, r, "ci", name, "  ")
	}
}

// writeJobBody writes the labels, annotations and pod spec shared by every job kind.
func writeJobBody(b *strings.Builder, r *rand.Rand, kind, name, ind string) {
	w := words[r.Intn(len(words))]
	fmt.Fprintf(b, "%slabels:\n%s  preset-%s-credentials: \"true\"\n", ind, ind, w)
	fmt.Fprintf(b, "%sannotations:\n%s  testgrid-dashboards: sig-%s-%s\n%s  testgrid-tab-name: %s\n%s  testgrid-alert-email: sig-%s-alerts@example.com\n%s  description: Runs the %s %s tests.\n",
		ind, ind, w, kind, ind, name, ind, w, ind, w, kind)
	fmt.Fprintf(b, "%sspec:\n%s  containers:\n%s  - image: %s\n", ind, ind, ind, images[r.Intn(len(images))])
	fmt.Fprintf(b, "%s    command:\n%s    - runner.sh\n%s    args:\n", ind, ind, ind)
	for k := 0; k < 2+r.Intn(3); k++ {
		fmt.Fprintf(b, "%s    - --%s-%s=%d\n", ind, words[r.Intn(len(words))], words[r.Intn(len(words))], r.Intn(1000))
	}
	fmt.Fprintf(b, "%s    - make test-%s\n", ind, w)
	fmt.Fprintf(b, "%s    env:\n", ind)
	for k := 0; k < 1+r.Intn(3); k++ {
		fmt.Fprintf(b, "%s    - name: %s_%d\n%s      value: \"%d\"\n", ind, strings.ToUpper(words[r.Intn(len(words))]), k, ind, r.Intn(100))
	}
	fmt.Fprintf(b, "%s    securityContext:\n%s      privileged: false\n", ind, ind)
	fmt.Fprintf(b, "%s    resources:\n%s      requests:\n%s        cpu: %d\n%s        memory: %dGi\n%s      limits:\n%s        cpu: %d\n%s        memory: %dGi\n",
		ind, ind, ind, 1+r.Intn(4), ind, 2+r.Intn(8), ind, ind, 4, ind, 12)
	if r.Intn(3) == 0 {
		fmt.Fprintf(b, "%s    volumeMounts:\n%s    - name: cache\n%s      mountPath: /cache\n%s  volumes:\n%s  - name: cache\n%s    emptyDir: {}\n", ind, ind, ind, ind, ind, ind)
	}
}
