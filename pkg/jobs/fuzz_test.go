package jobs

import (
	"errors"
	"math/rand"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

func FuzzParseSpec(f *testing.F) {
	repoSpec, err := os.ReadFile("../../config/tf-k8s.yaml")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{string(repoSpec), validSpec, "", "repo: [", "jobs:\n- name: x\n  type: periodic\n  interval: 8h\n", "a: &x 1\nb: *x\n", "jobs: !!binary aGVsbG8="} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec("fuzz.yaml", data)
		if err != nil {
			var pe *Error
			var pes Errors
			if !errors.As(err, &pe) && !errors.As(err, &pes) {
				t.Fatalf("error without a position: %v", err)
			}
			return
		}
		out, err := Generate(s)
		if err != nil {
			t.Fatalf("valid spec does not generate: %v", err)
		}
		var n yaml.Node
		if err := yaml.Unmarshal(out, &n); err != nil {
			t.Fatalf("generated file is not YAML: %v\n%s", err, out)
		}
	})
}

// FuzzUpdateInPlace edits arbitrary configs: an accepted edit is idempotent
// (editing a file with its own current entries changes nothing) and leaves
// the spec's entries as Generate writes them.
func FuzzUpdateInPlace(f *testing.F) {
	s, err := ParseSpec("tiny.yaml", []byte(validSpec))
	if err != nil {
		f.Fatal(err)
	}
	want := generic(f, mustGenerate(f, s))
	c := genSharedConfig(rand.New(rand.NewSource(1)), s, sharedConfigOptions{repos: 6, periodics: 4})
	for _, seed := range []string{c.input(), c.expected(), "", "periodics:\n", "presubmits: {}\npostsubmits:\n  a/b: []\n",
		"periodics:\n  - name: tf-k8s-periodic\n    args: |\n      # x\n\n  # c\n  - name: y\n",
		"presubmits:\n  tensorflow/k8s:\n  - name: a\n  \"x/y\": []\n# end"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkUpdateInPlace(t, s, want, data)
	})
}

// TestUpdateInPlaceMutations runs the fuzz property on seeded random
// mutations of shared configs, so every `go test` exercises it.
func TestUpdateInPlaceMutations(t *testing.T) {
	s, err := ParseSpec("tiny.yaml", []byte(validSpec))
	if err != nil {
		t.Fatal(err)
	}
	want := generic(t, mustGenerate(t, s))
	c := genSharedConfig(rand.New(rand.NewSource(1)), s, sharedConfigOptions{repos: 4, periodics: 3})
	seeds := []string{c.input(), c.expected(), "periodics:\n  - name: tf-k8s-periodic\n    args: |\n      # x\n\n  # c\n  - name: y\n"}
	quickOK := 0
	r := rand.New(rand.NewSource(2))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := 0; i < n; i++ {
		b := []byte(seeds[r.Intn(len(seeds))])
		for m := r.Intn(4); m >= 0 && len(b) > 0; m-- {
			p := r.Intn(len(b))
			switch r.Intn(3) {
			case 0:
				b[p] = "- :#\n &*'\"ab{}[]|>"[r.Intn(17)]
			case 1:
				b = append(b[:p], b[min(len(b), p+r.Intn(20)):]...)
			case 2:
				q := r.Intn(len(b))
				b = append(b[:p:p], append([]byte(string(b[q:min(len(b), q+r.Intn(40))])), b[p:]...)...)
			}
		}
		checkUpdateInPlace(t, s, want, b)
		if _, err := updateInPlace(b, s, true); err == nil {
			quickOK++
		}
	}
	// The comparison above only means something if the quick reading takes
	// most inputs rather than handing them all to the full parse.
	if quickOK < n/3 {
		t.Errorf("quick reading handled only %d of %d mutated configs", quickOK, n)
	}
}

// checkUpdateInPlace asserts the editor's properties on one input.
func checkUpdateInPlace(t *testing.T, s *Spec, want map[string]any, data []byte) {
	t.Helper()
	quick, qerr := updateInPlace(data, s, true)
	out, err := updateInPlace(data, s, false)
	if qerr == nil {
		if err == nil && string(quick) != string(out) {
			t.Fatalf("quick reading and full parse disagree (full -> quick):\n%s\nin:\n%q", UnifiedDiff("full", "quick", out, quick, 3), data)
		}
		// The quick reading does not validate what it does not edit: it may
		// accept a file the full parse rejects, but only for invalid YAML.
		if _, perr := parseYAML("", data); err != nil && perr == nil {
			t.Fatalf("quick reading accepted what the full parse rejects (%v):\n%q", err, data)
		}
	}
	if err != nil {
		return
	}
	again, err := UpdateInPlace(out, s)
	if err != nil {
		t.Fatalf("edited file rejected: %v\nin:\n%s\nout:\n%s", err, data, out)
	}
	if string(again) != string(out) {
		t.Fatalf("not idempotent:\n%s", UnifiedDiff("first", "second", out, again, 3))
	}
	got := map[string]any{}
	if err := yaml.Unmarshal(out, &got); err != nil {
		// Only acceptable when the input itself was not decodable (duplicate
		// keys elsewhere, say): the edit must not break a good file.
		if yaml.Unmarshal(data, &map[string]any{}) == nil {
			t.Fatalf("edit broke the file: %v\nin:\n%q\nout:\n%s", err, data, out)
		}
		return
	}
	for _, key := range []string{"presubmits", "postsubmits"} {
		wantRepo, _ := want[key].(map[string]any)
		gotRepo, _ := got[key].(map[string]any)
		if diff := cmp.Diff(wantRepo["tensorflow/k8s"], gotRepo["tensorflow/k8s"]); diff != "" {
			t.Fatalf("%s differ from Generate's (-want +got):\n%s\nin:\n%q\nout:\n%s", key, diff, data, out)
		}
	}
	var owned []any
	periodics, _ := got["periodics"].([]any)
	for _, p := range periodics {
		m, _ := p.(map[string]any)
		name, _ := m["name"].(string)
		var cloned []string
		refs, _ := m["extra_refs"].([]any)
		for _, r := range refs {
			rm, _ := r.(map[string]any)
			org, _ := rm["org"].(string)
			repo, _ := rm["repo"].(string)
			cloned = append(cloned, org+"/"+repo)
		}
		if s.OwnsPeriodic(name, cloned) {
			owned = append(owned, p)
		}
	}
	wantPeriodics, _ := want["periodics"].([]any)
	if diff := cmp.Diff(wantPeriodics, owned); diff != "" {
		t.Fatalf("periodics differ from Generate's (-want +got):\n%s\nin:\n%q\nout:\n%s", diff, data, out)
	}
}

func mustGenerate(tb testing.TB, s *Spec) []byte {
	out, err := Generate(s)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// generic decodes YAML into maps and slices for comparison.
func generic(tb testing.TB, data []byte) map[string]any {
	tb.Helper()
	m := map[string]any{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		tb.Fatalf("not YAML: %v\n%s", err, data)
	}
	return m
}

// FuzzGenerateProwLoads: every spec the generator accepts (its own checks,
// then Prow's validation) yields job config Prow loads, here beside the
// repository's Prow config rather than the check's; every spec it refuses
// for Prow's sake is refused at a spec line.
func FuzzGenerateProwLoads(f *testing.F) {
	r := strings.NewReplacer
	for _, seed := range []string{
		validSpec,
		r("  interval: 8h\n", "  cron: \"0 3 * * 1-5\"\n").Replace(validSpec),
		r("  interval: 8h\n", "  cron: \"61 25 * * * *\"\n").Replace(validSpec),
		r("  interval: 8h\n", "  cron: every day at noon\n").Replace(validSpec),
		r("jobs:\n", "resources:\n  requests:\n    cpu: two cores\n    memory: 1Gi\njobs:\n").Replace(validSpec),
		r("jobs:\n", "resources:\n  limits:\n    memory: 2Gi\njobs:\n").Replace(validSpec),
		r("branches: [master]", "branches: ['release-(']").Replace(validSpec),
		r("branches: [master]", "branches: ['release-\\d+', main]").Replace(validSpec),
		r("  always_run: true\n", "  run_if_changed: '^pkg/('\n").Replace(validSpec),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := ParseSpec("fuzz.yaml", data)
		if err != nil {
			return // FuzzParseSpec covers the spec's own errors
		}
		err = s.CheckWithProw()
		if err == nil {
			loadWithRepoProwConfig(t, s)
			return
		}
		var pe *Error
		var pes Errors
		switch {
		case errors.As(err, &pes):
			for _, e := range pes {
				if e.Line < 1 || e.File != "fuzz.yaml" || !strings.Contains(e.Msg, "Prow rejects") {
					t.Errorf("refusal not placed in the spec: %#v", e)
				}
			}
		case errors.As(err, &pe):
			if pe.Line < 1 || pe.File != "fuzz.yaml" {
				t.Errorf("refusal not placed in the spec: %#v", pe)
			}
		default:
			t.Errorf("refusal without a position: %v", err)
		}
	})
}
