// Package provider gets the e2e pipeline a Kubernetes cluster and gives it
// back: the one kubectl is configured to use, the local personal cluster, a
// GKE cluster or a kind cluster. A cluster a run creates is marked as the
// run's (Cluster.Created, GKE labels) and is the only kind it deletes.
package provider

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"regexp"
	"strings"
)

// Provider creates (or finds) a cluster and deletes what it created.
type Provider interface {
	// Up returns the cluster for req. When it fails after it began creating
	// a cluster, the Cluster it returns has Created set so teardown can
	// delete what is left.
	Up(ctx context.Context, req Request) (Cluster, error)
	// Down deletes c if this run created it; deleting a cluster that is
	// already gone is not an error.
	Down(ctx context.Context, env Env, c Cluster) error
}

// Env is where a provider works.
type Env struct {
	// Dir is a private directory for the kubeconfig and other files the
	// provider writes; never the artifacts directory, which gets uploaded.
	Dir string
	// Environ is the environment of the programs run (gcloud, kind); nil
	// means the process's own.
	Environ []string
	// Log receives the programs' output.
	Log io.Writer
}

// Request says which cluster a run wants.
type Request struct {
	Env
	// Name of the cluster to create (see Name).
	Name string
	// Job and Build identify the run, for labels.
	Job, Build string
}

// Cluster is a cluster a run uses, as recorded in the run's state.
type Cluster struct {
	Provider string
	Name     string
	// Kubeconfig is the path of a kubeconfig for the cluster and Context
	// the context in it to use ("" for its current context).
	Kubeconfig string
	Context    string
	// Created is true when this run created the cluster.
	Created bool
	// Registry is the registry the cluster's nodes pull the images the run
	// deploys from, when they cannot pull from the run's own (the personal
	// cluster's node lives in a network of its own); zero otherwise.
	Registry Registry
	// Extra holds what the provider needs to find the cluster again
	// (project, zone, directory).
	Extra map[string]string
}

// Registry is an image registry a cluster pulls from, by two names: Push is
// where this process reaches it (host:port), Pull the name the nodes know
// it by, which the images the cluster runs must carry.
type Registry struct {
	Push, Pull string
}

// MaxNameLen is the longest cluster name made: GKE allows 40 characters.
const MaxNameLen = 40

var notNameChars = regexp.MustCompile(`[^a-z0-9-]+`)

// Name returns the name of the cluster of a build of job: "e2e-JOB-BUILD",
// lowercased, with other characters made dashes, so a leaked cluster can be
// traced to its run. When that is longer than max, the job part is cut and a
// hash of job and build keeps names of different runs apart.
func Name(job, build string, max int) string {
	clean := func(s string) string {
		return strings.Trim(notNameChars.ReplaceAllString(strings.ToLower(s), "-"), "-")
	}
	full := clean("e2e-" + job + "-" + build)
	if len(full) <= max {
		return full
	}
	sum := sha256.Sum256([]byte(job + "\x00" + build))
	suffix := "-" + hex.EncodeToString(sum[:])[:8]
	return strings.TrimRight(full[:max-len(suffix)], "-") + suffix
}

var notLabelChars = regexp.MustCompile(`[^a-z0-9_-]+`)

// labelValue makes s a GKE label value: lowercase letters, digits, '_' and
// '-', at most 63 characters.
func labelValue(s string) string {
	v := notLabelChars.ReplaceAllString(strings.ToLower(s), "-")
	if len(v) > 63 {
		v = v[:63]
	}
	return v
}

// logWriter returns w, or io.Discard for nil.
func logWriter(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

func errorf(provider, format string, args ...any) error {
	return fmt.Errorf(provider+": "+format, args...)
}
