package main

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	prowapi "sigs.k8s.io/prow/pkg/apis/prowjobs/v1"

	"github.com/prowctl/prowctl/pkg/iostreams"
	"github.com/prowctl/prowctl/pkg/process"
)

func TestOpenOnFakeCluster(t *testing.T) {
	started := fakePJ("started-1", "ci-a", prowapi.PendingState, fakeNow)
	started.Status.URL = "http://127.0.0.1:9/view/gs/b/logs/ci-a/1"
	hostile := fakePJ("hostile-1", "ci-a", prowapi.PendingState, fakeNow)
	hostile.Status.URL = "file:///etc/passwd"
	queued := fakePJ("queued-1", "ci-b", prowapi.TriggeredState, fakeNow)
	desktop := map[string]string{"DISPLAY": ":0"}
	for _, tc := range []struct {
		name   string
		deck   string
		env    map[string]string
		noOpen bool // xdg-open is not installed
		args   []string
		code   int
		out    string
		errOut string
		opened []string
	}{
		{name: "deck", deck: "http://127.0.0.1:9/", env: desktop, args: nil,
			out: "http://127.0.0.1:9/\n", opened: []string{"/usr/bin/xdg-open http://127.0.0.1:9/"}},
		{name: "started job: its spyglass page", deck: "http://127.0.0.1:9/", env: desktop, args: []string{"started-1"},
			out: started.Status.URL + "\n", opened: []string{"/usr/bin/xdg-open " + started.Status.URL}},
		{name: "queued job: the job list", deck: "http://127.0.0.1:9/", env: desktop, args: []string{"queued-1"},
			out: "http://127.0.0.1:9/?job=ci-b\n", opened: []string{"/usr/bin/xdg-open http://127.0.0.1:9/?job=ci-b"}},
		{name: "no desktop: printed only", deck: "http://127.0.0.1:9/", args: nil,
			out: "http://127.0.0.1:9/\n"},
		{name: "no xdg-open", deck: "http://127.0.0.1:9/", env: desktop, noOpen: true, args: nil,
			out: "http://127.0.0.1:9/\n"},
		{name: "--no-browser", deck: "http://127.0.0.1:9/", env: desktop, args: []string{"--no-browser"},
			out: "http://127.0.0.1:9/\n"},
		{name: "a status.url that is no web address is never opened", deck: "http://127.0.0.1:9/", env: desktop, args: []string{"hostile-1"},
			out: "file:///etc/passwd\n", errOut: "not opened in a browser: file:///etc/passwd is not an http(s) address\n"},
		{name: "no deck on the cluster", env: desktop, args: nil, code: 1,
			errOut: "prowctl: context fake records no Deck: it is not a personal cluster of prowctl cluster up, or one made with --no-deck\n"},
		{name: "no deck, queued job", env: desktop, args: []string{"queued-1"}, code: 1,
			errOut: "prowctl: ProwJob queued-1 has no status.url yet and context fake records no Deck\n"},
		{name: "no deck, started job", env: desktop, args: []string{"started-1"},
			out: started.Status.URL + "\n", opened: []string{"/usr/bin/xdg-open " + started.Status.URL}},
		{name: "missing job", deck: "http://127.0.0.1:9/", args: []string{"nope"}, code: 1,
			errOut: "prowctl: no ProwJob nope in namespace test-pods of context fake\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := newFakeCluster(started.DeepCopy(), hostile.DeepCopy(), queued.DeepCopy())
			fc.deck = tc.deck
			rec := &process.Recorder{}
			streams, _, out, errOut := iostreams.Test()
			f := fc.factory(streams)
			root := newRootCmd(f)
			for _, c := range root.Commands() {
				if c.Name() == "open" {
					root.RemoveCommand(c)
				}
			}
			root.AddCommand(newCmdOpen(f, func(ctx context.Context, o *OpenOptions) error {
				o.Runner = rec
				o.Getenv = func(k string) string { return tc.env[k] }
				o.LookPath = func(name string) (string, error) {
					if tc.noOpen {
						return "", errors.New("not found")
					}
					return "/usr/bin/" + name, nil
				}
				return runOpen(ctx, o)
			}))
			root.SetArgs(append([]string{"open", "-n", "test-pods"}, tc.args...))
			code := execute(context.Background(), root, nil, streams.ErrOut)
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if diff := cmp.Diff(tc.out, out.String()); diff != "" {
				t.Errorf("stdout (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.errOut, errOut.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.opened, rec.Calls(), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("opened (-want +got):\n%s", diff)
			}
		})
	}
}
