#!/usr/bin/env bash
# make test: every test, unit and integration.
#
# Where the machine allows it (root, or unprivileged user namespaces) the tests
# run in a network namespace of their own with only loopback up. The personal
# clusters the tests start then cannot be reached from anywhere else (plank's
# health, metrics and pprof ports listen on all interfaces: Prow has no flag to
# bind them to loopback), and no test can send a packet off the machine.
# PROWCTL_TEST_NETNS=0 runs them in the machine's own network instead.
set -euo pipefail
cd "$(dirname "$0")/.."
go=${GO:-go}
args=(-count=1 -timeout 25m "$@")
if [[ $# -eq 0 ]]; then
	args+=(./...)
	# One prowctl for every package whose tests run it (internal/prowctlbin),
	# instead of a link in each of them.
	bindir=$(mktemp -d)
	trap 'rm -rf "$bindir"' EXIT
	echo "test: building prowctl for the tests that run it"
	CGO_ENABLED=0 "$go" build -o "$bindir/prowctl" ./cmd/prowctl
	export PROWCTL_BIN=$bindir/prowctl
fi

run_isolated() {
	# The namespace has no route to the module proxy: fetch first.
	"$go" mod download
	"$@" -- sh -c 'ip link set lo up && exec "$0" test "$@"' "$go" "${args[@]}"
	exit
}

if [[ ${PROWCTL_TEST_NETNS:-1} != 0 ]] && command -v ip >/dev/null; then
	if unshare --net true 2>/dev/null; then
		echo "test: in a network namespace of its own (loopback only)"
		run_isolated unshare --net
	elif unshare --map-root-user --net true 2>/dev/null; then
		echo "test: in a network namespace of its own (loopback only)"
		run_isolated unshare --map-root-user --net
	fi
fi
echo "test: no network namespace here (needs unshare and ip); running in the machine's network"
"$go" test "${args[@]}"
