package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/prowctl/prowctl/pkg/process"
)

// The test binary doubles as a cluster component (see fakeComponent), so
// Up's handling of ports is tested on real processes without `make tools`.
func TestMain(m *testing.M) {
	// A real node's components that are prowctl itself run this binary
	// (Options.Executable).
	if code, ok := MainIfSelf(os.Args[1:], os.Stderr); ok {
		os.Exit(code)
	}
	if dir := os.Getenv(upProcessEnv); dir != "" {
		// A `prowctl cluster up` to be killed (killedUp).
		_, _, err := Up(context.Background(), Options{Dir: dir, ProwConfig: os.Getenv("PROWCTL_TEST_PROW_CONFIG"), Node: NodeReal})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if mode := os.Getenv(fakeComponentEnv); mode != "" {
		os.Exit(fakeComponent(mode, os.Args[1:]))
	}
	flag.Parse()
	os.Exit(m.Run())
}

const fakeComponentEnv = "PROWCTL_FAKE_COMPONENT"

// fakeComponent serves GET /ready ("fake-ready") and GET /pid on the address
// of its first argument. When it cannot listen, it does what real components
// do: mode "exit" prints the error and exits, as Kubernetes' servers and
// etcd do; "run" prints it and runs on without its server, as Prow's health
// server does; "quiet" runs on without a word. Mode "broken" exits at once
// for a reason fresh ports cannot mend.
func fakeComponent(mode string, args []string) int {
	if mode == "broken" || len(args) != 1 {
		fmt.Fprintln(os.Stderr, "fake component: bad configuration")
		return 3
	}
	l, err := net.Listen("tcp", args[0])
	if err != nil {
		switch mode {
		case "exit":
			fmt.Fprintln(os.Stderr, err)
			return 1
		case "run":
			fmt.Fprintln(os.Stderr, err)
		}
		select {}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "fake-ready") })
	mux.HandleFunc("/pid", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, os.Getpid()) })
	_ = http.Serve(l, mux)
	return 1
}

var fakeTool = Tool{Name: "fake", Version: "v1", Binaries: []string{"fake-component"}}

// fakeTools makes a tools directory whose fake-component is the test binary.
func fakeTools(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	if err := os.MkdirAll(fakeTool.Dir(root), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(self, filepath.Join(fakeTool.Dir(root), "fake-component")); err != nil {
		t.Fatal(err)
	}
	return root
}

func fakeComponentOf(mode string) Component {
	const name = "fake"
	return Component{
		Name: name, Tool: fakeTool, Binary: "fake-component",
		Ports:   []string{"http"},
		Environ: func(*Env) []string { return []string{fakeComponentEnv + "=" + mode} },
		Args:    func(e *Env) []string { return []string{e.Addr(name, "http")} },
		Ready: func(ctx context.Context, e *Env) error {
			body, err := readyGet(ctx, http.DefaultClient, "http://"+e.Addr(name, "http")+"/ready")
			if err == nil && body != "fake-ready" {
				err = fmt.Errorf("%w: %q", ErrForeignServer, body)
			}
			return err
		},
	}
}

// countingRunner counts the processes it starts.
type countingRunner struct {
	process.Exec
	starts atomic.Int32
}

func (r *countingRunner) Start(c process.Cmd) (process.Process, error) {
	r.starts.Add(1)
	return r.Exec.Start(c)
}

// syncBuffer collects Up's progress lines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// takenPort listens on a port for the test's duration: with serve, as an
// HTTP server answering handler.
func takenPort(t *testing.T, handler http.Handler) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if handler != nil {
		srv := &http.Server{Handler: handler}
		go func() { _ = srv.Serve(l) }()
		t.Cleanup(func() { srv.Close() })
	} else {
		t.Cleanup(func() { l.Close() })
	}
	return l.Addr().(*net.TCPAddr).Port
}

// pickFirst hands out the given ports, then free ones.
func pickFirst(ports ...int) func() (int, error) {
	var mu sync.Mutex
	return func() (int, error) {
		mu.Lock()
		defer mu.Unlock()
		if len(ports) > 0 {
			p := ports[0]
			ports = ports[1:]
			return p, nil
		}
		return freePort()
	}
}

// A component whose port is taken by the time it binds is started again on
// fresh ports, however the conflict shows: it exits saying so, it runs on
// saying so, another server answers 404 where it would answer, or a twin
// answers exactly as it would.
func TestUpRestartsOnFreshPorts(t *testing.T) {
	notFound := http.NotFoundHandler()
	twin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "fake-ready") })
	tests := []struct {
		name    string
		mode    string
		handler http.Handler // of the program holding the port; nil: it only listens
	}{
		{"exits", "exit", nil},
		{"runs on, says so", "run", nil},
		{"runs on quietly, another server answers 404", "quiet", notFound},
		{"runs on quietly, a twin answers ready", "quiet", twin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			taken := takenPort(t, tt.handler)
			runner := &countingRunner{}
			var out syncBuffer
			opts := Options{
				Dir: filepath.Join(t.TempDir(), "cluster"), ToolsDir: fakeTools(t),
				Components: []Component{fakeComponentOf(tt.mode)}, Runner: runner, Progress: &out,
				StopWithParent: true, StopGrace: time.Second, ReadyTimeout: 20 * time.Second,
				pickPort: pickFirst(taken),
			}
			state, _, err := Up(context.Background(), opts)
			if err != nil {
				t.Fatalf("Up: %v\nprogress:\n%s", err, out.String())
			}
			t.Cleanup(func() { down(t, opts.Dir) })
			if got := runner.starts.Load(); got != 2 {
				t.Errorf("%d starts, want 2", got)
			}
			if !strings.Contains(out.String(), "starting again on fresh ports (2 of 3)") {
				t.Errorf("progress does not say the component starts again:\n%s", out.String())
			}
			port := state.Components[0].Ports["http"]
			if port == taken {
				t.Fatalf("the component kept the taken port %d", taken)
			}
			// What answers on the recorded port is the recorded process.
			resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/pid")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := strconv.Itoa(state.Components[0].Process.PID); string(b) != want {
				t.Errorf("pid %s answers on port %d, want the recorded pid %s", b, port, want)
			}
			log, _ := os.ReadFile(state.Components[0].Log)
			if !strings.Contains(string(log), "prowctl: ") {
				t.Errorf("the log does not mark the restart:\n%s", log)
			}
		})
	}
}

// Restarts are bounded: a component that never gets a free port fails Up
// after MaxStarts starts, naming the component and the conflict.
func TestUpGivesUpAfterMaxStarts(t *testing.T) {
	taken := []int{takenPort(t, nil), takenPort(t, nil), takenPort(t, nil), takenPort(t, nil)}
	runner := &countingRunner{}
	var out syncBuffer
	opts := Options{
		Dir: filepath.Join(t.TempDir(), "cluster"), ToolsDir: fakeTools(t),
		Components: []Component{fakeComponentOf("exit")}, Runner: runner, Progress: &out,
		StopWithParent: true, StopGrace: time.Second,
		pickPort: pickFirst(taken...),
	}
	_, _, err := Up(context.Background(), opts)
	var ce *ComponentError
	if !errors.As(err, &ce) || ce.Component != "fake" {
		t.Fatalf("Up: %v, want a ComponentError of fake", err)
	}
	// Whichever shows first: the component's own message or the listener
	// found on its port.
	if msg := err.Error(); !strings.Contains(msg, "started 3 times") ||
		!strings.Contains(msg, "address already in use") && !strings.Contains(msg, "is held by another program") {
		t.Errorf("error %q does not say the port is taken and how often the component started", err)
	}
	if got := runner.starts.Load(); got != 3 {
		t.Errorf("%d starts, want 3", got)
	}
	if _, err := os.Stat(filepath.Join(opts.Dir, stateFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed Up left %s", stateFile)
	}
}

// A component that fails for a reason of its own is not started again.
func TestUpDoesNotRestartABrokenComponent(t *testing.T) {
	runner := &countingRunner{}
	var out syncBuffer
	opts := Options{
		Dir: filepath.Join(t.TempDir(), "cluster"), ToolsDir: fakeTools(t),
		Components: []Component{fakeComponentOf("broken")}, Runner: runner, Progress: &out,
		StopWithParent: true, StopGrace: time.Second,
	}
	_, _, err := Up(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "fake: exited at start (exit status 3)") || !strings.Contains(err.Error(), "bad configuration") {
		t.Fatalf("Up: %v, want fake exited at start with its log's end", err)
	}
	if got := runner.starts.Load(); got != 1 {
		t.Errorf("%d starts, want 1", got)
	}
	if strings.Contains(out.String(), "fresh ports") {
		t.Errorf("progress speaks of fresh ports:\n%s", out.String())
	}
}

// One cluster never gets the same port twice, whatever the picker returns.
func TestPortPickerNoDuplicates(t *testing.T) {
	seq := []int{20001, 20001, 20002, 20001, 20003, 20002, 20004}
	i := 0
	p := newPortPicker(func() (int, error) { i++; return seq[i-1], nil })
	a, err := p.ports([]string{"client", "peer"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := p.ports([]string{"secure", "health"})
	if err != nil {
		t.Fatal(err)
	}
	got := []map[string]int{a, b}
	want := []map[string]int{{"client": 20001, "peer": 20002}, {"secure": 20003, "health": 20004}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ports (-want +got):\n%s", diff)
	}

	same := newPortPicker(func() (int, error) { return 20001, nil })
	if _, err := same.ports([]string{"a", "b"}); err == nil {
		t.Error("a picker that only returns one port handed out two")
	}
}

// A port this process listens on is the process's own; for another process
// it is held by another program.
func TestForeignListener(t *testing.T) {
	port := takenPort(t, nil)
	if got := foreignListener(os.Getpid(), map[string]int{"http": port}); got != "" {
		t.Errorf("foreignListener of our own port = %q, want none", got)
	}
	p, _, err := startProcess(process.Exec{}, process.Cmd{Name: "sleep", Args: []string{"60"}, DieWithParent: true}, filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.stop(context.Background(), time.Second) })
	want := fmt.Sprintf("port http (%d) is held by another program", port)
	if got := foreignListener(p.PID, map[string]int{"free": 1, "http": port}); got != want {
		t.Errorf("foreignListener of sleep = %q, want %q", got, want)
	}
}

// A probed port can be probed and bound at once, while this process forks
// children, which hold a copy of every socket from fork until exec has
// closed it.
func TestProbePortWhileForking(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_ = process.Exec{}.Run(ctx, process.Cmd{Name: "true"})
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()
	port, err := probePort(0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if _, err := probePort(port); err != nil {
			t.Fatalf("probe %d of a port the previous probe freed: %v", i, err)
		}
	}
	for i := range 200 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Fatalf("listen %d on the port freePort picked: %v", i, err)
		}
		defer l.Close()
	}
}

// A readiness check tells an answer its component cannot give (another
// server on its port) from one that only says "not yet".
func TestReadyGetForeignServer(t *testing.T) {
	status := func(code int) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(code) })
	}
	plain := httptest.NewServer(status(http.StatusNotFound))
	defer plain.Close()
	busy := httptest.NewServer(status(http.StatusServiceUnavailable))
	defer busy.Close()
	ok := httptest.NewServer(status(http.StatusOK))
	defer ok.Close()
	// A server with a certificate of a cluster CA, which the client of
	// httptest's CA does not trust.
	p, err := newPKI(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(p.servingCert, p.servingKey)
	if err != nil {
		t.Fatal(err)
	}
	otherCA := httptest.NewUnstartedServer(status(http.StatusOK))
	otherCA.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	otherCA.StartTLS()
	defer otherCA.Close()
	ourCA := httptest.NewTLSServer(status(http.StatusOK))
	defer ourCA.Close()
	tests := []struct {
		name        string
		client      *http.Client
		url         string
		wantForeign bool
		wantErr     bool
	}{
		{"404", http.DefaultClient, plain.URL + "/healthz/ready", true, true},
		{"503", http.DefaultClient, busy.URL + "/healthz/ready", false, true},
		{"200", http.DefaultClient, ok.URL, false, false},
		{"certificate of another CA", ourCA.Client(), otherCA.URL, true, true},
		{"plain HTTP where TLS is spoken", ourCA.Client(), strings.Replace(ok.URL, "http:", "https:", 1), true, true},
		{"our CA", ourCA.Client(), ourCA.URL, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readyGet(context.Background(), tt.client, tt.url)
			if (err != nil) != tt.wantErr || errors.Is(err, ErrForeignServer) != tt.wantForeign {
				t.Errorf("readyGet = %v; want error %v, foreign %v", err, tt.wantErr, tt.wantForeign)
			}
		})
	}
}

// Plank's readiness: Prow's health server answers /healthz at once and
// /healthz/ready only after the controllers synced, 404 before. That 404 is
// plank starting, not another server; a server that does not answer
// /healthz with "OK" is another server.
func TestPlankReady(t *testing.T) {
	plank := func(ready bool) http.Handler {
		mux := http.NewServeMux()
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "OK") })
		if ready {
			mux.HandleFunc("/healthz/ready", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "OK") })
		}
		return mux
	}
	for _, tt := range []struct {
		name                 string
		handler              http.Handler
		wantErr, wantForeign bool
	}{
		{"plank starting", plank(false), true, false},
		{"plank ready", plank(true), false, false},
		{"another server", http.NotFoundHandler(), true, true},
		{"another server that says ready everywhere", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "ready") }), true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			port := srv.Listener.Addr().(*net.TCPAddr).Port
			env := &Env{Ports: map[string]map[string]int{PlankName: {"health": port}}}
			err := plankComponent().Ready(context.Background(), env)
			if (err != nil) != tt.wantErr || errors.Is(err, ErrForeignServer) != tt.wantForeign {
				t.Errorf("Ready = %v; want error %v, foreign %v", err, tt.wantErr, tt.wantForeign)
			}
		})
	}
}

// The labels the simulated node acts on are the ones the package exports.
func TestKwokStagesUseSimulateLabels(t *testing.T) {
	for _, want := range []string{SimulateResultLabel, SimulateFailure, SimulateDurationAnnotation} {
		if !strings.Contains(string(kwokStages), want) {
			t.Errorf("kwok_stages.yaml does not mention %q", want)
		}
	}
}
