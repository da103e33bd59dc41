# prowctl: see README.md.
GO        ?= go
BIN       ?= bin
# Binaries of the personal Prow cluster and of Prow's own tools, built once
# per version and reused across runs and checkouts.
PROWCTL_TOOLS ?= $(HOME)/.cache/prowctl/tools
export PROWCTL_TOOLS

.PHONY: build test test-short bench lint tools demo clean

# Without cgo: helm pulls in Go's plugin package, which with cgo makes the
# linker export every symbol; the binary then keeps ~20 MiB more resident in
# every command (measured on jobs lint). prowctl needs nothing from cgo.
build:
	CGO_ENABLED=0 $(GO) build -o $(BIN)/prowctl ./cmd/prowctl

# Unit and integration tests, in a network namespace of their own where the
# machine allows it (hack/test.sh). Builds the tools the integration tests
# need first (a no-op when they are cached).
test: tools
	bash hack/test.sh

# Unit tests only: no personal cluster, no built tools.
test-short:
	$(GO) test -short ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

tools:
	bash hack/tools/build.sh

bench:
	@echo "benchmarks: see hack/bench"
	$(GO) test -run '^$$' -bench . -benchtime 20x ./pkg/e2e/steps/...
	# Personal cluster: `cluster up` to ready with the ProwJob CRD established
	# (target 20 s); needs `make tools`.
	$(GO) test -run '^$$' -bench BenchmarkClusterUp -benchtime 1x ./pkg/cluster
	# Real node (root): up to node Ready, images in, CRD established, Deck and its
	# proxy serving (target 20 s with Deck; 15 s was the target before it);
	# a decorated job created -> success, Prow's utilities included (target 8 s).
	$(GO) test -run '^$$' -bench 'BenchmarkRealNodeUp|BenchmarkDecoratedJob' -benchtime 3x ./pkg/cluster
	# e2e runner: ms/step (target <= 5) and %over-critical-path (target <= 2).
	$(GO) test -run '^$$' -bench . -benchtime 5x ./pkg/e2e
	bash hack/bench/lint.sh
	# jobs diff of the same ~600-file config, one preset changed in the work tree
	# against HEAD, beside one jobs lint (targets <= 2 s, <= 1.5x lint); then the
	# library alone between two directories (target <= 2 s/op).
	bash hack/bench/touched.sh
	$(GO) test -run '^$$' -bench '^BenchmarkTouched$$' -benchtime 3x ./pkg/jobs/touched
	# The tf-k8s presubmit on the personal cluster, from prowctl run to its
	# result, cluster up and caches warm (target <= 90 s/op), by step.
	$(GO) test -run '^$$' -bench BenchmarkPresubmit -benchtime 2x ./pkg/jobrun
	# The same four do-nothing steps on Argo (a pod per step, real node, `e2e
	# submit --argo --wait`) and with `e2e run` (one process): s/step of each
	# (measured: 11.5 and 0.10).
	$(GO) test -run '^$$' -bench BenchmarkStepOverhead -benchtime 2x ./pkg/e2e/argo
	# jobs generate --in-place on a 15,000-line config.yaml (target <= 100 ms/op).
	$(GO) test -run '^$$' -bench '^BenchmarkUpdateInPlace$$' -benchtime 20x ./pkg/jobs
	# mkpj for one job of a ~600-file, 170,000-line config: prowctl beside Prow's mkpj (target <= 0.5x).
	CGO_ENABLED=0 $(GO) build -o $(BIN)/prowctl ./cmd/prowctl
	PROWCTL_BIN=$(abspath $(BIN)/prowctl) $(GO) test -run '^$$' -bench 'BenchmarkMkpj|BenchmarkBuild' -benchtime 5x ./pkg/mkpj

# The main job on built-in local defaults: personal cluster, loopback registry.
# Builds prowctl and any missing tools first.
demo: build tools
	$(BIN)/prowctl e2e run

clean:
	rm -rf $(BIN)
