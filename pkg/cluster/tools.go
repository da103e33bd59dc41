package cluster

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// A Tool is one module of hack/tools built by `make tools` into
// <tools dir>/<Name>-<dir version>/. Version must equal the version the
// module's go.mod requires (a unit test checks it).
type Tool struct {
	Name     string
	Module   string // the module whose version names the directory
	Version  string
	Binaries []string
	// Files are other files build.sh copies next to the binaries.
	Files []string
}

// The tools the personal cluster and the project's tests run.
var (
	Etcd = Tool{Name: "etcd", Module: "go.etcd.io/etcd/server/v3", Version: "v3.5.21", Binaries: []string{"etcd"}}

	Kubernetes = Tool{Name: "kubernetes", Module: "k8s.io/kubernetes", Version: "v1.33.13",
		Binaries: []string{"kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"}}

	Kwok = Tool{Name: "kwok", Module: "sigs.k8s.io/kwok", Version: "v0.6.1", Binaries: []string{"kwok"}}

	// Prow is the version go.mod pins for the project itself, so plank, mkpj
	// and checkconfig agree with the Prow packages prowctl links.
	Prow = Tool{Name: "prow", Module: "sigs.k8s.io/prow", Version: "v0.0.0-20240619181241-cfb8754e0459",
		Binaries: []string{"prow-controller-manager", "checkconfig", "mkpj", "clonerefs", "initupload", "entrypoint", "sidecar", "deck"},
		Files:    []string{ProwJobCRDFile}}

	// DeckUI is Deck's front end (bundles, templates, lens files) built
	// from the Prow module, and the files its templates take from public
	// CDNs (hack/tools/deck/build.sh). The version is Prow's and a hash of
	// what decides the build: that script and its two lockfiles.
	DeckUI = Tool{Name: "deck-ui", Version: "20240619181241-cfb8754e0459-8d8f0021", Files: []string{"kodata", "assets"}}

	// Pause is the real node's sandbox program (hack/tools/pause); it has
	// no version of its own, so the start of its source's SHA-256 names it.
	// Debian is a Debian root filesystem with a shell and git, made by
	// mmdebstrap: the base of clonerefs' image and of test job images.
	// The version is the suite and a hash of the package list (build.sh).
	Debian = Tool{Name: "debian", Version: "bookworm-db26bc31", Files: []string{"rootfs.tar"}}

	// EmuShim starts Prow's upload utilities against the GCS emulator
	// (hack/tools/emushim); keyed by its source, as Pause.
	EmuShim = Tool{Name: "emushim", Version: "ff081c29056c", Binaries: []string{"emushim"}}

	Pause = Tool{Name: "pause", Version: "3d65c0b3c23d", Binaries: []string{"pause"}}

	// Argo is Argo Workflows' controller and executor, and its CRDs
	// (`cluster up --with argo`); hack/tools/argo/go.mod says why this
	// version.
	Argo = Tool{Name: "argo", Module: "github.com/argoproj/argo-workflows/v3", Version: "v3.7.18",
		Binaries: []string{"workflow-controller", "argoexec"}, Files: []string{ArgoFullCRDs, ArgoMinimalCRDs}}
)

// ProwJobCRDFile is the ProwJob CustomResourceDefinition of the pinned Prow
// module, copied into Prow's tool directory by `make tools`.
const ProwJobCRDFile = "prowjob_customresourcedefinition.yaml"

// Tools lists every tool `make tools` builds.
func Tools() []Tool {
	return []Tool{Etcd, Kubernetes, Kwok, Prow, Pause, EmuShim, Debian, DeckUI, Argo}
}

// Dir is where the tool's files live under the tools directory root.
func (t Tool) Dir(root string) string {
	// Prow has no releases; its pseudo-version's date and commit name it.
	return filepath.Join(root, t.Name+"-"+strings.TrimPrefix(t.Version, "v0.0.0-"))
}

// Path returns the path of the tool's file name, or an error naming
// `make tools` when it has not been built.
func (t Tool) Path(root, name string) (string, error) {
	p := filepath.Join(t.Dir(root), name)
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", &MissingToolError{Tool: t, Path: p}
		}
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// MissingToolError reports a binary or file that `make tools` has not built.
type MissingToolError struct {
	Tool Tool
	Path string
}

func (e *MissingToolError) Error() string {
	return fmt.Sprintf("%s %s not found at %s: run `make tools` (it builds into $PROWCTL_TOOLS, default ~/.cache/prowctl/tools)",
		filepath.Base(e.Path), e.Tool.Version, e.Path)
}

// ToolPath finds a binary or file by name among all tools, e.g.
// ToolPath(root, "mkpj").
func ToolPath(root, name string) (string, error) {
	for _, t := range Tools() {
		for _, n := range append(append([]string{}, t.Binaries...), t.Files...) {
			if n == name {
				return t.Path(root, name)
			}
		}
	}
	return "", fmt.Errorf("no tool provides %q", name)
}

// DefaultToolsDir is $PROWCTL_TOOLS, or ~/.cache/prowctl/tools as in the
// Makefile.
func DefaultToolsDir() string {
	if d := os.Getenv("PROWCTL_TOOLS"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "prowctl", "tools")
	}
	return filepath.Join(home, ".cache", "prowctl", "tools")
}

// DefaultDir is where `prowctl cluster up` keeps the cluster without --dir:
// $XDG_STATE_HOME/prowctl/cluster, else ~/.local/state/prowctl/cluster.
func DefaultDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "prowctl", "cluster")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "prowctl", "cluster")
	}
	return filepath.Join(home, ".local", "state", "prowctl", "cluster")
}
