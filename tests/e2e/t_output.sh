#!/bin/bash
# Output modes: prefix lines are whole and tagged with their own task even
# with 50 tasks writing at once; grouped is byte-exact (or tagged with --tag);
# raw passes bytes through; quiet prints nothing from tasks; colours only when
# asked; an over-long line is cut into "[path] " + "[path]+ " pieces.
. "$(dirname "$0")/lib.sh" "$@"

require flock

# no_esc FILE: FILE holds no ESC byte
no_esc()
{
	! LC_ALL=C grep -q "$(printf '\033')" "$1"
}

# --- 50 tasks x 1000 lines at once under -o prefix, stdout a pipe ---
# Odd tasks write through awk (4 KiB stdio blocks that cut lines anywhere),
# even tasks write each line in two write(2)s, so a reader sees half lines;
# both pause now and then.  So that the 50 really overlap whatever the load,
# each task writes its first 500 lines, then waits at a gate (a lock this
# shell holds) until the first 500 lines of every task are on grpx's stdout,
# then writes the rest: prefix output is live, and no task can finish before
# all have started.  The gate opens after 30 s whatever happens.  (Timing alone is not enough: on a busy machine grpx can
# be slower than the tasks and read each one's output in a single chunk.)
cat >"$T/awk.sh" <<'EOF2'
awk -v n="$1" -v gate="$(dirname "$0")/gate" 'BEGIN {
	for (i = 1; i <= 1000; i++) {
		printf "%d-%d\n", n, i
		if (i == 500) { fflush(); system("flock -s -w 100 " gate " true") }
		else if (i % 250 == 0) { fflush(); system("sleep 0.05") }
	}
}'
EOF2
cat >"$T/split.sh" <<'EOF2'
i=1
while [ $i -le 1000 ]; do
	printf '%s-' "$1"
	printf '%d\n' $i
	if [ $i = 500 ]; then
		flock -s -w 100 "$(dirname "$0")/gate" true
	elif [ $((i % 250)) = 0 ]; then
		sleep 0.05
	fi
	i=$((i + 1))
done
EOF2
{
	echo "groups:"
	echo "  - name: t"
	echo "    mode: errgroup"
	echo "    tasks:"
	for i in $(seq 1 50); do
		echo "      - {name: \"$i\", run: \"sh $T/$([ $((i % 2)) = 1 ] && echo awk || echo split).sh $i\"}"
	done
} >"$T/fifty.yaml"
# halves: how many tasks have their 500th line on grpx's stdout yet
halves()
{
	grep -cE '^\[t/[0-9]+\] [0-9]+-500$' "$T/out"
}
exec 9>"$T/gate"
flock -x 9
: >"$T/out"
{
	"$GRPX" run -o prefix "$T/fifty.yaml" 2>"$T/err" </dev/null 9>&-
	echo $? >"$T/rc"
} 9>&- | cat >"$T/out" 9>&- &
fifty=$!
BG_PIDS="$BG_PIDS $fifty"
# (the tasks' own 100 s limit on the wait is only a safety net: the gate
# opens after 30 s at most, so a check that fails is seen failing)
end=$((SECONDS + 30))
while [ "$(halves)" -lt 50 ] && [ $SECONDS -lt $end ]; do
	sleep 0.1
done
expect_eq "50 tasks: each task's first 500 lines are out while it runs" 50 "$(halves)"
flock -u 9
exec 9>&-
wait "$fifty"
expect_eq "50 tasks: exit status" 0 "$(cat "$T/rc" 2>/dev/null)"
expect_eq "50 tasks: 50 000 lines" 50000 "$(wc -l <"$T/out" | tr -d ' ')"
# every line is "[t/N] N-K", K counts 1..1000 in order for each N
awk '
	!/^\[t\/[0-9]+\] [0-9]+-[0-9]+$/ { bad++; if (bad <= 3) print "bad line " NR ": " substr($0, 1, 80) > "/dev/stderr"; next }
	{
		n = substr($1, 4, length($1) - 4)
		split($2, p, "-")
		if (p[1] != n) { wrong++; if (wrong <= 3) print "wrong task on line " NR ": " $0 > "/dev/stderr"; next }
		if (p[2] != last[n] + 1) { order++; if (order <= 3) print "out of order on line " NR ": " $0 > "/dev/stderr" }
		last[n] = p[2]
	}
	END {
		for (i = 1; i <= 50; i++) if (last[i] != 1000) short++
		printf "bad=%d wrong=%d order=%d short=%d\n", bad, wrong, order, short
	}' "$T/out" >"$T/check" 2>"$T/check.err"
expect_eq "50 tasks: every line whole, tagged with its own task, in order" \
	"bad=0 wrong=0 order=0 short=0" "$(cat "$T/check")"
[ -s "$T/check.err" ] && note "$(head -3 "$T/check.err" | tr '\n' '|')"
runs=$(awk '{ print $1 }' "$T/out" | uniq | wc -l | tr -d ' ')
check "50 tasks: lines of different tasks interleave ($runs runs of one task's lines)" \
	test "$runs" -gt 50

# the same on stderr, which prefix also tags line by line
"$GRPX" sized -j 8 -o prefix \
	"awk 'BEGIN { for (i = 1; i <= 2000; i++) printf \"a-%d\\n\", i > \"/dev/stderr\" }'" \
	"awk 'BEGIN { for (i = 1; i <= 2000; i++) printf \"b-%d\\n\", i > \"/dev/stderr\" }'" \
	>"$T/out" 2>"$T/err" </dev/null
expect_eq "stderr lines whole and tagged" "4000 0" \
	"$(awk '/^\[sized\/1\] a-[0-9]+$|^\[sized\/2\] b-[0-9]+$/ { ok++; next } /^\[sized\/[12]\]/ { bad++ } END { print ok + 0, bad + 0 }' "$T/err")"

# --- prefix: an unterminated last line gets a newline ---
g sized -o prefix 'printf "x\ny"' 'sleep 0.2; printf "e" >&2'
expect_rc "prefix unterminated" 0
expect_out "prefix: the last stdout line gets its newline" '[sized/1] x\n[sized/1] y\n'
printf '[sized/2] e\n' >"$T/expected"
expect_file "prefix: the last stderr line gets its newline" "$T/expected" "$T/err"

# --- prefix: a 20 000-byte line is cut into marked pieces ---
head -c 20000 /dev/zero | tr '\0' a >"$T/long"
g sized -o prefix "cat $T/long; echo; echo next"
expect_rc "long line" 0
expect_eq "long line: 4 lines out" 4 "$(wc -l <"$T/out" | tr -d ' ')"
expect_eq "long line: first piece tagged [path] " "[sized/1] " "$(head -1 "$T/out" | head -c 10)"
expect_eq "long line: continuations tagged [path]+ " "2" \
	"$(sed -n '2,3p' "$T/out" | grep -c '^\[sized/1\]+ a')"
expect_eq "long line: pieces at most 8 KiB each" "0" \
	"$(awk '{ sub(/^\[sized\/1\]\+? /, ""); if (length($0) > 8192) n++ } END { print n + 0 }' "$T/out")"
expect_eq "long line: the pieces put back together are the line" "$(cat "$T/long")" \
	"$(head -3 "$T/out" | sed -E 's/^\[sized\/1\]\+? //' | tr -d '\n')"
expect_eq "long line: the next line is tagged normally" "[sized/1] next" "$(sed -n 4p "$T/out")"
# the same when the long line is the unterminated last one
g sized -o prefix "cat $T/long"
expect_eq "long last line: pieces" "1 2" \
	"$(grep -c '^\[sized/1\] a' "$T/out") $(grep -c '^\[sized/1\]+ a' "$T/out")"
check "long last line: ends with a newline" test "$(tail -c 1 "$T/out" | od -An -c | tr -d ' ')" = '\n'
# a line of exactly 8192 bytes needs no piece after it, certainly no empty one
head -c 8192 /dev/zero | tr '\0' b >"$T/l8k"
g sized -o prefix "cat $T/l8k; echo; echo next"
expect_eq "8192-byte line: no empty continuation piece" 0 "$(grep -c '^\[sized/1\]+ $' "$T/out")"
expect_eq "8192-byte line: the bytes all arrive" 8192 "$(grep -v next "$T/out" | sed -E 's/^\[sized\/1\]\+? //' | tr -d '\n' | wc -c | tr -d ' ')"

# --- grouped: each task's output whole, untagged, byte-exact ---
head -c 100000 /dev/urandom >"$T/bin1"
printf 'a\0b\r\nc\033[31mno newline' >"$T/bin2"
cat "$T/bin1" "$T/bin2" >"$T/expected"
g all -o grouped "sleep 0.2; cat $T/bin1" "cat $T/bin2"
expect_rc "grouped" 0
expect_file "grouped: byte-exact, in input order" "$T/expected" "$T/out"
# the default when stdout is not a TTY is grouped
g all "sleep 0.2; cat $T/bin1" "cat $T/bin2"
expect_file "default (stdout not a TTY) is grouped" "$T/expected" "$T/out"
# grouped keeps each task's lines together even when they ran at once
g sized -o grouped 'for i in 1 2 3; do echo a$i; sleep 0.1; done' 'for i in 1 2 3; do echo b$i; sleep 0.1; done'
expect_match "grouped: no interleaving" '^(a1 a2 a3 b1 b2 b3|b1 b2 b3 a1 a2 a3)$' "$(tr '\n' ' ' <"$T/out" | sed 's/ $//')"

# --- grouped --tag: tagged lines, and an unterminated last line gets a newline ---
g all -o grouped --tag 'printf "x\ny"' 'echo z'
expect_rc "grouped --tag" 0
expect_out "grouped --tag" '[all/1] x\n[all/1] y\n[all/2] z\n'
g all -o grouped --tag 'printf "e1\ne2" >&2'
printf '[all/1] e1\n[all/1] e2\n' >"$T/expected"
expect_file "grouped --tag: stderr tagged too" "$T/expected" "$T/err"

# --- raw: straight through, no tag, no added newline ---
g sized -o raw 'printf "x"' 'sleep 0.2; printf "e" >&2'
expect_rc "raw" 0
expect_out "raw: stdout passes through" 'x'
printf 'e' >"$T/expected"
expect_file "raw: stderr passes through" "$T/expected" "$T/err"

# --- quiet: nothing from tasks, stdout or stderr ---
for q in "-o quiet" "-q"; do
	g sized $q 'echo out-text' 'echo err-text >&2'
	expect_rc "$q" 0
	check "$q: stdout empty" test ! -s "$T/out"
	check "$q: no task stderr" test "$(grep -c text "$T/err")" = 0
done
g sized -q 'echo out-text; echo err-text >&2; exit 3'
expect_rc "quiet, failed" 1
expect_eq "quiet still prints grpx's error line" "grpx: 1 error: sized/1: exit status 3" "$(cat "$T/err")"

# --- colours: never on a pipe unless asked; never with --color never ---
g sized -o prefix 'echo x' 'echo y >&2'
check "pipe, --color auto: no ESC on stdout" no_esc "$T/out"
check "pipe, --color auto: no ESC on stderr" no_esc "$T/err"
g sized -o prefix --color always 'echo x' 'echo y >&2'
check "--color always: ESC on stdout" test "$(no_esc "$T/out" || echo esc)" = esc
check "--color always: ESC on stderr" test "$(no_esc "$T/err" || echo esc)" = esc
expect_eq "--color always: the text is still there" "[sized/1] x" "$(sed 's/\x1b\[[0-9;]*m//g' "$T/out")"
g sized -o prefix --color never -v 'echo x' 'echo y >&2; exit 1'
check "--color never: no ESC on stdout" no_esc "$T/out"
check "--color never: no ESC on stderr (summary, errors included)" no_esc "$T/err"
NO_COLOR=1 "$GRPX" sized -o prefix -v 'echo x' 'echo y >&2; exit 1' >"$T/out" 2>"$T/err" </dev/null
check "NO_COLOR: no ESC on stdout" no_esc "$T/out"
check "NO_COLOR: no ESC on stderr" no_esc "$T/err"

finish
