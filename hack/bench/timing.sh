# Sourced by the hack/bench scripts: the one way they time a command, so
# that their figures are comparable (lint.sh and touched.sh print side by
# side in `make bench`).
#
# The sourcing script sets $work (a scratch directory) and $runs.

# time_runs NAME CMD... prints NAME's median wall, CPU seconds and peak
# memory over $runs runs (after one warm-up) and leaves the medians in
# $median and $median_peak (KiB).
time_runs() {
	local name=$1
	shift
	"$@" >/dev/null 2>&1 || true
	local walls=() cpus=() peaks=() i w u s m
	for ((i = 0; i < runs; i++)); do
		# %e wall, %U user, %S sys, %M peak RSS in KiB: the process's own
		# accounting.
		/usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null 2>&1 || true
		read -r w u s m <"$work/time"
		walls+=("$w")
		cpus+=("$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }')")
		peaks+=("$m")
	done
	local mid=$(((runs + 1) / 2))
	median=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "${mid}p")
	median_peak=$(printf '%s\n' "${peaks[@]}" | sort -n | sed -n "${mid}p")
	local cpu
	cpu=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n "${mid}p")
	printf '%-34s wall %6.2f s   cpu %6.2f s   peak %5d MiB   (median of %d)\n' "$name" "$median" "$cpu" "$((median_peak / 1024))" "$runs"
}
