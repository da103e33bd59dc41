// Command pause is the sandbox ("pause") image of the personal cluster's
// containerd: it holds a pod's namespaces open until it is told to stop.
// Built by the project because no public registry can be reached from the
// cluster; it must be static and tiny, so it imports only the standard library.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	// As PID 1 of the pod it also reaps orphans, so zombies do not pile up in
	// a pod that shares its process namespace.
	signal.Notify(sig, syscall.SIGCHLD)
	for s := range sig {
		if s != syscall.SIGCHLD {
			return
		}
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if pid <= 0 || err != nil {
				break
			}
		}
	}
}
