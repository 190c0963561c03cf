#!/bin/bash
# Nothing outlives grpx (SPEC section 11): when grpx itself is SIGKILLed,
# every process group it started is killed within 1 s, TERM-proof tasks and
# their grandchildren included; after a normal run no keeper is left.
. "$(dirname "$0")/lib.sh" "$@"

# crash NAME JOBFILE NTASKS: start grpx on the job, wait until NTASKS tasks
# wrote their pid, SIGKILL grpx, and check that nothing of them is alive 1 s later.
crash()
{
	local name=$1 job=$2 want=$3 mark="$T/$1" gp i
	rm -f "$T/$name.pids"
	GRPX_CRASH_MARK=$mark "$GRPX" run "$job" >/dev/null 2>&1 </dev/null &
	gp=$!
	for i in $(seq 200); do
		[ "$(wc -l <"$T/$name.pids" 2>/dev/null || echo 0)" -ge "$want" ] && break
		sleep 0.05
	done
	expect_eq "$name: the tasks run ($(alive GRPX_CRASH_MARK="$mark") processes of theirs)" "$want" \
		"$(wc -l <"$T/$name.pids" 2>/dev/null || echo 0)"
	kill -9 "$gp"
	wait "$gp" 2>/dev/null
	t0=$(now)
	# within 1 s: check at the deadline, never against a gap between stamps
	while [ "$(alive GRPX_CRASH_MARK="$mark")" != 0 ] && [ "$(awk -v a="$(since "$t0")" 'BEGIN { print (a < 1.0) }')" = 1 ]; do
		sleep 0.05
	done
	expect_eq "$name: nothing of the tasks alive 1 s after grpx was SIGKILLed" 0 "$(alive GRPX_CRASH_MARK="$mark")"
	# belt and braces for the CI machine
	for p in $(grep -lzxF "GRPX_CRASH_MARK=$mark" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3); do
		kill -9 "$p" 2>/dev/null
	done
}

cat >"$T/mixed.yaml" <<EOF
groups:
  - name: all
    mode: errgroup
    tasks:
      - name: stubborn
        run: |
          trap '' TERM
          (trap '' TERM; sleep 100 & wait) &
          sleep 100 &
          echo \$\$ >> $T/mixed.pids
          wait
      - name: wf
        mode: waterfall
        tasks:
          - {run: 'echo \$\$ >> $T/mixed.pids; seq 10; sleep 100'}
          - {run: cat}
      - name: again
        mode: retry
        attempts: 5
        tasks: [{run: 'echo \$\$ >> $T/mixed.pids; sleep 100'}]
      - name: many
        mode: sized
        limit: 3
        tasks:
          - {run: 'echo \$\$ >> $T/mixed.pids; sleep 100 & sleep 100 & wait'}
          - {run: 'echo \$\$ >> $T/mixed.pids; sleep 100'}
          - {run: 'echo \$\$ >> $T/mixed.pids; sleep 100'}
EOF
crash mixed "$T/mixed.yaml" 6

# a task that forks on without end, in its own process group
cat >"$T/storm.yaml" <<EOF
groups:
  - name: s
    mode: errgroup
    tasks:
      - {run: 'echo \$\$ >> $T/storm.pids; trap "" TERM; while :; do sleep 0.05 & wait; done'}
EOF
crash storm "$T/storm.yaml" 1

# a normal run leaves no keeper: no child of grpx's is left once it exits
GRPX_CRASH_MARK=$T/normal "$GRPX" sized 'true' 'sleep 0.2' >/dev/null 2>&1 </dev/null
expect_eq "after a normal run nothing of grpx's is left (the keeper exited)" 0 "$(alive GRPX_CRASH_MARK="$T/normal")"
# and the keeper is not a task: it is in no report
"$GRPX" sized --report "$T/r.json" 'true' >/dev/null 2>&1 </dev/null
expect_eq "the keeper appears in no report" 1 "$(json "$T/r.json" '[.. | objects | select(.kind == "task")] | length')"

finish
