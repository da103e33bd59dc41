package deckproxy

import "testing"

func TestRewrite(t *testing.T) {
	for in, want := range map[string]string{
		`<link href="https://fonts.googleapis.com/icon?family=Material+Icons">`:     `<link href="/prowctl/assets/material-icons/material-icons.css">`,
		`<link href="https://fonts.googleapis.com/css?family=Roboto:400,700">`:      `<link href="/prowctl/assets/roboto/roboto.css">`,
		`<script src="https://code.getmdl.io/1.3.0/material.min.js"></script>`:      `<script src="/prowctl/assets/mdl/material.min.js"></script>`,
		`<a href="https://storage.googleapis.com/b/logs/j/1/build-log.txt">raw</a>`: `<a href="/prowctl/gcs/b/logs/j/1/build-log.txt">raw</a>`,
		`<a href="https://example.com/x">`:                                          `<a href="https://example.com/x">`,
	} {
		if got := string(Rewrite([]byte(in))); got != want {
			t.Errorf("Rewrite(%q) = %q, want %q", in, got, want)
		}
	}
}
