#!/bin/bash
# timeouts: a task's own, a group's, the run's (--timeout / top-level).
. "$(dirname "$0")/lib.sh" "$@"

# task timeout: status timeout, message "timed out after ..."
cat >"$T/task.yaml" <<EOF
groups:
  - name: g
    mode: sized
    tasks:
      - {name: slow, timeout: 300ms, run: "sleep 30 & echo \$! > $T/slow.pid; wait"}
      - {name: fine, run: "echo fine"}
EOF
g run --report "$T/r.json" "$T/task.yaml"
expect_rc "task timeout fails the run" 1
expect_lt "killed at its timeout" "$ELAPSED" 4
expect_node "task timeout" "$T/r.json" g/slow status timeout
expect_node "sibling unaffected" "$T/r.json" g/fine status ok
expect_eq "error message" '[{"path":"g/slow","message":"timed out after 300ms"}]' "$(jq -c .errors "$T/r.json")"
expect_eq "stderr" "grpx: 1 error: g/slow: timed out after 300ms" "$(grep '^grpx: ' "$T/err")"
expect_gone "timed-out task's processes" "$T/slow.pid"
g run -x "$T/task.yaml"
expect_rc "-x: a timeout exits 124" 124

# group timeout covers the whole group
cat >"$T/group.yaml" <<EOF
groups:
  - name: g
    mode: sized
    limit: 1
    timeout: 500ms
    tasks:
      - {name: a, run: "sleep 0.3"}
      - {name: b, run: "sleep 0.3"}
      - {name: c, run: "sleep 0.3"}
EOF
g run --report "$T/r2.json" "$T/group.yaml"
expect_rc "group timeout" 1
expect_lt "group stopped at its timeout" "$ELAPSED" 3
expect_node "group" "$T/r2.json" g status timeout
expect_node "done before" "$T/r2.json" g/a status ok
expect_node "running at expiry" "$T/r2.json" g/b status canceled
expect_node "not started" "$T/r2.json" g/c status skipped
expect_eq "the group's own timeout is the error" '[{"path":"g","message":"timed out after 500ms"}]' "$(jq -c .errors "$T/r2.json")"

# --timeout on the run: exit 124 quickly, status timeout, tasks canceled (reason timeout)
cat >"$T/run.yaml" <<EOF
groups:
  - name: g
    mode: errgroup
    tasks:
      - {name: a, run: "sleep 30 & echo \$! > $T/a.pid; wait"}
      - {name: b, run: "sleep 30"}
  - {name: after, run: "touch $T/after-ran"}
EOF
g run --timeout 1s --report "$T/r3.json" "$T/run.yaml"
expect_rc "--timeout" 124
expect_ge "not before the timeout" "$ELAPSED" 0.9
expect_lt "quickly after it" "$ELAPSED" 4
expect_eq "report status" timeout "$(json "$T/r3.json" .status)"
expect_eq "report exit_code" 124 "$(json "$T/r3.json" .exit_code)"
expect_node "task" "$T/r3.json" g/a status canceled
expect_node "task" "$T/r3.json" g/a reason timeout
expect_node "task" "$T/r3.json" g/b status canceled
expect_node "task" "$T/r3.json" g/b reason timeout
expect_node "later group" "$T/r3.json" after status skipped
check "later group never ran" test ! -e "$T/after-ran"
expect_gone "processes gone" "$T/a.pid"

# ad-hoc --timeout
g errgroup --timeout 500ms 'sleep 30'
expect_rc "ad-hoc --timeout" 124
expect_lt "ad-hoc quick" "$ELAPSED" 3

# top-level timeout in the file, overridden by --timeout
cat >"$T/top.yaml" <<'EOF'
timeout: 300ms
groups:
  - {name: a, run: "sleep 1; echo done"}
EOF
g run "$T/top.yaml"
expect_rc "top-level timeout" 124
g run --timeout 5s "$T/top.yaml"
expect_rc "--timeout overrides the file" 0
expect_out "ran to the end" 'done\n'

# --grace on the command line: a TERM-ignoring task dies after it
g errgroup --timeout 300ms --grace 300ms "trap '' TERM; sleep 30"
expect_rc "grace" 124
expect_lt "--grace 300ms honoured (default would be 2s)" "$ELAPSED" 1.8

# a node with its own grace keeps it under --grace; the others take --grace
cat >"$T/grace.yaml" <<'EOF'
grace: 20s
groups:
  - name: g
    mode: errgroup
    tasks:
      - {name: bad, run: "sleep 0.2; exit 1"}
      - {name: own, grace: 1s, run: "trap '' TERM; sleep 30"}
      - {name: inh, run: "trap '' TERM; sleep 30"}
EOF
g run --grace 200ms --report "$T/rg.json" "$T/grace.yaml"
expect_rc "grace override" 1
expect_ge "own grace kept (1s)" "$ELAPSED" 1.1
expect_lt "file grace 20s overridden" "$ELAPSED" 5
inh=$(jq '[.. | objects | select(.path == "g/inh")][0].end_ms' "$T/rg.json")
own=$(jq '[.. | objects | select(.path == "g/own")][0].end_ms' "$T/rg.json")
expect_lt "--grace applied to the inheriting task" "$inh" 900
expect_ge "own grace applied to its task" "$own" 1100

finish
