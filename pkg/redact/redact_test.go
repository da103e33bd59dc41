package redact

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestString(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"cannot reach https://alice:s3cret@10.0.0.1:6443 now", "cannot reach https://REDACTED@10.0.0.1:6443 now"},
		{`Get "https://bob@host/api": EOF`, `Get "https://REDACTED@host/api": EOF`},
		{`Get "https://u:p@ss@host/api": EOF`, `Get "https://REDACTED@host/api": EOF`},
		{"git clone http://x-token:ghp_abc@github.example/o/r.git", "git clone http://REDACTED@github.example/o/r.git"},
		{"https://host/path?token=abc123&page=2", "https://host/path?token=REDACTED&page=2"},
		{"context c (https://h:1/?token=q-t0k%2B): no answer", "context c (https://h:1/?token=REDACTED): no answer"},
		{"https://host/?page=2&access_token=abc#frag", "https://host/?page=2&access_token=REDACTED#frag"},
		{"gs://b/o?X-Goog-Signature=deadbeef&X-Goog-Expires=60", "gs://b/o?X-Goog-Signature=REDACTED&X-Goog-Expires=60"},
		{"Authorization: Bearer eyJhbGciOi.abc-def_ghi", "Authorization: Bearer REDACTED"},
		{"request failed (bearer abc.def-123)", "request failed (bearer REDACTED)"},
		{`{"Authorization": "token ghp_x1"}`, `{"Authorization": "token REDACTED"}`},
		{"authorization: basic dXNlcjpwYXNz==", "authorization: basic REDACTED"},
		// Not credentials: left alone.
		{"mailto alice@example.com", "mailto alice@example.com"},
		{"https://host/path@v1", "https://host/path@v1"},
		{"https://host/?page=2", "https://host/?page=2"},
		{"the basic rule", "the basic rule"},
		{"set a bearer token in the kubeconfig", "set a bearer token in the kubeconfig"},
		{"key: value", "key: value"},
	} {
		if diff := cmp.Diff(tc.want, String(tc.in)); diff != "" {
			t.Errorf("String(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestWriter(t *testing.T) {
	var buf bytes.Buffer
	w := Writer(&buf)
	msg := "lost https://u:p@127.0.0.1:1 (Bearer t0k)\n"
	n, err := fmt.Fprint(w, msg)
	if err != nil || n != len(msg) {
		t.Fatalf("wrote %d of %d: %v", n, len(msg), err)
	}
	if diff := cmp.Diff("lost https://REDACTED@127.0.0.1:1 (Bearer REDACTED)\n", buf.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
