#!/usr/bin/env bash
# Times `prowctl jobs lint` beside Prow's own checkconfig on a generated job
# config of Kubernetes' size (600 files, about 170,000 lines), then runs the
# BenchmarkLint Go benchmark. Targets (issue 9), with positions and policy
# on (--policy-scope all): prowctl's wall time at most 0.5x checkconfig's,
# its peak memory (maximum resident set, binary pages included) at most
# 1.0x.
#
# checkconfig comes from `make tools` ($PROWCTL_TOOLS/prow-*/checkconfig).
# RUNS (default 5) sets how many timed runs of each; the median is printed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
tools=${PROWCTL_TOOLS:-$HOME/.cache/prowctl/tools}
go=${GO:-go}
runs=${RUNS:-5}

shopt -s nullglob
checkconfigs=("$tools"/prow-*/checkconfig)
if [[ ${#checkconfigs[@]} -eq 0 ]]; then
	echo "bench: no checkconfig under $tools/prow-*/: run 'make tools' first" >&2
	exit 1
fi
checkconfig=${checkconfigs[-1]}
if [[ ! -x /usr/bin/time ]]; then
	echo "bench: GNU time is missing: apt-get install time" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Built as `make build` builds it (without cgo). Both binaries are then
# copied into the work directory: peak memory counts the binary's mapped
# pages, and how many the kernel maps depends on how the file's page cache
# was filled (a file the linker just wrote maps ~4 MB more than a copy of
# it), so each side runs from a fresh copy.
(cd "$root" && CGO_ENABLED=0 "$go" build -o "$work/prowctl.built" ./cmd/prowctl)
cp "$work/prowctl.built" "$work/prowctl"
cp "$checkconfig" "$work/checkconfig"
checkconfig_name=$(basename "$(dirname "$checkconfig")")
checkconfig=$work/checkconfig
(cd "$root" && "$go" run ./hack/bench/gencorpus -out "$work/corpus")
cfg=$work/corpus/config.yaml
jobs=$work/corpus/jobs

. "$here/timing.sh"

echo "bench: $(find "$jobs" -name '*.yaml' | wc -l) files, $(cat "$jobs"/*/*/*.yaml | wc -l) lines; $(nproc) cores"
# Run from the work dir: no spec there, so policy covers every job through
# --policy-scope all. The generated config must be clean, or we would be
# timing error paths.
cd "$work"
if ! "$work/prowctl" jobs lint --config-path "$cfg" --job-config-path "$jobs" --policy-scope all >"$work/lint.out"; then
	tail -5 "$work/lint.out" >&2
	echo "bench: the generated config does not lint clean" >&2
	exit 1
fi
time_runs "prowctl jobs lint (policy: all)" "$work/prowctl" jobs lint --config-path "$cfg" --job-config-path "$jobs" --policy-scope all
ours=$median ours_peak=$median_peak
time_runs "checkconfig ($checkconfig_name)" "$checkconfig" --config-path "$cfg" --job-config-path "$jobs"
theirs=$median theirs_peak=$median_peak
printf 'prowctl/checkconfig wall ratio: %s (target <= 0.50)\n' "$(awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "%.2f", a / b }')"
printf 'prowctl/checkconfig peak ratio: %s (target <= 1.00)\n' "$(awk -v a="$ours_peak" -v b="$theirs_peak" 'BEGIN { printf "%.2f", a / b }')"

(cd "$root" && "$go" test -run '^$' -bench BenchmarkLint -benchtime 5x ./pkg/jobs/lint/)
