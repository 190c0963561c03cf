#!/bin/bash
# errgroup: the first failure cancels the running siblings and skips the
# rest; the group's one error is that first failure.
. "$(dirname "$0")/lib.sh" "$@"

# --- a failure cancels a sibling that ignores SIGTERM: SIGKILL after grace ---
# bad fails once both siblings have written their pids (after the trap).
cat >"$T/cancel.yaml" <<EOF
groups:
  - name: g
    mode: errgroup
    grace: 500ms
    tasks:
      - {name: bad, run: "sh $T/until test -s $T/stubborn.pid -a -s $T/polite.pid; exit 3"}
      - name: stubborn
        run: "trap '' TERM; sleep 100 & echo \$\$ \$! > $T/stubborn.pid; wait"
      - name: polite
        run: "sleep 100 & echo \$\$ \$! > $T/polite.pid; wait"
EOF
g run --report "$T/r.json" "$T/cancel.yaml"
expect_rc "errgroup failure" 1
expect_time_lt "run ends soon after grace" "$ELAPSED" 5
# grpx's own clock: the cancel comes as bad ends; SIGKILL no sooner than 500 ms later
expect_ge "stubborn sibling survived SIGTERM for the grace (ms)" \
	"$(awk -v s="$(node "$T/r.json" g/stubborn end_ms)" -v b="$(node "$T/r.json" g/bad end_ms)" 'BEGIN { print s - b }')" 499
expect_gone "canceled siblings are gone" "$T/stubborn.pid" "$T/polite.pid"
expect_eq "report status" failed "$(json "$T/r.json" .status)"
expect_eq "report exit_code" 1 "$(json "$T/r.json" .exit_code)"
expect_node "failed task" "$T/r.json" g/bad status failed
expect_node "failed task" "$T/r.json" g/bad exit_code 3
expect_node "stubborn" "$T/r.json" g/stubborn status canceled
expect_node "stubborn" "$T/r.json" g/stubborn reason "g/bad failed"
expect_node "stubborn killed" "$T/r.json" g/stubborn signal 9
expect_node "polite" "$T/r.json" g/polite status canceled
expect_node "polite" "$T/r.json" g/polite reason "g/bad failed"
expect_node "group" "$T/r.json" g status failed
expect_eq "errors is exactly the first failure" '[{"path":"g/bad","message":"exit status 3"}]' \
	"$(jq -c .errors "$T/r.json")"
expect_eq "aggregated stderr line" "grpx: 1 error: g/bad: exit status 3" \
	"$(grep '^grpx: ' "$T/err")"

# --- limit 1: siblings that had not started are skipped ---
cat >"$T/limit.yaml" <<EOF
groups:
  - name: g
    mode: errgroup
    limit: 1
    tasks:
      - {name: one, run: "echo one"}
      - {name: two, run: "exit 7"}
      - {name: three, run: "touch $T/three-ran"}
      - {name: four, run: "touch $T/four-ran"}
EOF
g run --report "$T/r2.json" "$T/limit.yaml"
expect_rc "limit 1 failure" 1
expect_out "stdout of the one that ran" 'one\n'
check "three never ran" test ! -e "$T/three-ran"
check "four never ran" test ! -e "$T/four-ran"
expect_node "limit 1" "$T/r2.json" g/one status ok
expect_node "limit 1" "$T/r2.json" g/two status failed
expect_node "limit 1" "$T/r2.json" g/three status skipped
expect_node "limit 1" "$T/r2.json" g/three reason "g/two failed"
expect_node "limit 1" "$T/r2.json" g/four status skipped
expect_node "limit 1" "$T/r2.json" g/four reason "g/two failed"
expect_node "skipped never started" "$T/r2.json" g/four exit_code null
expect_eq "errors" '[{"path":"g/two","message":"exit status 7"}]' "$(jq -c .errors "$T/r2.json")"
expect_eq "stderr line" "grpx: 1 error: g/two: exit status 7" "$(grep '^grpx: ' "$T/err")"

# --- two failures: only the first is the group's error, the second is collateral ---
cat >"$T/two.yaml" <<EOF
groups:
  - name: g
    mode: errgroup
    tasks:
      - {name: first, run: "sh $T/until test -e $T/second-trap; exit 4"}
      - {name: second, run: "trap 'exit 5' TERM; touch $T/second-trap; sleep 30 & wait"}
EOF
g run --report "$T/r3.json" "$T/two.yaml"
expect_rc "two failures" 1
expect_node "second ends canceled however it exits" "$T/r3.json" g/second status canceled
expect_eq "only the cause is an error" '["g/first"]' "$(jq -c '[.errors[].path]' "$T/r3.json")"

# --- the root runs top-level groups in order and stops at the first failure ---
cat >"$T/root.yaml" <<EOF
groups:
  - {name: a, run: "echo a"}
  - {name: b, run: "exit 2"}
  - {name: c, run: "touch $T/c-ran"}
EOF
g run --report "$T/r4.json" "$T/root.yaml"
expect_rc "root stops at first failing group" 1
expect_out "root output" 'a\n'
check "c never ran" test ! -e "$T/c-ran"
expect_node "root" "$T/r4.json" c status skipped
expect_node "root" "$T/r4.json" c reason "b failed"

# --- all ok ---
g errgroup 'echo x' 'echo y'
expect_rc "all ok" 0

finish
