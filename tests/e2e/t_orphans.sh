#!/bin/bash
# Nothing grpx started may outlive the run: background children, processes
# that left the process group (setsid), and ones that ignore SIGTERM.
. "$(dirname "$0")/lib.sh" "$@"

cat >"$T/orphans.yaml" <<EOF
grace: 500ms
groups:
  - name: g
    mode: errgroup
    tasks:
      - {name: bg, run: "sleep 300 & echo \$! > $T/bg.pid; echo bg-done"}
      - {name: nested, run: "(sleep 300 & echo \$! > $T/nested.pid) & while [ ! -s $T/nested.pid ]; do sleep 0.01; done; echo nested-done"}
      - {name: setsid, run: "setsid sleep 300 & echo \$! > $T/setsid.pid; echo setsid-done"}
      - {name: deaf, run: "trap '' TERM; sleep 300 & echo \$! > $T/deaf.pid; echo deaf-done"}
      - name: deafsid
        run: "setsid sh -c \"trap '' TERM; echo \\\\\$\\\\\$ > $T/deafsid.pid; exec sleep 300\" & sh $T/until test -s $T/deafsid.pid; echo deafsid-done"
EOF
for mode in grouped prefix; do
	rm -f "$T"/*.pid
	g run -o $mode --report "$T/r.json" "$T/orphans.yaml"
	expect_rc "orphans ($mode)" 0
	expect_time_lt "leftovers do not stall the run past the grace ($mode)" "$ELAPSED" 10
	expect_eq "every task's output arrived ($mode)" "bg-done deaf-done deafsid-done nested-done setsid-done" \
		"$(sed 's/^\[[^]]*\] //' "$T/out" | sort | tr '\n' ' ' | sed 's/ $//')"
	expect_eq "tasks are ok: their main process exited 0 ($mode)" "ok ok ok ok ok" \
		"$(jq -r '[.. | objects | select(.kind == "task") | .status] | join(" ")' "$T/r.json")"
	expect_gone "background child gone ($mode)" "$T/bg.pid"
	expect_gone "double-forked child gone ($mode)" "$T/nested.pid"
	expect_gone "setsid escapee gone ($mode)" "$T/setsid.pid"
	expect_gone "TERM-ignoring child gone ($mode)" "$T/deaf.pid"
	expect_gone "TERM-ignoring setsid escapee gone ($mode)" "$T/deafsid.pid"
done

# a grandchild holding the stdout pipe open cannot stall the run
g errgroup -o prefix --grace 300ms "sleep 300 & echo \$! > $T/hold.pid; echo main"
expect_rc "pipe holder" 0
expect_time_lt "pipe holder killed after the grace" "$ELAPSED" 10
expect_eq "output" "[errgroup/1] main" "$(cat "$T/out")"
expect_gone "pipe holder gone" "$T/hold.pid"

# canceled tasks leave nothing behind either, escapees included
cat >"$T/cancel.yaml" <<EOF
grace: 300ms
groups:
  - name: g
    mode: errgroup
    tasks:
      - {name: bad, run: "sh $T/until test -s $T/esc.pid -a -e $T/kids.done; exit 1"}
      - {name: esc, run: "setsid sleep 300 & echo \$! > $T/esc.pid; wait"}
      - {name: kids, run: "for i in 1 2 3; do sleep 300 & echo \$! >> $T/kids.pid; done; touch $T/kids.done; wait"}
EOF
g run "$T/cancel.yaml"
expect_rc "canceled with escapees" 1
expect_time_lt "prompt" "$ELAPSED" 10
expect_gone "escaped child of a canceled task gone" "$T/esc.pid"
expect_gone "children of a canceled task gone" "$T/kids.pid"

# a failing task's leftovers, and the run's timeout
g errgroup --timeout 1s --grace 200ms "setsid sleep 300 & echo \$! > $T/to.pid; sleep 300"
expect_rc "timeout with escapee" 124
expect_gone "escapee gone after --timeout" "$T/to.pid"

finish
