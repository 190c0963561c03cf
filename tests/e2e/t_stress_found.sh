#!/bin/bash
# Defects found by the stress harnesses (tests/stress/*.py), each reduced
# to a bounded reproduction that failed before its fix.
. "$(dirname "$0")/lib.sh" "$@"

# --- a due time that passes while the group is at its limit ---
# A schedule child whose delay comes, or a race/take child whose stagger
# time comes, while `limit` children run: the group's wake timer was armed
# again at that past time, fired again at once, and grpx spun in its timer
# loop for ever (100% CPU, no task reaped, signals not read).  Found by
# sigstress.py (seed 3 of its first runs).  The first child holds the one
# slot until $T/go exists; go is made 1 s after the first child started, long
# after the second child's due time (100 ms).

# due_at_limit NAME GO ARGS...: run grpx ARGS in the background, make GO 1 s
# after the events say a task started, and expect an exit within 20 s.
due_at_limit()
{
	local name=$1 go=$2 gp rc
	shift 2
	rm -f "$T/ev"
	"$GRPX" "$@" >"$T/out" 2>"$T/err" </dev/null &
	gp=$!
	BG_PIDS="$BG_PIDS $gp"
	sh "$T/until" sh -c 'grep -qs "\"kind\": \"task\"" "$1"' _ "$T/ev"
	sleep 1 # the second child's due time (100 ms) passes at the limit
	: >"$go"
	for _ in $(seq 400); do
		kill -0 "$gp" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$gp" 2>/dev/null; then
		fail "$name: grpx still running 20 s after the first child was let go (cpu $(awk '{ print ($14 + $15) / 100 }' /proc/$gp/stat 2>/dev/null) s)"
		kill -9 "$gp"
	fi
	wait "$gp"
	rc=$?
	expect_eq "$name: exit status" 0 "$rc"
}

cat >"$T/sched.yaml" <<EOF
groups:
  - name: s
    mode: schedule
    limit: 1
    tasks:
      - name: hold
        run: 'sh $T/until test -e $T/go1; echo first'
      - name: late
        delay: 100ms
        run: 'echo second'
EOF
due_at_limit "schedule, limit 1, a delay passing at the limit" "$T/go1" \
	run -o grouped --events "$T/ev" "$T/sched.yaml"
expect_out "schedule at the limit: both ran, in turn" 'first\nsecond\n'

due_at_limit "take, limit 1, a stagger time passing at the limit" "$T/go2" \
	take --count 2 --limit 1 --stagger 100ms --events "$T/ev" -o grouped \
	"sh $T/until test -e $T/go2; echo first" 'echo second'
expect_out "take at the limit: both ran, in turn" 'first\nsecond\n'

# --- SIGKILL while a task is being started ---
# SPEC 11: every process group grpx started dies within 1 s of grpx's
# SIGKILL.  grpx told the keeper of a task's group only after posix_spawn
# returned, that is after the child's exec; a SIGKILL while grpx waited
# for that exec left the task and its grandchildren alive for good.  Found
# by kill9.py (1 run in 20).  A 500 KB environment makes each exec slow,
# so that grpx, starting 100 tasks at once, spends most of its time in that
# wait: before the fix every one of these runs left a task behind.
{
	printf 'groups:\n  - name: g\n    mode: sized\n    limit: 100\n    tasks:\n'
	for _ in $(seq 100); do printf "      - run: 'sleep 30 & sleep 30'\n"; done
} >"$T/spawn.yaml"
big=$(head -c 100000 /dev/zero | tr '\0' x)
for run in 1 2 3; do
	rm -f "$T/ev"
	env STRESS_FOUND_MARK="$T/$run" BIG1="$big" BIG2="$big" BIG3="$big" BIG4="$big" BIG5="$big" \
		"$GRPX" run -q --events "$T/ev" "$T/spawn.yaml" >/dev/null 2>&1 </dev/null &
	gp=$!
	BG_PIDS="$BG_PIDS $gp"
	sh "$T/until" sh -c 'n=$(grep -cs "\"kind\": \"task\"" "$1"); [ "${n:-0}" -ge 10 ]' _ "$T/ev"
	kill -9 "$gp"
	wait "$gp" 2>/dev/null
	t0=$(now)
	# check at the deadline, never against a gap between stamps
	while [ "$(alive STRESS_FOUND_MARK="$T/$run")" != 0 ] &&
		[ "$(awk -v a="$(since "$t0")" -v s="$TIME_SCALE" 'BEGIN { print (a < 1.0 * s) }')" = 1 ]; do
		sleep 0.05
	done
	expect_eq "SIGKILL while starting tasks ($run): nothing alive 1 s later" 0 "$(alive STRESS_FOUND_MARK="$T/$run")"
	for p in $(grep -lzxF "STRESS_FOUND_MARK=$T/$run" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3); do
		kill -9 "$p" 2>/dev/null
	done
done

# --- the root of an interrupted run carries its reason ---
# SPEC 6: a canceled node carries "reason".  The root, canceled by the
# signal itself rather than by a group above it, had none.  Found by
# sigstress.py (every run that a signal reached).
cat >"$T/int.yaml" <<EOF
groups:
  - name: a
    run: 'echo \$\$ >$T/a.pid; sleep 30'
EOF
rm -f "$T/ev"
"$GRPX" run --report "$T/int.json" --events "$T/ev" "$T/int.yaml" >"$T/out" 2>"$T/err" </dev/null &
gp=$!
BG_PIDS="$BG_PIDS $gp"
sh "$T/until" test -s "$T/a.pid"
kill -TERM "$gp"
wait "$gp"
expect_eq "SIGTERM: grpx dies by it" 143 "$?"
expect_eq "SIGTERM: the root is canceled, reason interrupted" "canceled interrupted" \
	"$(jq -r '.root | "\(.status) \(.reason)"' "$T/int.json")"
expect_eq "SIGTERM: the root's end event says so too" "canceled interrupted" \
	"$(jq -r 'select(.event == "end" and .path == "") | "\(.status) \(.reason)"' "$T/ev")"

# --- a signal after the summary is still named ---
# A signal that comes once the run has ended, while grpx still sweeps an
# escapee, makes grpx die by it with an "interrupted" report (D21), but the
# summary had gone out already: nothing said why grpx died.  Found by
# sigstress.py (a SIGHUP 0.85 s in, after a task timeout ended the run).
rm -f "$T/ev"
"$GRPX" sized --grace 3s --events "$T/ev" \
	"setsid sh -c 'trap \"\" TERM; echo \$\$ > $T/esc.pid; exec sleep 30' >/dev/null 2>&1 & sh $T/until test -s $T/esc.pid; exit 3" \
	>"$T/out" 2>"$T/err" </dev/null &
gp=$!
BG_PIDS="$BG_PIDS $gp"
sh "$T/until" sh -c 'grep -qs "\"event\": \"end\", .*\"path\": \"\"," "$1"' _ "$T/ev"
sh "$T/until" grep -q 'grpx: 1 error' "$T/err" # the summary is out
kill -HUP "$gp"
wait "$gp" 2>/dev/null
expect_eq "SIGHUP during the sweep: grpx dies by it" 129 "$?"
expect_eq "SIGHUP during the sweep: the summary, then the signal named" \
	"grpx: 1 error: sized/1: exit status 3|grpx: interrupted by SIGHUP" "$(paste -sd'|' "$T/err")"
kill -9 "$(cat "$T/esc.pid" 2>/dev/null)" 2>/dev/null

finish
