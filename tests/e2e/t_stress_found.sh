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
	local name=$1 go=$2 gp i rc
	shift 2
	rm -f "$T/ev"
	"$GRPX" "$@" >"$T/out" 2>"$T/err" </dev/null &
	gp=$!
	BG_PIDS="$BG_PIDS $gp"
	sh "$T/until" sh -c 'grep -qs "\"kind\": \"task\"" "$1"' _ "$T/ev"
	sleep 1 # the second child's due time (100 ms) passes at the limit
	: >"$go"
	for i in $(seq 400); do
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

finish
