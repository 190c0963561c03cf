#!/bin/bash
# schedule: each child at its delay (or at time) after the group starts.
. "$(dirname "$0")/lib.sh" "$@"

# Each start is checked against its own due time, never against the start
# before it (one late start would make the next, on time, look early):
#   grpx's clock: start_ms - the group's start_ms >= delay (less 1 ms of
#     rounding in the report);
#   the task's clock: its stamp less the group's start on the wall clock
#     (the report's started_at, cut to the ms, plus the group's start_ms)
#     >= delay - 10 ms (the 10 ms allow for the two clocks), and < delay +
#     2.5 s: on time, with room for a loaded machine (beside two CPU hogs
#     and a stress run a task's shell stamped up to 1.3 s late).  Counted
#     from the group's start, not from before grpx was started: under
#     load, exec and loading alone took 1.5 s here.  Were each delay
#     counted from the previous start, or were the delays twice as long,
#     d3000 would come 3 s late.
L="$T/start.log"
# group_wall REPORT GROUP: the wall-clock time (s) at which GROUP started
group_wall()
{
	awk -v w="$(date -d "$(json "$1" .started_at)" +%s.%N 2>/dev/null)" -v g="$(node "$1" "$2" start_ms)" \
		'BEGIN { printf "%.6f", w + g / 1000 }'
}
cat >"$T/five.yaml" <<EOF
groups:
  - name: s
    mode: schedule
    tasks:
      - {name: d600, delay: 600ms, run: "echo d600 \$(date +%s.%N) >> $L"}
      - {name: d3000, delay: 3s, run: "echo d3000 \$(date +%s.%N) >> $L"}
      - {name: d200, delay: 200ms, run: "echo d200 \$(date +%s.%N) >> $L"}
      - {name: d800, delay: 800ms, run: "echo d800 \$(date +%s.%N) >> $L"}
      - {name: d400, delay: 400ms, run: "echo d400 \$(date +%s.%N) >> $L"}
EOF
g run --report "$T/r.json" "$T/five.yaml"
expect_rc "schedule" 0
expect_eq "started in delay order (report start_ms)" "d200 d400 d600 d800 d3000" \
	"$(jq -r '[.. | objects | select(.kind == "task")] | sort_by(.start_ms) | map(.name) | join(" ")' "$T/r.json")"
g0=$(node "$T/r.json" s start_ms)
w0=$(group_wall "$T/r.json" s)
for d in 200 400 600 800 3000; do
	expect_ge "d$d: grpx started it no earlier than its delay (ms after the group)" \
		"$(awk -v a="$(node "$T/r.json" s/d$d start_ms)" -v g="$g0" 'BEGIN { printf "%.3f", a - g }')" $((d - 1))
	stamp=$(awk -v n=d$d -v w0="$w0" '$1 == n { printf "%.3f", $2 - w0 }' "$L")
	expect_ge "d$d: the task ran no earlier than its delay (s after the group)" "${stamp:-0}" \
		"$(awk -v d=$d 'BEGIN { print d / 1000 - 0.01 }')"
	expect_time_lt "d$d: the task ran on time (s after the group)" "${stamp:-99}" \
		"$(awk -v d=$d 'BEGIN { print d / 1000 + 2.5 }')"
done
expect_time_lt "whole schedule (report duration_ms)" "$(json "$T/r.json" .duration_ms)" 5500

# ten at the same delay start in input order, not before the delay
{
	echo "groups:"
	echo "  - name: s"
	echo "    mode: schedule"
	echo "    tasks:"
	for i in 0 1 2 3 4 5 6 7 8 9; do echo "      - {name: t$i, delay: 300ms, run: 'true'}"; done
} >"$T/ten.yaml"
g run --report "$T/r2.json" "$T/ten.yaml"
expect_rc "ten at one delay" 0
expect_eq "equal times start in input order" "t0 t1 t2 t3 t4 t5 t6 t7 t8 t9" \
	"$(jq -r '[.. | objects | select(.kind == "task")] | sort_by(.start_ms) | map(.name) | join(" ")' "$T/r2.json")"
expect_eq "start_ms non-decreasing in input order" true \
	"$(jq '[.. | objects | select(.kind == "task") | .start_ms] | . == sort' "$T/r2.json")"
expect_ge "none before the delay (ms after the group)" \
	"$(jq '(.root.children[0].start_ms) as $g | [.. | objects | select(.kind == "task") | .start_ms - $g] | min' "$T/r2.json")" 299

# no delay: at once; `at` in the past: at once.  "At once" is well before
# the 1.5 s delay of the third, however loaded the machine.
cat >"$T/now.yaml" <<'EOF'
groups:
  - name: s
    mode: schedule
    tasks:
      - {name: plain, run: "true"}
      - {name: past, at: "2001-01-01T00:00:00Z", run: "true"}
      - {name: later, delay: 1500ms, run: "true"}
EOF
g run --report "$T/r3.json" "$T/now.yaml"
expect_rc "schedule now" 0
g0=$(node "$T/r3.json" s start_ms)
since_group() # REPORT PATH: start_ms of PATH less the group's, in ms
{
	awk -v a="$(node "$1" "$2" start_ms)" -v g="$g0" 'BEGIN { printf "%.3f", a - g }'
}
expect_time_lt "no key: starts at once" "$(since_group "$T/r3.json" s/plain)" 1000
expect_time_lt "past at: starts at once" "$(since_group "$T/r3.json" s/past)" 1000
expect_ge "delayed" "$(since_group "$T/r3.json" s/later)" 1499

# ad-hoc --delay: command i (from 0) at i x DUR after the group starts
g schedule --delay 300ms --report "$T/r4.json" "echo 0 \$(date +%s.%N) >> $T/adhoc.log" \
	"echo 1 \$(date +%s.%N) >> $T/adhoc.log" "echo 2 \$(date +%s.%N) >> $T/adhoc.log"
expect_rc "ad-hoc schedule" 0
g0=$(node "$T/r4.json" schedule start_ms)
w0=$(group_wall "$T/r4.json" schedule)
for i in 0 1 2; do
	expect_ge "--delay 300ms: command $i no earlier than $((i * 300)) ms after the group" \
		"$(since_group "$T/r4.json" schedule/$((i + 1)))" $((i * 300 - 1))
	stamp=$(awk -v n=$i -v w0="$w0" '$1 == n { printf "%.3f", $2 - w0 }' "$T/adhoc.log")
	expect_ge "--delay 300ms: command $i ran no earlier than its time" "${stamp:-0}" \
		"$(awk -v i=$i 'BEGIN { print i * 0.3 - 0.01 }')"
	expect_time_lt "--delay 300ms: command $i ran on time" "${stamp:-99}" \
		"$(awk -v i=$i 'BEGIN { print i * 0.3 + 2.5 }')"
done

# a failure with on_error cancel skips children whose time has not come
cat >"$T/cancel.yaml" <<EOF
groups:
  - name: s
    mode: schedule
    on_error: cancel
    tasks:
      - {name: bad, run: "exit 1"}
      - {name: late, delay: 30s, run: "touch $T/late-ran"}
EOF
g run --report "$T/r5.json" "$T/cancel.yaml"
expect_rc "schedule cancel" 1
check "late child never ran" test ! -e "$T/late-ran"
expect_node "not yet due" "$T/r5.json" s/late status skipped
expect_time_lt "did not wait for the 30 s timer" "$ELAPSED" 10

# delay outside a schedule group is a job-file error
cat >"$T/bad.yaml" <<'EOF'
groups:
  - {name: e, mode: errgroup, tasks: [{run: "true", delay: 1s}]}
EOF
g check "$T/bad.yaml"
expect_rc "delay outside schedule" 2

finish
