package netns

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A Port is one forward: Host on the host's 127.0.0.1 to Target on
// 127.0.0.1 inside the namespace. They differ: the namespace's ports are
// its own, free whatever the host runs, while the host's are picked when the
// forwarder starts and bound at once, so that nothing else (a second
// cluster, a parallel test's) can take them in between.
type Port struct{ Host, Target int }

func (p Port) String() string { return fmt.Sprintf("%d=%d", p.Host, p.Target) }

// Forward serves each port's Host on the host's 127.0.0.1 and copies every
// connection to its Target on 127.0.0.1 inside the namespace at path,
// until ctx ends. It is how the host reaches a cluster whose namespace has
// no link to the host at all: no veth, no route, no firewall rule outside
// the namespace, so nothing on the host changes and nothing needs undoing.
// Listening on every port before serving any makes a port in use an error
// at start. logw gets one line per failed connection; nil discards them.
func Forward(ctx context.Context, path string, ports []Port, logw io.Writer) error {
	if logw == nil {
		logw = io.Discard
	}
	logger := log.New(logw, "forward: ", log.LstdFlags)
	var lns []net.Listener
	closeAll := func() {
		for _, ln := range lns {
			ln.Close()
		}
	}
	for _, p := range ports {
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Host)))
		if err != nil {
			closeAll()
			return err
		}
		lns = append(lns, ln)
	}
	d := Dialer{Path: path}
	ctx, cancel := UntilGone(ctx, path, logger)
	defer cancel()
	var wg sync.WaitGroup
	for i, ln := range lns {
		target := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[i].Target))
		wg.Add(1)
		go func() {
			defer wg.Done()
			serve(ctx, ln, d, target, logger)
		}()
	}
	<-ctx.Done()
	closeAll()
	wg.Wait()
	return nil
}

func serve(ctx context.Context, ln net.Listener, d Dialer, target string, logger *log.Logger) {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			logger.Printf("accept on %s: %v", ln.Addr(), err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer c.Close()
			dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			up, err := d.DialContext(dctx, "tcp", target)
			cancel()
			if err != nil {
				logger.Printf("%s: %v", target, err)
				return
			}
			defer up.Close()
			pipe(ctx, c, up)
		}()
	}
}

// pipe copies both ways until either side ends or ctx does.
func pipe(ctx context.Context, a, b net.Conn) {
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		io.Copy(dst, src)
		// Pass the end of one direction on, so the other side sees EOF
		// while replies still flow back.
		if tc, ok := dst.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
		done <- struct{}{}
	}
	go cp(a, b)
	go cp(b, a)
	for range 2 {
		select {
		case <-done:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	a.Close()
	b.Close()
}

// UntilGone returns a context that ends with ctx or once the namespace at
// path is gone. A namespace named by /proc/PID/ns/net is gone once its
// holder is: a server into it (the forwarder, Deck's proxy) then stops by
// itself, so that it does not outlive its cluster (after a killed
// `cluster up`). logger says why it stopped; nil says nothing.
func UntilGone(ctx context.Context, path string, logger *log.Logger) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := os.Stat(path); err != nil {
					if logger != nil {
						logger.Printf("namespace %s is gone: stopping", path)
					}
					cancel()
					return
				}
			}
		}
	}()
	return ctx, cancel
}

// ParsePorts reads forwards written as HOST=TARGET (Port.String).
func ParsePorts(args []string) ([]Port, error) {
	var out []Port
	for _, a := range args {
		h, t, ok := strings.Cut(a, "=")
		host, herr := parsePort(h)
		target, terr := parsePort(t)
		if !ok || herr != nil || terr != nil {
			return nil, fmt.Errorf("not HOST=TARGET ports: %q", a)
		}
		out = append(out, Port{Host: host, Target: target})
	}
	return out, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p <= 0 || p > 65535 {
		return 0, fmt.Errorf("not a port: %q", s)
	}
	return p, nil
}

// ServeForward runs Forward from a command line: --netns=PATH HOST=TARGET...,
// until ctx ends. prowctl's cluster starts it as a process of its own (see
// pkg/cluster's forwarder), so the forward outlives `prowctl cluster up`.
func ServeForward(ctx context.Context, args []string, logw io.Writer) error {
	var path string
	var portArgs []string
	for _, a := range args {
		if p, ok := strings.CutPrefix(a, "--netns="); ok {
			path = p
			continue
		}
		portArgs = append(portArgs, a)
	}
	if path == "" {
		return errors.New("forward: no --netns=PATH")
	}
	ports, err := ParsePorts(portArgs)
	if err != nil {
		return fmt.Errorf("forward: %w", err)
	}
	if len(ports) == 0 {
		return errors.New("forward: no ports")
	}
	return Forward(ctx, path, ports, logw)
}
