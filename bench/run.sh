#!/bin/sh
# bench/run.sh - build what the benchmarks need, run them all, write
# bench/results/*.md and bench/results/throughput.png.  Run by hand, not in CI.
#
#   bench/run.sh             full run (~8-10 min on a 2-core machine)
#   QUICK=1 bench/run.sh     smoke run (~1 min, small sizes, 3 rounds)
#   ONLY=throughput,scale bench/run.sh   a subset (throughput scale timers waterfall cancel)
#   SRC=worktree bench/run.sh            build grpx from the working tree, not HEAD
#
# Sizes can be overridden: RUNS, N_THROUGHPUT, N_SCALE, N_SCALE_RSS, N_TIMERS, WF_BYTES.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
out=${BENCH_BUILD:-$repo/build-bench}
results=$here/results
work=${TMPDIR:-/tmp}/grpx-bench.$$
mkdir -p "$out" "$results" "$work"
trap 'rm -rf "$work"' EXIT

# Peers, installed only when missing.
need=""
command -v parallel >/dev/null 2>&1 || need="$need parallel"
command -v gnuplot >/dev/null 2>&1 || need="$need gnuplot"
command -v hyperfine >/dev/null 2>&1 || need="$need hyperfine"
[ -x /usr/bin/time ] || need="$need time"
if [ -n "$need" ]; then
	echo "installing:$need" >&2
	apt-get install -y $need >&2
fi

# grpx in Release, from a snapshot of HEAD (others may be mid-edit in the
# working tree), into its own build directory.
if [ "${SRC:-head}" = worktree ]; then
	src=$repo
	rev="$(git -C "$repo" rev-parse --short HEAD) + working tree"
else
	src=$out/src
	rm -rf "$src"
	mkdir -p "$src"
	git -C "$repo" archive HEAD | tar -x -C "$src"
	rev=$(git -C "$repo" rev-parse --short HEAD)
fi
cmake -S "$src" -B "$out/grpx" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$out/grpx" -j2 --target grpx >/dev/null
cc -O2 -Wall -o "$out/floor" "$here/floor.c"
cc -O2 -Wall -o "$out/timer_floor" "$here/timer_floor.c"
cc -O2 -Wall -o "$out/wf_floor" "$here/wf_floor.c"

{
	echo "### Machine"
	echo
	echo "- date: $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "- grpx: $rev (Release)"
	echo "- nproc: $(nproc); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
	echo "- kernel: $(uname -sr); $(ldd --version | head -1)"
	echo "- /bin/sh: $(readlink -f /bin/sh); $(parallel --version | head -1); $(xargs --version | head -1)"
	echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- mode: $([ "${QUICK:-0}" = 1 ] && echo 'QUICK=1 (smoke run, small sizes)' || echo full)"
} > "$results/machine.md"
cat "$results/machine.md"
echo

GRPX=$out/grpx/grpx FLOOR=$out/floor TIMER_FLOOR=$out/timer_floor WF_FLOOR=$out/wf_floor \
RESULTS=$results WORK=$work \
	python3 "$here/bench.py"

if [ -s "$results/throughput.dat" ]; then
	gnuplot <<EOF
set terminal pngcairo size 900,500 font ",10"
set output "$results/throughput.png"
set title "Throughput: ms per captured 'echo' command (median, lower is better; log scale)"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set logscale y
set yrange [0.1:*]
set ylabel "ms / command"
set key top left
set xtics noenhance
plot "$results/throughput.dat" using 2:xtic(1) title "J=2", '' using 3 title "J=16"
EOF
	echo "chart: $results/throughput.png"
fi
