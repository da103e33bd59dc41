// Package cluster runs a personal Prow cluster on one machine from real
// components built by `make tools`: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, a simulated node (kwok) and Prow's
// plank, on ports picked at start. All listen on 127.0.0.1 only, except
// plank's health, metrics and pprof ports: prow-controller-manager has no flag
// to bind them to an address.
//
// Pods run on the simulated node: their spec, Prow's decoration and the
// ProwJob state machine are real; their containers are not executed. kwok
// completes Prow's pods after a second, and fails the ones labelled
// prowctl.dev/simulate-result=failure (see kwok_stages.yaml).
//
// Each component starts through a process.Runner (Options.Runner), which a
// test replaces with a process.Recorder to see every command line without
// starting anything, and says which namespaces it runs in
// (Component.Namespaces). Its ports are picked as it starts; a component that
// cannot bind them, or finds another server answering on them, starts again
// on fresh ports, up to Options.MaxStarts times.
//
// Everything the cluster owns lives under one directory, and Up and Down
// touch nothing else in it:
//
//	DIR/state.json              pids (with start times), ports, versions, endpoints
//	DIR/kubeconfig              admin kubeconfig: context prowctl-local, namespace = the ProwJob namespace
//	DIR/logs/<component>.log    each component's output
//	DIR/<component>/            each process's working directory and files:
//	  etcd/data/                etcd's data
//	  kube-apiserver/           CA, serving certificate, service account keys, tokens.csv
//	  kube-controller-manager/, kube-scheduler/   their self-signed serving certificates
//	  kwok/stages.yaml          the simulated node's pod stages (kwok_stages.yaml, embedded)
//	  plank/kubeconfig          plank's kubeconfig: one context, "default"
//	DIR/.lock                   held while Up or Down runs
package cluster

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/prowctl/prowctl/pkg/process"
)

// Options configure Up.
type Options struct {
	// Dir is the state directory (see the package documentation).
	Dir string
	// ToolsDir is where `make tools` put the binaries; DefaultToolsDir()
	// when empty.
	ToolsDir string
	// ProwConfig is the Prow config plank loads (config/prow/config.yaml).
	ProwConfig string
	// Node is the kind of node that runs pods: NodeReal, or NodeKwok (the
	// default here; `prowctl cluster up` defaults to NodeReal).
	Node string
	// NoDeck leaves Prow's UI (Deck and its proxy) out of a real node.
	NoDeck bool
	// WithArgo adds Argo Workflows' controller to a real node (WithArgo).
	WithArgo bool
	// Components make up the cluster; Components(Node) when nil.
	Components []Component
	// Executable is prowctl's own binary, for the components prowctl runs
	// itself (the forwarder); os.Executable() when empty. A test binary
	// serves them from TestMain (see ForwardCommand).
	Executable string
	// Progress receives one line per started component; nil for none.
	Progress io.Writer
	// StopWithParent makes the kernel kill the components when the calling
	// process dies, as tests want. `prowctl cluster up` leaves it false:
	// the cluster outlives the command.
	StopWithParent bool
	// ReadyTimeout bounds the wait for each component; 90 s when zero.
	ReadyTimeout time.Duration
	// StopGrace is how long a component may take to exit after SIGTERM
	// before it gets SIGKILL; 10 s when zero.
	StopGrace time.Duration
	// Runner starts the component processes; process.Exec{} when nil.
	// Tests record them with a process.Recorder instead.
	Runner process.Runner
	// MaxStarts bounds how often Up starts a component that cannot bind
	// its ports, each time on fresh ones; 3 when zero.
	MaxStarts int

	// pickPort chooses a port that looks free; tests replace it to hand
	// out a port in use.
	pickPort func() (int, error)
}

func (o *Options) complete() error {
	if o.Dir == "" {
		return errors.New("no cluster directory")
	}
	dir, err := filepath.Abs(o.Dir)
	if err != nil {
		return err
	}
	o.Dir = dir
	if o.ToolsDir == "" {
		o.ToolsDir = DefaultToolsDir()
	}
	if o.ProwConfig != "" {
		if o.ProwConfig, err = filepath.Abs(o.ProwConfig); err != nil {
			return err
		}
	}
	if o.Node == "" {
		o.Node = NodeKwok
	}
	if o.Components == nil {
		if o.Components, err = Components(o.Node); err != nil {
			return err
		}
		if o.NoDeck {
			o.Components = WithoutDeck(o.Components)
		}
		if o.WithArgo {
			if o.Node != NodeReal {
				return fmt.Errorf("--with argo needs a real node: Argo runs each step as a pod")
			}
			o.Components = WithArgo(o.Components)
		}
	}
	if o.Executable == "" {
		o.Executable, _ = os.Executable()
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 90 * time.Second
	}
	if o.StopGrace == 0 {
		o.StopGrace = 10 * time.Second
	}
	if o.Runner == nil {
		o.Runner = process.Exec{}
	}
	if o.MaxStarts == 0 {
		o.MaxStarts = 3
	}
	if o.pickPort == nil {
		o.pickPort = freePort
	}
	return nil
}

// ErrForeignServer is wrapped by a component's readiness error when what
// answers on the component's port is not the component: another program
// holds the port.
var ErrForeignServer = errors.New("another server answers on the port")

// ComponentError says which component failed to start and where its log is.
type ComponentError struct {
	Component string
	Log       string // empty for a component without a process
	Err       error
	// Tail is the end of the log, for the reader of the error.
	Tail string
}

func (e *ComponentError) Error() string {
	msg := fmt.Sprintf("%s: %v", e.Component, e.Err)
	if e.Log != "" {
		msg += fmt.Sprintf(" (log: %s)", e.Log)
	}
	if e.Tail != "" {
		msg += "\n" + indent(e.Tail)
	}
	return msg
}

func (e *ComponentError) Unwrap() error { return e.Err }

func progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

func indent(s string) string {
	out := "    "
	for _, r := range s {
		out += string(r)
		if r == '\n' {
			out += "    "
		}
	}
	return out
}
