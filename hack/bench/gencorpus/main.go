// Command gencorpus writes a Prow job config of Kubernetes' size (about 600
// files and 170,000 lines) plus the Prow config that goes with it, so
// `make bench` can time `prowctl jobs lint` beside Prow's checkconfig on the
// same input.
//
// Usage: gencorpus -out DIR [-files 600] [-seed 1]
//
// DIR/config.yaml is the Prow config; DIR/jobs/ORG/REPO/*.yaml the job config.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/prowctl/prowctl/hack/bench/corpus"
)

func main() {
	out := flag.String("out", "", "output directory")
	files := flag.Int("files", 600, "number of job config files")
	seed := flag.Int64("seed", 1, "random seed")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gencorpus: -out is required")
		os.Exit(2)
	}
	lines, err := corpus.Generate(*out, *files, *seed)
	if err != nil {
		fmt.Fprintf(os.Stderr, "gencorpus: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("wrote %d job config files, %d lines, to %s\n", *files, lines, *out)
}
