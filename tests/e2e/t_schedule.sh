#!/bin/bash
# schedule: each child at its delay (or at time) after the group starts.
. "$(dirname "$0")/lib.sh" "$@"

L="$T/start.log"
cat >"$T/five.yaml" <<EOF
groups:
  - name: s
    mode: schedule
    tasks:
      - {name: d300, delay: 300ms, run: "echo d300 \$(date +%s.%N) >> $L"}
      - {name: d500, delay: 500ms, run: "echo d500 \$(date +%s.%N) >> $L"}
      - {name: d100, delay: 100ms, run: "echo d100 \$(date +%s.%N) >> $L"}
      - {name: d400, delay: 400ms, run: "echo d400 \$(date +%s.%N) >> $L"}
      - {name: d200, delay: 200ms, run: "echo d200 \$(date +%s.%N) >> $L"}
EOF
t0=$(now)
g run --report "$T/r.json" "$T/five.yaml"
expect_rc "schedule" 0
expect_eq "started in delay order" "d100 d200 d300 d400 d500" "$(awk '{ printf "%s%s", s, $1; s = " " }' "$L")"
first=$(awk -v t0="$t0" 'NR == 1 { printf "%.3f", $2 - t0 }' "$L")
expect_ge "first start not before its 100ms delay" "$first" 0.09
expect_lt "first start roughly on time" "$first" 1.5
gaps=$(awk 'NR > 1 { printf "%.3f ", $2 - p } { p = $2 }' "$L")
note "gaps between starts: $gaps"
for x in $gaps; do expect_ge "starts ~100ms apart" "$x" 0.05; done
expect_lt "whole schedule" "$ELAPSED" 3
# report start_ms agrees with the delays
expect_ge "report d500 start_ms" "$(node "$T/r.json" s/d500 start_ms)" 490

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
expect_ge "none before the delay" "$(jq '[.. | objects | select(.kind == "task") | .start_ms] | min' "$T/r2.json")" 290

# no delay: at once; `at` in the past: at once
cat >"$T/now.yaml" <<'EOF'
groups:
  - name: s
    mode: schedule
    tasks:
      - {name: plain, run: "true"}
      - {name: past, at: "2001-01-01T00:00:00Z", run: "true"}
      - {name: later, delay: 400ms, run: "true"}
EOF
g run --report "$T/r3.json" "$T/now.yaml"
expect_rc "schedule now" 0
expect_lt "no key: starts at once" "$(node "$T/r3.json" s/plain start_ms)" 200
expect_lt "past at: starts at once" "$(node "$T/r3.json" s/past start_ms)" 200
expect_ge "delayed" "$(node "$T/r3.json" s/later start_ms)" 390

# ad-hoc --delay: command i at i x DUR
g schedule --delay 200ms --report "$T/r4.json" "date +%s.%N >> $T/adhoc.log" "date +%s.%N >> $T/adhoc.log" "date +%s.%N >> $T/adhoc.log"
expect_rc "ad-hoc schedule" 0
gaps=$(awk 'NR > 1 { printf "%.3f ", $1 - p } { p = $1 }' "$T/adhoc.log")
note "--delay gaps: $gaps"
for x in $gaps; do expect_ge "--delay 200ms gap" "$x" 0.15; done

# a failure with on_error cancel skips children whose time has not come
cat >"$T/cancel.yaml" <<EOF
groups:
  - name: s
    mode: schedule
    on_error: cancel
    tasks:
      - {name: bad, run: "exit 1"}
      - {name: late, delay: 2s, run: "touch $T/late-ran"}
EOF
g run --report "$T/r5.json" "$T/cancel.yaml"
expect_rc "schedule cancel" 1
check "late child never ran" test ! -e "$T/late-ran"
expect_node "not yet due" "$T/r5.json" s/late status skipped
expect_lt "did not wait for the timer" "$ELAPSED" 1.5

# delay outside a schedule group is a job-file error
cat >"$T/bad.yaml" <<'EOF'
groups:
  - {name: e, mode: errgroup, tasks: [{run: "true", delay: 1s}]}
EOF
g check "$T/bad.yaml"
expect_rc "delay outside schedule" 2

finish
