#!/bin/bash
# Ad-hoc fan-out (SPEC section 7.1): templates over `:::`, `::::`, -a and
# stdin, compared byte for byte with GNU parallel on hostile file names;
# no input can inject shell code; {%} names a slot no other running task
# holds; inputs stream (the first task starts before stdin ends) and
# signals act while grpx reads.
. "$(dirname "$0")/lib.sh" "$@"

if ! command -v parallel >/dev/null; then
	[ -n "${CI:-}" ] && { fail "GNU parallel is required in CI (apt-get install parallel)"; finish; }
	echo "GNU parallel is not installed: the oracle comparisons are skipped" >&2
	exit 77
fi
PAR="parallel --will-cite -k"

cd "$T" || exit 1
# Hostile names: spaces, quotes, $, *, a newline, a leading -, dots in a
# directory, no extension, hidden files, a trailing slash.
names=(
	'plain.txt' 'with space.tar.gz' "it's.log" 'dq"uote.c' 'dollar$HOME.sh' 'star*.md'
	$'new\nline.txt' '-leading.txt' 'dir.d/no_ext' 'a.b/c.d/e.f' '.hidden' 'dir/.hidden.rc'
	'/abs/path/x.y' 'trailing/' '{}' 'back\slash' '' 'semi;colon' 'amp&er' 'tab	tab'
)
printf '%s\0' "${names[@]}" >names0
printf '%s\n' "${names[@]}" | grep -v $'^$' | grep -v 'line.txt' | grep -v '^new' >names.txt

# every replacement string, one source, NUL-separated, from a file
tpl='printf "<%s>" {} {.} {/} {//} {/.} {#}; echo'
$PAR -0 "$tpl" :::: names0 >want 2>/dev/null
"$GRPX" all -0 "$tpl" :::: names0 >got 2>"$T/err" </dev/null
expect_file "every replacement string, -0 :::: FILE, hostile names" want got
# the same from stdin
$PAR -0 "$tpl" <names0 >want 2>/dev/null
"$GRPX" all -0 "$tpl" <names0 >got 2>"$T/err"
expect_file "every replacement string, -0 from stdin" want got
# newline-separated, -a FILE
$PAR -a names.txt "$tpl" >want 2>/dev/null
"$GRPX" all -a names.txt "$tpl" >got 2>"$T/err" </dev/null
expect_file "every replacement string, -a FILE" want got

# several sources: a product, the first slowest; {N} and its modifiers
tpl2='printf "<%s>" {} {1} {2} {1.} {2/} {1//} {2/.} {3} {#}; echo'
$PAR "$tpl2" ::: 'a b.c' '$x' ::: 'd/e.f' '*' "q'r" >want 2>/dev/null
"$GRPX" all "$tpl2" ::: 'a b.c' '$x' ::: 'd/e.f' '*' "q'r" >got 2>"$T/err" </dev/null
expect_file "::: product, {N} forms" want got
# ::: then ::::, and -a before :::
$PAR echo ::: x 'y z' :::: names.txt >want 2>/dev/null
"$GRPX" all echo ::: x 'y z' :::: names.txt >got 2>"$T/err" </dev/null
expect_file "::: then :::: FILE, {} appended" want got
$PAR -a names.txt echo ::: 1 2 >want 2>/dev/null
"$GRPX" all -a names.txt echo ::: 1 2 >got 2>"$T/err" </dev/null
expect_file "-a FILE then :::" want got
# stdin with a later ::: source: stdin is read to its end first
printf 'l1\nl2\n' | $PAR echo :::: - ::: a b >want 2>/dev/null
printf 'l1\nl2\n' | "$GRPX" all echo :::: - ::: a b >got 2>"$T/err"
expect_file "stdin (::::) then :::" want got
printf 'l1\nl2\n' | $PAR echo ::: a b :::: - >want 2>/dev/null
printf 'l1\nl2\n' | "$GRPX" all echo ::: a b :::: - >got 2>"$T/err"
expect_file "::: then stdin (::::): read to its end first" want got
# empty lines are inputs; a final newline is no extra one
printf 'a\n\nb\n' | $PAR 'echo "[{}]"' >want 2>/dev/null
printf 'a\n\nb\n' | "$GRPX" all 'echo "[{}]"' >got 2>"$T/err"
expect_file "an empty line is an input" want got
# braces that are none of them are left alone
printf 'x y\n' | "$GRPX" all "printf '%s\\n' {} | awk '{print \$2}'; echo \"\${HOME:+h} {x} {0}\"" >got 2>"$T/err"
expect_eq "other braces are left alone" "$(printf 'y\nh {x} {0}')" "$(cat got)"

# --- no input can inject shell code ---
rm -f PWNED
"$GRPX" all 'echo {}' ::: '$(touch PWNED)' '; touch PWNED' '`touch PWNED`' '| touch PWNED' \
	"'; touch PWNED; '" >got 2>"$T/err" </dev/null
check "injection: no input ran as code" test ! -e PWNED
expect_eq "injection: every input is one word, as written" 5 "$(grep -c PWNED got)"
printf '%s\n' '$(touch PWNED)' '; touch PWNED' | "$GRPX" sized 'echo {.} {/} {//} {/.}' >got 2>&1
check "injection through the modifiers and stdin" test ! -e PWNED

# --- GRPX_INPUT and the run in reports ---
"$GRPX" all --report rep.json 'echo "$GRPX_INPUT" {#}' ::: 'a b' ::: c >got 2>"$T/err" </dev/null
expect_eq "GRPX_INPUT: the raw inputs, space separated" "a b c 1" "$(cat got)"
"$GRPX" all --report rep.json 'echo' ::: 'a b' ::: c >got 2>"$T/err" </dev/null
expect_eq "the report's run is the substituted command, {} appended" "echo 'a b' c" \
	"$(json rep.json '.root.children[0].children[0].run')"

# --- {%}: a slot no other running task holds ---
mkdir slots
seq 30 | "$GRPX" sized -j3 "mkdir $T/slots/{%} 2>/dev/null || echo CLASH {%}; echo {%} >>$T/slots/used;
	sleep 0.05; rmdir $T/slots/{%}" >got 2>"$T/err"
RC=$?
expect_rc "{%}: exit" 0
expect_eq "{%}: never held by two running tasks" 0 "$(grep -c CLASH got)"
expect_eq "{%}: the slots are 1..3" "1 2 3" "$(sort -u slots/used | paste -sd ' ')"

# --- inputs stream: a task starts before stdin ends ---
rm -f started
{
	echo "touch $T/started"
	# the next line is written only once the first task ran
	for i in $(seq 200); do [ -e "$T/started" ] && break; sleep 0.05; done
	echo "echo second"
} | timeout 20 "$GRPX" sized -o grouped >got 2>"$T/err"
expect_eq "stdin commands stream: the first ran before stdin ended" 0 "$?"
expect_eq "stdin commands stream: the second came after" second "$(cat got)"
rm -f started
{
	echo a
	for i in $(seq 200); do [ -e "$T/started" ] && break; sleep 0.05; done
	echo b
} | timeout 20 "$GRPX" sized "touch $T/started; echo got {}" >got 2>"$T/err"
expect_eq "a template from stdin streams" "$(printf 'got a\ngot b')" "$(cat got)"

# --- signals act while grpx reads stdin (D8) ---
set -m
{ sleep 30; } | "$GRPX" sized --report d8.json >got 2>"$T/err" &
gp=$!
BG_PIDS="$BG_PIDS $gp"
set +m
sleep 0.5
t0=$(now)
kill -TERM "$gp"
wait_pid "$gp" 10 # (`wait` would also wait for the sleep feeding it)
expect_lt "SIGTERM while reading stdin: grpx ends at once" "$(since "$t0")" 3
wait "$gp"
RC=$?
expect_eq "SIGTERM while reading stdin: dies by SIGTERM" 143 "$RC"
expect_eq "SIGTERM while reading stdin: the report says interrupted" interrupted "$(json d8.json .status)"

# --- task flags ---
g sized --task-timeout 200ms --report tt.json 'sleep 5'
expect_rc "--task-timeout" 1
expect_eq "--task-timeout: the task timed out" timeout "$(json tt.json '.root.children[0].children[0].status')"
g sized --shell bash 'echo ${BASH_VERSION:+bash}'
expect_out "--shell bash" "bash\n"
g sized --cwd /usr --env GRPX_T1=one --env GRPX_T2='two words' 'echo "$(pwd) $GRPX_T1 $GRPX_T2"'
expect_out "--cwd and --env" "/usr one two words\n"
g all --env GRPX_T1=x 'echo "$GRPX_T1"{}' ::: 1 2
expect_out "--env with a template" "x1\nx2\n"

# --- an ad-hoc waterfall reads grpx's stdin in its first stage ---
seq 5 | "$GRPX" waterfall 'sort -r' 'head -2' >got 2>"$T/err"
expect_eq "seq 5 | grpx waterfall 'sort -r' 'head -2'" "$(printf '5\n4')" "$(cat got)"

# --- an input too long for exec: that task is an error, the others run ---
# (128 KiB as one argument is past what execve takes: MAX_ARG_STRLEN)
{ echo first; head -c 131066 /dev/zero | tr '\0' a; echo; echo last; } >"$T/long.in"
"$GRPX" all --report "$T/long.json" ': {}; echo {#}' <"$T/long.in" >"$T/out" 2>"$T/err"
RC=$?
expect_rc "an input too long for exec: the run fails" 1
expect_eq "an input too long for exec: the inputs before and after it ran" "$(printf '1\n3')" "$(cat "$T/out")"
expect_eq "an input too long for exec: three tasks" "ok error ok" \
	"$(json "$T/long.json" '[.root.children[0].children[].status] | join(" ")')"
expect_match "an input too long for exec: says so" "all/2: cannot start: Argument list too long" "$(cat "$T/err")"
{ head -c 131066 /dev/zero | tr '\0' a; echo; } | "$GRPX" sized 'echo {}' >"$T/out" 2>"$T/err"
RC=$?
expect_rc "the only input too long: the run fails (not 'no input')" 1

# --- the progress line while inputs still come: N/M+ and no ETA ---
(
	echo one
	wait_for "$T/pone" 30
	sleep 0.5 # a few progress ticks (100 ms) while the input is open
	echo two
) | "$GRPX" sized --progress always "echo {} >'$T/p'{}" >"$T/out" 2>"$T/err"
RC=$?
expect_rc "progress while inputs come" 0
expect_match "progress while inputs come: 1/1+ done" "1/1\+ done" "$(tr '\r' '\n' <"$T/err")"
check "progress while inputs come: no ETA while more may come" \
	bash -c "! tr '\r' '\n' <'$T/err' | grep -a '+ done' | grep -q ETA"

# --- bad usage: exit 2, nothing runs ---
g sized 'echo x' --limit 2
expect_rc "an option after the commands" 2
expect_match "an option after the commands: the hint" "options go before the commands" "$(cat "$T/err")"
g sized -- '-x'
expect_rc "a command beginning with - after --: run (and fails)" 1
expect_match "a command beginning with - after --: run as a command, not an option of sh" \
	"-x: not found" "$(cat "$T/err")"
mkdir -p "$T/bin"
printf '#!/bin/sh\necho dashed\n' >"$T/bin/-dashed"
chmod +x "$T/bin/-dashed"
PATH=$T/bin:$PATH g sized -- '-dashed'
expect_rc "a program named -dashed after --" 0
expect_eq "a program named -dashed after --: it ran" dashed "$(cat "$T/out")"
g sized 'echo a' 'echo b' ::: x
expect_rc "two commands with an input source" 2
g sized 'echo {}' :::: "$T/no/such/file"
expect_rc "an unreadable :::: file" 2
expect_match "an unreadable :::: file: says which" "no/such/file" "$(cat "$T/err")"
g sized 'echo {}' :::
expect_rc "::: with no value" 2
g_in $'a\nb\n' take --count 3 'echo {}'
expect_rc "take --count above the inputs read" 2
expect_match "take --count above the inputs: says so" "count is 3" "$(cat "$T/err")"
g_in '' race
expect_rc "race with no command on stdin" 2
g_in '' sized
expect_rc "sized with no command on stdin: nothing to do" 0
g_in '' sized 'echo {}'
expect_rc "a template with no input: nothing ran" 0
expect_match "a template with no input: says so" "no input for the template, nothing ran" "$(cat "$T/err")"
check "nothing ran on bad usage" test ! -e PWNED

finish
