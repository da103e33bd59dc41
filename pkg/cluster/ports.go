package cluster

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Ports are picked when a component starts, not all at once: the gap between
// picking a port and the component binding it is where something else can
// take it, and the last components start many seconds after the first.
// Whatever still goes wrong (another program binds the port in that gap)
// shows as a component that cannot bind, and Up restarts that component on fresh ports
// (see starter.start). Nothing probes a port twice.

// portPicker hands out the ports of one cluster, never the same one twice:
// a port a failed start gave up stays given up.
type portPicker struct {
	pick func() (int, error)

	mu   sync.Mutex
	used map[int]bool
}

func newPortPicker(pick func() (int, error)) *portPicker {
	return &portPicker{pick: pick, used: map[int]bool{}}
}

// ports picks one port for each name.
func (p *portPicker) ports(names []string) (map[string]int, error) {
	if len(names) == 0 {
		return nil, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for _, name := range names {
		port, err := p.next()
		if err != nil {
			return nil, fmt.Errorf("pick a port for %s: %w", name, err)
		}
		out[name] = port
	}
	return out, nil
}

func (p *portPicker) next() (int, error) {
	for range 100 {
		port, err := p.pick()
		if err != nil {
			return 0, err
		}
		if !p.used[port] {
			p.used[port] = true
			return port, nil
		}
	}
	return 0, errors.New("100 picks returned ports this cluster already uses")
}

// freePort picks a port on 127.0.0.1 that nothing uses, below the kernel's
// ephemeral range: a port from that range could become the local end of some
// outgoing connection (the other components', a parallel test's) before the
// component binds it. Only when no port below the range is free does it fall
// back to one the kernel hands out.
func freePort() (int, error) {
	lo, _ := ephemeralPortRange()
	if lo > minPickedPort {
		for range 64 {
			p := minPickedPort + rand.IntN(lo-minPickedPort)
			if _, err := probePort(p); err == nil {
				return p, nil
			}
		}
	}
	return probePort(0)
}

// minPickedPort keeps picked ports clear of the well-known and registered
// ports that daemons on a developer's machine tend to hold.
const minPickedPort = 20000

// ephemeralPortRange reads the range the kernel takes local ports of outgoing
// connections from; Linux's default when it cannot be read.
func ephemeralPortRange() (lo, hi int) {
	lo, hi = 32768, 60999
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	var l, h int
	if n, _ := fmt.Sscanf(string(b), "%d %d", &l, &h); n == 2 && l > 0 && h >= l {
		return l, h
	}
	return lo, hi
}

// probePort says whether port is free on 127.0.0.1; port 0 asks the kernel
// for one. It binds a socket without listening on it, with SO_REUSEADDR,
// and closes it.
//
// Not listening is what makes the probe safe. prowctl forks git and go for
// the e2e steps running beside `cluster up`, and a child forked while the
// probe socket is open holds a copy of it until exec closes it
// (close-on-exec: Go opens every socket so). The kernel wakes the forking
// thread before the exec'ing child closes those copies, so no lock in this
// process can wait that out: a probe that listened left a listener behind
// for a moment, and the next bind of the port (a second probe, once; the
// component's) failed with "address already in use". A socket that is only
// bound with SO_REUSEADDR does not keep another SO_REUSEADDR socket from
// binding and listening, and every component sets it (Go's net package
// does, for every listener), while a listener of another program still
// makes the probe fail.
func probePort(port int) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, os.NewSyscallError("socket", err)
	}
	defer syscall.Close(fd)
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		return 0, os.NewSyscallError("setsockopt", err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return 0, os.NewSyscallError("bind", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return 0, os.NewSyscallError("getsockname", err)
	}
	return sa.(*syscall.SockaddrInet4).Port, nil
}

// addrInUse is how the kernel's EADDRINUSE reads in a Go program's log
// ("listen tcp 127.0.0.1:2379: bind: address already in use").
var addrInUse = syscall.EADDRINUSE.Error()

// foreignListener names a port of ports that some process other than pid
// listens on ("" when there is none): the component cannot have bound it,
// and whatever answers there is not the component. The sockets are looked up
// in pid's own network namespace, as the component sees them.
func foreignListener(pid int, ports map[string]int) string {
	if pid <= 0 || len(ports) == 0 {
		return ""
	}
	listening, err := tcpListeners(pid)
	if err != nil {
		return ""
	}
	var ours map[uint64]bool
	for _, name := range slices.Sorted(maps.Keys(ports)) {
		inodes := listening[ports[name]]
		if len(inodes) == 0 {
			continue
		}
		if ours == nil {
			if ours, err = socketInodes(pid); err != nil {
				// Gone, or not ours to read: cannot tell.
				return ""
			}
		}
		mine := false
		for _, ino := range inodes {
			mine = mine || ours[ino]
		}
		if !mine {
			return fmt.Sprintf("port %s (%d) is held by another program", name, ports[name])
		}
	}
	return ""
}

// tcpListeners maps each TCP port listened on in pid's network namespace to
// the inodes of the listening sockets.
func tcpListeners(pid int) (map[int][]uint64, error) {
	out := map[int][]uint64{}
	for _, file := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, file))
		if err != nil {
			if file == "tcp6" && errors.Is(err, os.ErrNotExist) {
				continue // no IPv6
			}
			return nil, err
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			// sl local_address rem_address st ... uid timeout inode
			f := strings.Fields(line)
			if len(f) < 10 || f[3] != "0A" { // 0A: LISTEN
				continue
			}
			i := strings.LastIndexByte(f[1], ':')
			port, err := strconv.ParseUint(f[1][i+1:], 16, 16)
			if err != nil {
				continue
			}
			ino, err := strconv.ParseUint(f[9], 10, 64)
			if err != nil {
				continue
			}
			out[int(port)] = append(out[int(port)], ino)
		}
	}
	return out, nil
}

// socketInodes returns the inodes of the sockets pid has open.
func socketInodes(pid int) (map[uint64]bool, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[uint64]bool{}
	for _, e := range entries {
		link, err := os.Readlink(dir + "/" + e.Name())
		if err != nil || !strings.HasPrefix(link, "socket:[") {
			continue
		}
		if ino, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(link, "socket:["), "]"), 10, 64); err == nil {
			out[ino] = true
		}
	}
	return out, nil
}
