package netns

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prowctl/prowctl/pkg/process"
)

// newNamespace starts a holder in a fresh network namespace with lo up and
// returns the namespace's path.
func newNamespace(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("needs root to make a network namespace (as `prowctl cluster up` does)")
	}
	holder, err := process.Exec{}.Start(process.Cmd{Name: "unshare", Args: []string{"--net", "sleep", "600"}, DieWithParent: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(-holder.PID(), syscall.SIGKILL) })
	ns := "/proc/" + strconv.Itoa(holder.PID()) + "/ns/net"
	self, _ := os.Readlink("/proc/self/ns/net")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if l, err := os.Readlink(ns); err == nil && l != self {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the holder never entered a namespace of its own")
		}
		time.Sleep(10 * time.Millisecond)
	}
	err = process.Exec{}.Run(context.Background(), process.Cmd{Name: "ip", Args: []string{"link", "set", "lo", "up"}, Namespaces: process.Namespaces{Net: ns}})
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// echo serves lines back, prefixed, on ln.
func echo(ln net.Listener, prefix string) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			s := bufio.NewScanner(c)
			for s.Scan() {
				fmt.Fprintf(c, "%s%s\n", prefix, s.Text())
			}
		}()
	}
}

func roundTrip(t *testing.T, c net.Conn, line string) string {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintln(c, line); err != nil {
		t.Fatal(err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// A server that listens inside the namespace is reached by Dial and not by
// a plain dial from the host, though both use the same address.
func TestListenAndDialInNamespace(t *testing.T) {
	ns := newNamespace(t)
	inner, err := Listen(ns, "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	go echo(inner, "ns:")
	addr := inner.Addr().String()

	c, err := Dialer{Path: ns}.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := roundTrip(t, c, "hi"); got != "ns:hi\n" {
		t.Errorf("through the namespace: got %q", got)
	}
	// The host's loopback is another interface: nothing listens there on
	// that port (unless by chance something else does, which would not
	// answer "ns:").
	if hc, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		hc.SetDeadline(time.Now().Add(time.Second))
		fmt.Fprintln(hc, "hi")
		b, _ := bufio.NewReader(hc).ReadString('\n')
		hc.Close()
		if b == "ns:hi\n" {
			t.Errorf("the host reached the namespace's server at %s directly", addr)
		}
	}
}

// Forward serves the namespace's port on the host's loopback, at another
// number, for many connections at once, and stops when its context ends.
func TestForward(t *testing.T) {
	ns := newNamespace(t)
	// A port free on the host, so the forwarder can bind it there.
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	// The namespace is new: any port is free in it.
	target := port%1000 + 7000
	inner, err := Listen(ns, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(target)))
	if err != nil {
		t.Fatal(err)
	}
	defer inner.Close()
	go echo(inner, "ns:")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Forward(ctx, ns, []Port{{Host: port, Target: target}}, io.Discard) }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	var conns []net.Conn
	deadline := time.Now().Add(5 * time.Second)
	for len(conns) < 5 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			if time.Now().After(deadline) {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
			continue
		}
		defer c.Close()
		conns = append(conns, c)
	}
	for i, c := range conns {
		if got, want := roundTrip(t, c, strconv.Itoa(i)), fmt.Sprintf("ns:%d\n", i); got != want {
			t.Errorf("connection %d: got %q, want %q", i, got, want)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Forward did not return after its context ended")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the host port still accepts connections after Forward returned")
	}
}

// A host port already in use is an error at start, not a silent gap.
func TestForwardPortInUse(t *testing.T) {
	ns := newNamespace(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	err = Forward(context.Background(), ns, []Port{{Host: port, Target: port}}, nil)
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Forward on a port in use: %v", err)
	}
}

// A forwarder stops by itself once the namespace's holder is gone.
func TestForwardStopsWithTheNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("needs root to make a network namespace")
	}
	holder, err := process.Exec{}.Start(process.Cmd{Name: "unshare", Args: []string{"--net", "sleep", "600"}, DieWithParent: true})
	if err != nil {
		t.Fatal(err)
	}
	ns := "/proc/" + strconv.Itoa(holder.PID()) + "/ns/net"
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	done := make(chan error, 1)
	go func() { done <- Forward(context.Background(), ns, []Port{{Host: port, Target: 80}}, nil) }()
	time.Sleep(200 * time.Millisecond)
	syscall.Kill(-holder.PID(), syscall.SIGKILL)
	<-holder.Exited()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Forward still runs 5 s after its namespace's holder died")
	}
}

func TestParsePorts(t *testing.T) {
	got, err := ParsePorts([]string{"31000=6443", "31001=4443"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Port{{31000, 6443}, {31001, 4443}}, got); diff != "" {
		t.Errorf("ParsePorts (-want +got):\n%s", diff)
	}
	if s := got[0].String(); s != "31000=6443" {
		t.Errorf("String: %q", s)
	}
	for _, bad := range []string{"6443", "=6443", "31000=", "0=1", "1=70000", "a=b", "1=2=3"} {
		if _, err := ParsePorts([]string{bad}); err == nil {
			t.Errorf("ParsePorts(%q): no error", bad)
		}
	}
}
