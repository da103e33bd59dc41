package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/prowctl/prowctl/pkg/process"
)

func TestName(t *testing.T) {
	for _, tc := range []struct {
		job, build string
		want       string
	}{
		{"tf-k8s-e2e", "42", "e2e-tf-k8s-e2e-42"},
		{"pull-TF_k8s.e2e", "1", "e2e-pull-tf-k8s-e2e-1"},
		// Prow build ids are 19 digits: cut the job, keep runs apart.
		{"periodic-tf-k8s-e2e-gke", "1793651234567890123", "e2e-periodic-tf-k8s-e2e-gke-179-1dad9cf4"},
		{"periodic-tf-k8s-e2e-gke", "1793651234567890124", "e2e-periodic-tf-k8s-e2e-gke-179-77880b87"},
	} {
		got := Name(tc.job, tc.build, MaxNameLen)
		if got != tc.want {
			t.Errorf("Name(%q, %q) = %q, want %q", tc.job, tc.build, got, tc.want)
		}
		if len(got) > MaxNameLen {
			t.Errorf("Name(%q, %q) = %q: %d characters, more than %d", tc.job, tc.build, got, len(got), MaxNameLen)
		}
	}
}

func request(dir string) Request {
	return Request{
		Env:   Env{Dir: dir, Environ: []string{"PATH=/bin"}, Log: io.Discard},
		Name:  "e2e-tf-k8s-42",
		Job:   "Pull-TF.k8s",
		Build: "42",
	}
}

func TestGKEUpDown(t *testing.T) {
	dir := t.TempDir()
	runner := &process.Recorder{}
	g := GKE{Project: "proj", Zone: "us-central1-a", NumNodes: 3, MachineType: "n1-standard-8", Version: "1.28", ExtraArgs: []string{"--enable-ip-alias"}, Runner: runner}
	c, err := g.Up(context.Background(), request(dir))
	if err != nil {
		t.Fatal(err)
	}
	want := Cluster{
		Provider: "gke", Name: "e2e-tf-k8s-42", Kubeconfig: filepath.Join(dir, "kubeconfig"), Created: true,
		Extra: map[string]string{"project": "proj", "zone": "us-central1-a", "region": ""},
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("cluster (-want +got):\n%s", diff)
	}
	// Down reads project and zone from the recorded cluster, not from g.
	if err := (GKE{Runner: runner}).Down(context.Background(), Env{Dir: dir}, c); err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{
		"gcloud container clusters create e2e-tf-k8s-42 --project=proj --zone=us-central1-a --num-nodes=3 --machine-type=n1-standard-8 --cluster-version=1.28 --labels=created-by=prowctl,job=pull-tf-k8s,build=42 --enable-ip-alias --quiet",
		"gcloud container clusters get-credentials e2e-tf-k8s-42 --project=proj --zone=us-central1-a",
		"gcloud container clusters delete e2e-tf-k8s-42 --project=proj --zone=us-central1-a --quiet",
	}
	if diff := cmp.Diff(wantCalls, runner.Calls()); diff != "" {
		t.Errorf("gcloud calls (-want +got):\n%s", diff)
	}
	for _, cmd := range runner.Cmds() {
		if got := cmd.Env[len(cmd.Env)-1]; got != "KUBECONFIG="+filepath.Join(dir, "kubeconfig") {
			t.Errorf("%s: last env %q, want KUBECONFIG in the private dir", cmd, got)
		}
	}
}

func TestGKERegion(t *testing.T) {
	runner := &process.Recorder{}
	if _, err := (GKE{Project: "p", Region: "europe-west1", Runner: runner}).Up(context.Background(), request(t.TempDir())); err != nil {
		t.Fatal(err)
	}
	want := "gcloud container clusters create e2e-tf-k8s-42 --project=p --region=europe-west1 --labels=created-by=prowctl,job=pull-tf-k8s,build=42 --quiet"
	if got := runner.Calls()[0]; got != want {
		t.Errorf("create:\n got %s\nwant %s", got, want)
	}
}

func TestGKEFailedCreateIsStillTheRuns(t *testing.T) {
	runner := &process.Recorder{Fn: func(_ context.Context, c process.Cmd) error {
		if c.Args[2] == "create" {
			fmt.Fprintln(c.Stderr, "ERROR: quota exceeded")
			return errors.New("exit status 1")
		}
		return nil
	}}
	c, err := (GKE{Project: "p", Zone: "z", Runner: runner}).Up(context.Background(), request(t.TempDir()))
	if err == nil || !strings.Contains(err.Error(), "gke: create cluster e2e-tf-k8s-42: exit status 1") {
		t.Errorf("err = %v", err)
	}
	if !c.Created || c.Name != "e2e-tf-k8s-42" {
		t.Errorf("cluster %+v: want it marked Created so teardown deletes what is left", c)
	}
	if len(runner.Calls()) != 1 {
		t.Errorf("calls %q: want no get-credentials after a failed create", runner.Calls())
	}
}

func TestGKEDown(t *testing.T) {
	created := Cluster{Provider: "gke", Name: "c", Created: true, Extra: map[string]string{"project": "p", "zone": "z"}}
	for _, tc := range []struct {
		name      string
		cluster   Cluster
		stderr    string
		fail      bool
		wantCalls int
		wantErr   string
	}{
		{"not created by the run", Cluster{Provider: "gke", Name: "c"}, "", false, 0, ""},
		{"deleted", created, "", false, 1, ""},
		{"already gone", created, "ERROR: (gcloud.container.clusters.delete) ResponseError: code=404, message=Not found: projects/p/zones/z/clusters/c.\nNOT_FOUND", true, 1, ""},
		{"fails", created, "ERROR: permission denied", true, 1, "gke: delete cluster c: exit status 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			runner := &process.Recorder{Fn: func(_ context.Context, c process.Cmd) error {
				fmt.Fprint(c.Stderr, tc.stderr)
				if tc.fail {
					return errors.New("exit status 1")
				}
				return nil
			}}
			err := (GKE{Runner: runner}).Down(context.Background(), Env{Dir: t.TempDir()}, tc.cluster)
			if got := fmt.Sprint(err); (tc.wantErr == "" && err != nil) || (tc.wantErr != "" && got != tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			if len(runner.Calls()) != tc.wantCalls {
				t.Errorf("calls %q, want %d", runner.Calls(), tc.wantCalls)
			}
		})
	}
}

func TestGKENeedsProjectAndOneLocation(t *testing.T) {
	for _, g := range []GKE{{Zone: "z"}, {Project: "p"}, {Project: "p", Zone: "z", Region: "r"}} {
		if _, err := g.Up(context.Background(), request(t.TempDir())); err == nil {
			t.Errorf("%+v: no error", g)
		}
	}
}

func TestKindUpDown(t *testing.T) {
	dir := t.TempDir()
	runner := &process.Recorder{}
	k := Kind{Image: "kindest/node:v1.28.0", Config: "kind.yaml", Wait: "5m", Runner: runner}
	c, err := k.Up(context.Background(), request(dir))
	if err != nil {
		t.Fatal(err)
	}
	kc := filepath.Join(dir, "kubeconfig")
	want := Cluster{Provider: "kind", Name: "e2e-tf-k8s-42", Kubeconfig: kc, Context: "kind-e2e-tf-k8s-42", Created: true}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("cluster (-want +got):\n%s", diff)
	}
	if err := (Kind{Runner: runner}).Down(context.Background(), Env{}, c); err != nil {
		t.Fatal(err)
	}
	if err := (Kind{Runner: runner}).Down(context.Background(), Env{}, Cluster{Name: "not-ours"}); err != nil {
		t.Fatal(err)
	}
	wantCalls := []string{
		"kind create cluster --name e2e-tf-k8s-42 --kubeconfig " + kc + " --image kindest/node:v1.28.0 --config kind.yaml --wait 5m",
		"kind delete cluster --name e2e-tf-k8s-42 --kubeconfig " + kc,
	}
	if diff := cmp.Diff(wantCalls, runner.Calls()); diff != "" {
		t.Errorf("kind calls (-want +got):\n%s", diff)
	}
}

func writeKubeconfig(t *testing.T, path string, current string, contexts ...string) {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	for _, c := range contexts {
		cfg.Clusters["cl-"+c] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1"}
		cfg.AuthInfos["u-"+c] = &clientcmdapi.AuthInfo{Token: "secret"}
		cfg.Contexts[c] = &clientcmdapi.Context{Cluster: "cl-" + c, AuthInfo: "u-" + c}
	}
	cfg.CurrentContext = current
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
}

func TestKubeconfig(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	writeKubeconfig(t, a, "one", "one", "two")
	writeKubeconfig(t, b, "", "three")
	for _, tc := range []struct {
		name    string
		k       Kubeconfig
		environ []string
		want    Cluster
		wantErr string
	}{
		{"explicit path, current context", Kubeconfig{Path: a}, nil, Cluster{Provider: "kubeconfig", Name: "cl-one", Kubeconfig: a, Context: "one"}, ""},
		{"named context", Kubeconfig{Path: a, Context: "two"}, nil, Cluster{Provider: "kubeconfig", Name: "cl-two", Kubeconfig: a, Context: "two"}, ""},
		{"from KUBECONFIG", Kubeconfig{}, []string{"KUBECONFIG=" + a}, Cluster{Provider: "kubeconfig", Name: "cl-one", Kubeconfig: a, Context: "one"}, ""},
		{"merged KUBECONFIG", Kubeconfig{Context: "three"}, []string{"KUBECONFIG=" + b + ":" + a}, Cluster{Provider: "kubeconfig", Name: "cl-three", Kubeconfig: filepath.Join(dir, "work", "kubeconfig"), Context: "three"}, ""},
		{"missing context", Kubeconfig{Path: a, Context: "nope"}, nil, Cluster{}, `kubeconfig: no context "nope" in ` + a},
		{"no current context", Kubeconfig{Path: b}, nil, Cluster{}, `kubeconfig: no context "" in ` + b},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := request(filepath.Join(dir, "work"))
			req.Environ = tc.environ
			got, err := tc.k.Up(context.Background(), req)
			if fmt.Sprint(err) != tc.wantErr && !(err == nil && tc.wantErr == "") {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("cluster (-want +got):\n%s", diff)
			}
			if err := tc.k.Down(context.Background(), req.Env, got); err != nil {
				t.Errorf("Down: %v", err)
			}
		})
	}
	if _, err := os.Stat(a); err != nil {
		t.Errorf("Down touched the kubeconfig: %v", err)
	}
}
