package e2e

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

type testSettings struct {
	Image   string            `yaml:"image"`
	Timeout Duration          `yaml:"timeout"`
	Labels  map[string]string `yaml:"labels"`
	Charts  []struct {
		Path string `yaml:"path"`
	} `yaml:"charts"`
}

func TestDecodeSettings(t *testing.T) {
	tests := []struct {
		name, in string
		want     testSettings
		wantErr  string
	}{
		{name: "ok", in: "image: x\ntimeout: 5m\ncharts:\n- path: a\n",
			want: testSettings{Image: "x", Timeout: Duration(5 * time.Minute), Charts: []struct {
				Path string `yaml:"path"`
			}{{Path: "a"}}}},
		{name: "unknown top field", in: "image: x\nimagee: y\n",
			wantErr: "2:1: with.imagee: unknown field; did you mean \"image\"? (known: charts, image, labels, timeout)"},
		{name: "unknown nested field", in: "charts:\n- path: a\n- pth: b\n",
			wantErr: "3:3: with.charts[1].pth: unknown field; did you mean \"path\"? (known: path)"},
		{name: "bad duration", in: "timeout: 5 minutes\n",
			wantErr: "1:10: with.timeout: bad duration \"5 minutes\" (want e.g. 90s, 5m, 1h30m)"},
		{name: "not a mapping", in: "- a\n", wantErr: "1:1: with: want a mapping, got a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tt.in), &doc); err != nil {
				t.Fatal(err)
			}
			var got testSettings
			err := DecodeSettings(doc.Content[0], &got)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tt.wantErr {
				t.Fatalf("error = %q, want %q", gotErr, tt.wantErr)
			}
			if d := cmp.Diff(tt.want, got); err == nil && d != "" {
				t.Errorf("settings (-want +got):\n%s", d)
			}
		})
	}
}
