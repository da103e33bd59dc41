#!/usr/bin/env bash
# Stress test of the main command: runs `prowctl e2e run` N times in a row
# (default 30) while a parallel build loads the CPU, and prints how many runs
# passed and how long each took. Not part of `make test`: a run takes about
# 30 s. Needs `make tools`.
#
#   bash hack/stress/e2e.sh [N]
#
#   LOAD=build   (default) `go build -a` of prowctl in a loop, in a cache of
#                its own, LOAD_JOBS (default 2) packages at once
#   LOAD=spin    LOAD_JOBS busy loops
#   LOAD=none    no load
#   KEEP=1       keep every run's artifacts, not only the failed runs'
#
# Each run gets a cluster directory of its own (XDG_STATE_HOME), so a cluster
# of `prowctl cluster up` on this machine is left alone, and `cluster down`
# runs after each run whatever happened. The load stops when the script ends.
set -euo pipefail

n=${1:-30}
load=${LOAD:-build}
jobs=${LOAD_JOBS:-2}
cd "$(dirname "$0")/../.."

work=$(mktemp -d "${TMPDIR:-/tmp}/prowctl-stress.XXXXXX")
bin=$work/prowctl
load_pid=
cleanup() {
	if [ -n "$load_pid" ]; then
		kill -TERM -- "-$load_pid" 2>/dev/null || true
		wait "$load_pid" 2>/dev/null || true
	fi
	# The killed build may still be writing its cache for a moment.
	rm -rf "$work/gocache" "$work/state" 2>/dev/null || { sleep 1; rm -rf "$work/gocache" "$work/state"; }
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

go build -o "$bin" ./cmd/prowctl

case $load in
build)
	# setsid: the load is a process group of its own, stopped as one.
	setsid bash -c "while :; do GOCACHE='$work/gocache' go build -a -p $jobs -o /dev/null ./cmd/prowctl >/dev/null 2>&1; done" &
	load_pid=$!
	;;
spin)
	setsid bash -c "for i in \$(seq $jobs); do (while :; do :; done) & done; wait" &
	load_pid=$!
	;;
none) ;;
*)
	echo "LOAD=$load: want build, spin or none" >&2
	exit 2
	;;
esac
echo "stress: $n runs of prowctl e2e run, load: $load ($jobs); work dir $work"

passed=0
times=()
failed=()
for i in $(seq "$n"); do
	state=$work/state/$i
	artifacts=$work/artifacts/$i
	mkdir -p "$state" "$artifacts"
	start=$(date +%s.%N)
	if XDG_STATE_HOME=$state ARTIFACTS=$artifacts "$bin" e2e run --artifacts "$artifacts" >"$artifacts/stdout.txt" 2>&1; then
		result=ok
		passed=$((passed + 1))
	else
		result="FAILED (exit $?)"
		failed+=("$i")
	fi
	secs=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
	times+=("$secs")
	# Whatever the run left behind, by the pids of its own state file.
	XDG_STATE_HOME=$state "$bin" cluster down >/dev/null 2>&1 || true
	restarts=$(cat "$artifacts"/stdout.txt "$artifacts"/steps/*.log 2>/dev/null | grep -c "starting again on fresh ports" || true)
	printf 'run %2d/%d: %s in %.1fs (%s component restarts)\n' "$i" "$n" "$result" "$secs" "${restarts:-0}"
	if [ "$result" != ok ]; then
		grep -rh -m3 -i "error\|fail\|in use\|not ready" "$artifacts/stdout.txt" | sed 's/^/    /' || true
		echo "    artifacts: $artifacts"
	elif [ -z "${KEEP:-}" ]; then
		rm -rf "$artifacts"
	fi
done

sorted=$(printf '%s\n' "${times[@]}" | sort -n)
printf 'passed %d of %d; seconds per run: min %.1f, median %.1f, max %.1f\n' "$passed" "$n" \
	"$(echo "$sorted" | head -1)" "$(echo "$sorted" | sed -n "$(((n + 1) / 2))p")" "$(echo "$sorted" | tail -1)"
if [ ${#failed[@]} -gt 0 ]; then
	echo "failed runs: ${failed[*]} (artifacts under $work/artifacts)"
	exit 1
fi
rm -rf "$work"
