package browser

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
)

// The browser records what a page asks for, tells 127.0.0.1 from other
// hosts (a name under .invalid, which it never resolves), waits for
// conditions and takes screenshots.
func TestBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium; runs without -short")
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, `<html><body><p id="p">waiting</p>
<img src="http://cdn.invalid/logo.png">
<script>setTimeout(() => { document.getElementById("p").textContent = "done" }, 300)</script>
</body></html>`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	b := New(t)
	if err := b.Do(20*time.Second, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitFor("the page's text", `document.getElementById("p").textContent === "done"`, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := b.WaitFor("never", `false`, 300*time.Millisecond); err == nil {
		t.Error("WaitFor of a false condition returned no error")
	}
	if got, err := Eval[string](b, `document.getElementById("p").textContent`); err != nil || got != "done" {
		t.Errorf("Eval = %q, %v; want done", got, err)
	}
	if diff := cmp.Diff([]string{"http://cdn.invalid/logo.png"}, b.ForeignRequests()); diff != "" {
		t.Errorf("foreign requests (-want +got):\n%s", diff)
	}
	if reqs := b.Requests(); len(reqs) < 2 || reqs[0] != srv.URL+"/" {
		t.Errorf("requests %q, want the page first, then the image", reqs)
	}
	t.Setenv("ARTIFACTS", t.TempDir())
	p := b.Screenshot("page")
	png, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(png[1:4]) != "PNG" {
		t.Errorf("%s is not a PNG", p)
	}
	if want := filepath.Join(os.Getenv("ARTIFACTS"), "TestBrowser", "page.png"); p != want {
		t.Errorf("screenshot at %s, want %s", p, want)
	}
}
