package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeLocal records calls; running says whether a cluster runs already.
type fakeLocal struct {
	running bool
	err     error
	calls   []string
}

func (f *fakeLocal) Up(_ context.Context, dir, prowConfig, node string, _ io.Writer) (LocalUp, error) {
	f.calls = append(f.calls, fmt.Sprintf("up %s %s %s", dir, prowConfig, node))
	if f.err != nil {
		return LocalUp{}, f.err
	}
	started := !f.running
	f.running = true
	return LocalUp{Kubeconfig: dir + "/kubeconfig", Started: started, Registry: Registry{Push: "127.0.0.1:5000", Pull: "10.88.0.1:5000"}}, nil
}

func (f *fakeLocal) Down(_ context.Context, dir string, _ io.Writer) error {
	f.calls = append(f.calls, "down "+dir)
	f.running = false
	return nil
}

func TestLocal(t *testing.T) {
	for _, tc := range []struct {
		name        string
		fake        *fakeLocal
		wantCreated bool
		wantErr     string
		wantCalls   []string
	}{
		{"started by the run, stopped by it", &fakeLocal{}, true, "", []string{"up /c /p real", "down /c"}},
		{"running before, left running", &fakeLocal{running: true}, false, "", []string{"up /c /p real"}},
		{"failed start is not the run's", &fakeLocal{err: errors.New("kube-apiserver: missing, run make tools")}, false, "local: start cluster in /c: kube-apiserver: missing, run make tools", []string{"up /c /p real"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := Local{Dir: "/c", ProwConfig: "/p", Node: "real", Cluster: tc.fake}
			c, err := l.Up(context.Background(), request(t.TempDir()))
			if fmt.Sprint(err) != tc.wantErr && !(err == nil && tc.wantErr == "") {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			if c.Created != tc.wantCreated || c.Extra["dir"] != "/c" {
				t.Errorf("cluster %+v: want Created %v in /c", c, tc.wantCreated)
			}
			if want := (Registry{Push: "127.0.0.1:5000", Pull: "10.88.0.1:5000"}); tc.wantErr == "" && c.Registry != want {
				t.Errorf("registry %+v, want the cluster's %+v", c.Registry, want)
			}
			if err := (Local{Cluster: tc.fake}).Down(context.Background(), Env{}, c); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.wantCalls, tc.fake.calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}
