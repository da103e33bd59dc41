package prowjob

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestJobURL(t *testing.T) {
	pj := newPJ("a", "")
	pj.Spec.Job = "pull tf k8s&x"
	for _, tc := range []struct{ name, deck, status, want string }{
		{"no deck", "", "", ""},
		{"list until plank sets the url", "http://127.0.0.1:9/", "", "http://127.0.0.1:9/?job=pull+tf+k8s%26x"},
		{"status url wins", "http://127.0.0.1:9", "http://127.0.0.1:9/view/gs/b/logs/j/1", "http://127.0.0.1:9/view/gs/b/logs/j/1"},
	} {
		c := &Client{DeckURL: tc.deck}
		p := pj.DeepCopy()
		p.Status.URL = tc.status
		if got := c.JobURL(p); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

func TestSubmitPrintsDeck(t *testing.T) {
	c, _, _ := fakeClient()
	c.DeckURL = "http://127.0.0.1:9/"
	var out bytes.Buffer
	if _, err := Submit(context.Background(), c, newPJ("a", ""), SubmitOptions{FollowOptions: FollowOptions{Out: &out}}); err != nil {
		t.Fatal(err)
	}
	want := "prowjob.prow.k8s.io/a created in namespace prow of context test (job pull-unit)\n" +
		"Deck: http://127.0.0.1:9/?job=pull-unit\n" +
		"follow it with: prowctl watch a --context test -n prow\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}
