// Package redact hides credentials in text meant for people: the user and
// password of a URL (https://user:password@host), bearer and basic
// Authorization values, and secret-looking query values (?token=…). Every
// message prowctl prints goes through String, so a kubeconfig whose server
// URL carries credentials never shows them in an error.
package redact

import (
	"bytes"
	"io"
	"regexp"
	"sort"
	"strings"
	"sync"
)

// Mask replaces what is hidden.
const Mask = "REDACTED"

var (
	// userinfo is the user[:password]@ of a URL: after "scheme://", up to
	// the last "@" before any "/", "?", "#" or space, as URL parsers split
	// it: a password may hold a raw "@".
	userinfo = regexp.MustCompile(`([a-zA-Z][a-zA-Z0-9+.-]*://)[^/?#\s"'<>]+@`)
	// authHeader is an Authorization header's value: its scheme and credential.
	authHeader = regexp.MustCompile(`(?i)(authorization["']?\s*[:=]\s*["']?(?:bearer|basic|token)?\s*)[A-Za-z0-9\-._~+/]+=*`)
	// bearer is a bare bearer token; it must look like one (a digit or a
	// token punctuation mark), so prose such as "a bearer token" stays.
	bearer = regexp.MustCompile(`(?i)\b(bearer\s+)([A-Za-z0-9\-._~+/]*[0-9\-._~+/][A-Za-z0-9\-._~+/]*=*)`)
	// query is a query or form parameter whose name says it is secret.
	query = regexp.MustCompile(`(?i)([?&;](?:access_token|id_token|refresh_token|token|password|passwd|pwd|secret|client_secret|api_key|apikey|key|sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|x-goog-credential|code)=)[A-Za-z0-9\-._~%+/=!$*]*`)
)

// String returns s with every credential it recognises replaced by Mask.
func String(s string) string {
	if !strings.ContainsAny(s, "@=:") && !strings.Contains(strings.ToLower(s), "bearer") {
		return s
	}
	s = userinfo.ReplaceAllString(s, "${1}"+Mask+"@")
	s = authHeader.ReplaceAllString(s, "${1}"+Mask)
	s = bearer.ReplaceAllString(s, "${1}"+Mask)
	s = query.ReplaceAllString(s, "${1}"+Mask)
	return s
}

// Writer redacts each Write to w. Messages are written whole by one call
// (fmt.Fprintf), so a credential is never split between two writes.
func Writer(w io.Writer) io.Writer { return &writer{w: w} }

type writer struct{ w io.Writer }

func (r *writer) Write(p []byte) (int, error) {
	s := String(string(p))
	if _, err := io.WriteString(r.w, s); err != nil {
		return 0, err
	}
	// The caller's bytes were all handled, even when redaction changed
	// their length.
	return len(p), nil
}

// SecretMask replaces a secret's value, as act and GitHub Actions print it.
const SecretMask = "***"

// Masker hides known secret values (what a job was given) in everything
// written through its writers. A multi-line value is hidden line by line
// too: a log prints it a line at a time.
type Masker struct {
	values []string
}

// minMasked is the shortest piece of a value masked on its own: shorter
// lines of a multi-line value ("{", "}") would mask half the log.
const minMasked = 4

// NewMasker masks values; empty values are ignored.
func NewMasker(values [][]byte) *Masker {
	m := &Masker{}
	seen := map[string]bool{}
	add := func(v string) {
		if v != "" && !seen[v] {
			seen[v] = true
			m.values = append(m.values, v)
		}
	}
	for _, v := range values {
		s := strings.TrimRight(string(v), "\r\n")
		add(s)
		if strings.Contains(s, "\n") {
			for _, line := range strings.Split(s, "\n") {
				if line = strings.TrimSpace(line); len(line) >= minMasked {
					add(line)
				}
			}
		}
	}
	// Longest first: a value that contains another is hidden whole.
	sort.Slice(m.values, func(i, j int) bool { return len(m.values[i]) > len(m.values[j]) })
	return m
}

// String returns s with every value replaced by SecretMask.
func (m *Masker) String(s string) string {
	if m == nil {
		return s
	}
	for _, v := range m.values {
		s = strings.ReplaceAll(s, v, SecretMask)
	}
	return s
}

// Writer masks what is written to w. It holds back an unfinished line
// (a value may be split between two writes of a streamed log) until its
// newline, Flush, or maxHeld bytes; it is safe for concurrent use.
func (m *Masker) Writer(w io.Writer) *MaskWriter { return &MaskWriter{m: m, w: w} }

// maxHeld bounds an unfinished line held back: a log without newlines
// still shows.
const maxHeld = 64 * 1024

// MaskWriter is a Masker's writer.
type MaskWriter struct {
	m    *Masker
	w    io.Writer
	mu   sync.Mutex
	held []byte
}

func (mw *MaskWriter) Write(p []byte) (int, error) {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	mw.held = append(mw.held, p...)
	end := bytes.LastIndexByte(mw.held, '\n') + 1
	if end == 0 && len(mw.held) < maxHeld {
		return len(p), nil
	}
	if end == 0 {
		end = len(mw.held)
	}
	out := mw.m.String(string(mw.held[:end]))
	mw.held = append(mw.held[:0], mw.held[end:]...)
	if _, err := io.WriteString(mw.w, out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush writes what is held back.
func (mw *MaskWriter) Flush() error {
	mw.mu.Lock()
	defer mw.mu.Unlock()
	if len(mw.held) == 0 {
		return nil
	}
	out := mw.m.String(string(mw.held))
	mw.held = mw.held[:0]
	_, err := io.WriteString(mw.w, out)
	return err
}
