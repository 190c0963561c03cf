#!/bin/bash
# Signals to grpx: cancel everything, write reports, die by the same signal.
. "$(dirname "$0")/lib.sh" "$@"

# Job control: background jobs get their own process group and do NOT start
# with SIGINT/SIGQUIT ignored (a non-interactive shell would ignore them).
set -m

# start_bg ARGS...: start grpx in the background; pid in GP.
start_bg()
{
	"$GRPX" "$@" >"$T/out" 2>"$T/err" </dev/null &
	GP=$!
	BG_PIDS="$BG_PIDS $GP"
}

# sigint_deliverable PID: SIGINT is not ignored by PID.
sigint_deliverable()
{
	local ign
	ign=$(awk '/^SigIgn:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
	[ -n "$ign" ] && [ $(( 0x$ign & 2 )) = 0 ]
}

wait_rc() # PID: wait for it, set RC
{
	{ wait "$1"; } 2>/dev/null
	RC=$?
}

cat >"$T/sleepy.yaml" <<EOF
groups:
  - name: g
    mode: errgroup
    tasks:
      - {name: a, run: "sleep 100 & echo \$! > $T/a.pid; wait"}
      - {name: b, run: "echo \$\$ > $T/b.pid; exec sleep 100"}
  - {name: later, run: "touch $T/later-ran"}
EOF

# --- SIGTERM ---
start_bg run --report "$T/r.json" "$T/sleepy.yaml"
wait_for "$T/a.pid" && wait_for "$T/b.pid" || fail "tasks did not start"
t0=$(now)
kill -TERM "$GP"
wait_rc "$GP"
expect_eq "SIGTERM: grpx dies by SIGTERM (shell sees 143)" 143 "$RC"
expect_time_lt "SIGTERM handled promptly" "$(since "$t0")" 10
expect_eq "report written" interrupted "$(json "$T/r.json" .status)"
expect_eq "report exit_code" 143 "$(json "$T/r.json" .exit_code)"
expect_node "SIGTERM" "$T/r.json" g/a status canceled
expect_node "SIGTERM" "$T/r.json" g/a reason interrupted
expect_node "SIGTERM" "$T/r.json" g/b status canceled
expect_node "SIGTERM" "$T/r.json" later status skipped
check "later group never ran" test ! -e "$T/later-ran"
expect_gone "children gone after SIGTERM" "$T/a.pid" "$T/b.pid"
expect_eq "every node has a status" 0 \
	"$(jq '[.. | objects | select(has("kind")) | select(.status == null or .status == "running" or .status == "pending")] | length' "$T/r.json")"

# --- SIGINT (once): exit 130 after the grace sequence ---
rm -f "$T"/*.pid
cat >"$T/int.yaml" <<EOF
groups:
  - name: g
    mode: errgroup
    tasks:
      - {name: a, run: "trap 'echo got-term >> $T/int.log; exit 0' TERM; echo \$\$ > $T/a.pid; sleep 100 & wait"}
EOF
start_bg run --report "$T/r2.json" "$T/int.yaml"
wait_for "$T/a.pid"
if sigint_deliverable "$GP"; then ok "SIGINT is not ignored by the grpx under test"; else fail "test setup: SIGINT ignored by grpx"; fi
kill -INT "$GP"
wait_rc "$GP"
expect_eq "SIGINT: dies by SIGINT (130)" 130 "$RC"
expect_eq "task got the SIGTERM of the grace sequence" got-term "$(cat "$T/int.log" 2>/dev/null)"
expect_eq "report" interrupted "$(json "$T/r2.json" .status)"
expect_eq "report exit_code after SIGINT" 130 "$(json "$T/r2.json" .exit_code)"
expect_node "SIGINT" "$T/r2.json" g/a status canceled
expect_gone "child gone after SIGINT" "$T/a.pid"

# --- SIGINT twice: SIGKILL at once, even for a TERM-ignoring child ---
rm -f "$T"/*.pid
cat >"$T/deaf.yaml" <<EOF
grace: 20s
groups:
  - name: g
    mode: errgroup
    tasks:
      - {name: deaf, run: "trap '' TERM INT; sleep 100 & echo \$\$ \$! > $T/deaf.pid; wait"}
EOF
start_bg run --report "$T/r3.json" "$T/deaf.yaml"
wait_for "$T/deaf.pid"
sigint_deliverable "$GP" || fail "test setup: SIGINT ignored by grpx"
kill -INT "$GP"
sleep 0.5
if kill -0 "$GP" 2>/dev/null; then ok "after one SIGINT grpx waits the grace"; else fail "grpx exited before the 20s grace after one SIGINT"; fi
t0=$(now)
kill -INT "$GP"
wait_rc "$GP"
expect_time_lt "second SIGINT kills at once, not after the 20s grace" "$(since "$t0")" 10
expect_eq "still dies by SIGINT" 130 "$RC"
expect_eq "report still written" interrupted "$(json "$T/r3.json" .status)"
expect_node "deaf" "$T/r3.json" g/deaf status canceled
expect_node "deaf killed" "$T/r3.json" g/deaf signal 9
expect_gone "deaf child gone" "$T/deaf.pid"

# --- SIGHUP ---
rm -f "$T"/*.pid
start_bg run --report "$T/r4.json" "$T/sleepy.yaml"
wait_for "$T/a.pid" && wait_for "$T/b.pid"
kill -HUP "$GP"
wait_rc "$GP"
expect_eq "SIGHUP: dies by SIGHUP (129)" 129 "$RC"
expect_eq "report after SIGHUP" interrupted "$(json "$T/r4.json" .status)"
expect_gone "children gone after SIGHUP" "$T/a.pid" "$T/b.pid"

# --- output already emitted stays; a group holding results emits nothing ---
rm -f "$T"/*.pid
cat >"$T/out.yaml" <<EOF
groups:
  - name: e
    mode: errgroup
    tasks:
      - {name: early, run: "echo early"}
      - name: r
        mode: race
        tasks:
          - {run: "echo held-1; sleep 100 & echo \$! > $T/r1.pid; wait"}
          - {run: "echo held-2; sleep 100 & echo \$! > $T/r2.pid; wait"}
EOF
start_bg run -o grouped "$T/out.yaml"
wait_for "$T/r1.pid" && wait_for "$T/r2.pid" && wait_for "$T/out"
kill -TERM "$GP"
wait_rc "$GP"
expect_eq "exit" 143 "$RC"
expect_out "emitted output stays, held results are not emitted" 'early\n'
expect_gone "race children gone" "$T/r1.pid" "$T/r2.pid"

finish
