#!/usr/bin/env bash
# run.sh GRPX [TEST...] - the end-to-end tests (default: every
# tests/e2e/t_*.sh) and every jobs/*.yaml, with grpx under valgrind memcheck.
#
# The tests' own verdicts are only informational here: valgrind makes grpx
# 20-50 times slower, so some checks on elapsed time still fail (their
# bounds are multiplied by GRPX_TIME_SCALE, 30 unless set).  What counts is
# valgrind's log of every grpx process: no memory error and no definitely
# lost block.  Sizes of the heavy tests are cut down (GRPX_FD_TASKS,
# GRPX_HOSTILE_BYTES).  Prints "N passed, M failed" (one check per log).
set -u

src=$(cd "$(dirname "$0")/../.." && pwd)
real=${1:?usage: run.sh path/to/grpx [tests/e2e/t_NAME.sh...]}
shift
case $real in /*) ;; *) real=$PWD/$real ;; esac
command -v valgrind >/dev/null || { echo "valgrind is required" >&2; exit 2; }

logs=$(mktemp -d "${TMPDIR:-/tmp}/grpx-vg.XXXXXX")
export GRPX_VG_REAL=$real GRPX_VG_LOGS=$logs
export GRPX_FD_TASKS=${GRPX_FD_TASKS:-200} GRPX_HOSTILE_BYTES=${GRPX_HOSTILE_BYTES:-67108864}
# the tests' "soon enough" bounds, scaled for valgrind (tests/e2e/lib.sh)
export GRPX_TIME_SCALE=${GRPX_TIME_SCALE:-30}
vg=$src/tests/valgrind/grpx-vg

tests=("$@")
[ ${#tests[@]} = 0 ] && tests=("$src"/tests/e2e/t_*.sh)
for t in "${tests[@]}"; do
	t0=$(date +%s)
	res=$(timeout 600 bash "$t" "$vg" 2>&1 | tail -1)
	echo "# $(basename "$t") under valgrind: ${res:-no result} ($(($(date +%s) - t0))s; timing checks may fail)"
done
cd "$src"
for f in jobs/*.yaml; do
	"$vg" check "$f" >/dev/null 2>&1
	"$vg" plan "$f" >/dev/null 2>&1
	"$vg" run -q --report "$logs/r.json" --junit "$logs/j.xml" --trace "$logs/t.json" \
		--events "$logs/e.ndjson" "$f" >/dev/null 2>&1 </dev/null
done

pass=0 fail=0
for log in "$logs"/vg.*.log; do
	[ -f "$log" ] || continue
	# a log of a process that exec'd a task (none: --trace-children=no) or
	# died by a signal still ends with its ERROR SUMMARY when it got that far
	cmd=$(sed -n 's/^==[0-9]*== Command: //p' "$log" | head -1)
	errs=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -1)
	lost=$(sed -n 's/^==[0-9]*==    definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -1)
	if [ "${errs:-0}" != 0 ] || { [ -n "$lost" ] && [ "$lost" != 0 ]; }; then
		fail=$((fail + 1))
		echo "FAIL - $cmd: $errs errors, definitely lost ${lost:-0} bytes"
		grep -vE '^==[0-9]+== (Memcheck|Copyright|Using Valgrind|Command|Parent PID|HEAP SUMMARY|  +in use at exit|  +total heap)' "$log" |
			grep -v -- '^--' | head -60
	else
		pass=$((pass + 1))
	fi
done
echo "# valgrind logs in $logs"
[ "$fail" = 0 ] && rm -rf "$logs"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
