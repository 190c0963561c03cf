#!/bin/bash
# Hostile task output: a huge output with no newline, binary bytes (NUL
# included), a 10 MB line under -o prefix.  grpx's memory stays bounded and
# the bytes are exact wherever SPEC section 5 says exact (grouped, raw, and
# every selected result).
#
# GRPX_HOSTILE_BYTES sets the size of the no-newline output (default 1 GiB).
. "$(dirname "$0")/lib.sh" "$@"

BIG=${GRPX_HOSTILE_BYTES:-1073741824}

# rss CMD...: run CMD with stdout to $T/out, stderr to $T/err; RSS (KiB) of
# grpx in RSS, exit status in RC.
rss()
{
	/usr/bin/time -o "$T/time" -f %M "$@" >"$T/out" 2>"$T/err" </dev/null
	RC=$?
	RSS=$(tail -1 "$T/time")
}
if [ ! -x /usr/bin/time ]; then
	echo "/usr/bin/time is required (Debian package 'time')" >&2
	exit 2
fi

rss "$GRPX" errgroup true
base=$RSS
note "baseline RSS of grpx running 'true': ${base} KiB"

# --- BIG bytes without a newline, -o grouped, to /dev/null ---
/usr/bin/time -o "$T/time" -f %M "$GRPX" errgroup -o grouped --report "$T/big.json" \
	"head -c $BIG /dev/zero" >/dev/null 2>"$T/err" </dev/null
RC=$?
RSS=$(tail -1 "$T/time")
expect_eq "$BIG bytes, no newline, grouped: exit" 0 "$RC"
expect_eq "$BIG bytes: stdout_bytes in the report" "$BIG" "$(node "$T/big.json" errgroup/1 stdout_bytes)"
expect_lt "$BIG bytes, grouped: RSS bounded (KiB, baseline $base)" "$RSS" $((base + 16384))

# the same size through a race winner and a waterfall: spooled, never in memory
/usr/bin/time -o "$T/time" -f %M "$GRPX" waterfall -o grouped \
	"head -c $BIG /dev/zero" "wc -c" >"$T/out" 2>"$T/err" </dev/null
RC=$?
RSS=$(tail -1 "$T/time")
expect_eq "$BIG bytes through a waterfall: exit" 0 "$RC"
expect_eq "$BIG bytes through a waterfall: the next stage got them all" "$BIG" "$(tr -d ' ' <"$T/out")"
expect_lt "$BIG bytes through a waterfall: RSS bounded (KiB)" "$RSS" $((base + 16384))

# and under -o prefix (streamed through grpx, in pieces); 1/8 of the size
/usr/bin/time -o "$T/time" -f %M "$GRPX" errgroup -o prefix \
	"head -c $((BIG / 8)) /dev/zero" >/dev/null 2>"$T/err" </dev/null
RC=$?
RSS=$(tail -1 "$T/time")
expect_eq "$((BIG / 8)) bytes, no newline, prefix: exit" 0 "$RC"
expect_lt "$((BIG / 8)) bytes, prefix: RSS bounded (KiB)" "$RSS" $((base + 16384))

# --- binary output, NUL bytes included, byte-exact ---
head -c 1000000 /dev/urandom >"$T/bin"
printf 'a\0b\0\0\nline2\r\n\0' >>"$T/bin"
for mode in grouped raw; do
	g errgroup -o $mode "cat $T/bin"
	expect_rc "binary ($mode)" 0
	expect_file "binary output is byte-exact ($mode)" "$T/bin" "$T/out"
done
g race "cat $T/bin" "sleep 30"
expect_file "binary race winner is byte-exact" "$T/bin" "$T/out"
g waterfall "cat $T/bin" "cat" "cat"
expect_file "binary through a waterfall is byte-exact" "$T/bin" "$T/out"
g all "cat $T/bin" "printf '\\0\\0'"
printf '\0\0' | cat "$T/bin" - >"$T/bin2"
expect_file "binary all, in input order, byte-exact" "$T/bin2" "$T/out"
g take --count 1 "cat $T/bin"
expect_file "binary take result is byte-exact" "$T/bin" "$T/out"
# stderr of a task is byte-exact under grouped as well
"$GRPX" errgroup -o grouped "cat $T/bin >&2" >"$T/out" 2>"$T/err" </dev/null
expect_file "binary stderr is byte-exact (grouped)" "$T/bin" "$T/err"

# under prefix, NUL bytes pass through inside the tagged lines
g errgroup -o prefix "printf 'a\\0b\\n'"
expect_out "NUL bytes kept inside a prefixed line" '[errgroup/1] a\0b\n'

# --- a 10 MB single line under -o prefix ---
# Cut into pieces: the first tagged "[path] ", the rest "[path]+ ", each
# ending in a newline; the pieces put together give back the line.
LINE=$((10 * 1024 * 1024))
head -c "$LINE" /dev/zero | tr '\0' x >"$T/line"
rss "$GRPX" errgroup -o prefix "cat $T/line; printf '\\nnext\\n'"
expect_eq "10 MB line, prefix: exit" 0 "$RC"
expect_lt "10 MB line, prefix: RSS bounded (KiB)" "$RSS" $((base + 16384))
pieces=$(grep -c '' "$T/out")
note "10 MB line came out as $pieces lines"
check "10 MB line cut into many pieces" test "$pieces" -gt 2
expect_eq "first piece tagged [errgroup/1]" "[errgroup/1] x" "$(head -1 "$T/out" | cut -c1-14)"
expect_eq "every later piece tagged [errgroup/1]+ (or it is the next line)" 0 \
	"$(sed -n '2,$p' "$T/out" | grep -v '^\[errgroup/1\]+ ' | grep -cv '^\[errgroup/1\] next$')"
# 10 MiB is an exact multiple of the piece size: the line's own newline must
# not come out as an extra, empty piece "[errgroup/1]+ ".
expect_eq "no empty continuation piece when the line fills its last piece exactly" 0 \
	"$(grep -c '^\[errgroup/1\]+ $' "$T/out")"
expect_eq "the next line is whole and plain" "[errgroup/1] next" "$(tail -1 "$T/out")"
head -n -1 "$T/out" | sed -E 's/^\[errgroup\/1\]\+? //' | tr -d '\n' >"$T/joined"
expect_file "the pieces put together are the 10 MB line" "$T/line" "$T/joined"
expect_eq "longest output line is bounded (bytes)" 1 \
	"$(awk '{ if (length($0) > m) m = length($0) } END { print (m < 65536) }' "$T/out")"

# one byte more: the last piece holds one byte
head -c 1 /dev/zero | tr '\0' y >>"$T/line"
rss "$GRPX" errgroup -o prefix "cat $T/line; printf '\\nnext\\n'"
expect_eq "10 MB + 1 line: last piece" "[errgroup/1]+ y" "$(tail -2 "$T/out" | head -1)"
head -n -1 "$T/out" | sed -E 's/^\[errgroup\/1\]\+? //' | tr -d '\n' >"$T/joined"
expect_file "10 MB + 1 line: pieces put together" "$T/line" "$T/joined"

# a line with no newline at all gets one at the end
rss "$GRPX" errgroup -o prefix "cat $T/line"
expect_eq "10 MB unterminated line: output ends in a newline" 1 \
	"$(tail -c 1 "$T/out" | od -An -c | grep -c '\\n')"

finish
