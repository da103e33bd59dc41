// Command emushim starts one of Prow's pod utilities (initupload, sidecar)
// on the personal cluster's real node, where uploads go to a GCS emulator:
// it removes "gcs_credentials_file" from the utility's JSON options (the
// *_OPTIONS variables Prow's decoration sets) and execs the utility.
//
// Google's storage client reaches an emulator (STORAGE_EMULATOR_HOST, set by
// the image) only without credentials, and refuses to start when given a
// credentials file as well; Prow passes one whenever the decoration config
// names a credentials secret. Dropping it here lets a job and its ProwJob
// run unchanged. Standard library only: the image holds nothing else.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "emushim: usage: emushim UTILITY [ARGS...]")
		os.Exit(2)
	}
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if !strings.HasSuffix(k, "_OPTIONS") {
			continue
		}
		if out, ok := dropCredentials(v); ok {
			os.Setenv(k, out)
		}
	}
	err := syscall.Exec(os.Args[1], os.Args[1:], os.Environ())
	fmt.Fprintf(os.Stderr, "emushim: exec %s: %v\n", os.Args[1], err)
	os.Exit(1)
}

// dropCredentials removes every "gcs_credentials_file" from a JSON object,
// keeping numbers exactly as written.
func dropCredentials(s string) (string, bool) {
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return "", false
	}
	drop(v)
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return "", false
	}
	return strings.TrimSpace(b.String()), true
}

func drop(v any) {
	switch t := v.(type) {
	case map[string]any:
		delete(t, "gcs_credentials_file")
		for _, c := range t {
			drop(c)
		}
	case []any:
		for _, c := range t {
			drop(c)
		}
	}
}
