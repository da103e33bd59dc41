// Package registry runs an OCI registry in process: on loopback for the e2e
// pipeline's images and charts when no other registry is configured, and in
// the personal cluster's namespace for its node to pull from. Content lives
// in memory and goes away with the server (go-containerregistry's registry
// keeps blobs in memory; the images pushed are the few megabytes of an
// operator's, and the cluster's registry lives as long as the cluster).
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
)

// Server is a running registry.
type Server struct {
	addr string
	srv  *http.Server
	done chan error
}

// Start serves a registry on 127.0.0.1 at a free port until Close. Request
// logs go to logw (nil discards them).
func Start(logw io.Writer) (*Server, error) {
	return Listen("127.0.0.1:0", logw)
}

// Listen serves a registry on addr (host:port) until Close.
func Listen(addr string, logw io.Writer) (*Server, error) {
	if logw == nil {
		logw = io.Discard
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("registry: listen: %w", err)
	}
	s := &Server{
		addr: ln.Addr().String(),
		srv: &http.Server{
			Handler:           ggcrregistry.New(ggcrregistry.Logger(log.New(logw, "registry: ", log.LstdFlags))),
			ReadHeaderTimeout: 10 * time.Second,
		},
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr returns host:port, the registry part of image references
// ("127.0.0.1:PORT/repo:tag"). Clients use plain HTTP: go-containerregistry
// does so by itself for 127.0.0.1, helm needs registry.ClientOptPlainHTTP.
func (s *Server) Addr() string { return s.addr }

// Close stops the server, waiting for requests in flight until ctx is done.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("registry: stop %s: %w", s.addr, err)
	}
	return nil
}
