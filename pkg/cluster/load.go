package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/prowctl/prowctl/pkg/process"
)

// LoadImage puts an image into the real node's containerd, as `kind load`
// does, so that a job whose image is, say, gcr.io/x/y:tag runs unchanged:
// the node has no network to pull it. src is a tarball (`docker save`'s
// format, or an OCI archive when names is empty), an OCI image layout
// directory, or an image reference pulled from its registry by this
// machine. names are the names the node knows the image by; empty means
// the names src carries (the reference itself, the tarball's tags, the
// layout's ref.name annotation). It returns the names loaded.
//
// A job's image whose tag is :latest (or whose pull policy is Always) is
// pulled anyway and fails: give it another tag, or imagePullPolicy
// IfNotPresent.
func LoadImage(ctx context.Context, s *State, runner process.Runner, src string, names []string) ([]string, error) {
	loaded, err := loadImage(ctx, s, runner, src, names)
	if err != nil {
		return nil, err
	}
	// containerd keeps an image record's labels when an import replaces
	// its content: the ID LoadBuilt noted no longer holds.
	e := s.Env()
	e.Runner = runner
	for _, n := range loaded {
		if err := e.Runner.Run(ctx, ctrCmd(e, "images", "label", n, builtLabel+"=")); err != nil {
			return nil, fmt.Errorf("ctr images label %s: %w", n, err)
		}
	}
	return loaded, nil
}

func loadImage(ctx context.Context, s *State, runner process.Runner, src string, names []string) ([]string, error) {
	if s.Node != NodeReal {
		return nil, fmt.Errorf("the cluster in %s has a %s node, which runs no images: use a real node (prowctl cluster up --node real)", s.Dir, s.nodeKind())
	}
	var refs []name.Reference
	for _, n := range names {
		r, err := name.ParseReference(n)
		if err != nil {
			return nil, fmt.Errorf("--name %s: %w", n, err)
		}
		refs = append(refs, r)
	}
	e := s.Env()
	e.Runner = runner

	st, statErr := os.Stat(src)
	switch {
	case statErr == nil && st.Mode().IsRegular() && len(refs) == 0:
		// As it is: containerd reads both archive formats.
		f, err := os.Open(src)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		loaded, err := ctrImport(ctx, e, f)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", src, err)
		}
		return loaded, nil
	case statErr == nil && st.Mode().IsRegular():
		img, err := tarball.ImageFromPath(src, nil)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w (with --name, a tarball must be in `docker save`'s format; for an OCI archive, load without --name or unpack it to a layout directory)", src, err)
		}
		return importRefs(ctx, e, img, refs)
	case statErr == nil && st.IsDir():
		img, annotated, err := layoutImage(src)
		if err != nil {
			return nil, err
		}
		if len(refs) == 0 {
			if annotated == "" {
				return nil, fmt.Errorf("load %s: the layout names no image (org.opencontainers.image.ref.name): give it a name with --name", src)
			}
			r, err := name.ParseReference(annotated)
			if err != nil {
				return nil, fmt.Errorf("load %s: its ref.name %q: %w", src, annotated, err)
			}
			refs = append(refs, r)
		}
		return importRefs(ctx, e, img, refs)
	case statErr != nil && !errors.Is(statErr, os.ErrNotExist):
		return nil, statErr
	}
	ref, err := name.ParseReference(src)
	if err != nil {
		return nil, fmt.Errorf("%s is neither a file, a directory nor an image reference: %w", src, err)
	}
	img, err := remote.Image(ref, remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", src, err)
	}
	if len(refs) == 0 {
		refs = []name.Reference{ref}
	}
	return importRefs(ctx, e, img, refs)
}

// layoutImage is the linux/amd64 image of an OCI layout (or its only one),
// and the name its index gives it.
func layoutImage(dir string) (v1.Image, string, error) {
	if _, err := os.Stat(filepath.Join(dir, "oci-layout")); err != nil {
		return nil, "", fmt.Errorf("load %s: not an OCI image layout (no oci-layout file)", dir)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, "", fmt.Errorf("load %s: %w", dir, err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, "", fmt.Errorf("load %s: %w", dir, err)
	}
	for _, d := range m.Manifests {
		if d.Platform != nil && (d.Platform.OS != "linux" || d.Platform.Architecture != "amd64") && len(m.Manifests) > 1 {
			continue
		}
		if !d.MediaType.IsImage() {
			continue
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, "", fmt.Errorf("load %s: %w", dir, err)
		}
		return img, d.Annotations["org.opencontainers.image.ref.name"], nil
	}
	return nil, "", fmt.Errorf("load %s: no linux/amd64 image in the layout", dir)
}

func importRefs(ctx context.Context, e *Env, img v1.Image, refs []name.Reference) ([]string, error) {
	tags := map[name.Reference]v1.Image{}
	for _, r := range refs {
		tags[r] = img
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarball.MultiRefWrite(tags, pw)) }()
	defer pr.Close()
	return ctrImport(ctx, e, pr)
}

// ctrImport imports an image archive into the node's containerd and returns
// the names it now knows.
func ctrImport(ctx context.Context, e *Env, r io.Reader) ([]string, error) {
	var out bytes.Buffer
	cmd := ctrCmd(e, "images", "import", "--platform", "linux/amd64", "-")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, &out, &out
	if err := e.Runner.Run(ctx, cmd); err != nil {
		return nil, fmt.Errorf("ctr images import: %w: %s", err, strings.TrimSpace(out.String()))
	}
	// "unpacking NAME (sha256:...)...done" per image.
	var loaded []string
	for _, l := range strings.Split(out.String(), "\n") {
		if rest, ok := strings.CutPrefix(l, "unpacking "); ok {
			if n, _, ok := strings.Cut(rest, " "); ok {
				loaded = append(loaded, n)
			}
		}
	}
	return loaded, nil
}

// builtLabel is the containerd label LoadBuilt puts on the images it
// imports: the image ID, so the next load of the same image is skipped.
const builtLabel = "prowctl.dev/image-id"

// LoadBuilt imports an image archive prowctl built (pkg/jobimage) whose
// image ID is id, under the names it carries, unless the node has every one
// of names at that ID already: a job image of hundreds of megabytes is
// imported once. It reports whether it imported.
func LoadBuilt(ctx context.Context, s *State, runner process.Runner, archive, id string, names []string) (bool, error) {
	if s.Node != NodeReal {
		return false, fmt.Errorf("the cluster in %s has a %s node, which runs no images: use a real node (prowctl cluster up --node real)", s.Dir, s.nodeKind())
	}
	e := s.Env()
	e.Runner = runner
	var out bytes.Buffer
	ls := ctrCmd(e, "images", "ls")
	ls.Stdout = &out
	if err := e.Runner.Run(ctx, ls); err != nil {
		return false, fmt.Errorf("ctr images ls: %w", err)
	}
	labelled := map[string]bool{}
	for _, l := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(l); len(f) > 0 && strings.Contains(l, builtLabel+"="+id) {
			labelled[f[0]] = true
		}
	}
	missing := false
	for _, n := range names {
		if !labelled[n] && !labelled["docker.io/"+n] && !labelled["docker.io/library/"+n] {
			missing = true
		}
	}
	if !missing {
		return false, nil
	}
	f, err := os.Open(archive)
	if err != nil {
		return false, err
	}
	defer f.Close()
	loaded, err := ctrImport(ctx, e, f)
	if err != nil {
		return false, fmt.Errorf("load %s: %w", archive, err)
	}
	for _, n := range loaded {
		if err := e.Runner.Run(ctx, ctrCmd(e, "images", "label", n, builtLabel+"="+id)); err != nil {
			return false, fmt.Errorf("ctr images label %s: %w", n, err)
		}
	}
	return true, nil
}
