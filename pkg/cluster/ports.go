package cluster

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
)

// freePort picks a port on 127.0.0.1 that nothing uses, below the kernel's
// ephemeral range. Ports are chosen before the components start, seconds before
// they bind them; a port from the ephemeral range could meanwhile become the
// local end of some outgoing connection (the other components', a parallel
// test's), and the component would then fail to bind. Only when no port below
// the range is free does it fall back to one the kernel hands out.
func freePort() (int, error) {
	lo, _ := ephemeralPortRange()
	if lo > minPickedPort {
		for range 64 {
			p := minPickedPort + rand.IntN(lo-minPickedPort)
			if checkPortFree(p) == nil {
				return p, nil
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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

func checkPortFree(port int) error {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return errors.New("in use")
	}
	return l.Close()
}
