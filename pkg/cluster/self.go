package cluster

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/prowctl/prowctl/pkg/netns"
)

// Components that are prowctl itself (Component.Self) run prowctl's
// executable with one of these as the first argument. prowctl's main, and
// the TestMain of a test package that starts a real node, hand such a
// command line to ServeSelf before anything else.
const (
	// ForwardCommand --netns=PATH PORT...: the forwarder.
	ForwardCommand = "__prowctl-forward"
	// GCSCommand --root=DIR --port=N --bucket=NAME...: the GCS emulator.
	GCSCommand = "__prowctl-gcs"
)

// ServeSelf runs the component args[0] names until ctx ends; handled is
// false when args name none.
func ServeSelf(ctx context.Context, args []string, logw io.Writer) (handled bool, err error) {
	if len(args) == 0 {
		return false, nil
	}
	switch args[0] {
	case ForwardCommand:
		return true, netns.ServeForward(ctx, args[1:], logw)
	case GCSCommand:
		return true, serveGCS(ctx, args[1:], logw)
	}
	return false, nil
}

// serveGCS serves fake-gcs-server on all addresses of the cluster's
// namespace, its objects on disk under --root, with the buckets given.
func serveGCS(ctx context.Context, args []string, logw io.Writer) error {
	fs := flag.NewFlagSet(GCSCommand, flag.ContinueOnError)
	fs.SetOutput(logw)
	root := fs.String("root", "", "directory of the objects")
	port := fs.Int("port", 0, "port")
	external := fs.String("external-url", "", "URL clients reach the server at")
	var buckets multiFlag
	fs.Var(&buckets, "bucket", "bucket to create (repeat)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *root == "" || *port <= 0 || *port > 65535 {
		return errors.New("gcs: --root and --port are required")
	}
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		StorageRoot: *root, Scheme: "http", Host: "0.0.0.0", Port: uint16(*port),
		ExternalURL: *external, PublicHost: net.JoinHostPort(nodeIP, strconv.Itoa(*port)),
		Writer: logw,
	})
	if err != nil {
		return fmt.Errorf("gcs: %w", err)
	}
	defer srv.Stop()
	for _, b := range buckets {
		srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: b})
	}
	fmt.Fprintf(logw, "gcs: serving %v on port %d, objects in %s\n", buckets, *port, *root)
	<-ctx.Done()
	return nil
}

type multiFlag []string

func (m *multiFlag) String() string     { return fmt.Sprint(*m) }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
