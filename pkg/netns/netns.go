// Package netns lets prowctl talk to servers inside a network namespace it
// does not live in: the personal cluster with real pods runs in a namespace
// of its own with no route off the machine, and prowctl (readiness checks,
// API clients) and a forwarder for the host's loopback reach it from outside.
//
// A socket belongs to the namespace of the thread that created it, for its
// whole life. So Dial creates its socket on an OS thread that has joined the
// namespace (setns), and hands the connection back: from then on any
// goroutine can use it. The thread is never given back to the Go scheduler:
// once its goroutine ends, the runtime destroys it, namespace and all.
package netns

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// Dialer dials TCP connections inside the network namespace at Path (e.g.
// /proc/PID/ns/net). The zero Path dials in the caller's own namespace.
type Dialer struct {
	Path string
}

// DialContext is net.Dialer.DialContext inside d's namespace; it fits
// http.Transport.DialContext and rest.Config.Dial.
func (d Dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var nd net.Dialer
	if d.Path == "" {
		return nd.DialContext(ctx, network, addr)
	}
	var conn net.Conn
	err := Do(d.Path, func() error {
		var err error
		conn, err = nd.DialContext(ctx, network, addr)
		return err
	})
	return conn, err
}

// Listen is net.Listen inside the namespace at path.
func Listen(path, network, addr string) (net.Listener, error) {
	var ln net.Listener
	err := Do(path, func() error {
		var err error
		ln, err = net.Listen(network, addr)
		return err
	})
	return ln, err
}

// Do runs fn on an OS thread that has joined the network namespace at path,
// and waits for it. Sockets fn creates stay in that namespace. fn must not
// start goroutines that expect the namespace: they run on other threads.
func Do(path string, fn func() error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("network namespace: %w", err)
	}
	defer f.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: a thread that joined another namespace must
		// not run other goroutines; ending this one while locked makes the
		// runtime throw the thread away.
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("join network namespace %s: %w", path, err)
			return
		}
		errc <- fn()
	}()
	return <-errc
}
