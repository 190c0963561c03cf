#!/bin/bash
# sized: at most `limit` children at once; on_error continue (default) runs
# everything and reports every error in arrival order; drain starts nothing new.
. "$(dirname "$0")/lib.sh" "$@"

# A task body that logs its interval to LOG.  Between the two stamps it
# waits until N tasks have logged their start (a barrier, not a sleep): the
# first N to start overlap however loaded the machine is, so the peak is at
# least N whenever grpx lets N run at once, and the later ones pass the
# barrier at once.  An end is stamped before the task exits, so a grpx that
# keeps its limit never shows more than the limit open at once.
iv() # LOG N [EXIT]
{
	echo "echo start \$(date +%s.%N) >> $1; sh $T/until sh -c '[ \$(grep -c ^start $1) -ge $2 ]'; echo end \$(date +%s.%N) >> $1; exit ${3:-0}"
}

# --- limit 2 over 6 children ---
{
	echo "groups:"
	echo "  - {name: s, mode: sized, limit: 2, tasks: ["
	for i in 1 2 3 4 5 6; do echo "      {run: \"$(iv "$T/lim.log" 2)\"},"; done
	echo "    ]}"
} >"$T/lim.yaml"
g run "$T/lim.yaml"
expect_rc "sized limit 2" 0
expect_eq "six tasks ran" 6 "$(grep -c ^start "$T/lim.log")"
expect_eq "max concurrency is exactly limit" 2 "$(max_overlap "$T/lim.log")"
expect_time_lt "queued tasks start as slots free" "$ELAPSED" 5

# --- default limit: the number of CPUs ---
ncpu=$(nproc)
{
	echo "groups:"
	echo "  - {name: s, mode: sized, tasks: ["
	for i in $(seq 1 $((ncpu + 3))); do echo "      {run: \"$(iv "$T/def.log" "$ncpu")\"},"; done
	echo "    ]}"
} >"$T/def.yaml"
g run "$T/def.yaml"
expect_rc "sized default limit" 0
expect_eq "default limit is nproc ($ncpu)" "$ncpu" "$(max_overlap "$T/def.log")"

# --- --jobs caps the whole run, across groups ---
{
	echo "groups:"
	echo "  - {name: e, mode: errgroup, tasks: ["
	echo "      {mode: errgroup, tasks: ["
	for i in 1 2 3; do echo "        {run: \"$(iv "$T/jobs.log" 2)\"},"; done
	echo "      ]},"
	echo "      {mode: all, tasks: ["
	for i in 1 2 3; do echo "        {run: \"$(iv "$T/jobs.log" 2)\"},"; done
	echo "      ]}]}"
} >"$T/jobs.yaml"
g run -j 2 "$T/jobs.yaml"
expect_rc "--jobs 2" 0
expect_eq "six ran under -j 2" 6 "$(grep -c ^start "$T/jobs.log")"
expect_eq "-j 2 caps running tasks in the whole run" 2 "$(max_overlap "$T/jobs.log")"

# --- a task queued behind --jobs when its group fails never starts: skipped ---
g errgroup -j 1 --report "$T/rj.json" 'exit 1' "touch $T/queued-ran"
expect_rc "-j 1 failure" 1
check "queued task never started" test ! -e "$T/queued-ran"
expect_node "queued behind --jobs" "$T/rj.json" errgroup/2 status skipped
expect_node "queued behind --jobs" "$T/rj.json" errgroup/2 start_ms null

# --- on_error continue (default): every child runs, all errors in arrival order ---
# The arrival order b, e, d, a is made by gates (sh $T/after, lib.sh): the
# one free slot comes from b, so e (queued) starts after b ended.
cat >"$T/cont.yaml" <<EOF
groups:
  - name: s
    mode: sized
    limit: 4
    tasks:
      - {name: a, run: "sh $T/after s/d; exit 1"}
      - {name: b, run: "exit 2"}
      - {name: c, run: "sh $T/after s/e; echo c"}
      - {name: d, run: "sh $T/after s/e; exit 3"}
      - {name: e, run: "touch $T/e-ran; exit 4"}
EOF
g run --events "$T/ev" --report "$T/r.json" "$T/cont.yaml"
expect_rc "sized continue" 1
check "the fifth (queued) child still ran" test -e "$T/e-ran"
expect_node "continue" "$T/r.json" s/c status ok
expect_node "continue" "$T/r.json" s/a status failed
expect_node "continue" "$T/r.json" s/e status failed
expect_eq "every error, in arrival order" '["s/b","s/e","s/d","s/a"]' \
	"$(jq -c '[.errors[].path]' "$T/r.json")"
expect_eq "messages" '["exit status 2","exit status 4","exit status 3","exit status 1"]' \
	"$(jq -c '[.errors[].message]' "$T/r.json")"
expect_eq "stderr line" "grpx: 4 errors: s/b: exit status 2; s/e: exit status 4; s/d: exit status 3; s/a: exit status 1" \
	"$(grep '^grpx: ' "$T/err")"

# --- on_error drain: running ones finish, nothing new starts ---
cat >"$T/drain.yaml" <<EOF
groups:
  - name: s
    mode: sized
    limit: 2
    on_error: drain
    tasks:
      - {name: a, run: "exit 1"}
      - {name: b, run: "sh $T/after s/a; echo b-done > $T/b-done"}
      - {name: c, run: "touch $T/c-ran"}
      - {name: d, run: "touch $T/d-ran"}
EOF
g run --events "$T/ev" --report "$T/r2.json" "$T/drain.yaml"
expect_rc "sized drain" 1
check "running sibling finished" test -e "$T/b-done"
check "c did not start" test ! -e "$T/c-ran"
check "d did not start" test ! -e "$T/d-ran"
expect_node "drain" "$T/r2.json" s/b status ok
expect_node "drain" "$T/r2.json" s/c status skipped
expect_node "drain" "$T/r2.json" s/c reason "s/a failed"
expect_node "drain" "$T/r2.json" s/d status skipped
expect_eq "drain errors" '["s/a"]' "$(jq -c '[.errors[].path]' "$T/r2.json")"

# --- drain: a second failure among the running ones is also an error ---
cat >"$T/drain2.yaml" <<EOF
groups:
  - name: s
    mode: sized
    limit: 2
    on_error: drain
    tasks:
      - {name: a, run: "exit 1"}
      - {name: b, run: "sh $T/after s/a; exit 2"}
      - {name: c, run: "touch $T/c2-ran"}
EOF
g run --events "$T/ev" --report "$T/r3.json" "$T/drain2.yaml"
expect_rc "drain, two failures" 1
expect_eq "drain reports every error that arrived" '["s/a","s/b"]' "$(jq -c '[.errors[].path]' "$T/r3.json")"
check "c did not start" test ! -e "$T/c2-ran"

# --- on_error cancel ---
cat >"$T/cancel.yaml" <<EOF
groups:
  - name: s
    mode: sized
    limit: 2
    on_error: cancel
    tasks:
      - {name: a, run: "sleep 0.1; exit 1"}
      - {name: b, run: "sleep 30"}
      - {name: c, run: "touch $T/c3-ran"}
EOF
g run --report "$T/r4.json" "$T/cancel.yaml"
expect_rc "sized cancel" 1
expect_time_lt "cancel is prompt, not after b's 30 s" "$ELAPSED" 10
expect_node "cancel" "$T/r4.json" s/b status canceled
expect_node "cancel" "$T/r4.json" s/c status skipped
expect_eq "cancel errors" '["s/a"]' "$(jq -c '[.errors[].path]' "$T/r4.json")"

# --- ad-hoc: --limit ---
g sized --limit 3 "$(iv "$T/adhoc.log" 3)" "$(iv "$T/adhoc.log" 3)" "$(iv "$T/adhoc.log" 3)" \
	"$(iv "$T/adhoc.log" 3)" "$(iv "$T/adhoc.log" 3)"
expect_rc "ad-hoc sized" 0
expect_eq "ad-hoc --limit 3" 3 "$(max_overlap "$T/adhoc.log")"

finish
