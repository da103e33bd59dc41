// Package jobimage builds, without Docker, the image the tf-k8s Prow jobs
// run: Debian's root filesystem with git and ca-certificates (made by
// mmdebstrap in `make tools`), a Go toolchain for the pipeline's build step
// (the module proxy's golang.org/toolchain module) and prowctl itself. The
// result is a docker-archive in the cache, named by the image's identity, so
// that building again what did not change writes nothing.
package jobimage

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/prowctl/prowctl/pkg/atomicfile"
	"github.com/prowctl/prowctl/pkg/imagearchive"
	"github.com/prowctl/prowctl/pkg/process"
)

// GoRoot is where the toolchain is in the image.
const GoRoot = "/usr/local/go"

// Options of Build.
type Options struct {
	// Names the image is tagged with: what the jobs' `image:` says.
	Names []string
	// Rootfs is Debian's root filesystem tarball (`make tools`).
	Rootfs string
	// GoVersion is the toolchain's, e.g. go1.26.8; the one prowctl was
	// built with when empty.
	GoVersion string
	// Prowctl is the prowctl binary the image holds: it must be static
	// (CGO_ENABLED=0, as `make build` builds it).
	Prowctl string
	// CacheDir holds the toolchain's layer and the built archives.
	CacheDir string
	// Runner runs `go mod download` for the toolchain, with Env (nil: the
	// process's own environment: GOPROXY, GOMODCACHE).
	Runner process.Runner
	Env    []string
	// Log receives what is being done; nil for nothing.
	Log io.Writer
}

// Result is a built image.
type Result struct {
	// Archive is the docker-archive (`ctr import`, `prowctl cluster load`).
	Archive string
	// ID is the digest of the image's configuration: the image ID the
	// kubelet reports.
	ID string
	// Cached is true when the archive was there already.
	Cached bool
}

var goVersion = regexp.MustCompile(`^go1\.[0-9]+(\.[0-9]+)?$`)

// Build builds the image, or finds it built.
func Build(ctx context.Context, o Options) (Result, error) {
	if len(o.Names) == 0 {
		return Result{}, errors.New("jobimage: no name for the image")
	}
	if o.GoVersion == "" {
		o.GoVersion = runtime.Version()
	}
	if !goVersion.MatchString(o.GoVersion) {
		return Result{}, fmt.Errorf("jobimage: Go version %q: want a release like go1.26.8", o.GoVersion)
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	if err := os.MkdirAll(o.CacheDir, 0o755); err != nil {
		return Result{}, err
	}
	// The local inputs first: a mistake there costs no download.
	removeStale(o.CacheDir)
	baseID, err := imagearchive.FileDigest(ctx, o.Rootfs)
	if err != nil {
		return Result{}, fmt.Errorf("jobimage: Debian root filesystem: %w (run `make tools`)", err)
	}
	bin, err := prowctlLayer(o.Prowctl)
	if err != nil {
		return Result{}, err
	}
	toolchain, toolchainID, err := toolchainLayer(ctx, o)
	if err != nil {
		return Result{}, err
	}
	sum := sha256.Sum256(bin)
	im := imagearchive.Image{
		Refs: o.Names,
		Layers: []imagearchive.Layer{
			{Path: o.Rootfs, DiffID: baseID},
			{Path: toolchain, DiffID: toolchainID},
			{Bytes: bin},
		},
		Env: []string{
			"PATH=" + GoRoot + "/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
			// The toolchain in the image, never a download: a job's pod
			// has no route off the machine.
			"GOTOOLCHAIN=local",
			// No C compiler in the image.
			"CGO_ENABLED=0",
			"HOME=/root",
		},
		Cmd: []string{"/bin/bash"},
	}
	cfg, err := imagearchive.Config(im, []string{baseID, toolchainID, "sha256:" + hex.EncodeToString(sum[:])})
	if err != nil {
		return Result{}, err
	}
	idSum := sha256.Sum256(cfg)
	id := "sha256:" + hex.EncodeToString(idSum[:])
	prefix := archivePrefix(o.Names[0])
	archive := filepath.Join(o.CacheDir, prefix+hex.EncodeToString(idSum[:])[:16]+".tar")
	if _, err := os.Stat(archive); err == nil {
		fmt.Fprintf(o.Log, "image %s: %s (cached)\n", o.Names[0], id)
		return Result{Archive: archive, ID: id, Cached: true}, nil
	}
	fmt.Fprintf(o.Log, "image %s: writing %s\n", o.Names[0], archive)
	err = atomicfile.WriteFunc(archive, 0o644, func(w io.Writer) error { return imagearchive.Write(ctx, w, []imagearchive.Image{im}) })
	if err != nil {
		return Result{}, fmt.Errorf("jobimage: %w", err)
	}
	// Earlier builds of the same image are hundreds of megabytes each.
	earlier := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + `[0-9a-f]{16}\.tar$`)
	entries, _ := os.ReadDir(o.CacheDir)
	for _, e := range entries {
		if p := filepath.Join(o.CacheDir, e.Name()); earlier.MatchString(e.Name()) && p != archive {
			os.Remove(p)
		}
	}
	return Result{Archive: archive, ID: id}, nil
}

// removeStale removes what an interrupted build left in the cache: the
// temporary files of atomic writes, hours old (a build running beside
// this one may be writing a recent one).
func removeStale(dir string) {
	tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	for _, p := range tmps {
		if st, err := os.Stat(p); err == nil && time.Since(st.ModTime()) > time.Hour {
			os.Remove(p)
		}
	}
}

// archivePrefix is a file name prefix for the image called name.
func archivePrefix(name string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, strings.ToLower(name)) + "-"
}

// prowctlLayer is a layer with the prowctl binary at /usr/local/bin/prowctl.
func prowctlLayer(p string) ([]byte, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("jobimage: prowctl binary: %w", err)
	}
	if !bytes.HasPrefix(b, []byte("\x7fELF")) {
		return nil, fmt.Errorf("jobimage: %s is not an ELF binary", p)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, d := range []string{"usr/", "usr/local/", "usr/local/bin/"} {
		if err := tw.WriteHeader(&tar.Header{Name: d, Mode: 0o755, Typeflag: tar.TypeDir}); err != nil {
			return nil, err
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "usr/local/bin/prowctl", Mode: 0o755, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(b); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ToolchainModule is the module the Go module proxy serves a toolchain as.
func ToolchainModule(goVersion string) string {
	return "golang.org/toolchain@v0.0.1-" + goVersion + ".linux-amd64"
}

// toolchainLayer returns the cached layer with the toolchain at GoRoot and
// its digest, making it from the module's zip the first time.
func toolchainLayer(ctx context.Context, o Options) (string, string, error) {
	layer := filepath.Join(o.CacheDir, "toolchain-"+o.GoVersion+".linux-amd64.tar")
	if b, err := os.ReadFile(layer + ".sha256"); err == nil {
		if _, err := os.Stat(layer); err == nil {
			return layer, strings.TrimSpace(string(b)), nil
		}
	}
	mod := ToolchainModule(o.GoVersion)
	fmt.Fprintf(o.Log, "image: downloading the Go toolchain %s\n", mod)
	var out, stderr bytes.Buffer
	err := o.Runner.Run(ctx, process.Cmd{Name: "go", Args: []string{"mod", "download", "-json", mod}, Env: o.Env, Stdout: &out, Stderr: &stderr})
	var dl struct{ Zip, Error string }
	if jerr := json.Unmarshal(out.Bytes(), &dl); jerr == nil && dl.Error != "" {
		return "", "", fmt.Errorf("jobimage: go mod download %s: %s", mod, dl.Error)
	}
	if err != nil {
		return "", "", fmt.Errorf("jobimage: go mod download %s: %w: %s", mod, err, strings.TrimSpace(stderr.String()))
	}
	if dl.Zip == "" {
		return "", "", fmt.Errorf("jobimage: go mod download %s: no zip in %q", mod, out.String())
	}
	h := sha256.New()
	err = atomicfile.WriteFunc(layer, 0o644, func(w io.Writer) error {
		return zipToLayer(ctx, io.MultiWriter(w, h), dl.Zip, mod+"/")
	})
	if err != nil {
		return "", "", fmt.Errorf("jobimage: toolchain layer: %w", err)
	}
	digest := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if err := atomicfile.Write(layer+".sha256", []byte(digest+"\n"), 0o644); err != nil {
		return "", "", err
	}
	return layer, digest, nil
}

// zipToLayer writes the toolchain module's zip as a layer tarball with its
// files under GoRoot. Module zips keep no file modes: as the go command does
// when it switches to a downloaded toolchain, the programs in bin/ and
// pkg/tool/ are made executable.
func zipToLayer(ctx context.Context, w io.Writer, zipPath, prefix string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return err
	}
	defer zr.Close()
	tw := tar.NewWriter(w)
	dirs := map[string]bool{}
	var mkdir func(d string) error
	mkdir = func(d string) error {
		if d == "." || d == "/" || dirs[d] {
			return nil
		}
		if err := mkdir(path.Dir(d)); err != nil {
			return err
		}
		dirs[d] = true
		return tw.WriteHeader(&tar.Header{Name: d + "/", Mode: 0o755, Typeflag: tar.TypeDir})
	}
	root := strings.TrimPrefix(GoRoot, "/")
	for _, f := range zr.File {
		rel, ok := strings.CutPrefix(f.Name, prefix)
		if !ok || rel == "" || strings.HasSuffix(f.Name, "/") {
			continue
		}
		if strings.Contains(rel, "..") {
			return fmt.Errorf("%s: bad path %q", zipPath, f.Name)
		}
		name := root + "/" + rel
		if err := mkdir(path.Dir(name)); err != nil {
			return err
		}
		mode := int64(0o644)
		if strings.HasPrefix(rel, "bin/") || strings.HasPrefix(rel, "pkg/tool/") {
			mode = 0o755
		}
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(f.UncompressedSize64), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, imagearchive.Reader(ctx, rc))
		rc.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name, err)
		}
	}
	return tw.Close()
}

// DefaultCacheDir is where built images are kept: prowctl/images under the
// user's cache directory ($XDG_CACHE_HOME or ~/.cache).
func DefaultCacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "prowctl", "images")
}
