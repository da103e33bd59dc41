package cluster

import (
	"os"
	"os/user"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The secrets the cluster stands in for: the decoration's GCS credentials
// and every secret a preset mounts, each once.
func TestDecorationDefaultsSecrets(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config.yaml")
	cfg := `plank:
  default_decoration_config_entries:
  - config:
      gcs_configuration: {bucket: gs://b1}
      gcs_credentials_secret: gcs-credentials
  - config:
      gcs_credentials_secret: gcs-credentials
presets:
- labels: {preset-service-account: "true"}
  volumes:
  - name: service
    secret: {secretName: service-account}
  - name: cache
    emptyDir: {}
- labels: {preset-github: "true"}
  volumes:
  - name: token
    secret: {secretName: github-token}
`
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := readDecorationDefaults(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"gcs-credentials", "service-account", "github-token"}, d.Secrets); diff != "" {
		t.Errorf("secrets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"b1"}, d.Buckets); diff != "" {
		t.Errorf("buckets (-want +got):\n%s", diff)
	}
}

func TestGoModCache(t *testing.T) {
	home, _ := os.UserHomeDir()
	cases := []struct {
		name                     string
		gomodcache, gopath, sudo string
		want                     string
	}{
		{"GOMODCACHE", "/m", "/p", "", "/m"},
		{"GOPATH's first entry", "", "/p1:/p2", "", "/p1/pkg/mod"},
		{"the go command's default", "", "", "", filepath.Join(home, "go", "pkg", "mod")},
		{"under sudo, an unknown user", "", "", "no-such-user-prowctl", filepath.Join(home, "go", "pkg", "mod")},
	}
	// As root under sudo: the invoking user's home.
	if u, err := user.Lookup("daemon"); err == nil && os.Geteuid() == 0 {
		cases = append(cases, struct {
			name                     string
			gomodcache, gopath, sudo string
			want                     string
		}{"under sudo", "", "", "daemon", filepath.Join(u.HomeDir, "go", "pkg", "mod")})
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMODCACHE", tc.gomodcache)
			t.Setenv("GOPATH", tc.gopath)
			t.Setenv("SUDO_USER", tc.sudo)
			if got := GoModCache(); got != tc.want {
				t.Errorf("GoModCache() = %q, want %q", got, tc.want)
			}
		})
	}
}
