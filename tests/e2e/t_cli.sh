#!/bin/bash
# The command line: ad-hoc modes, stdin commands, usage errors, PATH runs,
# -x, output modes, reports.
. "$(dirname "$0")/lib.sh" "$@"

g race 'sleep 30; echo slow' 'echo fast'
expect_rc "ad-hoc race" 0
expect_out "race prints exactly the winner" 'fast\n'
x=$("$GRPX" race 'sleep 30; echo slow' 'echo fast' 2>/dev/null)
expect_eq "captured by \$(...)" fast "$x"

# one command per line from stdin
g_in $'echo a\necho b\n' sized -j2
expect_rc "commands from stdin" 0
expect_eq "both ran" "a b" "$(sort "$T/out" | tr '\n' ' ' | sed 's/ $//')"
g_in $'echo 1\n\nsleep 0.2; echo 2\r\n' all
expect_out "blank lines ignored, CRLF trimmed, all order" '1\n2\n'

# empty stdin: like xargs -r for streaming modes, bad usage for the others
for m in errgroup sized all schedule; do
	g_in '' $m
	expect_rc "empty stdin, $m" 0
done
for m in race retry waterfall; do
	g_in '' $m
	expect_rc "empty stdin, $m" 2
done
g_in '' take --count 1
expect_rc "empty stdin, take" 2
g_in '' last --count 1
expect_rc "empty stdin, last" 2

# usage errors: exit 2, one-line message + hint
expect_exit 2 "$GRPX" take 'echo 1'
expect_match "take without --count says so" "count" "$(head -1 "$T/err")"
expect_exit 2 "$GRPX" last 'echo 1'
expect_exit 2 "$GRPX" frobnicate
expect_exit 2 "$GRPX"
expect_exit 2 "$GRPX" sized --limit 0 'true'
expect_exit 2 "$GRPX" sized --limit x 'true'
expect_exit 2 "$GRPX" errgroup --timeout 5x 'true'
expect_exit 2 "$GRPX" errgroup -o fancy 'true'
expect_exit 2 "$GRPX" errgroup --no-such-option 'true'
expect_exit 2 "$GRPX" run
expect_match "usage hint" "grpx --help" "$(cat "$T/err")"
expect_eq "usage error is one line + hint" 2 "$(wc -l <"$T/err")"
expect_exit 2 "$GRPX" run "$T/does-not-exist.yaml"
expect_match "missing file named" "does-not-exist.yaml" "$(cat "$T/err")"
# lines and columns count from 1: a file that cannot be read has no position
expect_eq "no 0:0 position for an unreadable file" "" "$(grep ':0:0:' "$T/err")"
expect_exit 0 "$GRPX" --help
expect_match "--help prints usage" "usage: grpx" "$(cat "$T/out")"
expect_exit 0 "$GRPX" --version

# -x: the single failing task's own status
g errgroup 'exit 7'
expect_rc "without -x" 1
g errgroup -x 'exit 7'
expect_rc "-x exit status of the one failure" 7
g errgroup -x 'sleep 0.1; kill -USR1 $$'
expect_rc "-x: signalled task is 128+N" 138
g sized -x 'exit 3' 'exit 4'
expect_rc "-x with two causes is 1" 1
g errgroup -x 'true'
expect_rc "-x ok" 0

# a task killed by a signal grpx did not send is failed
g errgroup --report "$T/sig.json" 'kill -TERM $$'
expect_rc "signalled task" 1
expect_node "signal not sent by grpx" "$T/sig.json" errgroup/1 status failed
expect_node "signal number" "$T/sig.json" errgroup/1 signal 15
expect_node "no exit code" "$T/sig.json" errgroup/1 exit_code null

# grpx run FILE PATH: only that node
cat >"$T/paths.yaml" <<EOF
env: {WHO: top}
groups:
  - name: a
    mode: errgroup
    env: {WHO: a}
    tasks:
      - {name: x, run: "echo a/x \$WHO >> $T/paths.log"}
      - {name: y, run: "echo a/y >> $T/paths.log"}
  - name: b
    run: "echo b >> $T/paths.log"
  - name: c
    run: "echo c >> $T/paths.log"
EOF
g run --report "$T/p.json" "$T/paths.yaml" a/x
expect_rc "run one path" 0
expect_eq "only a/x ran, with inherited env" "a/x a" "$(cat "$T/paths.log")"
expect_node "not selected" "$T/p.json" b status skipped
rm -f "$T/paths.log"
g run "$T/paths.yaml" c a
expect_rc "run two paths" 0
expect_eq "exactly the named nodes ran" "a/x a,a/y,c," "$(sort "$T/paths.log" | tr '\n' ',')"
expect_eq "file order: c last" c "$(tail -1 "$T/paths.log")"
rm -f "$T/paths.log"
g run "$T/paths.yaml" nope
expect_rc "unknown PATH" 2
check "unknown PATH runs nothing" test ! -e "$T/paths.log"
g run "$T/paths.yaml" b a/nope
expect_rc "one unknown PATH among good ones" 2
check "still nothing ran" test ! -e "$T/paths.log"

# --report: also on failure; valid JSON, every node with a status
cat >"$T/rep.yaml" <<'EOF'
groups:
  - name: g
    mode: errgroup
    limit: 1
    tasks:
      - {name: a, run: "exit 2"}
      - {name: b, run: "true"}
      - name: n
        mode: all
        tasks: [{run: "true"}, {run: "true"}]
  - {name: h, run: "true"}
EOF
g run --report "$T/rep.json" "$T/rep.yaml"
expect_rc "failing run with report" 1
check "report is valid JSON" jq -e . "$T/rep.json" >/dev/null
expect_eq "every node present (1 root + 7)" 8 "$(jq '[.. | objects | select(has("kind"))] | length' "$T/rep.json")"
expect_eq "every node has a final status" "" \
	"$(jq -r '.. | objects | select(has("kind")) | select(.status | IN("ok","failed","timeout","canceled","skipped","error") | not) | .path' "$T/rep.json")"
expect_eq "skipped nodes carry a reason" "" \
	"$(jq -r '.. | objects | select(.status == "skipped" or .status == "canceled") | select(.reason == null) | .path' "$T/rep.json")"
expect_eq "top level" "failed 1 1" "$(jq -r '"\(.status) \(.exit_code) \(.version)"' "$T/rep.json")"
expect_match "started_at is RFC 3339 UTC" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "$(json "$T/rep.json" .started_at)"
check "no temp file left beside the report" test "$(ls "$T" | grep -c '^rep\.json.')" = 0

# output modes
g errgroup -o prefix 'echo one; printf "two"' 'echo err >&2'
expect_eq "prefix tags lines, unterminated line gets a newline" "[errgroup/1] one
[errgroup/1] two" "$(cat "$T/out")"
expect_eq "prefix stderr tagged" "[errgroup/2] err" "$(grep -v '^grpx' "$T/err")"
g all --tag 'printf "x\ny"'
expect_out "--tag in grouped" '[all/1] x\n[all/1] y\n'
g errgroup -q 'echo out; echo err >&2'
expect_eq "quiet drops stdout" "" "$(cat "$T/out")"
expect_eq "quiet drops task stderr" "" "$(cat "$T/err")"
g errgroup -o raw 'printf raw'
expect_out "raw" 'raw'
# prefix: long concurrent lines are never interleaved
g sized -o prefix --limit 2 'for i in $(seq 200); do echo aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; done' \
	'for i in $(seq 200); do echo bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb; done'
expect_eq "prefix lines whole" 400 "$(grep -cE '^\[sized/1\] a{52}$|^\[sized/2\] b{55}$' "$T/out")"

# a reader that goes away does not hang grpx
t0=$(now)
timeout 20 "$GRPX" all 'head -c 5000000 /dev/zero' 'echo two' 2>/dev/null | head -c 10 >/dev/null
expect_time_lt "closed stdout ends the run" "$(since "$t0")" 10

# options the SPEC lists
g errgroup --events "$T/ev.ndjson" 'true' 'false'
expect_rc "--events accepted" 1
check "--events writes NDJSON lines" sh -c "test -s '$T/ev.ndjson' && jq -e . '$T/ev.ndjson' >/dev/null"
g errgroup --junit "$T/junit.xml" 'true'
expect_rc "--junit accepted" 0
check "--junit written" test -s "$T/junit.xml"
g errgroup --trace "$T/trace.json" 'true'
expect_rc "--trace accepted" 0
check "--trace is JSON" sh -c "jq -e . '$T/trace.json' >/dev/null 2>&1"
g errgroup --color never --progress never 'true'
expect_rc "--color/--progress accepted" 0

finish
