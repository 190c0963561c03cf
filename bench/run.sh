#!/bin/sh
# bench/run.sh - build what the benchmarks need, run them all and write a
# dated snapshot: bench/results/YYYY-MM-DD-REV/ (machine.md, one table per
# benchmark, summary.md, targets.md, raw.json, throughput.png).  Run by
# hand, not in CI.  Nothing is installed: what is missing is named and the
# run stops (see bench/RESULTS.md for the list).
#
#   bench/run.sh             full run
#   QUICK=1 bench/run.sh     smoke run (small sizes, 3 rounds): checks that
#                            every benchmark works; snapshot REV-quick
#   ONLY=prefix,stall bench/run.sh   a subset of: throughput scale timers
#                            waterfall cancel prefix stall fanout matrix
#   SRC=worktree bench/run.sh        build grpx from the working tree, not
#                            HEAD (snapshot REV-wt)
#   SNAPSHOT=DIR bench/run.sh        write the snapshot to DIR instead
#
# Sizes can be overridden: RUNS, N_THROUGHPUT, N_SCALE, N_SCALE_RSS,
# N_TIMERS, WF_BYTES, N_PREFIX, N_FANOUT, MATRIX_SIDE.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=${BENCH_BUILD:-$repo/build-bench}

# What the benchmarks run besides grpx.  Named, never installed here: a
# benchmark has no business changing the machine it measures.
missing=""
for tool in cc cmake git python3 parallel gnuplot xargs sed mkfifo; do
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool"
done
# GNU time for the peak RSS (%M); the shell's `time` keyword has no RSS.
/usr/bin/time -f %M true >/dev/null 2>&1 || missing="$missing /usr/bin/time"
if [ -n "$missing" ]; then
	echo "bench/run.sh: missing:$missing" >&2
	echo "bench/run.sh: on Debian: apt-get install parallel gnuplot-nox time" \
		"(and a C compiler, cmake, git, python3)" >&2
	exit 2
fi

rev=$(git -C "$repo" rev-parse --short HEAD)
suffix=""
[ "${SRC:-head}" = worktree ] && suffix="$suffix-wt"
[ "${QUICK:-0}" = 1 ] && suffix="$suffix-quick"
snap=${SNAPSHOT:-$here/results/$(date -u +%Y-%m-%d)-$rev$suffix}
work=${TMPDIR:-/tmp}/grpx-bench.$$
mkdir -p "$out" "$snap" "$work"
trap 'rm -rf "$work"' EXIT

# grpx in Release, from a snapshot of HEAD (others may be mid-edit in the
# working tree), into its own build directory; no tests (cmocka is not
# needed to measure).
# A build directory for each source: cmake refuses one configured from the other.
if [ "${SRC:-head}" = worktree ]; then
	src=$repo
	gb=$out/grpx-wt
	rev="$rev + working tree"
else
	gb=$out/grpx
	src=$out/src
	rm -rf "$src"
	mkdir -p "$src"
	git -C "$repo" archive HEAD | tar -x -C "$src"
fi
cmake -S "$src" -B "$gb" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build "$gb" -j2 --target grpx >/dev/null
cc -O2 -Wall -o "$out/floor" "$here/floor.c"
cc -O2 -Wall -o "$out/timer_floor" "$here/timer_floor.c"
cc -O2 -Wall -o "$out/wf_floor" "$here/wf_floor.c"

tmpdir=${TMPDIR:-/tmp}
gov=/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor
{
	echo "### Machine"
	echo
	echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "- grpx: $rev (Release)"
	echo "- nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "- CPU governor: $(cat "$gov" 2>/dev/null || echo 'not exposed (VM)'); no pinning, no turbo control"
	echo "- kernel: $(uname -sr); $(ldd --version | head -1)"
	echo "- /bin/sh: $(readlink -f /bin/sh); $(parallel --version | head -1); $(xargs --version | head -1); $(sed --version | head -1)"
	echo "- \$TMPDIR: $tmpdir ($(stat -f -c %T "$tmpdir")); page cache not dropped between rounds (a shared machine)"
	echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- mode: $([ "${QUICK:-0}" = 1 ] && echo 'QUICK=1 (smoke run, small sizes)' || echo full)"
} > "$snap/machine.md"
cat "$snap/machine.md"
echo

GRPX=$gb/grpx FLOOR=$out/floor TIMER_FLOOR=$out/timer_floor WF_FLOOR=$out/wf_floor \
RESULTS=$snap WORK=$work \
	python3 "$here/bench.py"

echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$snap/machine.md"

if [ -s "$snap/throughput.dat" ]; then
	gnuplot <<EOF
set terminal pngcairo size 900,500 font ",10"
set output "$snap/throughput.png"
set title "Throughput: ms per captured 'echo' command (median, lower is better; log scale)"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [0.1:*]
set ylabel "ms / command"
set key top left
set xtics noenhance
plot "$snap/throughput.dat" using 2:xtic(1) title "J=2", '' using 3 title "J=16"
EOF
	echo "chart: $snap/throughput.png"
fi
echo "snapshot: $snap"
