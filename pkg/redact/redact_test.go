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

func TestMasker(t *testing.T) {
	m := NewMasker([][]byte{
		[]byte("hunter2-token\n"),
		[]byte("{\n  \"private_key\": \"-----BEGIN KEY-----abc\"\n}\n"),
		[]byte("hunter2"),
		nil,
	})
	for _, tc := range []struct{ in, want string }{
		{"token is hunter2-token.", "token is ***."},
		{"short one hunter2 here", "short one *** here"},
		// A multi-line value, printed a line at a time: the lines long
		// enough are hidden, the braces are not.
		{"  \"private_key\": \"-----BEGIN KEY-----abc\"", "  ***"},
		{"{", "{"},
		{"nothing secret", "nothing secret"},
	} {
		if got := m.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var nilMasker *Masker
	if got := nilMasker.String("hunter2"); got != "hunter2" {
		t.Errorf("a nil Masker changed %q", got)
	}
}

// A value split between writes, as a streamed log splits it, is still
// hidden; what ends without a newline comes out at Flush.
func TestMaskWriter(t *testing.T) {
	var out bytes.Buffer
	w := NewMasker([][]byte{[]byte("s3cr3t-value")}).Writer(&out)
	for _, chunk := range []string{"line one s3c", "r3t-val", "ue end\nline two\npartial s3cr3t-v", "alue"} {
		if n, err := w.Write([]byte(chunk)); err != nil || n != len(chunk) {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	if got, want := out.String(), "line one *** end\nline two\n"; got != want {
		t.Errorf("before Flush: %q, want %q", got, want)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "line one *** end\nline two\npartial ***"; got != want {
		t.Errorf("after Flush: %q, want %q", got, want)
	}
	// A log with no newline at all is not held forever.
	out.Reset()
	w.Write(bytes.Repeat([]byte("x"), maxHeld))
	if out.Len() != maxHeld {
		t.Errorf("%d bytes out of a %d-byte line without newline", out.Len(), maxHeld)
	}
}
