#!/bin/bash
# all: every child's stdout, in input order, byte-exact, failed children's too.
. "$(dirname "$0")/lib.sh" "$@"

# /bin/sh may be dash: its printf knows octal escapes, not \x.
cat >"$T/order.yaml" <<'EOF'
groups:
  - name: a
    mode: all
    tasks:
      - run: |
          sleep 0.4; printf 'one\000\001\377x\n'
      - run: |
          sleep 0.1; printf 'two\n'; printf 'err2\n' >&2
      - run: |
          printf 'three\n\n'
      - run: |
          sleep 0.2; printf 'no newline'
EOF
g run -o grouped --report "$T/r.json" "$T/order.yaml"
expect_rc "all ok" 0
expect_out "input order, byte-exact, binary, unterminated last line" \
	'one\x00\x01\xffx\ntwo\nthree\n\nno newline'
expect_eq "task stderr is shown" "err2" "$(grep -v '^grpx' "$T/err")"
expect_eq "selected in input order" '["a/1","a/2","a/3","a/4"]' \
	"$(jq -c '[.. | objects | select(.path == "a")][0].selected' "$T/r.json")"
expect_node "sizes" "$T/r.json" a/1 stdout_bytes 8
expect_node "sizes" "$T/r.json" a/4 stdout_bytes 10
expect_node "sizes" "$T/r.json" a/2 stderr_bytes 5

# stdout a pipe (default grouped): same bytes
"$GRPX" run "$T/order.yaml" 2>/dev/null | cat >"$T/out"
expect_out "same bytes through a pipe" 'one\x00\x01\xffx\ntwo\nthree\n\nno newline'

# --- failed children's output too; default continue: all run, all errors ---
cat >"$T/fail.yaml" <<EOF
groups:
  - name: a
    mode: all
    tasks:
      - {name: x, run: "sh $T/after a/z; echo x; exit 3"}
      - {name: y, run: "echo y"}
      - {name: z, run: "echo z; exit 4"}
EOF
g run --events "$T/ev" --report "$T/r2.json" "$T/fail.yaml"
expect_rc "all with failures" 1
expect_out "failed children's stdout too, in input order" 'x\ny\nz\n'
expect_eq "all errors in arrival order" '["a/z","a/x"]' "$(jq -c '[.errors[].path]' "$T/r2.json")"

# --- on_error cancel (Hunch) ---
cat >"$T/cancel.yaml" <<EOF
groups:
  - name: a
    mode: all
    on_error: cancel
    tasks:
      - {name: slow, run: "sleep 30; touch $T/slow-done"}
      - {name: bad, run: "sleep 0.1; exit 5"}
EOF
g run --report "$T/r3.json" "$T/cancel.yaml"
expect_rc "all cancel" 1
expect_time_lt "cancel is prompt, not after slow's 30 s" "$ELAPSED" 10
expect_node "cancel" "$T/r3.json" a/slow status canceled
expect_node "cancel" "$T/r3.json" a/slow reason "a/bad failed"
expect_eq "cancel errors" '["a/bad"]' "$(jq -c '[.errors[].path]' "$T/r3.json")"

# --- output is emitted as soon as everything before it has been ---
# The second child ends only when the test lets it (a marker file), so the
# first child's output must be out while it still runs.
cat >"$T/stream.yaml" <<EOF
groups:
  - name: a
    mode: all
    tasks:
      - run: "echo first"
      - run: "sh $T/until test -e $T/stream.go; echo second"
EOF
"$GRPX" run "$T/stream.yaml" >"$T/stream.out" 2>/dev/null &
gp=$!
BG_PIDS="$BG_PIDS $gp"
if wait_for "$T/stream.out" 30 && kill -0 $gp 2>/dev/null && [ ! -e "$T/stream.go" ]; then
	ok "first child's output emitted while the second still runs"
else
	fail "first child's output not emitted before the group ended"
fi
touch "$T/stream.go"
wait $gp
printf 'first\nsecond\n' >"$T/expected"
expect_file "streamed all output" "$T/expected" "$T/stream.out"

# --- ad hoc ---
g all 'sleep 0.2; echo 1' 'echo 2'
expect_out "ad-hoc all order" '1\n2\n'

finish
