package cluster

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/prowctl/prowctl/pkg/deckproxy"
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
	case RegistryCommand:
		return true, serveRegistry(ctx, args[1:], logw)
	case GoProxyCommand:
		return true, serveGoProxy(ctx, args[1:], logw)
	case DeckProxyCommand:
		return true, deckproxy.Serve(ctx, args[1:], logw)
	}
	return false, nil
}

// MainIfSelf is the main of a component that is prowctl itself: when args
// (os.Args[1:]) name one, it runs it until SIGINT or SIGTERM and returns
// the exit code with handled true. prowctl's main and the TestMain of a
// package whose tests start a real node call it first; it owns the
// process's signals, as only a main may.
func MainIfSelf(args []string, stderr io.Writer) (code int, handled bool) {
	if len(args) == 0 || !strings.HasPrefix(args[0], "__prowctl-") {
		return 0, false
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := ServeSelf(ctx, args, stderr)
	switch {
	case !ok:
		fmt.Fprintf(stderr, "prowctl: unknown internal command %q\n", args[0])
		return 2, true
	case err != nil:
		fmt.Fprintln(stderr, "prowctl:", err)
		return 1, true
	}
	return 0, true
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
