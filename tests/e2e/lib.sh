# lib.sh - shared helpers for grpx's end-to-end tests.
#
# Each tests/e2e/t_NAME.sh sources this file and is run (by ctest) as
#     bash tests/e2e/t_NAME.sh /path/to/build/grpx
# It sets GRPX, makes a private temp dir $T (removed on exit, along with any
# process whose pid a test wrote into a $T/*.pid file), counts checks and
# prints a closing line "N passed, M failed" that CI reads.  A test file
# keeps going after a failed check and exits 1 at the end if any failed.
#
# Timing: a check never races a sleep.  Orderings come from gates ($T/after,
# $T/until, flock, marker files); "not before" bounds are tight; "soon
# enough" bounds (expect_time_lt) are generous and multiplied by
# GRPX_TIME_SCALE (default 1; the valgrind and sanitizer runs raise it).

set -u

GRPX=${1:-${GRPX:-}}
if [ -z "$GRPX" ]; then
	echo "usage: bash $0 /path/to/grpx" >&2
	exit 2
fi
case $GRPX in /*) ;; *) GRPX=$PWD/$GRPX ;; esac
if [ ! -x "$GRPX" ]; then
	echo "not executable: $GRPX" >&2
	exit 2
fi
# A signal ignored when grpx starts stays ignored (SPEC 11), and a shell
# cannot undo a disposition it started with: run as a background job of a
# script (`nohup`, `cmd &` without job control), a test would hand SIGINT
# ignored to every grpx it starts, and the tests that send it would fail.
# Start the test again with every signal at its default (ctest does so too).
if [ -z "${E2E_SIGDFL:-}" ] && case $0 in *.sh) true ;; *) false ;; esac &&
	[ "$((0x$(awk '/^SigIgn:/ { print $2 }' /proc/$$/status)))" != 0 ]; then
	E2E_SIGDFL=1 exec env --default-signal bash "$0" "$@"
fi
# require TOOL...: this test needs TOOL (a command).  When one is missing the
# test is skipped: exit 77, which ctest reports as "Skipped", with the reason
# in its output.  Under CI (CI set) a missing tool fails the test instead, so
# CI never skips silently.
require()
{
	local tool
	for tool in "$@"; do
		command -v "$tool" >/dev/null && continue
		if [ -n "${CI:-}" ]; then
			echo "FAIL - $tool is required (CI is set: not skipping)" >&2
			exit 2
		fi
		echo "SKIP - $tool is not installed; this test needs it"
		exit 77
	done
}
# Most tests read reports with jq; a test that does not sets
# E2E_NEEDS (to its own list, maybe empty) before sourcing this file.
require ${E2E_NEEDS-jq}

T=$(mktemp -d "${TMPDIR:-/tmp}/grpx-e2e.XXXXXX")
PASS=0
FAIL=0
BG_PIDS=""
CLEANUP_DIRS="" # more directories to remove on exit (outside $T)
TIME_SCALE=${GRPX_TIME_SCALE:-1}
case $TIME_SCALE in '' | *[!0-9.]* | *.*.* | .)
	echo "GRPX_TIME_SCALE must be a positive number, not '$TIME_SCALE'" >&2
	exit 2 ;;
esac

# Kill every pid recorded under $T (belt and braces: a grpx bug must not leave
# sleeps behind on the CI machine), then remove $T.
_cleanup()
{
	local f p
	for p in $BG_PIDS; do kill -9 "$p" 2>/dev/null; done
	for f in "$T"/*.pid "$T"/*/*.pid; do
		[ -f "$f" ] || continue
		for p in $(cat "$f"); do
			case $p in '' | *[!0-9]*) continue ;; esac
			kill -9 "$p" 2>/dev/null
		done
	done
	rm -rf "$T"
	for f in $CLEANUP_DIRS; do rm -rf "$f"; done
}
trap _cleanup EXIT

# Gates for task bodies (run by /bin/sh).  Each gives up after 6000 tries (a
# minute or two) so that a broken grpx fails the check that follows instead
# of hanging the test.
#
# sh $T/until CMD [ARG...]: run CMD every 10 ms until it succeeds.
cat >"$T/until" <<'EOF'
i=0
until "$@"; do
	i=$((i + 1))
	[ $i -lt 6000 ] || exit 1
	sleep 0.01
done
EOF
# sh $T/after PATH...: wait until grpx has ended each PATH, as its --events
# file says (the run must be given --events "$T/ev"), then 0.3 s more.  The
# end line is written as grpx reaps the task, but ends that arrive in the
# same wake-up of its loop reach their group in input order: the extra time
# puts the caller's own end into a later wake-up, so that "B ended after A"
# is what the group sees.
cat >"$T/after" <<EOF
for p; do
	sh "$T/until" sh -c 'grep -F "\"path\": \"\$1\"," "$T/ev" | grep -qF "\"event\": \"end\""' _ "\$p"
done
sleep 0.3
EOF

ok()
{
	PASS=$((PASS + 1))
	echo "ok - $*"
}

fail()
{
	FAIL=$((FAIL + 1))
	echo "FAIL - $*"
}

# note MSG: informational line (a skipped assertion, a measurement).
note()
{
	echo "# $*"
}

# check NAME CMD...: passes when CMD succeeds.
check()
{
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}

# expect_eq NAME EXPECTED ACTUAL
expect_eq()
{
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		fail "$1: expected '$2', got '$3'"
	fi
}

# expect_match NAME REGEX ACTUAL (extended regex, grep -E)
expect_match()
{
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		ok "$1"
	else
		fail "$1: '$3' does not match /$2/"
	fi
}

# expect_lt NAME A B: A < B, as decimal numbers.
expect_lt()
{
	if awk -v a="$2" -v b="$3" 'BEGIN { exit !(a + 0 < b + 0) }'; then
		ok "$1 ($2 < $3)"
	else
		fail "$1: expected $2 < $3"
	fi
}

# expect_time_lt NAME A B: A < B x GRPX_TIME_SCALE.  For "soon enough"
# bounds on a time (seconds or ms) only; never for sizes.
expect_time_lt()
{
	expect_lt "$1" "$2" "$(awk -v b="$3" -v s="$TIME_SCALE" 'BEGIN { print b * s }')"
}

# expect_ge NAME A B: A >= B, as decimal numbers.
expect_ge()
{
	if awk -v a="$2" -v b="$3" 'BEGIN { exit !(a + 0 >= b + 0) }'; then
		ok "$1 ($2 >= $3)"
	else
		fail "$1: expected $2 >= $3"
	fi
}

# expect_file NAME EXPECTED_FILE ACTUAL_FILE: byte-exact comparison.
expect_file()
{
	if cmp -s "$2" "$3"; then
		ok "$1"
	else
		fail "$1: bytes differ; expected $(od -c "$2" | head -5 | tr '\n' '|') got $(od -c "$3" | head -5 | tr '\n' '|')"
	fi
}

# expect_out NAME PRINTF_FORMAT: grpx's last stdout ($T/out) is exactly the
# bytes printf FORMAT produces.
expect_out()
{
	printf "$2" >"$T/expected"
	expect_file "$1" "$T/expected" "$T/out"
}

now()
{
	date +%s.%N
}

# alive VAR=VALUE: how many live processes (not zombies) hold VAR=VALUE in
# their environment; a task that exports a marker can be counted after grpx
# is gone, grandchildren and escapees included.
alive()
{
	local n=0 p st
	for p in $(grep -lzxF "$1" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3); do
		st=$(awk '/^State:/ { print $2 }' /proc/"$p"/status 2>/dev/null)
		[ -n "$st" ] && [ "$st" != Z ] && n=$((n + 1))
	done
	echo "$n"
}

# since START: seconds elapsed since START (a `now` value).
since()
{
	awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'
}

# g ARGS...: run grpx with ARGS; stdout to $T/out, stderr to $T/err,
# status in RC, wall time in ELAPSED (seconds).  stdin is /dev/null unless
# the caller redirects it (g_in).
g()
{
	local t0
	t0=$(now)
	"$GRPX" "$@" >"$T/out" 2>"$T/err" </dev/null
	RC=$?
	ELAPSED=$(since "$t0")
}

# g_clean ARGS...: like g, but grpx starts with only fds 0, 1, 2 open (the
# test's own environment may have leaked others into us).
g_clean()
{
	local t0
	t0=$(now)
	(
		for fd in $(ls /proc/$BASHPID/fd 2>/dev/null); do
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done
		exec "$GRPX" "$@"
	) >"$T/out" 2>"$T/err" </dev/null
	RC=$?
	ELAPSED=$(since "$t0")
}

# g_in INPUT ARGS...: like g, with INPUT (a string, bytes as printf %s) on stdin.
g_in()
{
	local in=$1 t0
	shift
	printf '%s' "$in" >"$T/stdin"
	t0=$(now)
	"$GRPX" "$@" >"$T/out" 2>"$T/err" <"$T/stdin"
	RC=$?
	ELAPSED=$(since "$t0")
}

# expect_exit CODE CMD...: run CMD (stdout $T/out, stderr $T/err) and check
# its status.
expect_exit()
{
	local want=$1
	shift
	"$@" >"$T/out" 2>"$T/err" </dev/null
	RC=$?
	if [ "$RC" = "$want" ]; then
		ok "exit $want: $*"
	else
		fail "exit of '$*': expected $want, got $RC; stderr: $(head -c 600 "$T/err")"
	fi
}

# expect_rc NAME CODE: check RC of the last g/g_in.
expect_rc()
{
	if [ "$RC" = "$2" ]; then
		ok "$1: exit $2"
	else
		fail "$1: expected exit $2, got $RC; stderr: $(head -c 600 "$T/err")"
	fi
}

# json FILE FILTER: jq -r FILTER FILE, "JQ-ERROR" if FILE is not valid JSON.
json()
{
	jq -r "$2" "$1" 2>/dev/null || echo "JQ-ERROR"
}

# node FILE PATH FIELD: a field of the report node at PATH.
node()
{
	json "$1" "[.. | objects | select(has(\"kind\") and .path == \"$2\")][0].$3"
}

# expect_node NAME REPORT PATH FIELD EXPECTED
expect_node()
{
	expect_eq "$1: $3 .$4" "$5" "$(node "$2" "$3" "$4")"
}

# expect_gone NAME PIDFILE...: every pid listed in the files is dead.
expect_gone()
{
	local name=$1 f p alive="" n=0
	shift
	for f in "$@"; do
		[ -f "$f" ] || { fail "$name: no pid file $f (the task did not run?)"; return; }
		for p in $(cat "$f"); do
			n=$((n + 1))
			if kill -0 "$p" 2>/dev/null; then
				# a zombie still answers kill -0; name it in the message
				alive="$alive $p($(ps -o stat=,comm= -p "$p" 2>/dev/null | tr -s ' '))"
			fi
		done
	done
	if [ "$n" = 0 ]; then
		fail "$name: no pid recorded"
	elif [ -z "$alive" ]; then
		ok "$name ($n pids gone)"
	else
		fail "$name: still alive:$alive"
	fi
}

# max_overlap LOG: LOG has lines "start TS" / "end TS"; print the largest
# number of intervals open at once.  At equal times an end counts first.
max_overlap()
{
	awk '{ print $2, ($1 == "start" ? 1 : 0) }' "$1" | sort -k1,1g -k2,2n |
		awk '{ cur += ($2 == 1 ? 1 : -1); if (cur > max) max = cur } END { print max + 0 }'
}

# wait_for FILE [SECONDS]: wait until FILE exists and is non-empty.
wait_for()
{
	local i=0 n=$(( ${2:-5} * 20 ))
	while [ ! -s "$1" ] && [ $i -lt $n ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -s "$1" ]
}

# wait_pid PID [SECONDS]: wait (polling) until PID is gone; 0 if it is.
wait_pid()
{
	local i=0 n=$(( ${2:-10} * 20 ))
	while kill -0 "$1" 2>/dev/null && [ $i -lt $n ]; do
		sleep 0.05
		i=$((i + 1))
	done
	! kill -0 "$1" 2>/dev/null
}

# wait_sigblk PID [SECONDS]: wait until PID runs a program other than bash
# (it has exec'd) and blocks SIGINT, as grpx does first thing in main for
# run and the ad-hoc modes; 0 if so.  A SIGINT before that moment kills a
# process that has not even started, with no report, as it would any
# program; tests that want the report wait for this.
wait_sigblk()
{
	local i=0 n=$(( ${2:-10} * 1000 )) k v comm blk
	while [ $i -lt $n ]; do
		comm="" blk=""
		if read -r comm 2>/dev/null <"/proc/$1/comm"; then
			while read -r k v; do
				[ "$k" = SigBlk: ] && { blk=$v; break; }
			done <"/proc/$1/status"
		fi
		[ -n "$comm" ] || return 1 # gone
		if [ "$comm" != bash ] && [ -n "$blk" ] && [ $(( 0x$blk & 2 )) != 0 ]; then
			return 0
		fi
		sleep 0.001
		i=$((i + 1))
	done
	return 1
}

# finish: the closing line; exit status 1 if anything failed.
finish()
{
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ]
	exit
}
