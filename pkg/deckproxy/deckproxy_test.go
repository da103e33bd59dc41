package deckproxy

import (
	"bytes"
	"compress/gzip"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRewrite(t *testing.T) {
	liveTag := `<script type="text/javascript" src="/prowctl/live.js"></script>` + "\n"
	for in, want := range map[string]string{
		`<link href="https://fonts.googleapis.com/icon?family=Material+Icons">`:     `<link href="/prowctl/assets/material-icons/material-icons.css">`,
		`<link href="https://fonts.googleapis.com/css?family=Roboto:400,700">`:      `<link href="/prowctl/assets/roboto/roboto.css">`,
		`<script src="https://code.getmdl.io/1.3.0/material.min.js"></script>`:      `<script src="/prowctl/assets/mdl/material.min.js"></script>`,
		`<a href="https://storage.googleapis.com/b/logs/j/1/build-log.txt">raw</a>`: `<a href="/prowctl/gcs/b/logs/j/1/build-log.txt">raw</a>`,
		`<a href="https://example.com/x">`:                                          `<a href="https://example.com/x">`,
		// Job lists get the live refresh before the page's end.
		`<script src="prowjobs.js?var=allBuilds&omit=pod_spec"></script></body></html>`: `<script src="prowjobs.js?var=allBuilds&omit=pod_spec"></script>` + liveTag + `</body></html>`,
		// Other pages do not.
		`<script src="/static/spyglass_bundle.min.js"></script></body></html>`: `<script src="/static/spyglass_bundle.min.js"></script></body></html>`,
	} {
		if got := string(Rewrite([]byte(in))); got != want {
			t.Errorf("Rewrite(%q) = %q, want %q", in, got, want)
		}
	}
}

// The handler, between a stand-in Deck and GCS emulator: Deck's pages come
// rewritten (gzipped or not), other responses untouched, assets and the
// live script from the proxy itself, raw artifacts from the emulator.
func TestHandler(t *testing.T) {
	page := `<html><link href="https://fonts.googleapis.com/icon?family=Material+Icons"><body>` +
		`<script src="prowjobs.js?var=allBuilds"></script></body></html>`
	deck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, page)
		case "/gzipped":
			w.Header().Set("Content-Type", "text/html")
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			io.WriteString(zw, page)
			zw.Close()
		case "/prowjobs.js":
			w.Header().Set("Content-Type", "application/javascript")
			io.WriteString(w, `var allBuilds = {"href":"https://storage.googleapis.com/x"};`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer deck.Close()
	gcs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.EscapedPath() != "/storage/v1/b/bkt/o/logs%2Fjob%2F1%2Fbuild-log.txt" || r.URL.Query().Get("alt") != "media" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "the log\n")
	}))
	defer gcs.Close()
	assets := t.TempDir()
	if err := os.MkdirAll(filepath.Join(assets, "mdl"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(assets, "mdl", "material.min.css"), []byte(".mdl{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	var d net.Dialer
	h, err := Handler(Options{Dial: d.DialContext, Deck: strings.TrimPrefix(deck.URL, "http://"), GCS: strings.TrimPrefix(gcs.URL, "http://"), Assets: assets})
	if err != nil {
		t.Fatal(err)
	}
	proxy := httptest.NewServer(h)
	defer proxy.Close()

	rewritten := `<html><link href="/prowctl/assets/material-icons/material-icons.css"><body>` +
		`<script src="prowjobs.js?var=allBuilds"></script><script type="text/javascript" src="/prowctl/live.js"></script>` + "\n</body></html>"
	for _, tc := range []struct {
		path, wantStatus, wantBody string
	}{
		{"/", "200 OK", rewritten},
		{"/gzipped", "200 OK", rewritten},
		// Not HTML: as Deck sent it.
		{"/prowjobs.js", "200 OK", `var allBuilds = {"href":"https://storage.googleapis.com/x"};`},
		{"/prowctl/assets/mdl/material.min.css", "200 OK", ".mdl{}"},
		{"/prowctl/gcs/bkt/logs/job/1/build-log.txt", "200 OK", "the log\n"},
		{"/prowctl/gcs/bkt", "404 Not Found", "want /prowctl/gcs/BUCKET/OBJECT\n"},
		{"/prowctl/healthz", "200 OK", HealthBody},
		{"/prowctl/live.js", "200 OK", string(live)},
	} {
		resp, err := http.Get(proxy.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got := struct{ Status, Body string }{resp.Status, string(body)}
		if diff := cmp.Diff(struct{ Status, Body string }{tc.wantStatus, tc.wantBody}, got); diff != "" {
			t.Errorf("GET %s (-want +got):\n%s", tc.path, diff)
		}
	}
	if !bytes.Contains(live, []byte("popstate")) {
		t.Error("live.js does not redraw through Deck's popstate handler")
	}
}
