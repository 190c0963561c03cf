#!/bin/bash
# Output never holds the run back (SPEC section 10): deadlines fire on time
# behind a reader that stalls or reads slowly, and nothing is lost, split
# or interleaved on the way.  Each deadline is checked against the run's own
# clock (the events' t_ms), never against gaps between task-side stamps.
. "$(dirname "$0")/lib.sh" "$@"

# exit_ms EVENTS PATH: t_ms of PATH's exit event (empty: none).
exit_ms()
{
	jq -r "select(.event == \"exit\" and .path == \"$2\") | .t_ms" "$1" 2>/dev/null | head -n 1
}

# --- a reader that sleeps: a task timeout still fires on time ---
for mode in prefix grouped; do
	cat >"$T/stall.yaml" <<-EOF
	groups:
	  - name: g
	    mode: sized
	    tasks:
	      - {name: big, run: "seq 1 3000000"}
	      - {name: slow, run: "sleep 100", timeout: 1s}
	EOF
	rm -f "$T/fifo"
	mkfifo "$T/fifo"
	# the reader opens the FIFO at once but reads nothing for 8 s
	( exec 3<"$T/fifo"; sleep 8; cat <&3 >"$T/stall.out" ) &
	reader=$!
	BG_PIDS="$BG_PIDS $reader"
	t0=$(now)
	"$GRPX" run -o "$mode" --events "$T/stall.ev" "$T/stall.yaml" >"$T/fifo" 2>"$T/err" </dev/null
	RC=$?
	wait "$reader"
	ms=$(exit_ms "$T/stall.ev" g/slow)
	note "$mode, stalled reader: g/slow exited at ${ms}ms, run took $(since "$t0")s"
	expect_lt "$mode, stalled reader: the 1s task timeout fires on time" "${ms:-99999}" 2000
	expect_eq "$mode, stalled reader: g/slow timed out" timeout \
		"$(jq -r 'select(.event == "end" and .path == "g/slow") | .status' "$T/stall.ev")"
	expect_eq "$mode, stalled reader: every line arrived, in order" 3000000 \
		"$(grep -c . "$T/stall.out")"
	if [ "$mode" = prefix ]; then
		expect_eq "$mode, stalled reader: the last line is whole and last" "[g/big] 3000000" \
			"$(tail -n 1 "$T/stall.out")"
	else
		expect_eq "$mode, stalled reader: the last line is whole and last" "3000000" \
			"$(tail -n 1 "$T/stall.out")"
	fi
	expect_rc "$mode, stalled reader: the run fails (a timeout)" 1
done

# --- 300 MB of grouped output behind a slow reader (about 5 MB/s) ---
cat >"$T/slow.yaml" <<-EOF
groups:
  - name: g
    mode: sized
    tasks:
      - {name: big, run: "head -c 300000000 /dev/zero"}
      - {name: slow, run: "sleep 100", timeout: 1s}
EOF
rm -f "$T/fifo"
mkfifo "$T/fifo"
python3 -c '
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
end = time.monotonic() + 4
while time.monotonic() < end:
    os.read(fd, 65536)
    time.sleep(65536 / 5e6)
' "$T/fifo" &
reader=$!
BG_PIDS="$BG_PIDS $reader"
TMPDIR=$T "$GRPX" run -o grouped --events "$T/slow.ev" "$T/slow.yaml" >"$T/fifo" 2>"$T/err" </dev/null &
gp=$!
BG_PIDS="$BG_PIDS $gp"
wait "$reader"
ms=$(exit_ms "$T/slow.ev" g/slow)
note "300 MB behind a 5 MB/s reader: g/slow exited at ${ms}ms"
expect_lt "300 MB behind a 5 MB/s reader: the 1s sibling timeout fires on time" "${ms:-99999}" 2000
# the reader went away: grpx dies by SIGPIPE, as in a pipeline
wait "$gp"
expect_eq "reader gone mid-spool: grpx dies by SIGPIPE" 141 "$?"

# --- 2>&1 into one pipe under prefix: no line is split or interleaved ---
cat >"$T/mix.yaml" <<-EOF
groups:
  - name: m
    mode: errgroup
    tasks:
EOF
for i in 1 2 3 4 5 6; do
	echo "      - {name: t$i, run: 'for k in \$(seq 2000); do echo out-$i-\$k; echo err-$i-\$k >&2; done'}" >>"$T/mix.yaml"
done
"$GRPX" run -o prefix "$T/mix.yaml" 2>&1 </dev/null | cat >"$T/mix.out"
expect_eq "2>&1, prefix: every line arrived" 24000 "$(wc -l <"$T/mix.out")"
expect_eq "2>&1, prefix: every line whole and tagged" 0 \
	"$(grep -Evc '^\[m/t([1-6])\] (out|err)-\1-[0-9]+$' "$T/mix.out")"
expect_eq "2>&1, prefix: each stream in its order" 0 \
	"$(for i in 1 2 3 4 5 6; do for s in out err; do
		grep "^\[m/t$i\] $s-" "$T/mix.out" | sed 's/.*-//' | awk 'NR != $1' ; done; done | wc -l)"

# --- a task cannot destroy its own output (D4) ---
for mode in grouped prefix quiet; do
	tag=""
	[ "$mode" = prefix ] && tag="[all/1] "
	g all -o "$mode" 'echo a; echo b > /dev/stdout; echo c'
	if [ "$mode" = quiet ]; then
		expect_out "$mode: > /dev/stdout, nothing shown" ""
		continue
	fi
	expect_out "$mode: echo a; echo b > /dev/stdout; echo c keeps every byte" "${tag}a\n${tag}b\n${tag}c\n"
	g all -o "$mode" 'echo a; echo b >> /dev/stdout; echo c'
	expect_out "$mode: >> /dev/stdout keeps every byte" "${tag}a\n${tag}b\n${tag}c\n"
	g sized -o "$mode" 'echo w1 >&2; echo e2 > /dev/stderr; echo e3 >&2'
	tag2=""
	[ "$mode" = prefix ] && tag2="[sized/1] "
	expect_eq "$mode: > /dev/stderr keeps every byte" "$(printf '%sw1\n%se2\n%se3' "$tag2" "$tag2" "$tag2")" "$(cat "$T/err")"
	g sized -o "$mode" 'echo log1 >&2; echo payload | tee /dev/stderr >/dev/null; echo log3 >&2'
	expect_eq "$mode: tee /dev/stderr keeps every byte, no NUL" \
		"$(printf '%slog1\n%spayload\n%slog3' "$tag2" "$tag2" "$tag2")" "$(tr '\0' '@' <"$T/err")"
	g race -o "$mode" 'echo a; echo b > /dev/stdout; echo c'
	tag3=""
	[ "$mode" = prefix ] && tag3="[race/1] "
	expect_out "$mode: a race winner's > /dev/stdout keeps every byte" "${tag3}a\n${tag3}b\n${tag3}c\n"
done
# raw: the task writes to grpx's own stdout, a pipe here
"$GRPX" sized -o raw 'echo a; echo b > /dev/stdout; echo c' </dev/null 2>"$T/err" | cat >"$T/out"
expect_out "raw: > /dev/stdout into a pipe" "a\nb\nc\n"

# --- --junit keeps prefix output live ---
rm -f "$T/gate"
"$GRPX" sized -o prefix --junit "$T/j.xml" \
	"echo first; while [ ! -e $T/gate ]; do sleep 0.05; done; echo second" \
	>"$T/live.out" 2>"$T/err" </dev/null &
gp=$!
BG_PIDS="$BG_PIDS $gp"
if wait_for "$T/live.out" 20; then
	ok "--junit: prefix output is shown while the task runs"
else
	fail "--junit: no output until the task ends"
fi
expect_eq "--junit: the first line, tagged" "[sized/1] first" "$(head -n 1 "$T/live.out")"
touch "$T/gate"
wait "$gp"
expect_eq "--junit: exit" 0 "$?"
expect_eq "--junit: the report keeps the output" 1 "$(grep -c 'first' "$T/j.xml")"

# --- held output does not live in RAM: 1 GiB grouped, Shmem + RSS ---
if [ "$(stat -f -c %T "$T")" = tmpfs ]; then
	note "memory bound skipped: $T is a tmpfs (a spool on it is RAM)"
else
	shmem() { awk '/^Shmem:/ { print $2 }' /proc/meminfo; }
	base=$(shmem)
	TMPDIR=$T "$GRPX" sized -o grouped 'head -c 1073741824 /dev/zero; sleep 1' >/dev/null 2>"$T/err" </dev/null &
	gp=$!
	BG_PIDS="$BG_PIDS $gp"
	peak=0
	while kill -0 "$gp" 2>/dev/null; do
		rss=$(awk '/^VmRSS:/ { print $2 }' /proc/$gp/status 2>/dev/null)
		v=$(( $(shmem) - base + ${rss:-0} ))
		[ "$v" -gt "$peak" ] && peak=$v
		sleep 0.1
	done
	wait "$gp"
	expect_eq "1 GiB grouped: exit" 0 "$?"
	note "1 GiB grouped: peak Shmem rise + grpx RSS: ${peak} KiB"
	expect_lt "1 GiB grouped: Shmem rise + grpx RSS under 64 MiB" "$peak" 65536
fi

finish
