#!/bin/bash
# retry: again and again until ok; attempts, retry_on, backoff, attempt_log.
. "$(dirname "$0")/lib.sh" "$@"

# fails five times (printing to stdout each time), then prints ok
flaky() # COUNTERFILE N
{
	echo "n=\$(cat $1 2>/dev/null || echo 0); n=\$((n+1)); echo \$n > $1; echo attempt \$n \$GRPX_ATTEMPT; [ \$n -gt $2 ] || exit 1; echo ok"
}

g retry --attempts 10 --report "$T/r.json" "echo x >/dev/null; $(flaky "$T/c1" 5)"
expect_rc "retry until ok" 0
expect_out "only the successful attempt's stdout" 'attempt 6 6\nok\n'
expect_eq "failed attempts' stdout goes to stderr" "attempt 1 1
attempt 2 2
attempt 3 3
attempt 4 4
attempt 5 5" "$(grep '^attempt' "$T/err")"
expect_node "retry group" "$T/r.json" retry attempts 6
expect_node "retry group" "$T/r.json" retry status ok
expect_eq "six attempt_log entries" 6 "$(jq '[.. | objects | select(.path == "retry")][0].attempt_log | length' "$T/r.json")"
expect_eq "attempt_log statuses/codes" '[1,1,1,1,1,0]' \
	"$(jq -c '[.. | objects | select(.path == "retry")][0].attempt_log | map(.exit_code // .status)' "$T/r.json" | sed 's/"failed"/1/g; s/"ok"/0/g')"

# attempts 3 of exit 1: exactly three runs, then the group fails
g retry --attempts 3 --report "$T/r2.json" "echo run >> $T/three.log; exit 1"
expect_rc "retry exhausted" 1
expect_eq "exactly three runs" 3 "$(wc -l <"$T/three.log")"
expect_node "attempts" "$T/r2.json" retry attempts 3
expect_eq "one error" 1 "$(jq '.errors | length' "$T/r2.json")"

# default attempts is 3
g retry "echo run >> $T/def.log; exit 1"
expect_eq "default attempts 3" 3 "$(wc -l <"$T/def.log")"

# retry_on: exit 1 is not in the list: stop at once
g retry --attempts 5 --retry-on 75 "echo run >> $T/ro.log; exit 1"
expect_rc "retry_on stops" 1
expect_eq "retry_on [75] stops at once on exit 1" 1 "$(wc -l <"$T/ro.log")"
g retry --attempts 3 --retry-on 75 "echo run >> $T/ro75.log; exit 75"
expect_eq "retry_on [75] retries exit 75" 3 "$(wc -l <"$T/ro75.log")"

cat >"$T/ro.yaml" <<EOF
groups:
  - name: r
    mode: retry
    attempts: 5
    retry_on: [75]
    tasks:
      - run: "echo run >> $T/rof.log; exit 2"
EOF
g run "$T/ro.yaml"
expect_eq "retry_on in a job file" 1 "$(wc -l <"$T/rof.log")"

# task-level attempts inside a sized group
cat >"$T/task.yaml" <<EOF
groups:
  - name: s
    mode: sized
    limit: 2
    tasks:
      - name: flaky
        attempts: 4
        run: "$(flaky "$T/c2" 2)"
      - {name: steady, run: "echo steady"}
EOF
g run --report "$T/r3.json" "$T/task.yaml"
expect_rc "task attempts" 0
expect_node "task retried" "$T/r3.json" s/flaky status ok
expect_node "task retried" "$T/r3.json" s/flaky attempts 3
expect_eq "task attempt_log" 3 "$(jq '[.. | objects | select(.path == "s/flaky")][0].attempt_log | length' "$T/r3.json")"
expect_eq "GRPX_ATTEMPT counts task attempts" "attempt 3 3" "$(grep '^attempt' "$T/out")"

# backoff initial 100ms factor 2: gaps ~ .1 .2 .4.  A gap between two
# attempts' stamps holds the whole backoff (the first stamp comes before its
# attempt ends, the second after the next one starts), so it is a sound
# lower bound; upper bounds are only for gross errors.
g retry --attempts 4 --backoff 100ms:10s:2 "date +%s.%N >> $T/bo.log; exit 1"
expect_rc "backoff run fails" 1
expect_eq "four starts" 4 "$(wc -l <"$T/bo.log")"
gaps=$(awk 'NR > 1 { printf "%.3f ", $1 - p } { p = $1 }' "$T/bo.log")
note "backoff gaps: $gaps"
set -- $gaps
# (less 10 ms: the stamps and grpx's timers read different clocks)
expect_ge "gap 1 >= .1" "${1:-0}" 0.09
expect_ge "gap 2 >= .2 (doubles)" "${2:-0}" 0.19
expect_ge "gap 3 >= .4 (doubles)" "${3:-0}" 0.39
expect_time_lt "total < 5 s (a factor of 10 would take 11 s)" "$ELAPSED" 5

# backoff in a job file, with max
cat >"$T/bo.yaml" <<EOF
groups:
  - name: r
    mode: retry
    attempts: 4
    backoff: {initial: 100ms, max: 150ms, factor: 10}
    tasks:
      - run: "date +%s.%N >> $T/bomax.log; exit 1"
EOF
g run "$T/bo.yaml"
gaps=$(awk 'NR > 1 { printf "%.3f ", $1 - p } { p = $1 }' "$T/bomax.log")
note "capped backoff gaps: $gaps"
set -- $gaps
expect_ge "capped gap 3 >= .15" "${3:-0}" 0.14
# uncapped, gap 3 would be 10 s: anything under 5 s shows the cap on a busy machine
expect_time_lt "capped gap 3 < 5 (max 150ms, not 10 s)" "${3:-99}" 5

# a retry around a group: the whole group is retried
cat >"$T/grp.yaml" <<EOF
groups:
  - name: r
    mode: retry
    attempts: 3
    tasks:
      - name: s
        mode: sized
        tasks:
          - {name: a, run: "echo a >> $T/grp-a.log"}
          - {name: b, run: "$(flaky "$T/c3" 1)"}
EOF
g run --report "$T/r4.json" "$T/grp.yaml"
expect_rc "retry group of a group" 0
expect_eq "whole group re-ran" 2 "$(wc -l <"$T/grp-a.log")"
expect_node "retry around group" "$T/r4.json" r attempts 2
expect_eq "GRPX_ATTEMPT of a task inside a retried group" "attempt 2 2" "$(grep '^attempt' "$T/out")"

# timeout on a retried node bounds each attempt
cat >"$T/to.yaml" <<EOF
groups:
  - name: r
    mode: retry
    attempts: 3
    tasks:
      - {name: t, timeout: 200ms, run: "echo run >> $T/to.log; sleep 10"}
EOF
g run --report "$T/r5.json" "$T/to.yaml"
expect_rc "attempt timeouts" 1
expect_eq "each attempt bounded" 3 "$(wc -l <"$T/to.log")"
expect_time_lt "three 200ms attempts, not their 10 s" "$ELAPSED" 10

# retry needs exactly one child
cat >"$T/two.yaml" <<'EOF'
groups:
  - {name: r, mode: retry, tasks: [{run: "true"}, {run: "true"}]}
EOF
g check "$T/two.yaml"
expect_rc "retry with two children is a job-file error" 2

finish
