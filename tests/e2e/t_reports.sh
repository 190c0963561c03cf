#!/bin/bash
# Reports for machines: --junit (strict XML, a testcase per task, the right
# failure/error/skipped markers, captured output), --trace (Chrome trace JSON,
# one "X" event per attempt), --events (NDJSON, one event a line, live);
# and ad-hoc commands read from stdin.
. "$(dirname "$0")/lib.sh" "$@"

require xmllint flock

# xp FILE XPATH: the XPath expression's value (string or number)
xp()
{
	xmllint --xpath "$2" "$1" 2>/dev/null
}

cat >"$T/ci.yaml" <<EOF
groups:
  - name: fetch
    mode: race
    tasks:
      - {name: slow, run: "sleep 30 & echo \$! > $T/slow.pid; wait"}
      - {name: fast, run: "sh $T/until test -s $T/slow.pid; echo fast"}
  - name: checks
    mode: sized
    tasks:
      - {name: ok, run: "echo hello; echo warn >&2"}
      - {name: bad, run: "printf 'bad\\\\377\\\\376 \\\\001\\\\033[31m <&> ]]> \\"q\\"\\\\n'; printf 'err\\\\002\\\\n' >&2; exit 3"}
      - {name: flaky, attempts: 3, run: "echo try; exit 1"}
      - {name: nodir, cwd: /nonexistent/grpx-e2e, run: "echo never"}
      - {name: slowpoke, timeout: 200ms, run: "sleep 5"}
      - {name: big, run: "yes 0123456789abcde | head -c 200000"}
  - name: later
    mode: sized
    tasks:
      - {name: x, run: "echo x"}
EOF
g run --junit "$T/j.xml" --trace "$T/t.json" --events "$T/e.ndjson" --report "$T/r.json" "$T/ci.yaml"
expect_rc "the run fails" 1
# the causes in the order they arrived; which of the concurrent failures in
# checks comes first depends on the machine's load
first=$(sed -nE 's/^grpx: [0-9]+ errors?: ([^:;]+): .*/\1/p' "$T/err")
expect_match "the first cause is a failing task of checks" '^checks/(bad|flaky|nodir|slowpoke)$' "$first"

# --- JUnit ---
# valid_xml FILE: a strict parser accepts FILE (its complaints to the log)
valid_xml()
{
	xmllint --noout "$1" 2>"$T/xmllint.err" && return
	note "$(head -1 "$T/xmllint.err")"
	return 1
}
check "junit: strict XML parser accepts it" valid_xml "$T/j.xml"
expect_eq "junit: one testcase per task" 9 "$(xp "$T/j.xml" 'count(//testcase)')"
expect_eq "junit: a testsuite per group holding tasks" "fetch checks later" \
	"$(xp "$T/j.xml" '//testsuite/@name' | sed -E 's/ *name="([^"]*)"/\1/g' | tr '\n' ' ' | sed 's/ $//')"
expect_eq "junit: root counts" "9 3 1 2" \
	"$(xp "$T/j.xml" 'concat(/testsuites/@tests, " ", /testsuites/@failures, " ", /testsuites/@errors, " ", /testsuites/@skipped)')"
expect_eq "junit: checks suite counts" "6 3 1 0" \
	"$(xp "$T/j.xml" 'concat(//testsuite[@name="checks"]/@tests, " ", //testsuite[@name="checks"]/@failures, " ", //testsuite[@name="checks"]/@errors, " ", //testsuite[@name="checks"]/@skipped)')"
tc() # NAME: the XPath of testcase NAME
{
	echo "//testcase[@name=\"$1\"]"
}
marker() # NAME: the child elements of testcase NAME other than system-*
{
	xp "$T/j.xml" "$(tc "$1")/*[not(starts-with(name(), 'system-'))]" | sed -E 's/<([a-z]+).*/\1/' | tr '\n' ' ' | sed 's/ $//'
}
expect_eq "junit: ok has no marker" "" "$(marker ok)"
expect_eq "junit: fast (race winner) has no marker" "" "$(marker fast)"
expect_eq "junit: failed task -> failure" failure "$(marker bad)"
expect_eq "junit: failure message" "exit status 3" "$(xp "$T/j.xml" "string($(tc bad)/failure/@message)")"
expect_eq "junit: retried task failing -> failure" failure "$(marker flaky)"
expect_eq "junit: timed-out task -> failure" failure "$(marker slowpoke)"
expect_match "junit: timeout message" "timed out after 200ms" "$(xp "$T/j.xml" "string($(tc slowpoke)/failure/@message)")"
expect_eq "junit: task that could not start -> error" error "$(marker nodir)"
expect_eq "junit: canceled race loser -> skipped" skipped "$(marker slow)"
expect_match "junit: loser's reason" "race won by fetch/fast" "$(xp "$T/j.xml" "string($(tc slow)/skipped/@message)")"
expect_eq "junit: never-run task -> skipped" skipped "$(marker x)"
expect_eq "junit: classname is the group" "checks" "$(xp "$T/j.xml" "string($(tc ok)/@classname)")"
expect_eq "junit: system-out" "hello" "$(xp "$T/j.xml" "string($(tc ok)/system-out)")"
expect_eq "junit: system-err" "warn" "$(xp "$T/j.xml" "string($(tc ok)/system-err)")"
expect_match "junit: markup in output is kept as text" '<&> \]\]> "q"' "$(xp "$T/j.xml" "string($(tc bad)/system-out)")"
expect_match "junit: stderr with a control byte" '^err' "$(xp "$T/j.xml" "string($(tc bad)/system-err)")"
big=$(xp "$T/j.xml" "string($(tc big)/system-out)" | tr -d '\n' | wc -c | tr -d ' ')
check "junit: output truncated to 64 KiB per stream ($big bytes kept of 200000)" \
	test "$big" -ge 60000 -a "$big" -le 65536
expect_match "junit: the head of the output is kept" '^0123456789abcde0123' \
	"$(xp "$T/j.xml" "string($(tc big)/system-out)" | tr -d '\n' | head -c 40)"

# invalid UTF-8 of every kind, XML-forbidden characters: still valid XML
bad_bytes='\377 \300\257 \355\240\200 \357\277\276 \357\277\277 \364\220\200\200 \367\277\277\277 \340\200\200 \360\200\200\200 \302 \001\010\013\014\033\177'
g sized -q --junit "$T/u.xml" "printf 'a $bad_bytes z\\n'; printf '$bad_bytes\\n' >&2"
check "junit: invalid UTF-8, surrogates, overlongs, >U+10FFFF, U+FFFE, control bytes -> still valid XML" \
	valid_xml "$T/u.xml"
# the simple cases alone (bytes that are no UTF-8 at all, C0 controls)
g sized -q --junit "$T/u2.xml" "printf 'a \\377\\376 \\001\\033[1m z\\n'; printf '\\200\\002\\n' >&2"
check "junit: stray bytes and C0 controls -> still valid XML" valid_xml "$T/u2.xml"
expect_match "junit: the text around them survives" '^a .* z$' "$(xp "$T/u2.xml" 'string(//system-out)')"

# --- Chrome trace ---
expect_eq "trace: valid JSON with a traceEvents array" true "$(json "$T/t.json" '.traceEvents | type == "array"')"
expect_eq "trace: one X event per attempt (8 started tasks, flaky 3 times)" 10 \
	"$(json "$T/t.json" '[.traceEvents[] | select(.ph == "X")] | length')"
expect_eq "trace: retried task has 3 events, attempts 1 2 3" "1 2 3" \
	"$(json "$T/t.json" '[.traceEvents[] | select(.ph == "X" and .args.path == "checks/flaky") | .args.attempt] | map(tostring) | join(" ")')"
expect_eq "trace: X events have ts and dur numbers" 0 \
	"$(json "$T/t.json" '[.traceEvents[] | select(.ph == "X" and ((.ts | type) != "number" or (.dur | type) != "number" or .dur < 0))] | length')"
expect_eq "trace: a task's lane is its group's" "true" \
	"$(json "$T/t.json" '(.traceEvents | map(select(.ph == "M" and .name == "thread_name")) | map({key: (.tid | tostring), value: .args.name}) | from_entries) as $lanes
		| [.traceEvents[] | select(.ph == "X") | $lanes[.tid | tostring] == (.args.path | sub("/[^/]*$"; ""))] | all')"
expect_eq "trace: a never-started task has no event" 0 \
	"$(json "$T/t.json" '[.traceEvents[] | select(.ph == "X" and .args.path == "later/x")] | length')"

# a retry group runs its task again and again: one event per run
g retry --attempts 3 --trace "$T/t2.json" 'exit 1'
expect_rc "retry group" 1
expect_eq "trace: task under a retry group, 3 attempts -> 3 X events" 3 \
	"$(json "$T/t2.json" '[.traceEvents[] | select(.ph == "X")] | length')"
g sized --attempts 3 --trace "$T/t3.json" 'exit 1'
expect_eq "trace: ad-hoc --attempts 3 -> 3 X events" 3 \
	"$(json "$T/t3.json" '[.traceEvents[] | select(.ph == "X")] | length')"

# --- events: NDJSON ---
n=0 bad=0
while IFS= read -r line; do
	n=$((n + 1))
	printf '%s\n' "$line" | jq -ce 'type == "object"' >/dev/null 2>&1 || {
		bad=$((bad + 1))
		note "not a JSON object: $line"
	}
done <"$T/e.ndjson"
check "events: $n lines" test "$n" -gt 20
expect_eq "events: every line parses as a JSON object" 0 "$bad"
ev() # FILTER over the event array
{
	jq -sc "$1" "$T/e.ndjson" 2>/dev/null || echo JQ-ERROR
}
expect_eq "events: the kinds seen" '["cancel","end","exit","retry","select","start"]' \
	"$(ev '[.[].event] | unique')"
expect_eq "events: t_ms never goes back" true "$(ev '[.[].t_ms] | . == sort')"
expect_eq "events: start of a task has its pid" true \
	"$(ev '[.[] | select(.event == "start" and .kind == "task") | .pid | type == "number" and . > 0] | all')"
expect_eq "events: a start, an exit per attempt of checks/flaky" "3 3" \
	"$(ev '[.[] | select(.path == "checks/flaky")] | "\([.[] | select(.event == "start")] | length) \([.[] | select(.event == "exit")] | length)"' | tr -d '"')"
expect_eq "events: retry of checks/flaky" 2 \
	"$(ev '[.[] | select(.event == "retry" and .path == "checks/flaky" and (.delay_ms | type) == "number")] | length')"
expect_eq "events: end of checks/bad" '{"status":"failed","exit_code":3,"signal":null}' \
	"$(ev '.[] | select(.event == "end" and .path == "checks/bad") | {status, exit_code, signal}')"
expect_eq "events: cancel of the race loser, with reason" '"race won by fetch/fast"' \
	"$(ev '.[] | select(.event == "cancel" and .path == "fetch/slow") | .reason')"
expect_eq "events: select of the race winner" '"fetch"' \
	"$(ev '.[] | select(.event == "select" and .path == "fetch/fast") | .group')"
# (a task that could not start has an exit and an end but no start)
expect_eq "events: every started node ends once" \
	"$(ev '[.[] | select(.event == "start") | .path] | unique | sort')" \
	"$(ev '[.[] | select(.event == "end" and .status != "skipped" and .status != "error") | .path] | sort')"
expect_eq "events: the task that could not start ends as an error" '"error"' \
	"$(ev '.[] | select(.event == "end" and .path == "checks/nodir") | .status')"
expect_eq "events: the skipped task ends with a reason, the first cause" "\"$first failed\"" \
	"$(ev '.[] | select(.event == "end" and .path == "later/x") | .reason')"
expect_gone "race loser's processes gone" "$T/slow.pid"

# --events -: on stderr, one line each, flushed while the run goes on.  The
# task waits at a gate (a lock this shell holds) that opens only once the
# start event is seen, or after 30 s: no race with the load of the machine.
exec 9>"$T/gate"
flock -x 9
"$GRPX" sized --events - "flock -s -w 100 $T/gate true" >"$T/out" 2>"$T/err" </dev/null 9>&- &
pid=$!
BG_PIDS="$BG_PIDS $pid"
end=$((SECONDS + 30))
while ! grep -q '"event": *"start".*"path": *"sized/1"' "$T/err" && [ $SECONDS -lt $end ]; do
	sleep 0.1
done
expect_eq "events -: the start is on stderr while the task runs" "1 running" \
	"$(grep -c '"event": *"start".*"path": *"sized/1"' "$T/err") $(kill -0 "$pid" 2>/dev/null && echo running || echo ended)"
flock -u 9
exec 9>&-
wait "$pid"
expect_eq "events -: the run succeeds" 0 "$?"
expect_eq "events -: every line on stderr is JSON" 0 \
	"$(while IFS= read -r l; do printf '%s\n' "$l" | jq -e . >/dev/null 2>&1 || echo x; done <"$T/err" | wc -l | tr -d ' ')"

# --- ad-hoc commands from stdin; race prints exactly the winner ---
g_in $'echo a\necho b\n' sized -j2
expect_rc "stdin commands" 0
# sized emits each task's output when it ends: either order
expect_match "commands from stdin: prints a and b" '^(a b|b a)$' "$(tr '\n' ' ' <"$T/out" | sed 's/ $//')"
g race 'sleep 10; echo slow' 'echo fast'
expect_rc "race" 0
expect_out "grpx race 'sleep 10; echo slow' 'echo fast'" 'fast\n'

finish
