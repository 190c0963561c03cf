#!/usr/bin/env bash
# run.sh [SECONDS] - build the libFuzzer target for the job-file loader with
# clang and run it for SECONDS (default 60) on all cores but one.
#
# Seeds: jobs/*.yaml, tests/data/*.yaml and tests/fuzz/regressions/* (every
# crasher found so far).  New inputs go to $FUZZ_DIR/corpus (default
# build-fuzz/corpus), kept between runs; a crash is written to
# $FUZZ_DIR/crash-* and makes this script exit non-zero.  Copy it into
# tests/fuzz/regressions/ once fixed: test_fuzz_regressions replays them.
#
# FUZZ_SEED=N (with FUZZ_RUNS, default 200000) makes the run repeatable,
# for a CI gate: one process, libFuzzer's -seed=N, a fixed number of inputs
# instead of a time, and a fresh corpus each time ($FUZZ_DIR/corpus-seed-N),
# so the same commit fuzzes the same inputs on every machine, however fast.
set -euo pipefail

secs=${1:-60}
src=$(cd "$(dirname "$0")/../.." && pwd)
dir=${FUZZ_DIR:-$src/build-fuzz}
jobs=${FUZZ_JOBS:-$(($(nproc) > 1 ? $(nproc) - 1 : 1))}

CC=clang cmake -S "$src" -B "$dir" -DGRPX_FUZZ=ON -DBUILD_TESTING=OFF \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" --target fuzz_load -j2 >/dev/null

cd "$dir"
args=(-max_len=65536 -timeout=10 -rss_limit_mb=2048
	-dict="$src/tests/fuzz/yaml.dict" -print_final_stats=1)
if [ -n "${FUZZ_SEED:-}" ]; then
	corpus=corpus-seed-$FUZZ_SEED
	rm -rf "$corpus"
	args+=(-seed="$FUZZ_SEED" -runs="${FUZZ_RUNS:-200000}")
else
	corpus=corpus
	args+=(-max_total_time="$secs")
	if [ "$jobs" -gt 1 ]; then
		args+=(-fork="$jobs" -ignore_crashes=0)
	fi
fi
mkdir -p "$corpus"
exec ./fuzz_load "${args[@]}" "$corpus" "$src/jobs" "$src/tests/data" \
	"$src/tests/fuzz/regressions"
