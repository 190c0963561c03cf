#!/bin/bash
# Descriptors: a task sees only fds 0, 1, 2 (SPEC section 2), whatever the
# output mode and whatever grpx itself has open; grpx leaks no fd of its own
# across thousands of tasks.
#
# GRPX_FD_TASKS sets the size of the leak run (default 3000; the stress
# script runs 10 000).
. "$(dirname "$0")/lib.sh" "$@"

# The shell lists its own fds, with no pipeline (the shell would hold the
# pipe's fds while it sets it up); "; true" keeps dash from exec'ing ls
# (whose directory fd would then show up as 3).  ls -m prints "0, 1, 2".
LS='ls -m /proc/$$/fd; true'

cat >"$T/fds.yaml" <<EOF
groups:
  - name: g
    mode: errgroup
    tasks:
      - {name: sh, run: '$LS'}
      - {name: argv, argv: [/bin/sh, -c, '$LS']}
  - name: w
    mode: waterfall
    tasks:
      - {run: 'echo stage1'}
      - {name: stage, run: '$LS'}
  - name: r
    mode: race
    tasks:
      - {name: only, run: '$LS'}
EOF

# Open extra fds in grpx's own environment (an inherited fd 7, a report
# file, an events file): none may reach a task.
for mode in grouped prefix quiet raw; do
	(
		exec 7>"$T/inherited" 8<"$T/fds.yaml"
		exec "$GRPX" run -o $mode --report "$T/r.json" --events "$T/ev.ndjson" \
			--junit "$T/j.xml" --trace "$T/tr.json" "$T/fds.yaml"
	) >"$T/out" 2>"$T/err" </dev/null
	RC=$?
	expect_rc "fds ($mode)" 0
	if [ $mode = quiet ]; then
		expect_eq "quiet prints nothing" "" "$(cat "$T/out")"
		continue
	fi
	# every listing, tags stripped
	lists=$(grep -v stage1 "$T/out" | sed 's/^\[[^]]*\] //' | sort -u)
	expect_eq "every task sees exactly 0 1 2 ($mode)" "0, 1, 2" "$lists"
	expect_eq "four listings ($mode)" 4 "$(grep -c '0, 1, 2$' "$T/out")"
done

# stdin: inherit keeps 0, 1, 2 too
cat >"$T/inherit.yaml" <<EOF
groups:
  - {name: t, stdin: inherit, run: '$LS'}
EOF
g run -o grouped "$T/inherit.yaml"
expect_rc "stdin inherit" 0
expect_eq "stdin: inherit task sees 0 1 2" "0, 1, 2" "$(cat "$T/out")"

# grpx started with one of its own fds 0, 1, 2 closed: its first open()
# lands there.  A task must still see exactly 0, 1, 2, and its stdout and
# stderr must not be mixed up.  ("exec 1>&2": a redirection on ls alone
# would show the fd dash saves stdout in.)
for mode in grouped prefix; do
	"$GRPX" errgroup -o $mode 'echo out; exec 1>&2; ls -m /proc/$$/fd; true' >&- 2>"$T/err" </dev/null
	RC=$?
	expect_rc "grpx with fd 1 closed ($mode)" 0
	expect_eq "grpx with fd 1 closed: task sees 0 1 2, stdout not in stderr ($mode)" "0, 1, 2" \
		"$(sed 's/^\[[^]]*\] //' "$T/err")"
	"$GRPX" errgroup -o $mode 'ls -m /proc/$$/fd; echo err >&2' 2>&- >"$T/out" </dev/null
	RC=$?
	expect_rc "grpx with fd 2 closed ($mode)" 0
	expect_eq "grpx with fd 2 closed: task sees 0 1 2, stderr not in stdout ($mode)" "0, 1, 2" \
		"$(sed 's/^\[[^]]*\] //' "$T/out")"
	"$GRPX" errgroup -o $mode 'ls -m /proc/$$/fd; true' <&- >"$T/out" 2>"$T/err"
	RC=$?
	expect_rc "grpx with fd 0 closed ($mode)" 0
	expect_eq "grpx with fd 0 closed: task sees 0 1 2 ($mode)" "0, 1, 2" \
		"$(sed 's/^\[[^]]*\] //' "$T/out")"
done

# --- no fd leak across many tasks ---
# A sized group of N `true` tasks, then one task that counts grpx's fds
# (its parent's).  The count must not depend on N.
#
# count.sh [TASKS]: exec'd by a task, so that grpx is its parent and its fds
# 1 and 2 are the task's.  It first waits until the --events file $T/ev shows
# TASKS tasks ended, then 0.3 s more (grpx closes what those tasks held in
# the same wake-up in which it ends them).  It leaves out the fds that are
# the same files as its own stdout and stderr: grpx closes its copies of
# their write ends right after starting the task, racing with this count.
# A leaked fd is another file, and stays.
cat >"$T/count.sh" <<EOF
if [ "\${1:-0}" -gt 0 ]; then
	sh "$T/until" sh -c '[ \$(grep -c "\"event\": \"end\".*\"kind\": \"task\"" "$T/ev") -ge \$1 ]' _ "\$1"
	sleep 0.3
fi
own=" \$(stat -L -c %d:%i /proc/\$\$/fd/1 /proc/\$\$/fd/2 | tr '\n' ' ')"
n=0
for f in /proc/\$PPID/fd/*; do
	id=\$(stat -L -c %d:%i "\$f" 2>/dev/null) || continue
	case \$own in *" \$id "*) ;; *) n=\$((n + 1)) ;; esac
done
echo \$n
EOF
N=${GRPX_FD_TASKS:-3000}
leakjob() # N FILE
{
	{
		echo "groups:"
		echo "  - name: many"
		echo "    mode: sized"
		echo "    limit: 16"
		echo "    tasks:"
		for ((i = 0; i < $1; i++)); do echo "      - run: 'true'"; done
		echo "  - name: count"
		echo "    run: 'exec sh $T/count.sh'"
	} >"$2"
}
leakjob 10 "$T/small.yaml"
leakjob "$N" "$T/big.yaml"
g_clean run -o grouped --events "$T/ev" --report "$T/small.json" "$T/small.yaml"
expect_rc "10 tasks" 0
small=$(tr -d ' ' <"$T/out")
g_clean run -o grouped --events "$T/ev" --report "$T/big.json" "$T/big.yaml"
expect_rc "$N tasks" 0
big=$(tr -d ' ' <"$T/out")
note "$N tasks at limit 16 took ${ELAPSED}s; grpx fds after 10 tasks: $small, after $N: $big"
expect_eq "grpx holds as many fds after $N tasks as after 10" "$small" "$big"
expect_eq "every one of the $N tasks is ok" "$N" \
	"$(jq '[.root.children[0].children[] | select(.status == "ok")] | length' "$T/big.json")"

# the same under -o prefix (pipes instead of spool files)
g_clean run -o prefix --events "$T/ev" "$T/small.yaml"
small=$(sed 's/^\[[^]]*\] //' "$T/out" | tr -d ' ')
g_clean run -o prefix --events "$T/ev" "$T/big.yaml"
big=$(sed 's/^\[[^]]*\] //' "$T/out" | tr -d ' ')
expect_eq "no fd leak under -o prefix either ($small vs $big)" "$small" "$big"

# Failures must not leak either: ok, failed, spawn errors (missing program,
# missing cwd) and timeouts, in one sized group.  The last child waits until
# grpx has ended all the others, then counts grpx's fds.
mixjob() # N FILE
{
	{
		echo "groups:"
		echo "  - name: mix"
		echo "    mode: sized"
		echo "    limit: 16"
		echo "    tasks:"
		for ((i = 0; i < $1; i++)); do
			case $((i % 5)) in
			0) echo "      - run: 'true'" ;;
			1) echo "      - run: 'exit 3'" ;;
			2) echo "      - argv: [/nonexistent/grpx-no-such-program]" ;;
			3) echo "      - {run: 'true', cwd: /nonexistent/grpx-no-such-dir}" ;;
			4) echo "      - {run: 'sleep 5', timeout: 10ms, grace: 100ms}" ;;
			esac
		done
		echo "      - name: count"
		echo "        run: 'exec sh $T/count.sh $1'"
	} >"$2"
}
M=$((N / 5 < 500 ? N / 5 : 500))
mixjob 10 "$T/mix-small.yaml"
mixjob "$M" "$T/mix-big.yaml"
g_clean run -o grouped --events "$T/ev" --report "$T/mix.json" "$T/mix-small.yaml"
expect_rc "10 mixed tasks" 1
small=$(tr -d ' ' <"$T/out")
g_clean run -o grouped --events "$T/ev" --report "$T/mix.json" "$T/mix-big.yaml"
expect_rc "$M mixed tasks" 1
big=$(tr -d ' ' <"$T/out")
expect_eq "no fd leak across failures, spawn errors and timeouts ($small vs $big)" "$small" "$big"
expect_eq "$M mixed tasks: statuses" "error=$((2 * M / 5)) failed=$((M / 5)) ok=$((M / 5 + 1)) timeout=$((M / 5))" \
	"$(jq -r '[.root.children[0].children[].status] | group_by(.) | map("\(.[0])=\(length)") | join(" ")' "$T/mix.json")"

finish
