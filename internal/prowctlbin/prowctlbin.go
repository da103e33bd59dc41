// Package prowctlbin gives tests the prowctl binary of the checkout under
// test, for tests that run commands as a user does (exit codes, signals) or
// put the binary into a job's image.
//
// `make test` (hack/test.sh) and `make bench` build it once and pass it in
// $PROWCTL_BIN, so the packages that need it share one link instead of each
// linking their own (a link of prowctl is ~10 s of CPU). Run alone, a test
// binary builds its own on first use.
package prowctlbin

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/prowctl/prowctl/pkg/process"
)

// Env names the prebuilt binary.
const Env = "PROWCTL_BIN"

// dirPrefix names the directories of binaries built by test binaries run
// alone, one per test process (its pid follows the prefix).
const dirPrefix = "prowctl-test-bin-"

var built struct {
	once sync.Once
	path string
	err  error
}

// Path returns $PROWCTL_BIN, or builds prowctl once per test binary. The
// binary is static (CGO_ENABLED=0), as `make build` makes it: tests that put
// it into a job's image need that.
func Path(t testing.TB) string {
	t.Helper()
	if p := os.Getenv(Env); p != "" {
		return p
	}
	built.once.Do(func() { built.path, built.err = build() })
	if built.err != nil {
		t.Fatalf("build prowctl: %v", built.err)
	}
	return built.path
}

func build() (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	// A binary outlives the test that built it (it serves the whole test
	// binary), so no test's TempDir fits; the directories of test
	// processes gone are removed here instead.
	sweep(os.TempDir())
	dir := filepath.Join(os.TempDir(), dirPrefix+strconv.Itoa(os.Getpid()))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "prowctl")
	// Output's error carries the compiler's last lines.
	_, err = process.Output(context.Background(), process.Exec{}, process.Cmd{
		Name: "go", Args: []string{"build", "-o", bin, "./cmd/prowctl"}, Dir: root,
		Env: append(os.Environ(), "CGO_ENABLED=0"),
	})
	return bin, err
}

// sweep removes the binaries of test processes that have exited.
func sweep(tmp string) {
	entries, _ := os.ReadDir(tmp)
	for _, e := range entries {
		pid, err := strconv.Atoi(strings.TrimPrefix(e.Name(), dirPrefix))
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) || err != nil || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			os.RemoveAll(filepath.Join(tmp, e.Name()))
		}
	}
}

// moduleRoot is the directory of the go.mod above the test's package.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
	}
}
