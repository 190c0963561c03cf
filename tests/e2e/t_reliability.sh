#!/bin/bash
# Reliability under abuse: grpx's stdout going away (SIGPIPE), stopped tasks,
# spawn failures, descriptor and process limits.  Never a crash, a hang, a
# lost task or a process left behind.
. "$(dirname "$0")/lib.sh" "$@"

# --- SIGPIPE: `grpx ... | head -1` ---
# grpx's stdout is a pipe whose reader goes away while a task prints forever.
# The run is interrupted (SPEC 2, man page SIGNALS): tasks canceled, the
# report written, and grpx dies by SIGPIPE (a shell shows 141).
cat >"$T/pipe.yaml" <<EOF
grace: 300ms
groups:
  - name: g
    mode: errgroup
    tasks:
      - {name: loud, run: "echo \$\$ > $T/loud.pid; while [ ! -s $T/quiet.pid ]; do sleep 0.01; done; while :; do echo y; done"}
      - {name: quiet, run: "echo \$\$ > $T/quiet.pid; exec sleep 100"}
EOF
t0=$(now)
"$GRPX" run -o prefix --report "$T/pipe.json" "$T/pipe.yaml" 2>"$T/err" </dev/null |
	head -1 >"$T/out"
RC=${PIPESTATUS[0]}
elapsed=$(since "$t0")
expect_eq "SIGPIPE: grpx dies by SIGPIPE (141)" 141 "$RC"
expect_eq "SIGPIPE: head got one tagged line" "[g/loud] y" "$(cat "$T/out")"
expect_time_lt "SIGPIPE: prompt" "$elapsed" 10
expect_eq "SIGPIPE: report written, interrupted" interrupted "$(json "$T/pipe.json" .status)"
expect_node "SIGPIPE" "$T/pipe.json" g/loud status canceled
expect_node "SIGPIPE" "$T/pipe.json" g/quiet status canceled
expect_gone "SIGPIPE: tasks gone" "$T/loud.pid" "$T/quiet.pid"
check "SIGPIPE: no crash message" test -z "$(grep -iE 'sanitizer|segmentation|core dumped|abort' "$T/err")"

# Under grouped output the first emit hits EPIPE.
rm -f "$T"/*.pid
"$GRPX" errgroup -o grouped --grace 300ms --report "$T/pipe2.json" \
	'seq 100000' "sleep 0.3; echo \$\$ > $T/late.pid; exec sleep 100" 2>"$T/err" </dev/null |
	head -1 >"$T/out"
RC=${PIPESTATUS[0]}
expect_eq "SIGPIPE (grouped): grpx dies by SIGPIPE" 141 "$RC"
expect_eq "SIGPIPE (grouped): first line" 1 "$(cat "$T/out")"
expect_eq "SIGPIPE (grouped): report" interrupted "$(json "$T/pipe2.json" .status)"
[ -f "$T/late.pid" ] && expect_gone "SIGPIPE (grouped): late task gone" "$T/late.pid"

# stdout on a full disk (ENOSPC) is not a reader that went away: grpx must
# say what happened instead of dying silently by SIGPIPE.
if [ -c /dev/full ]; then
	"$GRPX" errgroup -o grouped 'echo hi' >/dev/full 2>"$T/err" </dev/null
	RC=$?
	note "stdout on /dev/full: exit $RC, stderr: $(head -c 200 "$T/err")"
	expect_match "stdout on /dev/full: the write error is reported" "No space left on device" "$(cat "$T/err")"
fi

# --- a stalled stdout (a reader that stops reading, like a paused pager) ---
# grpx must keep its promises while its own writes would block: the run's
# --timeout still fires, and SIGTERM still cancels and ends the run.  The
# reader goes away only after 60 s: a grpx stuck in a write fails the bounds.
mkfifo "$T/stall"
sleep 60 <"$T/stall" &
reader=$!
BG_PIDS="$BG_PIDS $reader"
set -m
"$GRPX" errgroup -o prefix --timeout 1s --grace 200ms --report "$T/stall.json" \
	"echo \$\$ > $T/stall.pid; exec yes" >"$T/stall" 2>"$T/err" </dev/null &
GP=$!
BG_PIDS="$BG_PIDS $GP"
set +m
t0=$(now)
{ wait "$GP"; } 2>/dev/null
RC=$?
elapsed=$(since "$t0")
kill "$reader" 2>/dev/null
expect_time_lt "stalled stdout: --timeout 1s still ends the run on time" "$elapsed" 5
expect_eq "stalled stdout: exit 124 (the run's timeout)" 124 "$RC"
expect_gone "stalled stdout: task gone" "$T/stall.pid"

rm -f "$T/stall.pid"
sleep 60 <"$T/stall" &
reader=$!
BG_PIDS="$BG_PIDS $reader"
set -m
"$GRPX" errgroup -o prefix --grace 200ms --report "$T/stall2.json" \
	"echo \$\$ > $T/stall.pid; exec yes" >"$T/stall" 2>"$T/err" </dev/null &
GP=$!
BG_PIDS="$BG_PIDS $GP"
set +m
wait_for "$T/stall.pid"
sleep 0.5 # not a race: only time for `yes` to fill the pipe, so that grpx's writes block
t0=$(now)
kill -TERM "$GP"
{ wait "$GP"; } 2>/dev/null
RC=$?
elapsed=$(since "$t0")
kill "$reader" 2>/dev/null
expect_time_lt "stalled stdout: SIGTERM handled promptly" "$elapsed" 5
expect_eq "stalled stdout: dies by SIGTERM (143)" 143 "$RC"
expect_eq "stalled stdout: report says interrupted by SIGTERM" "interrupted 143" \
	"$(json "$T/stall2.json" '"\(.status) \(.exit_code)"')"
expect_gone "stalled stdout: task gone after SIGTERM" "$T/stall.pid"

# --- a stopped task still dies on cancel (SIGTERM, then SIGCONT) ---
# grace 20s: only SIGCONT after SIGTERM makes it end well before the grace.
# sh $T/stopped.sh PIDFILE: the process in PIDFILE is stopped (state T).
cat >"$T/stopped.sh" <<'EOF'
pid=$(cat "$1" 2>/dev/null) && [ -n "$pid" ] && grep -qs '^State:[[:space:]]*T' "/proc/$pid/status"
EOF
cat >"$T/stop.yaml" <<EOF
grace: 20s
groups:
  - name: g
    mode: errgroup
    tasks:
      - {name: stopped, run: "echo \$\$ > $T/stopped.pid; kill -STOP \$\$; sleep 100"}
      - {name: bad, run: "sh $T/until sh $T/stopped.sh $T/stopped.pid; exit 1"}
EOF
g run --report "$T/stop.json" "$T/stop.yaml"
expect_rc "stopped task, sibling fails" 1
expect_time_lt "stopped task dies at SIGTERM+SIGCONT, not after the 20s grace" "$ELAPSED" 10
expect_node "stopped" "$T/stop.json" g/stopped status canceled
expect_gone "stopped task gone" "$T/stopped.pid"

# ... and on SIGINT to grpx, sent once the task has stopped
cat >"$T/stop2.yaml" <<EOF
grace: 20s
groups:
  - {name: stopped, run: "echo \$\$ > $T/stopped.pid; kill -STOP \$\$; sleep 100"}
EOF
set -m
rm -f "$T"/*.pid
"$GRPX" run --report "$T/stop2.json" "$T/stop2.yaml" >"$T/out" 2>"$T/err" </dev/null &
GP=$!
BG_PIDS="$BG_PIDS $GP"
set +m
sh "$T/until" sh "$T/stopped.sh" "$T/stopped.pid" || fail "the task did not stop itself"
t0=$(now)
kill -INT "$GP"
{ wait "$GP"; } 2>/dev/null
RC=$?
expect_eq "SIGINT with a stopped task: dies by SIGINT" 130 "$RC"
expect_time_lt "SIGINT with a stopped task: prompt, not after the 20s grace" "$(since "$t0")" 10
expect_gone "SIGINT: stopped task gone" "$T/stopped.pid"

# SIGINT while grpx is still loading a big job file: the report must not be
# lost (SPEC 6: written also when the run is interrupted); nothing ran, so
# every node is skipped, and grpx dies by SIGINT.  The signal goes out as
# soon as grpx blocks it, first thing in main, before loading the file
# (a SIGINT before that kills a program that has not started yet).
{
	echo "groups:"
	echo "  - name: many"
	echo "    mode: sized"
	echo "    tasks:"
	for ((i = 0; i < 200000; i++)); do echo "      - run: 'touch $T/loaded-ran'"; done
} >"$T/bigload.yaml"
set -m
"$GRPX" run --report "$T/early.json" --events "$T/early.ndjson" "$T/bigload.yaml" >"$T/out" 2>"$T/err" </dev/null &
GP=$!
BG_PIDS="$BG_PIDS $GP"
set +m
wait_sigblk "$GP" || fail "SIGINT while loading: grpx never blocked SIGINT"
# grpx opens its --events file once the job is loaded
loading=$([ -e "$T/early.ndjson" ] && echo no || echo yes)
kill -INT "$GP"
{ wait "$GP"; } 2>/dev/null
RC=$?
expect_eq "SIGINT while loading: sent before the job was loaded (no --events file yet)" yes "$loading"
expect_eq "SIGINT while loading: dies by SIGINT" 130 "$RC"
check "SIGINT while loading: nothing ran" test ! -e "$T/loaded-ran"
expect_eq "SIGINT while loading: report written, interrupted" interrupted "$(json "$T/early.json" .status 2>/dev/null)"

# A stopped grandchild in the task's group (the main process exits).
rm -f "$T"/*.pid
g errgroup --grace 20s "sh -c 'echo \$\$ > $T/gc.pid; kill -STOP \$\$; sleep 100' & sh $T/until sh $T/stopped.sh $T/gc.pid; echo main"
expect_rc "stopped grandchild left behind" 0
expect_time_lt "stopped grandchild killed without waiting the 20s grace" "$ELAPSED" 10
expect_gone "stopped grandchild gone" "$T/gc.pid"

# A task that leaves 300 children behind and a TERM-ignoring escapee that
# forks without end: all killed and reaped after the grace.
rm -f "$T/storm.pid"
g errgroup --grace 300ms "export STORM_MARK=$T; for i in \$(seq 300); do sleep 100 & echo \$! >> $T/storm.pid; done;
	setsid sh -c 'trap \"\" TERM; echo \$\$ >> $T/storm.pid; while :; do sleep 0.01 & done' &
	while [ \$(wc -l < $T/storm.pid) -lt 301 ]; do sleep 0.01; done; date +%s.%N > $T/storm.end; echo main-done"
t1=$(now)
expect_rc "fork storm" 0
# (from the main process's end: starting 300 children takes a busy machine seconds)
expect_time_lt "fork storm: over soon after the grace" \
	"$(awk -v a="$(cat "$T/storm.end" 2>/dev/null || echo 0)" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" 5
expect_gone "fork storm: 300 children and the forking escapee gone" "$T/storm.pid"
check "fork storm: nothing of the task left" test -z "$(grep -lzxF "STORM_MARK=$T" /proc/[0-9]*/environ 2>/dev/null)"

# --- huge durations: a clear error or a correct run, never a wrapped-around
# deadline (the engine keeps deadlines in microseconds, in an int64) ---
g errgroup --timeout 2562047788015h 'echo hi'
check "--timeout 2562047788015h: runs (0) or is refused (2), does not time out at once (got $RC)" \
	test "$RC" = 0 -o "$RC" = 2
g errgroup --grace 2562047788015h --timeout 300ms 'sleep 5'
check "--grace 2562047788015h: the run's timeout still ends it (124) or refused (2) (got $RC)" \
	test "$RC" = 124 -o "$RC" = 2
cat >"$T/backoff.yaml" <<EOF
groups:
  - {name: r, mode: retry, attempts: 4, backoff: {initial: 10ms, factor: 1e18}, tasks: [{run: "echo x >> $T/tries; exit 1"}]}
EOF
rm -f "$T/tries"
g run --timeout 500ms "$T/backoff.yaml"
expect_rc "backoff growing past int64 microseconds: waits until the run's timeout" 124
expect_eq "backoff growing past int64 microseconds: two tries (10ms, then an endless wait)" 2 \
	"$(wc -l <"$T/tries" 2>/dev/null | tr -d ' ')"

# --- spawn failures ---
cat >"$T/missing.yaml" <<EOF
groups:
  - {name: nope, argv: [grpx-no-such-program-xyz, arg]}
EOF
g run --report "$T/m.json" "$T/missing.yaml"
expect_rc "missing program (argv)" 1
expect_node "missing program" "$T/m.json" nope status error
expect_node "missing program" "$T/m.json" nope exit_code null
expect_match "missing program: clear message" \
	"nope: cannot start: .*(No such file or directory|not found)" "$(cat "$T/err")"
expect_match "missing program: report message" "No such file|not found" \
	"$(json "$T/m.json" '.errors[0].message')"
g run -x "$T/missing.yaml"
expect_rc "missing program with -x" 127

cat >"$T/nocwd.yaml" <<EOF
groups:
  - {name: nocwd, run: "touch $T/nocwd-ran", cwd: $T/no/such/dir}
EOF
g run --report "$T/c.json" "$T/nocwd.yaml"
expect_rc "missing cwd" 1
expect_node "missing cwd" "$T/c.json" nocwd status error
expect_match "missing cwd: clear message" "nocwd: cannot start: .*No such file or directory" "$(cat "$T/err")"
check "missing cwd: nothing ran" test ! -e "$T/nocwd-ran"
g run -x "$T/nocwd.yaml"
expect_rc "missing cwd with -x" 127

# a run-form task whose shell is missing is an error too
cat >"$T/noshell.yaml" <<EOF
shell: /nonexistent/sh
groups:
  - {name: t, run: "true"}
EOF
g run --report "$T/s.json" "$T/noshell.yaml"
expect_rc "missing shell" 1
expect_node "missing shell" "$T/s.json" t status error

# --- EMFILE: ulimit -n 64 with 500 tasks ---
# Every task either runs (ok) or is `error`; none is lost, no crash, no hang.
emjob() # N LIMIT FILE
{
	{
		echo "groups:"
		echo "  - name: many"
		echo "    mode: errgroup"
		echo "    on_error: continue"
		[ -n "$2" ] && echo "    limit: $2"
		echo "    tasks:"
		for ((i = 0; i < $1; i++)); do echo "      - run: 'exec sleep 0.2'"; done
	} >"$3"
}
emjob 500 "" "$T/emfile.yaml"
for mode in grouped prefix; do
	t0=$(now)
	(
		ulimit -n 64
		exec "$GRPX" run -o $mode --report "$T/em.json" "$T/emfile.yaml"
	) >"$T/out" 2>"$T/err" </dev/null
	RC=$?
	elapsed=$(since "$t0")
	note "ulimit -n 64, 500 tasks, -o $mode: exit $RC in ${elapsed}s: $(json "$T/em.json" '[.root.children[0].children[].status] | group_by(.) | map("\(.[0])=\(length)") | join(" ")')"
	check "EMFILE ($mode): exit 0 or 1, not a crash ($RC)" test "$RC" = 0 -o "$RC" = 1
	expect_time_lt "EMFILE ($mode): no hang" "$elapsed" 30
	expect_eq "EMFILE ($mode): 500 task statuses, each ok or error" 500 \
		"$(json "$T/em.json" '[.root.children[0].children[] | select(.status == "ok" or .status == "error")] | length')"
	if [ "$RC" = 1 ]; then
		expect_match "EMFILE ($mode): a clear message" "cannot start: .*(Too many open files|Resource temporarily unavailable)" \
			"$(json "$T/em.json" '.errors[0].message')"
	fi
done

# --- EAGAIN: a low ulimit -u ---
# RLIMIT_NPROC does not bind root (CAP_SYS_RESOURCE/CAP_SYS_ADMIN), so as
# root this part runs under an unprivileged user when one is available.
# That user must reach grpx, the job file and the report's folder: a
# checkout or $TMPDIR below a folder only root may enter (a clone under
# /root, mode 700) is out of its reach.  So it runs a copy of grpx in a
# folder of its own under /tmp, made 755 (removed at exit).
runas=""
if [ "$(id -u)" = 0 ]; then
	if command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
		runas="setpriv --reuid=nobody --regid=nogroup --clear-groups --"
	fi
fi
if [ "$(id -u)" = 0 ] && [ -z "$runas" ]; then
	note "SKIP ulimit -u: running as root and no way to drop privileges (RLIMIT_NPROC does not bind root)"
else
	U=$T/u
	gx=$GRPX
	if [ -n "$runas" ]; then
		U=$(mktemp -d /tmp/grpx-e2e-nobody.XXXXXX)
		CLEANUP_DIRS="$CLEANUP_DIRS $U"
		chmod 755 "$U"
		gx=$U/grpx
		cp "$GRPX" "$gx" && chmod 755 "$gx"
	fi
	mkdir -p "$U/r" && chmod 777 "$U/r"
	emjob 200 "" "$U/eagain.yaml"
	chmod 644 "$U/eagain.yaml"
	if [ -n "$runas" ] && ! (cd "$U" && $runas "$gx" --version) >/dev/null 2>&1; then
		# e.g. the valgrind wrapper, which runs a grpx and writes logs
		# where only its owner may go
		note "SKIP ulimit -u: nobody cannot run a copy of $GRPX (a wrapper of files it cannot reach?)"
	else
		# count the processes the user already has, allow 20 more
		user=$([ -n "$runas" ] && echo nobody || id -un)
		have=$(ps -u "$user" -o pid= 2>/dev/null | wc -l)
		t0=$(now)
		(cd "$U" && $runas bash -c "ulimit -u $((have + 20)) && exec \"\$0\" run -o grouped --report $U/r/u.json $U/eagain.yaml" \
			"$gx") >"$T/out" 2>"$T/err" </dev/null
		RC=$?
		elapsed=$(since "$t0")
		note "ulimit -u $((have + 20)) as $user, 200 tasks: exit $RC in ${elapsed}s: $(json "$U/r/u.json" '[.root.children[0].children[].status] | group_by(.) | map("\(.[0])=\(length)") | join(" ")')"
		check "EAGAIN: exit 0 or 1, not a crash ($RC; $(head -c 300 "$T/err"))" test "$RC" = 0 -o "$RC" = 1
		expect_time_lt "EAGAIN: no hang" "$elapsed" 30
		expect_eq "EAGAIN: 200 task statuses, each ok or error" 200 \
			"$(json "$U/r/u.json" '[.root.children[0].children[] | select(.status == "ok" or .status == "error")] | length')"
		if [ "$RC" = 1 ]; then
			expect_match "EAGAIN: a clear message" "cannot start: .*Resource temporarily unavailable" \
				"$(json "$U/r/u.json" '.errors[0].message')"
		fi
	fi
fi

finish
