package jobs

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	prowconfig "sigs.k8s.io/prow/pkg/config"
	sigsyaml "sigs.k8s.io/yaml"
)

// ownedJobs are the spec's jobs as Prow reads them from a config file.
type ownedJobs struct {
	Presubmits  []prowconfig.Presubmit
	Postsubmits []prowconfig.Postsubmit
	Periodics   []prowconfig.Periodic
}

func readOwned(t *testing.T, s *Spec, data []byte) ownedJobs {
	t.Helper()
	var jc prowconfig.JobConfig
	if err := sigsyaml.Unmarshal(data, &jc); err != nil {
		t.Fatalf("Prow cannot read the file: %v", err)
	}
	got := ownedJobs{Presubmits: jc.PresubmitsStatic[s.Repo], Postsubmits: jc.PostsubmitsStatic[s.Repo]}
	for _, p := range jc.Periodics {
		var cloned []string
		for _, r := range p.ExtraRefs {
			cloned = append(cloned, r.Org+"/"+r.Repo)
		}
		if s.OwnsPeriodic(p.Name, cloned) {
			got.Periodics = append(got.Periodics, p)
		}
	}
	return got
}

// asYAML renders Prow's job structs for comparison (they hold compiled
// regexps that cmp cannot look into).
func asYAML(t *testing.T, v any) string {
	t.Helper()
	out, err := sigsyaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestUpdateInPlaceSharedConfig(t *testing.T) {
	s := loadRepoSpec(t)
	generated, err := Generate(s)
	if err != nil {
		t.Fatal(err)
	}
	wantJobs := readOwned(t, s, generated)
	for _, tc := range []struct {
		name string
		opts sharedConfigOptions
	}{
		{"sequences not indented", sharedConfigOptions{repos: 300, periodics: 250, seqIndent: 0}},
		{"sequences indented", sharedConfigOptions{repos: 300, periodics: 250, seqIndent: 2}},
		{"entries missing, not indented", sharedConfigOptions{repos: 200, periodics: 100, seqIndent: 0, ownedMissing: true}},
		{"entries missing, indented", sharedConfigOptions{repos: 200, periodics: 100, seqIndent: 2, ownedMissing: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := genSharedConfig(rand.New(rand.NewSource(int64(len(tc.name)))), s, tc.opts)
			in := c.input()
			if n := strings.Count(in, "\n"); n < 3000 {
				t.Fatalf("generated config has only %d lines", n)
			}
			out, err := UpdateInPlace([]byte(in), s)
			if err != nil {
				t.Fatal(err)
			}
			// Files like this one take the quick path, and it agrees with the
			// full parse.
			quick, err := updateInPlace([]byte(in), s, true)
			if err != nil {
				t.Fatalf("quick reading gave up: %v", err)
			}
			full, err := updateInPlace([]byte(in), s, false)
			if err != nil {
				t.Fatal(err)
			}
			if string(quick) != string(full) {
				t.Fatalf("quick reading and full parse disagree:\n%s", UnifiedDiff("full", "quick", full, quick, 3))
			}
			// Every byte outside the owned entries is unchanged, and the owned
			// entries are exactly the generated ones in the file's style.
			if want := c.expected(); string(out) != want {
				t.Fatalf("unexpected edit (expected -> got):\n%s", UnifiedDiff("expected", "got", []byte(want), out, 3))
			}
			// The entries are what Generate writes, as Prow reads them.
			if diff := cmp.Diff(asYAML(t, wantJobs), asYAML(t, readOwned(t, s, out))); diff != "" {
				t.Errorf("owned jobs differ from Generate's (-want +got):\n%s", diff)
			}
			again, err := UpdateInPlace(out, s)
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(out) {
				t.Errorf("second update changed the file:\n%s", UnifiedDiff("first", "second", out, again, 3))
			}
			// Prow loads the whole monolithic config: Prow config and jobs.
			path := filepath.Join(t.TempDir(), "config.yaml")
			if err := os.WriteFile(path, out, 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, err := prowconfig.Load(path, "", nil, "")
			if err != nil {
				t.Fatalf("Prow rejects the edited config: %v", err)
			}
			if len(cfg.PresubmitsStatic) != tc.opts.repos+1 {
				t.Errorf("Prow sees %d repositories with presubmits, want %d", len(cfg.PresubmitsStatic), tc.opts.repos+1)
			}
		})
	}
}
