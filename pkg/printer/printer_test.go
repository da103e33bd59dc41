package printer

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPrint(t *testing.T) {
	v := struct {
		Kind  string            `json:"kind"`
		Items []int             `json:"items"`
		Meta  map[string]string `json:"metadata"`
	}{"List", []int{1, 2}, map[string]string{"b": "2", "a": "1"}}
	for _, tc := range []struct{ format, want string }{
		{"json", "{\n  \"kind\": \"List\",\n  \"items\": [\n    1,\n    2\n  ],\n  \"metadata\": {\n    \"a\": \"1\",\n    \"b\": \"2\"\n  }\n}\n"},
		{"yaml", "items:\n- 1\n- 2\nkind: List\nmetadata:\n  a: \"1\"\n  b: \"2\"\n"},
	} {
		var buf bytes.Buffer
		if err := Print(&buf, v, tc.format); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, buf.String()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.format, diff)
		}
	}
	if err := Print(&bytes.Buffer{}, v, "xml"); err == nil || err.Error() != `unknown output format "xml": use yaml or json` {
		t.Errorf("xml: %v", err)
	}
	if err := Check("table"); err == nil || err.Error() != "-o table: use yaml or json" {
		t.Errorf("Check(table) = %v", err)
	}
}
