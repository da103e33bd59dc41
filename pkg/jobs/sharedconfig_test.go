package jobs

import (
	"fmt"
	"math/rand"
	"strings"
)

// sharedConfig builds a monolithic Prow config.yaml like the one Prow's
// config repo held when every repository's jobs lived in one file: many
// repositories, comments, anchors and aliases, merge keys, odd quoting, block
// scalars, blank lines. The spec's entries (stale versions of them) are
// chunks whose expected replacement is known, so a test can assert every
// other byte is unchanged.
type sharedConfig struct {
	chunks []chunk
}

// chunk is a piece of the file; owned chunks are what UpdateInPlace replaces
// (with the text of want).
type chunk struct {
	text  string
	owned bool
	want  string
}

func (c *sharedConfig) add(text string) { c.chunks = append(c.chunks, chunk{text: text}) }

func (c *sharedConfig) own(text, want string) {
	c.chunks = append(c.chunks, chunk{text: text, owned: true, want: want})
}

// input is the file as generated; expected is it after UpdateInPlace.
func (c *sharedConfig) input() string {
	var b strings.Builder
	for _, ch := range c.chunks {
		b.WriteString(ch.text)
	}
	return b.String()
}

func (c *sharedConfig) expected() string {
	var b strings.Builder
	for _, ch := range c.chunks {
		if ch.owned {
			b.WriteString(ch.want)
		} else {
			b.WriteString(ch.text)
		}
	}
	return b.String()
}

type sharedConfigOptions struct {
	repos     int // repositories besides the spec's
	periodics int
	seqIndent int // 0 or 2: the file's sequence style
	// ownedMissing leaves the spec's entries out, so they must be added.
	ownedMissing bool
}

// genSharedConfig writes the file. The spec's repo sits in alphabetical
// position among the others.
func genSharedConfig(r *rand.Rand, s *Spec, o sharedConfigOptions) *sharedConfig {
	c := &sharedConfig{}
	st := Style{Indent: 2, SeqIndent: o.seqIndent}
	seq := strings.Repeat(" ", o.seqIndent)
	render := func(jobType string, dashCol int) string {
		var b strings.Builder
		st.renderSeq(&b, s.entries(jobType), dashCol)
		return b.String()
	}

	c.add(`# Prow config shared by every repository Prow serves.
# Keep repositories in alphabetical order.
prowjob_namespace: prow
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
        clonerefs: gcr.io/k8s-prow/clonerefs:v20240619-cfb8754e0
        initupload: gcr.io/k8s-prow/initupload:v20240619-cfb8754e0
        entrypoint: gcr.io/k8s-prow/entrypoint:v20240619-cfb8754e0
        sidecar: gcr.io/k8s-prow/sidecar:v20240619-cfb8754e0
      gcs_configuration:
        bucket: prow-artifacts
        path_strategy: explicit
      gcs_credentials_secret: gcs-credentials

presets:
- labels:
    preset-service-account: "true"
  env:
  - name: GOOGLE_APPLICATION_CREDENTIALS
    value: /etc/service-account/service-account.json
  volumes:
  - name: service
    secret:
      secretName: service-account
  volumeMounts:
  - name: service
    mountPath: /etc/service-account
    readOnly: true

`)
	repos := make([]string, 0, o.repos)
	for i := 0; i < o.repos; i++ {
		repos = append(repos, fmt.Sprintf("%s/%s-%03d", []string{"kubernetes", "kubeflow", "google", "zorg", "apache"}[i%5], []string{"test-infra", "tf-operator", "charts", "api"}[i%4], i))
	}
	repos = append(repos, s.Repo)
	sortStrings(repos)

	for _, section := range []string{TypePresubmit, TypePostsubmit} {
		c.add(section + "s:\n")
		for ri, repo := range repos {
			if repo == s.Repo {
				if o.ownedMissing {
					continue
				}
				c.add("  " + repo + ":\n")
				want := render(section, 2+o.seqIndent)
				c.own(fmt.Sprintf(`%[1]s  # Run for every PR, or only when requested.
%[1]s  - name: tf-k8s-%[2]s
%[1]s    agent: kubernetes
%[1]s    always_run: true         # Run for every PR, or only when requested.
%[1]s    rerun_command: "/test tf-k8s-%[2]s"
%[1]s    trigger: "(?m)^/test( all| tf-k8s-%[2]s),?(\\s+|$)"
%[1]s    branches:
%[1]s    %[1]s- master
%[1]s    labels:
%[1]s      preset-service-account: "true"
%[1]s    spec:
%[1]s      containers:
%[1]s      # TODO(jlewi): Replace latest with a specific tag once the images stabilize.
%[1]s      %[1]s- image: gcr.io/mlkube-testing/builder:latest
%[1]s      %[1]s  imagePullPolicy: Always
%[1]s      %[1]s  args: |
%[1]s      %[1]s    # looks like a comment, is part of the script
`, seq, section), want)
				c.add("  # the next repository's comment stays\n\n")
				continue
			}
			if r.Intn(4) == 0 {
				c.add(fmt.Sprintf("  # %s: owned by team %d\n", repo, r.Intn(50)))
			}
			key := repo
			switch r.Intn(6) {
			case 0:
				key = `"` + repo + `"`
			case 1:
				key = "'" + repo + "'"
			}
			var b strings.Builder
			fmt.Fprintf(&b, "  %s:\n", key)
			for j := 0; j < 1+r.Intn(4); j++ {
				name := fmt.Sprintf("%s-%s-%d", strings.ReplaceAll(repo, "/", "-"), section, j)
				writeJob(&b, r, name, section, 2+o.seqIndent, seq, ri == 0 && j == 0)
			}
			if r.Intn(3) == 0 {
				b.WriteString("\n")
			}
			c.add(b.String())
		}
		if o.ownedMissing {
			// The spec's repository is absent: it is added in alphabetical
			// position, right after the last repository sorting before it.
			insertRepo(c, s.Repo, "  "+s.Repo+":\n"+render(section, 2+o.seqIndent))
		}
		c.add("\n")
	}

	c.add("periodics:\n")
	dash := o.seqIndent
	pad := strings.Repeat(" ", dash)
	placed := false
	for i := 0; i < o.periodics; i++ {
		var b strings.Builder
		if r.Intn(5) == 0 {
			fmt.Fprintf(&b, "%s# periodic %d\n", pad, i)
		}
		writeJob(&b, r, fmt.Sprintf("ci-periodic-%04d", i), TypePeriodic, dash, seq, false)
		c.add(b.String())
		if !o.ownedMissing && !placed && i >= o.periodics/2 {
			placed = true
			// A stale copy of the spec's periodic, replaced where it is.
			c.own(fmt.Sprintf(`%[1]s- interval: 2h
%[1]s  agent: kubernetes
%[1]s  name: tf-k8s-periodic
%[1]s  labels:
%[1]s    preset-service-account: "true"
%[1]s  # an indented comment belongs to the entry
%[1]s  spec:
%[1]s    containers:
%[1]s    %[2]s- image: gcr.io/mlkube-testing/builder:latest
`, pad, seq), render(TypePeriodic, dash))
			c.add(pad + "# after the tf-k8s periodic\n\n")
			// Owned but no longer in the spec: by prefix, and by cloning the repository.
			c.own(fmt.Sprintf("%[1]s- name: tf-k8s-retired-nightly\n%[1]s  cron: \"0 3 * * *\"\n%[1]s  spec:\n%[1]s    containers:\n%[1]s    %[2]s- image: gcr.io/x/y:v1\n", pad, seq), "")
			c.own(fmt.Sprintf("%[1]s- name: kubeflow-clones-tf-k8s\n%[1]s  interval: 24h\n%[1]s  extra_refs:\n%[1]s  %[2]s- org: tensorflow\n%[1]s  %[2]s  repo: k8s\n%[1]s  %[2]s  base_ref: master\n%[1]s  spec:\n%[1]s    containers:\n%[1]s    %[2]s- image: gcr.io/x/y:v1\n", pad, seq), "")
		}
	}
	if o.ownedMissing {
		// Added after the last periodic, before the trailing comment.
		c.own("", render(TypePeriodic, dash))
	}
	c.add("# end of config\n")
	return c
}

// insertRepo puts an owned chunk for repo after the last chunk of the current
// section that holds a repository sorting before it.
func insertRepo(c *sharedConfig, repo, want string) {
	at := len(c.chunks)
	for i := len(c.chunks) - 1; i >= 0; i-- {
		text := strings.TrimLeft(c.chunks[i].text, " ")
		if strings.HasSuffix(text, "s:\n") && !strings.HasPrefix(text, "#") {
			at = i + 1 // the section key: insert first
			break
		}
		key := strings.Trim(strings.SplitN(text, ":", 2)[0], `"'`)
		if strings.HasPrefix(text, "#") || key >= repo {
			at = i
			continue
		}
		at = i + 1
		break
	}
	// Trailing blank lines of the previous repository stay after the insert.
	if at > 0 {
		prev := &c.chunks[at-1]
		if trimmed := strings.TrimRight(prev.text, "\n"); !prev.owned && strings.HasSuffix(prev.text, "\n\n") && !strings.HasSuffix(trimmed, "s:") {
			tail := prev.text[len(trimmed)+1:]
			prev.text = trimmed + "\n"
			c.chunks = append(c.chunks[:at], append([]chunk{{owned: true, want: want}, {text: tail}}, c.chunks[at:]...)...)
			return
		}
	}
	c.chunks = append(c.chunks[:at], append([]chunk{{owned: true, want: want}}, c.chunks[at:]...)...)
}

// writeJob writes one hand-written-looking job with its dash at column dash.
func writeJob(b *strings.Builder, r *rand.Rand, name, jobType string, dash int, seq string, anchor bool) {
	p := strings.Repeat(" ", dash)
	fmt.Fprintf(b, "%s- name: %s\n", p, name)
	switch jobType {
	case TypePresubmit:
		switch r.Intn(3) {
		case 0:
			fmt.Fprintf(b, "%s  always_run: true\n", p)
		case 1:
			fmt.Fprintf(b, "%s  run_if_changed: '^(cmd|pkg)/.*\\.go$'\n", p)
		default:
			fmt.Fprintf(b, "%s  always_run: false # on request\n", p)
		}
		fmt.Fprintf(b, "%s  branches:\n%s  %s- master\n", p, p, seq)
	case TypePostsubmit:
		fmt.Fprintf(b, "%s  branches:\n%s  %s- \"^release-.*$\"\n", p, p, seq)
	case TypePeriodic:
		if r.Intn(2) == 0 {
			fmt.Fprintf(b, "%s  interval: %dh\n", p, 1+r.Intn(24))
		} else {
			fmt.Fprintf(b, "%s  cron: \"%d 5 * * *\"\n", p, r.Intn(60))
		}
	}
	if r.Intn(3) == 0 {
		fmt.Fprintf(b, "%s  annotations:\n%s    testgrid-dashboards: sig-testing-misc\n%s    description: \"Runs \\\"make test\\\" on %s\"\n", p, p, p, name)
	}
	fmt.Fprintf(b, "%s  labels:\n%s    preset-service-account: \"true\"\n", p, p)
	fmt.Fprintf(b, "%s  decorate: true\n", p)
	if anchor {
		fmt.Fprintf(b, "%s  spec: &default_spec\n", p)
	} else if r.Intn(4) == 0 {
		fmt.Fprintf(b, "%s  spec: *default_spec\n", p)
		return
	} else {
		fmt.Fprintf(b, "%s  spec:\n", p)
	}
	fmt.Fprintf(b, "%s    containers:\n", p)
	fmt.Fprintf(b, "%s    %s- image: 'gcr.io/k8s-testimages/kubekins-e2e:v20240611-597c402033-master'\n", p, seq)
	fmt.Fprintf(b, "%s    %s  command:\n%s    %s  - runner.sh\n", p, seq, p, seq)
	if r.Intn(3) == 0 {
		fmt.Fprintf(b, "%s    %s  args:\n%s    %s  - |\n%s    %s    # build, then test\n%s    %s    make test WHAT=%s\n", p, seq, p, seq, p, seq, p, seq, name)
	}
	fmt.Fprintf(b, "%s    %s  resources:\n%s    %s    requests: {cpu: \"1\", memory: 1Gi}\n", p, seq, p, seq)
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
