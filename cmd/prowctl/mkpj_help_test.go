package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/prowctl/prowctl/pkg/iostreams"
)

// TestMkpjExamplesNameRepoJobs: a newcomer copies an example from --help
// in this repository; every job it names must be a job of config/.
func TestMkpjExamplesNameRepoJobs(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	cmd := newCmdMkpj(newFactory(streams), nil)
	jobs := regexp.MustCompile(`--job (\S+)`).FindAllStringSubmatch(cmd.Example, -1)
	if len(jobs) == 0 {
		t.Fatal("mkpj --help has no example naming a job")
	}
	for _, m := range jobs {
		streams, _, out, errOut := iostreams.Test()
		// Completion lists the config's jobs by prefix: the exact name must be among them.
		code := runProwctl(t, streams, "__complete", "mkpj", "--config-path", "../../config/prow/config.yaml", "--job-config-path", "../../config/jobs", "--job", m[1])
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		found := false
		for _, line := range strings.Split(out.String(), "\n") {
			found = found || strings.SplitN(line, "\t", 2)[0] == m[1]
		}
		if !found {
			t.Errorf("mkpj --help example names job %s, which config/ does not have", m[1])
		}
	}
}
