// Package redact hides credentials in text meant for people: the user and
// password of a URL (https://user:password@host), bearer and basic
// Authorization values, and secret-looking query values (?token=…). Every
// message prowctl prints goes through String, so a kubeconfig whose server
// URL carries credentials never shows them in an error.
package redact

import (
	"io"
	"regexp"
	"strings"
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
