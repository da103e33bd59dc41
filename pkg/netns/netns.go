// Package netns lets prowctl talk to servers inside a network namespace it
// does not live in: the personal cluster with real pods runs in a namespace
// of its own with no route off the machine, and prowctl (readiness checks,
// API clients) and a forwarder for the host's loopback reach it from outside.
//
// A socket belongs to the namespace of the thread that created it, for its
// whole life. So Dial creates its socket on an OS thread that has joined the
// namespace (setns), and hands the connection back: from then on any
// goroutine can use it.
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
//
// The thread joins its own namespace again afterwards and goes back to the
// scheduler. Letting it die instead would be simpler, but a child started
// with Pdeathsig (a cluster component that must die with a test) is killed
// when the thread that forked it ends, and Go may have forked it on this one.
// Only if the way back fails is the thread thrown away.
func Do(path string, fn func() error) error {
	target, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("network namespace: %w", err)
	}
	defer target.Close()
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("network namespace: %w", err)
			return
		}
		defer own.Close()
		if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("join network namespace %s: %w", path, err)
			return
		}
		err = fn()
		if unix.Setns(int(own.Fd()), unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}
