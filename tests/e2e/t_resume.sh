#!/bin/bash
# --journal FILE and --resume FILE (SPEC section 8): what ended ok is not
# run again, counted by side-effect files (each task appends a line to
# $T/<case>/runs/<name> every time it runs); the journal's lines; a grpx
# killed with SIGKILL; cut and corrupt lines; the run-until-done loop.
. "$(dirname "$0")/lib.sh" "$@"

# runs DIR NAME: how many times task NAME of case DIR ran
runs()
{
	if [ -f "$T/$1/runs/$2" ]; then wc -l <"$T/$1/runs/$2" | tr -d ' '; else echo 0; fi
}

# counts DIR NAME...: "NAME=N ..." for the tasks named
counts()
{
	local d=$1 n out=""
	shift
	for n in "$@"; do out="$out $n=$(runs "$d" "$n")"; done
	echo "${out# }"
}

# cpu_of FILE: user + system seconds of the children in FILE, the output of
# `times` (which must run in this shell, not in a $(...) subshell)
cpu_of()
{
	tail -1 "$1" | awk '{
		t = 0
		for (i = 1; i <= 2; i++) { split($i, p, "m"); sub("s", "", p[2]); t += p[1] * 60 + p[2] }
		printf "%.3f", t }'
}

# jl FILE FILTER: jq -c FILTER over every line of a journal (slurped)
jl()
{
	jq -rs "$2" "$1" 2>/dev/null || echo "JQ-ERROR"
}

# --- a sized group of 10, 3 fail; fixed, --resume runs exactly those 3 ---

mkdir -p "$T/s/runs"
{
	echo "groups:"
	echo "  - name: s"
	echo "    mode: sized"
	echo "    limit: 4"
	echo "    tasks:"
	for i in 1 2 3 4 5 6 7 8 9 10; do
		case $i in
		3 | 6 | 9) echo "      - {name: t$i, run: 'echo t$i >> $T/s/runs/t$i; echo out-t$i; test -e $T/s/fixed'}" ;;
		*) echo "      - {name: t$i, run: 'echo t$i >> $T/s/runs/t$i; echo out-t$i'}" ;;
		esac
	done
} >"$T/s/job.yaml"
ALL10="t1 t2 t3 t4 t5 t6 t7 t8 t9 t10"
g run --journal "$T/s/J" --report "$T/s/r1.json" "$T/s/job.yaml"
expect_rc "sized: the first run fails" 1
expect_eq "sized: every task ran once" "t1=1 t2=1 t3=1 t4=1 t5=1 t6=1 t7=1 t8=1 t9=1 t10=1" "$(counts s $ALL10)"
touch "$T/s/fixed"
g run -v --resume "$T/s/J" --report "$T/s/r2.json" --events "$T/s/e2" --junit "$T/s/j2.xml" \
	--trace "$T/s/t2.json" "$T/s/job.yaml"
expect_rc "sized: the resumed run succeeds" 0
expect_eq "sized: --resume ran exactly the three that failed" \
	"t1=1 t2=1 t3=2 t4=1 t5=1 t6=2 t7=1 t8=1 t9=2 t10=1" "$(counts s $ALL10)"
expect_eq "sized: only their output is printed" "out-t3 out-t6 out-t9" "$(sort "$T/out" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "sized: the report marks the 7 resumed" "t1 t10 t2 t4 t5 t7 t8" \
	"$(json "$T/s/r2.json" '[.root.children[0].children[] | select(.resumed == true) | .name] | sort | join(" ")')"
expect_node "sized: a resumed task" "$T/s/r2.json" s/t1 status ok
expect_node "sized: a resumed task" "$T/s/r2.json" s/t1 attempts 0
expect_node "sized: a resumed task" "$T/s/r2.json" s/t1 start_ms null
expect_node "sized: a resumed task" "$T/s/r2.json" s/t1 exit_code null
expect_node "sized: a task that ran" "$T/s/r2.json" s/t3 resumed null
expect_node "sized: a task that ran" "$T/s/r2.json" s/t3 attempts 1
expect_node "sized: its group, not resumed (it failed)" "$T/s/r2.json" s resumed null
expect_node "sized: its group is ok" "$T/s/r2.json" s status ok
expect_eq "sized: keys are the first run's" \
	"$(json "$T/s/r1.json" '[.. | objects | select(has("kind")) | .key] | join(" ")')" \
	"$(json "$T/s/r2.json" '[.. | objects | select(has("kind")) | .key] | join(" ")')"
expect_match "sized: keys are 16 hex digits" '^[0-9a-f]{16}$' "$(node "$T/s/r2.json" s/t1 key)"
# --events: a resumed node has an end event marked resumed, nothing else
expect_eq "events: no start or exit of a resumed task" "" \
	"$(jq -r 'select(.path == "s/t1" and .event != "end") | .event' "$T/s/e2")"
expect_eq "events: its end says resumed" "ok true" \
	"$(jq -r 'select(.path == "s/t1" and .event == "end") | "\(.status) \(.resumed)"' "$T/s/e2")"
expect_eq "events: a task that ran is not marked" "null" \
	"$(jq -r 'select(.path == "s/t3" and .event == "end") | .resumed' "$T/s/e2")"
# the summary
expect_match "summary: a resumed task is ok, noted resumed" '^  s/t1 +ok +- +0 +0ms +resumed$' "$(grep ' s/t1 ' "$T/err")"
expect_match "summary: a task that ran is not noted" '^  s/t3 +ok +exit 0 +1 +[0-9.]+m?s$' "$(grep ' s/t3 ' "$T/err")"
# JUnit: a passed testcase with a property; trace: no event
if command -v xmllint >/dev/null; then
	expect_eq "junit: resumed testcases carry the property" 7 \
		"$(xmllint --xpath 'count(//testcase[properties/property[@name="resumed" and @value="true"]])' "$T/s/j2.xml")"
	expect_eq "junit: no failure, all 10 passed" "10 0 0 0" \
		"$(xmllint --xpath 'concat(/testsuites/@tests, " ", /testsuites/@failures, " ", /testsuites/@errors, " ", /testsuites/@skipped)' "$T/s/j2.xml")"
else
	note "xmllint is not installed: the JUnit marks are not checked"
fi
expect_eq "trace: events only for the three that ran" "s/t3 s/t6 s/t9" \
	"$(json "$T/s/t2.json" '[.traceEvents[] | select(.ph == "X") | .args.path] | sort | join(" ")')"
# plan --resume shows the same
g plan --resume "$T/s/J" "$T/s/job.yaml"
expect_rc "plan --resume" 0
expect_eq "plan --resume marks the 7" "t1 t2 t4 t5 t7 t8 t10" \
	"$(awk '$2 == "task" && $3 == "resumed:" { printf "%s ", $1 }' "$T/out" | sed 's/ $//')"
# a third run from the first journal: the same three again (the journal was
# not appended to)
g run -q --resume "$T/s/J" "$T/s/job.yaml"
expect_eq "sized: resuming again from the same journal reruns the same three" \
	"t1=1 t2=1 t3=3 t4=1 t5=1 t6=3 t7=1 t8=1 t9=3 t10=1" "$(counts s $ALL10)"
# --resume from the --report of the first run
g run -q --resume "$T/s/r1.json" "$T/s/job.yaml"
expect_rc "--resume from a report" 0
expect_eq "--resume from a report reruns what failed there" \
	"t1=1 t2=1 t3=4 t4=1 t5=1 t6=4 t7=1 t8=1 t9=4 t10=1" "$(counts s $ALL10)"
# a pretty-printed report too
jq . "$T/s/r2.json" >"$T/s/r2p.json"
g run -q --resume "$T/s/r2p.json" --report "$T/s/r3.json" "$T/s/job.yaml"
expect_rc "--resume from a pretty-printed report" 0
expect_eq "a report where all ended ok resumes them all (the group whole)" "true 10" \
	"$(json "$T/s/r3.json" '"\(.root.children[0].resumed) \([.root.children[0].children[] | select(.resumed)] | length)"')"
expect_eq "... and runs nothing" "t1=1 t2=1 t3=4 t4=1 t5=1 t6=4 t7=1 t8=1 t9=4 t10=1" "$(counts s $ALL10)"

# --- the journal's lines ---

J=$T/s/J
expect_eq "journal: every line is JSON" "$(wc -l <"$J" | tr -d ' ')" "$(jq -c . "$J" | wc -l | tr -d ' ')"
expect_eq "journal: a run line first" "run" "$(head -1 "$J" | jq -r .event)"
expect_eq "journal: the run line names the file" "$T/s/job.yaml" "$(head -1 "$J" | jq -r .file)"
expect_match "journal: the run line has an ISO-8601 UTC start" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$' \
	"$(head -1 "$J" | jq -r .started_at)"
expect_eq "journal: ... the same as the report's" "$(json "$T/s/r1.json" .started_at)" "$(head -1 "$J" | jq -r .started_at)"
expect_match "journal: the run line has grpx's version" '^[0-9]+\.[0-9]+' "$(head -1 "$J" | jq -r .version)"
expect_eq "journal: one end line per node (10 tasks, the group, the root)" 12 \
	"$(jl "$J" '[.[] | select(.event == "end")] | length')"
expect_eq "journal: the root's line is last" '""' "$(tail -1 "$J" | jq -c .path)"
expect_eq "journal: an end line's fields" "event path kind key status exit_code signal attempts end_ms" \
	"$(jl "$J" '[.[] | select(.path == "s/t3")][0] | keys_unsorted | join(" ")')"
expect_eq "journal: a failed task's line" "failed 1 null 1" \
	"$(jl "$J" '[.[] | select(.path == "s/t3")][0] | "\(.status) \(.exit_code) \(.signal) \(.attempts)"')"
expect_eq "journal: keys are the report's" "$(node "$T/s/r1.json" s/t3 key) $(node "$T/s/r1.json" s key)" \
	"$(jl "$J" '[.[] | select(.path == "s/t3" or .path == "s")] | map(.key) | join(" ")')"
expect_eq "journal: end_ms as the report's" "$(node "$T/s/r1.json" s/t3 end_ms)" \
	"$(jl "$J" '[.[] | select(.path == "s/t3")][0].end_ms')"

# --- --journal F --resume F: append; the loop converges ---

mkdir -p "$T/l/runs"
{
	echo "groups:"
	echo "  - name: l"
	echo "    mode: sized"
	echo "    tasks:"
	# task i fails until its (i+1)-th run
	for i in 0 1 2 3; do
		echo "      - {name: t$i, run: 'echo x >> $T/l/runs/t$i; test \$(wc -l < $T/l/runs/t$i) -gt $i'}"
	done
} >"$T/l/job.yaml"
rounds=0
rm -f "$T/l/J"
until "$GRPX" run -q --journal "$T/l/J" --resume "$T/l/J" "$T/l/job.yaml" 2>"$T/l/err"; do
	rounds=$((rounds + 1))
	[ "$rounds" -lt 10 ] || break
done
expect_eq "loop: it converges after 3 failed rounds" 3 "$rounds"
expect_eq "loop: each task ran until it passed, never after" "t0=1 t1=2 t2=3 t3=4" "$(counts l t0 t1 t2 t3)"
expect_eq "loop: one run line per round" 4 "$(jl "$T/l/J" '[.[] | select(.event == "run")] | length')"
"$GRPX" run -q --journal "$T/l/J" --resume "$T/l/J" "$T/l/job.yaml"
expect_eq "loop: a round after it is done runs nothing" "t0=1 t1=2 t2=3 t3=4" "$(counts l t0 t1 t2 t3)"
expect_eq "loop: the journal grew by a run line and 6 end lines" 6 \
	"$(tail -6 "$T/l/J" | jq -s '[.[] | select(.event == "end" and .status == "ok")] | length')"
expect_eq "loop: resumed lines say so" "true true true true" \
	"$(tail -6 "$T/l/J" | jq -rs '[.[] | select(.kind == "task") | .resumed] | join(" ")')"
g run --resume "$T/l/missing" "$T/l/job.yaml"
expect_rc "a missing --resume file" 2
expect_match "a missing --resume file says so" "grpx: cannot read '$T/l/missing': No such file or directory" "$(cat "$T/err")"
expect_eq "a missing --resume file runs nothing" "t0=1 t1=2 t2=3 t3=4" "$(counts l t0 t1 t2 t3)"

# --- a changed command runs again; the others stay resumed ---

mkdir -p "$T/c/runs"
# c_job B_TAIL V: the job, with b's command ending in B_TAIL and e's V
c_job()
{
	cat >"$T/c/job.yaml" <<EOF
groups:
  - name: c
    mode: errgroup
    tasks:
      - {name: a, run: 'echo a >> $T/c/runs/a'}
      - {name: b, run: 'echo b >> $T/c/runs/b$1'}
      - {name: e, env: {V: $2}, run: 'echo e >> $T/c/runs/e'}
EOF
}
c_job '' one
g run -q --journal "$T/c/J" "$T/c/job.yaml"
expect_rc "changed: the first run" 0
c_job '; true' two
g run -q --journal "$T/c/J" --resume "$T/c/J" --report "$T/c/r.json" "$T/c/job.yaml"
expect_rc "changed: the second run" 0
expect_eq "changed: a changed command and a changed env run again" "a=1 b=2 e=2" "$(counts c a b e)"
expect_node "changed: the group's key changed with them: not resumed whole" "$T/c/r.json" c resumed null

# --- a waterfall with a failed stage runs again whole ---

mkdir -p "$T/w/runs"
cat >"$T/w/job.yaml" <<EOF
groups:
  - name: w
    mode: waterfall
    tasks:
      - {name: gen, run: 'echo gen >> $T/w/runs/gen; printf "b\\\\na\\\\n"'}
      - {name: sort, run: 'echo sort >> $T/w/runs/sort; test -e $T/w/fixed && sort'}
      - {name: up, run: 'echo up >> $T/w/runs/up; tr a-z A-Z'}
EOF
g run --journal "$T/w/J" "$T/w/job.yaml"
expect_rc "waterfall: the first run fails" 1
expect_eq "waterfall: it stopped at the failed stage" "gen=1 sort=1 up=0" "$(counts w gen sort up)"
touch "$T/w/fixed"
g run --journal "$T/w/J" --resume "$T/w/J" "$T/w/job.yaml"
expect_rc "waterfall: resumed" 0
expect_eq "waterfall: every stage ran again (gen had ended ok)" "gen=2 sort=2 up=1" "$(counts w gen sort up)"
expect_out "waterfall: the pipeline's output is whole" 'A\nB\n'
g run --journal "$T/w/J" --resume "$T/w/J" --report "$T/w/r.json" "$T/w/job.yaml"
expect_eq "waterfall: once ok, resumed whole: nothing runs" "gen=2 sort=2 up=1" "$(counts w gen sort up)"
expect_node "waterfall: resumed whole" "$T/w/r.json" w resumed true
expect_out "waterfall: resumed, it prints nothing" ''

# --- a race that succeeded is resumed whole; one that failed runs whole ---

mkdir -p "$T/r/runs"
cat >"$T/r/job.yaml" <<EOF
groups:
  - name: fetch
    mode: race
    tasks:
      - {name: fast, run: 'echo fast >> $T/r/runs/fast; while [ ! -s $T/r/runs/slow ]; do sleep 0.05; done; echo FAST'}
      - {name: slow, run: 'echo slow >> $T/r/runs/slow; sleep 30'}
  - name: pick
    mode: race
    tasks:
      - name: both
        mode: errgroup
        tasks:
          - {name: x, run: 'echo x >> $T/r/runs/x'}
          - {name: y, run: 'echo y >> $T/r/runs/y; while [ ! -s $T/r/runs/x ]; do sleep 0.05; done; test -e $T/r/fixed'}
  - name: after
    mode: sized
    tasks:
      - {name: z, run: 'echo z >> $T/r/runs/z'}
EOF
g run --journal "$T/r/J" "$T/r/job.yaml"
expect_rc "race: the first run fails (pick)" 1
expect_eq "race: the first run" "fast=1 slow=1 x=1 y=1 z=0" "$(counts r fast slow x y z)"
touch "$T/r/fixed"
g run --journal "$T/r/J" --resume "$T/r/J" --report "$T/r/r.json" "$T/r/job.yaml"
expect_rc "race: resumed" 0
expect_eq "race: fetch not run, pick run whole (x too), after run" "fast=1 slow=1 x=2 y=2 z=1" \
	"$(counts r fast slow x y z)"
expect_node "race: fetch resumed whole" "$T/r/r.json" fetch resumed true
expect_node "race: its winner resumed" "$T/r/r.json" fetch/fast resumed true
expect_node "race: its loser (canceled then) skipped" "$T/r/r.json" fetch/slow status skipped
expect_node "race: ... because fetch was resumed" "$T/r/r.json" fetch/slow reason "fetch resumed"
expect_node "race: a child of a race's child is not resumed on its own" "$T/r/r.json" pick/both/x resumed null
expect_out "race: a resumed race prints nothing" ''

# --- a retry around an errgroup: a resumed child stays resumed on every attempt ---

mkdir -p "$T/y/runs"
cat >"$T/y/job.yaml" <<EOF
groups:
  - name: rt
    mode: retry
    attempts: 5
    tasks:
      - name: e
        mode: errgroup
        tasks:
          - {name: a, run: 'echo a >> $T/y/runs/a; test -e $T/y/fixed-a'}
          - {name: b, run: 'echo b >> $T/y/runs/b; test \$(wc -l < $T/y/runs/b) -gt 3'}
EOF
touch "$T/y/fixed-a"
g run -q --journal "$T/y/J" "$T/y/job.yaml" rt/e/a
expect_rc "retry: a alone" 0
g run -q --journal "$T/y/J" --resume "$T/y/J" --report "$T/y/r.json" "$T/y/job.yaml"
expect_rc "retry: the retry succeeds at b's 4th attempt" 0
expect_eq "retry: a stayed resumed through the attempts" "a=1 b=4" "$(counts y a b)"
expect_node "retry: 4 attempts" "$T/y/r.json" rt attempts 4
expect_node "retry: a is resumed" "$T/y/r.json" rt/e/a resumed true

# --- grpx killed with SIGKILL: --resume finishes the rest, never a finished task twice ---

mkdir -p "$T/k/runs"
{
	echo "groups:"
	echo "  - name: k"
	echo "    mode: sized"
	echo "    limit: 6"
	echo "    tasks:"
	for i in 1 2 3; do
		echo "      - {name: a$i, run: 'echo a$i >> $T/k/runs/a$i'}"
	done
	for i in 1 2 3; do
		echo "      - {name: b$i, run: 'echo b$i >> $T/k/runs/b$i; echo \$\$ >> $T/k/b.pid; while [ ! -e $T/k/gate ]; do sleep 0.05; done'}"
	done
	echo "  - name: later"
	echo "    mode: sized"
	echo "    tasks:"
	echo "      - {name: c, run: 'echo c >> $T/k/runs/c'}"
} >"$T/k/job.yaml"
"$GRPX" run -q --journal "$T/k/J" "$T/k/job.yaml" >"$T/k/out" 2>"$T/k/err" </dev/null &
gpid=$!
BG_PIDS="$BG_PIDS $gpid"
disown "$gpid" # no "Killed" from the shell
i=0
while { [ "$(grep -c '"status": "ok"' "$T/k/J" 2>/dev/null)" != 3 ] ||
	[ "$(wc -l <"$T/k/b.pid" 2>/dev/null)" != 3 ]; } && [ $i -lt 400 ]; do
	sleep 0.05
	i=$((i + 1))
done
expect_eq "kill: the a tasks ended, the b tasks run" "3 3" \
	"$(grep -c '"status": "ok"' "$T/k/J") $(wc -l <"$T/k/b.pid" | tr -d ' ')"
kill -9 "$gpid"
wait_pid "$gpid"
# the keeper ends a SIGKILLed grpx's tasks; should it not have yet, so do we
for p in $(cat "$T/k/b.pid"); do kill -9 -- "-$p" 2>/dev/null; done
touch "$T/k/gate"
g run --journal "$T/k/J" --resume "$T/k/J" --report "$T/k/r.json" "$T/k/job.yaml"
expect_rc "kill: the resumed run finishes" 0
expect_eq "kill: finished tasks never ran twice, the rest ran" "a1=1 a2=1 a3=1 b1=2 b2=2 b3=2 c=1" \
	"$(counts k a1 a2 a3 b1 b2 b3 c)"
expect_eq "kill: the report says which were resumed" "k/a1 k/a2 k/a3" \
	"$(json "$T/k/r.json" '[.. | objects | select(.resumed == true) | .path] | join(" ")')"

# --- a cut last line is ignored; so is one that a later run ended ---

mkdir -p "$T/x"
cp "$T/s/J" "$T/x/J"
printf '{"event": "end", "path": "s/t3", "kind": "task", "key": "' >>"$T/x/J"
: >"$T/s/runs/t3"
: >"$T/s/runs/t1"
g run -q --resume "$T/x/J" "$T/s/job.yaml"
expect_rc "cut line: ignored" 0
expect_eq "cut line: the rest of the journal counts" "t1=0 t3=1" "$(counts s t1 t3)"
# a run that appends ends the cut line first; the next read skips it
g run -q --journal "$T/x/J" --resume "$T/x/J" "$T/s/job.yaml"
expect_rc "cut line: appended to" 0
expect_eq "cut line: it stays a line of its own" '{"event": "end", "path": "s/t3", "kind": "task", "key": "' \
	"$(grep -n '"key": "$' "$T/x/J" | cut -d: -f2-)"
g run -q --journal "$T/x/J" --resume "$T/x/J" "$T/s/job.yaml"
expect_rc "cut line: a journal with a cut line inside still reads" 0
expect_eq "cut line: and runs nothing more" "t1=0 t3=2" "$(counts s t1 t3)"

# --- a corrupt line in the middle: exit 2 with its line number, nothing runs ---

cp "$T/s/J" "$T/x/bad"
sed -i '3s/.*/{"event": "end", "path": "s\/t1", garbage}/' "$T/x/bad"
g run --resume "$T/x/bad" "$T/s/job.yaml"
expect_rc "corrupt line" 2
expect_match "corrupt line: FILE:LINE: message" "^grpx: $T/x/bad:3: expected a member name\$" "$(cat "$T/err")"
expect_eq "corrupt line: nothing ran" "t1=0 t3=2" "$(counts s t1 t3)"
cp "$T/s/J" "$T/x/bad2"
sed -i '4s/"key": "[0-9a-f]*"/"key": 12/' "$T/x/bad2"
g run --resume "$T/x/bad2" "$T/s/job.yaml"
expect_rc "a line without a key" 2
expect_match "a line without a key says so" "^grpx: $T/x/bad2:4: no \"key\" of 16 hex digits\$" "$(cat "$T/err")"
printf '{"event": "start", "path": "x"}\n' >"$T/x/ev"
g plan --resume "$T/x/ev" "$T/s/job.yaml"
expect_rc "an --events file is not a journal" 2
expect_match "an --events file: the line says why" "^grpx: $T/x/ev:1: unknown \"event\"" "$(cat "$T/err")"
# another job's journal resumes only what matches by path and key
g run -q --resume "$T/c/J" --report "$T/x/r.json" "$T/s/job.yaml"
expect_eq "another job's journal resumes nothing here" 0 \
	"$(json "$T/x/r.json" '[.. | objects | select(.resumed == true)] | length')"

# --- a journal that is no regular file; a journal that cannot be written ---

( umask 027; exec "$GRPX" run -q --journal "$T/x/new.journal" "$T/c/job.yaml" ) </dev/null
expect_eq "a new journal is created 0666 less the umask" 640 "$(stat -c %a "$T/x/new.journal")"
mkfifo "$T/x/fifo"
g run --journal "$T/x/fifo" "$T/s/job.yaml"
expect_rc "a FIFO journal is refused" 2
expect_match "a FIFO journal: why" "journal '$T/x/fifo' is not a regular file" "$(cat "$T/err")"
g run --journal /dev/null "$T/s/job.yaml"
expect_rc "/dev/null as journal is refused" 2
g sized --journal "$T/x/J9" true
expect_rc "--journal is for job files" 2
g check --resume "$T/s/J" "$T/s/job.yaml"
expect_rc "--resume is not for check" 2

mkdir -p "$T/f/runs"
{
	echo "groups:"
	echo "  - name: f"
	echo "    mode: sized"
	echo "    tasks:"
	for i in $(seq 1 30); do
		echo "      - {name: task-with-a-long-name-$i, run: 'echo x >> $T/f/runs/t$i'}"
	done
} >"$T/f/job.yaml"
# a file size limit: the journal's writes fail (EFBIG) after the first KB
( trap '' XFSZ; ulimit -f 1; exec "$GRPX" run --journal "$T/f/J" "$T/f/job.yaml" ) >"$T/out" 2>"$T/err" </dev/null
RC=$?
expect_rc "a journal that cannot be written fails the run" 1
expect_match "... and says so" "^grpx: cannot write journal '$T/f/J': File too large\$" "$(cat "$T/err")"
expect_eq "... but stops nothing: all 30 ran" 30 "$(cat "$T/f/runs"/t* | wc -l | tr -d ' ')"
expect_eq "... the journal stopped at its limit" 1024 "$(wc -c <"$T/f/J" | tr -d ' ')"
g run -q --resume "$T/f/J" --report "$T/f/r.json" "$T/f/job.yaml"
expect_rc "... and resumes what it holds (its cut last line ignored)" 0
expect_eq "... every task it journaled whole was resumed" \
	"$(jq -c 'select(.event == "end" and .status == "ok" and .kind == "task")' "$T/f/J" 2>/dev/null | wc -l | tr -d ' ')" \
	"$(json "$T/f/r.json" '[.. | objects | select(.resumed == true)] | length')"

# --- a report of a deep job reads back (400 nested groups) ---

mkdir -p "$T/d"
awk -v f="$T/d/runs" 'BEGIN {
	s = "{mode: errgroup, tasks: [{run: \"echo x >> " f "\"}]}"
	for (i = 1; i < 400; i++) s = "{mode: errgroup, tasks: [" s "]}"
	print "groups: [" s "]" }' >"$T/d/job.yaml"
g run -q --report "$T/d/r.json" "$T/d/job.yaml"
expect_rc "deep: the first run" 0
g run -q --resume "$T/d/r.json" --report "$T/d/r2.json" "$T/d/job.yaml"
expect_rc "deep: resumed from its report" 0
expect_eq "deep: the task ran once" 1 "$(wc -l <"$T/d/runs" | tr -d ' ')"
expect_eq "deep: all 400 groups and the task resumed" 401 "$(grep -o '"resumed": true' "$T/d/r2.json" | wc -l | tr -d ' ')"

# --- a big journal loads fast ---

{
	awk 'BEGIN {
		print "{\"event\": \"run\", \"file\": \"other.yaml\", \"started_at\": \"2026-01-01T00:00:00.000Z\", \"version\": \"0\"}"
		for (i = 0; i < 100000; i++)
			printf "{\"event\": \"end\", \"path\": \"g%d/task-%d\", \"kind\": \"task\", \"key\": \"%016x\", \"status\": \"ok\", \"exit_code\": 0, \"signal\": null, \"attempts\": 1, \"end_ms\": %d.5}\n", i % 100, i, i * 7919, i
	}'
	cat "$T/s/J"
} >"$T/x/big"
g run -q --resume "$T/x/big" --report "$T/x/rb.json" "$T/s/job.yaml"
expect_rc "big journal: resumed" 0
expect_eq "big journal: the job's own lines count (7 ok)" 7 \
	"$(json "$T/x/rb.json" '[.. | objects | select(.resumed == true and .kind == "task")] | length')"
# the CPU time grpx takes to read it (plan: nothing runs), which the load of
# a shared machine inflates far less than the wall time
times >"$T/times0"
t0=$(now)
"$GRPX" plan --resume "$T/x/big" "$T/s/job.yaml" >"$T/out" 2>"$T/err"
took=$(since "$t0")
times >"$T/times1"
cpu=$(awk -v a="$(cpu_of "$T/times0")" -v b="$(cpu_of "$T/times1")" 'BEGIN { printf "%.3f", b - a }')
expect_eq "big journal: plan marks the 7" 7 "$(grep -c ' task resumed: ' "$T/out")"
note "a journal of $(wc -l <"$T/x/big" | tr -d ' ') lines ($(wc -c <"$T/x/big" | tr -d ' ') bytes) read in ${cpu}s of CPU (${took}s wall)"
expect_lt "big journal: read in well under 3 s of CPU" "$cpu" 3

finish
