package steps

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/prowctl/prowctl/pkg/e2e"
)

// relayImage copies the image build-image made (pushed to the run's
// registry, or written to an OCI layout) into the registry the cluster's
// nodes pull from, tagged as it was, and returns the repository the nodes
// know it by. The digest does not change, so the digest value deploy sets
// still names it. With no cluster registry recorded it returns "".
//
// The run's registry stays where build-image pushes: on a laptop it is on
// loopback, which the personal cluster's node (a network of its own) cannot
// reach, and in a job's pod it is the pod's own loopback.
func relayImage(ctx context.Context, st map[string]string, log func(format string, args ...any)) (string, error) {
	push, pull := st[StateClusterRegistry], st[StateClusterRegistryPull]
	if push == "" || pull == "" || (st[e2e.StateImage] == "" && st[StateImageLayout] == "") {
		return "", nil
	}
	img, repoPath, err := builtImage(ctx, st)
	if err != nil {
		return "", err
	}
	tag := st[e2e.StateImageTag]
	if tag == "" {
		tag = "latest"
	}
	// The cluster's registry speaks plain HTTP, at whatever address.
	dst, err := name.NewTag(push+"/"+repoPath+":"+tag, name.Insecure)
	if err != nil {
		return "", fmt.Errorf("cluster registry %s: %w", push, err)
	}
	if err := remote.Write(dst, img, remote.WithContext(ctx)); err != nil {
		return "", fmt.Errorf("copy the image to the cluster's registry: %w", err)
	}
	repo := pull + "/" + repoPath
	log("copied the image to the cluster's registry: %s:%s (pushed through %s)\n", repo, tag, push)
	return repo, nil
}

// builtImage reads the image build-image recorded, and its repository's
// path within the run's registry.
func builtImage(ctx context.Context, st map[string]string) (v1.Image, string, error) {
	if ref := st[e2e.StateImage]; ref != "" {
		r, err := name.ParseReference(ref, name.Insecure)
		if err != nil {
			return nil, "", fmt.Errorf("image %s: %w", ref, err)
		}
		img, err := remote.Image(r, remote.WithContext(ctx))
		if err != nil {
			return nil, "", fmt.Errorf("image %s: %w", ref, err)
		}
		return img, r.Context().RepositoryStr(), nil
	}
	dir := st[StateImageLayout]
	p, err := layout.FromPath(dir)
	if err != nil {
		return nil, "", fmt.Errorf("image layout %s: %w", dir, err)
	}
	h, err := v1.NewHash(st[StateImageDigest])
	if err != nil {
		return nil, "", fmt.Errorf("image layout %s: digest %q: %w", dir, st[StateImageDigest], err)
	}
	img, err := p.Image(h)
	if err != nil {
		return nil, "", fmt.Errorf("image layout %s: %w", dir, err)
	}
	return img, strings.TrimSuffix(path.Base(dir), "/"), nil
}
