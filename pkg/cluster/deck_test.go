package cluster

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/prowctl/prowctl/internal/browser"
	"github.com/prowctl/prowctl/pkg/deckproxy"
	"github.com/prowctl/prowctl/pkg/e2e"
)

var screenshots = flag.String("screenshots", "", "save the Deck pages the README shows (deck.png, spyglass.png) in this directory")

// Prow's Deck on the real node, in a real browser: the job list follows a
// job from pending to success by itself, a failed job's Spyglass page shows
// its metadata, build log and failing test, icons are drawn from the local
// font, and the browser asks nothing of any host but 127.0.0.1.
func testDeck(t *testing.T, state *State) {
	d := newDecoratedJobs(t, state)
	deck := "http://" + state.HostAddr(DeckProxyName, "http")
	// What `prowctl open` and mkpj --create read.
	kc, err := clientcmd.LoadFromFile(state.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	if got := deckproxy.KubeconfigURL(kc, ContextName); got != deck+"/" {
		t.Errorf("the kubeconfig records Deck at %q, want %q", got, deck+"/")
	}
	b := browser.New(t)

	t.Run("job list updates live", func(t *testing.T) {
		// Deck reloads its list of ProwJobs every 30 s (a constant of
		// Prow's pkg/deck/jobs): a job seen pending must run that long.
		name := d.createScript(t, "deck-live", `echo "output of deck-live"; sleep 32`)
		if err := b.Do(30*time.Second, chromedp.Navigate(deck+"/?job=deck-live")); err != nil {
			t.Fatal(err)
		}
		// A page that reloads loses this.
		if _, err := browser.Eval[int](b, `window.prowctlTestMark = 7`); err != nil {
			t.Fatal(err)
		}
		// The state icon of the job's row (the table lists other jobs
		// too until the list knows this one).
		icon := `[...document.querySelectorAll('#builds tbody tr')].find(r => r.textContent.includes('deck-live'))?.querySelector('i.state')`
		state := `(` + icon + `?.className ?? "")`
		if err := b.WaitFor("the job's row, pending", `/\b(pending|triggered)\b/.test(`+state+`)`, 45*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := b.WaitFor("the row to turn to success", `/\bsuccess\b/.test(`+state+`)`, 90*time.Second); err != nil {
			pj := d.wait(t, name, time.Second)
			t.Fatalf("%v (the ProwJob is %s)", err, pj.Status.State)
		}
		if mark, err := browser.Eval[int](b, `window.prowctlTestMark || 0`); err != nil || mark != 7 {
			t.Errorf("the page reloaded (mark %d, %v): the row must change in place", mark, err)
		}
		// A Material icon drawn from its font is one glyph, 24 px wide;
		// without the font it is the word "check_circle".
		width, err := browser.Eval[float64](b, icon+`.getBoundingClientRect().width`)
		if err != nil {
			t.Fatal(err)
		}
		if width <= 0 || width > 40 {
			t.Errorf("the success icon is %.0f px wide: drawn as text, not from the Material Icons font", width)
		}
		loaded, err := browser.Eval[bool](b, `[...document.fonts].some(f => f.family.includes("Material Icons") && f.status === "loaded")`)
		if err != nil || !loaded {
			t.Errorf("the Material Icons font is not loaded (%v)", err)
		}
		save(t, b, "deck")
	})

	t.Run("spyglass of a failed job", func(t *testing.T) {
		name := d.createScript(t, "deck-fail", `echo "output of deck-fail"
mkdir -p "$ARTIFACTS"
cat > "$ARTIFACTS/junit_operator.xml" <<'XML'
<testsuite name="operator" tests="2" failures="1">
  <testcase classname="e2e" name="TestTFJobSucceeds" time="1.5"/>
  <testcase classname="e2e" name="TestTFJobRecoversFromEviction" time="2.25"><failure>worker-0 never came back</failure></testcase>
</testsuite>
XML
exit 1`)
		pj := d.wait(t, name, 90*time.Second)
		if !strings.HasPrefix(pj.Status.URL, deck+"/view/gs/") {
			t.Fatalf("the job's URL is %q, want Spyglass at %s/view/gs/...", pj.Status.URL, deck)
		}
		if err := b.Do(30*time.Second, chromedp.Navigate(pj.Status.URL)); err != nil {
			t.Fatal(err)
		}
		for lens, want := range map[string]string{
			"metadata": "failed after",
			"buildlog": "output of deck-fail",
			"junit":    "TestTFJobRecoversFromEviction",
		} {
			// Its visible text: innerText leaves out scripts and hidden
			// templates, which name what a lens might show.
			body := `(document.querySelector('iframe[data-lens-name="` + lens + `"]')?.contentDocument?.body?.innerText ?? "")`
			if err := b.WaitFor("the "+lens+" lens to show "+strconv.Quote(want), body+`.includes(`+strconv.Quote(want)+`)`, 30*time.Second); err != nil {
				text, _ := browser.Eval[string](b, body)
				t.Errorf("%v; it shows:\n%.2000s", err, text)
			}
		}
		save(t, b, "spyglass")
	})

	t.Run("e2e upload opens in job history", func(t *testing.T) {
		// What `prowctl e2e run --upload gs://…` does on this machine.
		artifacts := t.TempDir()
		now := time.Now().Unix()
		for name, body := range map[string]string{
			"started.json":  fmt.Sprintf(`{"timestamp": %d}`, now-30),
			"finished.json": fmt.Sprintf(`{"timestamp": %d, "passed": true, "result": "SUCCESS"}`, now),
			"build-log.txt": "output of the e2e run\n",
		} {
			if err := os.WriteFile(filepath.Join(artifacts, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		up, err := e2e.Upload(context.Background(), e2e.UploadOptions{
			Dest: "gs://" + d.bucket,
			Job:  e2e.LocalJobSpec("local-e2e-deck", "20261202031012"), Artifacts: artifacts,
			GCSEndpoint: d.gcsBase,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Do(30*time.Second, chromedp.Navigate(up.HistoryURL(deck+"/"))); err != nil {
			t.Fatal(err)
		}
		// The history table links the build to its Spyglass page.
		link := `document.querySelector('a[href$="/local-e2e-deck/20261202031012"]')`
		if err := b.WaitFor("the build in the job's history", link+` !== null`, 30*time.Second); err != nil {
			text, _ := browser.Eval[string](b, `document.body.innerText`)
			t.Fatalf("%v; the page shows:\n%.2000s", err, text)
		}
		if err := b.Do(30*time.Second, chromedp.Navigate(up.SpyglassURL(deck+"/"))); err != nil {
			t.Fatal(err)
		}
		body := `(document.querySelector('iframe[data-lens-name="buildlog"]')?.contentDocument?.body?.innerText ?? "")`
		if err := b.WaitFor("the build log lens", body+`.includes("output of the e2e run")`, 30*time.Second); err != nil {
			t.Error(err)
		}
	})

	if foreign := b.ForeignRequests(); len(foreign) > 0 {
		t.Errorf("the browser asked hosts other than 127.0.0.1 for:\n%s", strings.Join(foreign, "\n"))
	}
	if n := len(b.Requests()); n < 10 {
		t.Errorf("the browser made only %d requests: the network log is not recorded", n)
	}
}

// save keeps a screenshot for the README when -screenshots is given.
func save(t *testing.T, b *browser.Browser, name string) {
	t.Helper()
	if *screenshots == "" {
		return
	}
	png, err := b.PNG()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(*screenshots, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %s", p)
}
