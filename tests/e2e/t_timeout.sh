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
expect_time_lt "killed at its timeout, not after its 30 s" "$ELAPSED" 10
expect_node "task timeout" "$T/r.json" g/slow status timeout
expect_node "sibling unaffected" "$T/r.json" g/fine status ok
expect_eq "error message" '[{"path":"g/slow","message":"timed out after 300ms"}]' "$(jq -c .errors "$T/r.json")"
expect_eq "stderr" "grpx: 1 error: g/slow: timed out after 300ms" "$(grep '^grpx: ' "$T/err")"
expect_gone "timed-out task's processes" "$T/slow.pid"
g run -x "$T/task.yaml"
expect_rc "-x: a timeout exits 124" 124

# group timeout covers the whole group: a is done well before it, b runs
# past it, c waits behind b
cat >"$T/group.yaml" <<EOF
groups:
  - name: g
    mode: sized
    limit: 1
    timeout: 1s
    tasks:
      - {name: a, run: "true"}
      - {name: b, run: "sleep 30"}
      - {name: c, run: "sleep 30"}
EOF
g run --report "$T/r2.json" "$T/group.yaml"
expect_rc "group timeout" 1
expect_ge "group stopped no earlier than its timeout (ms)" \
	"$(awk -v e="$(node "$T/r2.json" g end_ms)" -v s="$(node "$T/r2.json" g start_ms)" 'BEGIN { print e - s }')" 999
expect_time_lt "group stopped at its timeout" "$ELAPSED" 5
expect_node "group" "$T/r2.json" g status timeout
expect_node "done before" "$T/r2.json" g/a status ok
expect_node "running at expiry" "$T/r2.json" g/b status canceled
expect_node "not started" "$T/r2.json" g/c status skipped
expect_eq "the group's own timeout is the error" '[{"path":"g","message":"timed out after 1s"}]' "$(jq -c .errors "$T/r2.json")"

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
expect_ge "not before the timeout" "$ELAPSED" 0.99
expect_time_lt "quickly after it" "$ELAPSED" 5
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
expect_time_lt "ad-hoc quick" "$ELAPSED" 5

# top-level timeout in the file, overridden by --timeout
cat >"$T/top.yaml" <<'EOF'
timeout: 300ms
groups:
  - {name: a, run: "sleep 1.5; echo done"}
EOF
g run "$T/top.yaml"
expect_rc "top-level timeout" 124
g run --timeout 30s "$T/top.yaml"
expect_rc "--timeout overrides the file" 0
expect_out "ran to the end" 'done\n'

# --grace on the command line: a TERM-ignoring task dies after it.  Its
# sibling fails once the trap is set (a run --timeout could come first on a
# busy machine, and SIGTERM would kill the shell at once); the SIGTERM goes
# out as the sibling ends.
g errgroup --grace 300ms --report "$T/rgr.json" "trap '' TERM; touch $T/gr.trap; sleep 30" \
	"sh $T/until test -e $T/gr.trap; exit 1"
expect_rc "grace" 1
after_term=$(awk -v e="$(node "$T/rgr.json" errgroup/1 end_ms)" -v b="$(node "$T/rgr.json" errgroup/2 end_ms)" \
	'BEGIN { print e - b }')
expect_ge "--grace 300ms: not killed before it (ms after SIGTERM)" "$after_term" 299
expect_time_lt "--grace 300ms honoured (the default would be 2 s)" "$after_term" 1500

# a node with its own grace keeps it under --grace; the others take --grace
cat >"$T/grace.yaml" <<EOF
grace: 20s
groups:
  - name: g
    mode: errgroup
    tasks:
      - {name: bad, run: "sh $T/until test -e $T/own.trap -a -e $T/inh.trap; exit 1"}
      - {name: own, grace: 1s, run: "trap '' TERM; touch $T/own.trap; sleep 30"}
      - {name: inh, run: "trap '' TERM; touch $T/inh.trap; sleep 30"}
EOF
g run --grace 200ms --report "$T/rg.json" "$T/grace.yaml"
expect_rc "grace override" 1
expect_time_lt "file grace 20s overridden" "$ELAPSED" 10
# each task's end, in ms after bad's (the SIGTERM goes out as bad ends)
bad=$(node "$T/rg.json" g/bad end_ms)
inh=$(awk -v e="$(node "$T/rg.json" g/inh end_ms)" -v b="$bad" 'BEGIN { print e - b }')
own=$(awk -v e="$(node "$T/rg.json" g/own end_ms)" -v b="$bad" 'BEGIN { print e - b }')
expect_ge "--grace 200ms: the inheriting task was not killed before it" "$inh" 199
expect_time_lt "--grace applied to the inheriting task (not the file's 20 s, not 1 s)" "$inh" 900
expect_ge "own grace applied to its task (1 s)" "$own" 999
expect_time_lt "own grace, not the file's 20 s" "$own" 5000

finish
