#!/usr/bin/env bash
# Times `prowctl jobs diff` beside one `prowctl jobs lint` of the same config:
# a generated job config of Kubernetes' size (600 files, about 170,000
# lines) committed to a scratch git repository, one preset changed in the
# work tree, diffed against HEAD (the base read from git's objects, the head
# from the work tree: what a user runs before pushing). Targets (issue:
# touched-job detection): diff's wall time at most 2 s on this machine and
# at most 1.5x lint's.
#
# A script of its own rather than more of lint.sh: lint.sh cannot start
# without checkconfig from `make tools`, which this needs not, and its
# corpus is a plain directory where this one must be a git repository.
# Both time through timing.sh, so their figures compare.
#
# RUNS (default 5) sets how many timed runs of each; the median is printed.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
go=${GO:-go}
runs=${RUNS:-5}

if [[ ! -x /usr/bin/time ]]; then
	echo "bench: GNU time is missing: apt-get install time" >&2
	exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Built as `make build` builds it (without cgo).
(cd "$root" && CGO_ENABLED=0 "$go" build -o "$work/prowctl" ./cmd/prowctl)
repo=$work/repo
(cd "$root" && "$go" run ./hack/bench/gencorpus -out "$repo/config")
cfg=$repo/config/config.yaml
jobs=$repo/config/jobs

. "$here/timing.sh"

# The user's git configuration (hooks, signing, templates) stays out of it.
git_() {
	GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.com \
		GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.com git -C "$repo" "$@"
}
git_ init -q -b main
git_ add .
git_ commit -q -m base
# One preset's value: every job carrying its label is touched, nothing else.
sed -i 's#value: /etc/storage/key.json#value: /etc/storage/key-v2.json#' "$cfg"
if git_ diff --quiet; then
	echo "bench: the preset edit changed nothing in $cfg" >&2
	exit 1
fi

echo "bench: $(find "$jobs" -name '*.yaml' | wc -l) files, $(cat "$jobs"/*/*/*.yaml | wc -l) lines; $(nproc) cores"
# Timing a run that fails, or touches no job, would time the wrong path.
cd "$work"
diff_cmd=("$work/prowctl" jobs diff --base HEAD --repo-dir "$repo" --config-path "$cfg" --job-config-path "$jobs")
if ! "${diff_cmd[@]}" >"$work/diff.out" 2>&1; then
	tail -5 "$work/diff.out" >&2
	echo "bench: prowctl jobs diff failed" >&2
	exit 1
fi
echo "bench: $(head -1 "$work/diff.out")"
if ! grep -q '^changed ' "$work/diff.out"; then
	echo "bench: the preset change touched no job" >&2
	exit 1
fi
lint_cmd=("$work/prowctl" jobs lint --config-path "$cfg" --job-config-path "$jobs")
if ! "${lint_cmd[@]}" >"$work/lint.out" 2>&1; then
	tail -5 "$work/lint.out" >&2
	echo "bench: the generated config does not lint clean" >&2
	exit 1
fi

time_runs "prowctl jobs diff (HEAD..work tree)" "${diff_cmd[@]}"
diff_wall=$median
time_runs "prowctl jobs lint" "${lint_cmd[@]}"
lint_wall=$median
printf 'jobs diff wall: %.2f s (target <= 2.00)\n' "$diff_wall"
printf 'jobs diff/lint wall ratio: %s (target <= 1.50)\n' "$(awk -v a="$diff_wall" -v b="$lint_wall" 'BEGIN { printf "%.2f", a / b }')"
