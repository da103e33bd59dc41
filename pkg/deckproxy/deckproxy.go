// Package deckproxy is the front of Prow's Deck on the personal cluster: it
// serves Deck, which runs inside the cluster's network namespace, on the
// host's 127.0.0.1, and makes its pages work with no network beyond it.
//
// Deck's templates, and the lens frame template compiled into its binary,
// load Material Design Lite, Material Icons and Roboto from public CDNs, and
// Spyglass links raw artifacts to storage.googleapis.com. Rather than patch
// Prow or keep a copy of its templates in step with it, the proxy rewrites
// those URLs in every HTML page Deck sends (one table, below) and serves
// what they name: the CDN files from their npm packages (`make tools`), and
// artifacts from the cluster's GCS emulator. Deck itself is unmodified.
//
// This Deck draws its job list once per page load; the proxy adds a small
// script to the job lists (live.js) that redraws them as jobs change.
package deckproxy

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prowctl/prowctl/pkg/netns"
)

// Prefixes of the paths the proxy serves itself; everything else is Deck's.
const (
	AssetsPath = "/prowctl/assets/"
	GCSPath    = "/prowctl/gcs/"
	HealthPath = "/prowctl/healthz"
	LivePath   = "/prowctl/live.js"
)

// live is the job lists' live refresh (see the file): Deck's pages that
// load prowjobs.js get it.
//
//go:embed live.js
var live []byte

// liveMarker is in the pages live.js refreshes; the script tag goes before
// the page's end.
const liveMarker = `src="prowjobs.js?var=allBuilds`

// HealthBody is what HealthPath answers, so a check tells the proxy from
// another server on its port.
const HealthBody = "prowctl deck proxy"

// rewrites maps each outside URL Deck's pages use to the proxy's path for
// it. Order matters: the first match wins.
var rewrites = []struct{ from, to string }{
	{"https://fonts.googleapis.com/css?family=Roboto:400,700", AssetsPath + "roboto/roboto.css"},
	{"https://fonts.googleapis.com/icon?family=Material+Icons", AssetsPath + "material-icons/material-icons.css"},
	{"https://code.getmdl.io/1.3.0/", AssetsPath + "mdl/"},
	// Spyglass' "raw" links (pkg/io's anonymous signed URL).
	{"https://storage.googleapis.com/", GCSPath},
}

// Rewrite replaces the outside URLs of an HTML page with the proxy's, and
// adds the live refresh to job lists.
func Rewrite(page []byte) []byte {
	for _, r := range rewrites {
		page = bytes.ReplaceAll(page, []byte(r.from), []byte(r.to))
	}
	if bytes.Contains(page, []byte(liveMarker)) {
		if i := bytes.LastIndex(page, []byte("</body>")); i >= 0 {
			tag := []byte(`<script type="text/javascript" src="` + LivePath + `"></script>` + "\n")
			page = append(page[:i:i], append(tag, page[i:]...)...)
		}
	}
	return page
}

// Options configure a proxy.
type Options struct {
	// Dial reaches Deck and GCS: inside the cluster's namespace.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Deck and GCS are their host:port where Dial reaches them.
	Deck, GCS string
	// Assets is the directory of the CDN files (the deck-ui tool's assets).
	Assets string
}

// Handler serves Deck with its pages rewritten, the CDN files and GCS
// objects.
func Handler(o Options) (http.Handler, error) {
	if o.Dial == nil || o.Deck == "" || o.GCS == "" || o.Assets == "" {
		return nil, errors.New("deckproxy: Dial, Deck, GCS and Assets are required")
	}
	transport := &http.Transport{DialContext: o.Dial, MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second}
	deck := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: "http", Host: o.Deck})
			// Deck's own host, as Deck builds absolute links from it.
			r.Out.Host = r.In.Host
			// Pages come back uncompressed, to be rewritten.
			r.Out.Header.Del("Accept-Encoding")
		},
		Transport:      transport,
		ModifyResponse: rewriteHTML,
		// Deck's job list streams nothing, but the build log lens can be
		// large: pass bytes on as they come.
		FlushInterval: 100 * time.Millisecond,
	}
	mux := http.NewServeMux()
	mux.Handle(AssetsPath, http.StripPrefix(AssetsPath, http.FileServer(http.Dir(o.Assets))))
	mux.Handle(GCSPath, gcsHandler(transport, o.GCS))
	mux.HandleFunc(HealthPath, func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, HealthBody) })
	mux.HandleFunc(LivePath, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		w.Write(live)
	})
	mux.Handle("/", deck)
	return mux, nil
}

// rewriteHTML rewrites an HTML response's body.
func rewriteHTML(resp *http.Response) error {
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		return nil
	}
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		// Deck gzips some handlers whatever the request said.
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return err
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	b = Rewrite(b)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
	resp.Header.Del("Content-Encoding")
	return nil
}

// gcsHandler serves GCSPath/BUCKET/OBJECT from the emulator's JSON API, as
// storage.googleapis.com/BUCKET/OBJECT serves a public object.
func gcsHandler(transport http.RoundTripper, gcs string) http.Handler {
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bucket, object, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, GCSPath), "/")
		if !ok || bucket == "" || object == "" {
			http.Error(w, "want "+GCSPath+"BUCKET/OBJECT", http.StatusNotFound)
			return
		}
		u := "http://" + gcs + "/storage/v1/b/" + url.PathEscape(bucket) + "/o/" + url.PathEscape(object) + "?alt=media"
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u, nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for _, h := range []string{"Content-Type", "Content-Length", "Content-Encoding"} {
			if v := resp.Header.Get(h); v != "" {
				w.Header().Set(h, v)
			}
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
}

// Serve runs the proxy from a command line until ctx ends:
//
//	--netns=PATH --port=N --deck=HOST:PORT --gcs=HOST:PORT --assets=DIR
//
// It listens on the host's 127.0.0.1:N and reaches Deck and GCS inside the
// namespace at PATH. pkg/cluster starts it as a process of its own.
func Serve(ctx context.Context, args []string, logw io.Writer) error {
	fs := flag.NewFlagSet("deck-proxy", flag.ContinueOnError)
	fs.SetOutput(logw)
	ns := fs.String("netns", "", "network namespace of Deck and GCS")
	port := fs.Int("port", 0, "port on 127.0.0.1")
	var o Options
	fs.StringVar(&o.Deck, "deck", "", "Deck's address in the namespace")
	fs.StringVar(&o.GCS, "gcs", "", "the GCS emulator's address in the namespace")
	fs.StringVar(&o.Assets, "assets", "", "directory of the CDN files")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ns == "" || *port <= 0 || *port > 65535 {
		return errors.New("deck-proxy: --netns and --port are required")
	}
	o.Dial = netns.Dialer{Path: *ns}.DialContext
	h, err := Handler(o)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		return err
	}
	ctx, cancel := netns.UntilGone(ctx, *ns, log.New(logw, "deck-proxy: ", log.LstdFlags))
	defer cancel()
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(logw, "deck-proxy: serving Deck (%s in %s) on %s\n", o.Deck, *ns, ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return nil
}
