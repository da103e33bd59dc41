// Package browser drives Debian's headless Chromium for tests, through
// chromedp: a fresh profile per test, every request the page makes
// recorded, and a screenshot in the test's artifacts directory when the test
// fails.
package browser

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ExecPath is Debian's Chromium (`make tools` installs the package).
const ExecPath = "/usr/bin/chromium"

// Browser is one headless Chromium with one tab.
type Browser struct {
	t   testing.TB
	ctx context.Context

	mu       sync.Mutex
	requests []string
}

// New starts Chromium for t; it stops when t ends. Hosts other than
// 127.0.0.1 do not resolve in it, and it makes no request of its own
// (updates, sync, safe browsing): what the page asks for is all it sends.
func New(t testing.TB) *Browser {
	t.Helper()
	if _, err := exec.LookPath(ExecPath); err != nil {
		t.Fatalf("no Chromium at %s: `make tools` installs Debian's chromium package", ExecPath)
	}
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(ExecPath),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
		// Root in a container: Chromium's sandbox needs user namespaces
		// it may not get; the pages are our own.
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("no-proxy-server", true),
		// Any name but 127.0.0.1 fails to resolve: no DNS query leaves.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	b := &Browser{t: t, ctx: ctx}
	// Listening starts the browser.
	if err := chromedp.Listen(ctx, b.record); err != nil {
		cancel()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			b.Screenshot("failure")
		}
		cancel()
		cancelAlloc()
	})
	return b
}

func (b *Browser) record(ev any) {
	if e, ok := ev.(*network.EventRequestWillBeSent); ok {
		b.mu.Lock()
		b.requests = append(b.requests, e.Request.URL)
		b.mu.Unlock()
	}
}

// Requests are the URLs of every request the pages made so far, in order.
func (b *Browser) Requests() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.requests)
}

// ForeignRequests are the requests to anywhere but 127.0.0.1 (data: and
// about: URLs, which go nowhere, aside).
func (b *Browser) ForeignRequests() []string {
	var out []string
	for _, r := range b.Requests() {
		u, err := url.Parse(r)
		if err != nil {
			out = append(out, r)
			continue
		}
		switch u.Scheme {
		case "data", "about", "blob":
			continue
		}
		if u.Hostname() != "127.0.0.1" {
			out = append(out, r)
		}
	}
	return out
}

// Do runs actions in the tab, within timeout.
func (b *Browser) Do(timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) error {
	ctx, cancel := context.WithTimeout(b.ctx, timeout)
	defer cancel()
	return chromedp.Do(ctx, actions...)
}

// Eval evaluates a JavaScript expression in the page and decodes its value.
func Eval[T any](b *Browser, expression string) (T, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[T](expression))
}

// WaitFor polls a JavaScript expression until it is truthy, up to timeout;
// the error says what was awaited.
func (b *Browser) WaitFor(what, expression string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(b.ctx, timeout+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expression,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		return fmt.Errorf("waiting %s for %s: %w", timeout, what, err)
	}
	return nil
}

// Screenshot saves the page as ArtifactsDir()/NAME.png and returns the
// path; it logs rather than fails, as it runs when a test already failed.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	png, err := b.PNG()
	if err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	dir := ArtifactsDir(b.t)
	p := filepath.Join(dir, name+".png")
	if err := errors.Join(os.MkdirAll(dir, 0o755), os.WriteFile(p, png, 0o644)); err != nil {
		b.t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	b.t.Logf("screenshot: %s", p)
	return p
}

// PNG is a screenshot of the whole page.
func (b *Browser) PNG() ([]byte, error) {
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	return chromedp.Run(ctx, chromedp.FullScreenshot(100))
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// ArtifactsDir is where a test's screenshots go: $ARTIFACTS/TEST when
// $ARTIFACTS is set (as in a Prow job), else
// $TMPDIR/prowctl-test-artifacts/TEST, which outlives the test.
func ArtifactsDir(t testing.TB) string {
	base := os.Getenv("ARTIFACTS")
	if base == "" {
		base = filepath.Join(os.TempDir(), "prowctl-test-artifacts")
	}
	return filepath.Join(base, unsafeName.ReplaceAllString(t.Name(), "_"))
}
