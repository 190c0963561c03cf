#!/bin/bash
# grpx in a real terminal (tmux): prefixed lines are whole, colours appear,
# the live progress line shows while tasks run and is gone at the end, the
# summary table is there (root causes first), Ctrl-C is reported.
. "$(dirname "$0")/lib.sh" "$@"

require tmux

SOCK=$T/tmux.sock
tm()
{
	tmux -S "$SOCK" -f /dev/null "$@"
}
_tty_cleanup()
{
	tm kill-server 2>/dev/null
	_cleanup
}
trap _tty_cleanup EXIT

ESC=$(printf '\033')

# A 200x50 terminal running a plain shell; its prompt is "$ ".
tm new-session -d -x 200 -y 50 -s e2e "env -u NO_COLOR PS1='$ ' HISTFILE=/dev/null bash --norc --noprofile -i" ||
	{ fail "tmux cannot start a session"; finish; }
tm set-option -t e2e history-limit 5000 >/dev/null

# in_tty NAME SCRIPT-BODY [WAIT]: run the body (bash) in the terminal, wait
# for it to end; the screen, history included, with colours, to $T/NAME.screen
# and without the escape sequences to $T/NAME.text; grpx's status in $T/NAME.rc.
in_tty()
{
	local name=$1
	{
		echo "trap : INT" # Ctrl-C is for grpx; the script carries on
		echo "cd $T"
		printf '%s\n' "$2"
		echo "echo \$? >$T/$name.rc"
	} >"$T/$name.sh"
	tm send-keys -t e2e "clear; tmux -S $SOCK clear-history; bash $T/$name.sh; touch $T/$name.done" Enter
	if ! wait_for_done "$T/$name.done" "${3:-20}"; then
		fail "$name: did not finish in the terminal"
	fi
	capture_settled "$name"
}
wait_for_done()
{
	local i=0 n=$(($2 * 20))
	while [ ! -e "$1" ] && [ $i -lt $n ]; do
		sleep 0.05
		i=$((i + 1))
	done
	[ -e "$1" ]
}
capture()
{
	tm capture-pane -t e2e -p -e -S - >"$T/$1.screen"
	sed "s/$ESC\[[0-9;:]*[A-Za-z]//g" "$T/$1.screen" >"$T/$1.text"
}
# capture_settled NAME: capture once the shell's prompt is back on the last
# line (tmux draws what the script wrote in its own time), at most 10 s.
capture_settled()
{
	local i=0
	capture "$1"
	while [ "$(grep -v '^ *$' "$T/$1.text" | tail -1)" != '$' ] && [ $i -lt 200 ]; do
		sleep 0.05
		capture "$1"
		i=$((i + 1))
	done
}

# --- a run with live output, a failure and a progress line ---
cat >"$T/job.yaml" <<'EOF'
groups:
  - name: g
    mode: sized
    tasks:
      - {name: alpha, run: 'for i in 1 2 3 4 5 6; do echo "alpha line $i of six"; sleep 0.2; done'}
      - {name: beta, run: 'for i in 1 2 3 4 5 6; do printf "beta "; sleep 0.05; echo "line $i of six"; sleep 0.15; done'}
      - {name: bad, run: 'sleep 0.5; echo "bad: about to fail" >&2; exit 2'}
EOF
in_tty run "'$GRPX' run -j 3 job.yaml"
expect_eq "tty run: exit status" 1 "$(cat "$T/run.rc" 2>/dev/null)"
expect_eq "tty: alpha's lines whole and tagged" 6 "$(grep -cE '^\[g/alpha\] alpha line [1-6] of six$' "$T/run.text")"
expect_eq "tty: beta's lines (written in two pieces) whole and tagged" 6 \
	"$(grep -cE '^\[g/beta\] beta line [1-6] of six$' "$T/run.text")"
expect_eq "tty: a stderr line whole and tagged" 1 "$(grep -cx '\[g/bad\] bad: about to fail' "$T/run.text")"
expect_eq "tty: no other line carries a task's text" 0 \
	"$(grep -E 'of six|about to fail' "$T/run.text" | grep -cvE '^\[g/(alpha|beta)\] (alpha|beta) line [1-6] of six$|^\[g/bad\] bad: about to fail$')"
check "tty: the tags are coloured" grep -q "^$ESC\[3[1-7]m\[g/alpha\]" "$T/run.screen"
# (tmux shows the reset as "default colour", ESC[39m, or ESC[m / ESC[0m)
check "tty: the colour ends with the tag" grep -q "\[g/alpha\]$ESC\[\(0\|39\)\?m alpha line" "$T/run.screen"
expect_eq "tty: the progress line is gone at the end" 0 "$(grep -c 'running,' "$T/run.text")"
expect_match "tty: the summary table header" '^ +TASK +STATUS +EXIT +TRIES +TIME *$' "$(grep -E 'TASK +STATUS' "$T/run.text")"
expect_eq "tty: summary rows, the root cause first" "g/bad failed exit 2|g/alpha ok exit 0|g/beta ok exit 0" \
	"$(sed -n '/TASK  *STATUS/,$p' "$T/run.text" | grep -E '^ +g/' | awk '{ print $1, $2, $3, $4 }' | paste -sd '|')"
check "tty: the summary's status is coloured" grep -q "g/bad *$ESC\[31mfailed" "$T/run.screen"
expect_eq "tty: the error line" "grpx: 1 error: g/bad: exit status 2" "$(grep '^grpx: 1 error' "$T/run.text")"

# --- the progress line is there while tasks run ---
# Two tasks run until the test has seen the progress line (or 30 s passed).
rm -f "$T/live.done"
hold="sh $T/until test -e $T/live.go"
{
	echo "'$GRPX' sized --limit 3 '$hold' '$hold' 'exit 0'"
	echo "echo \$? >$T/live.rc"
} >"$T/live.sh"
tm send-keys -t e2e "clear; tmux -S $SOCK clear-history; bash $T/live.sh; touch $T/live.done" Enter
end=$((SECONDS + 30))
capture live-mid
while ! grep -q '2 running, 1/3 done' "$T/live-mid.text" && [ $SECONDS -lt $end ]; do
	sleep 0.1
	capture live-mid
done
touch "$T/live.go"
wait_for_done "$T/live.done" 30
capture_settled live-end
expect_match "tty: a progress line while tasks run" 'grpx: 2 running, 1/3 done, 0 failed +[0-9.]+s +ETA' \
	"$(grep 'running,' "$T/live-mid.text")"
expect_eq "tty: the progress line is gone after the run" 0 "$(grep -c 'running,' "$T/live-end.text")"
expect_eq "tty: the summary lists all three" 3 "$(grep -cE '^ +sized/[123] +ok +exit 0' "$T/live-end.text")"

# --- no colours with NO_COLOR or --color never, also on a TTY ---
in_tty nocolor "NO_COLOR=1 '$GRPX' sized 'echo out' 'echo err >&2; exit 1'"
check "NO_COLOR on a TTY: the lines are there" grep -qx '\[sized/1\] out' "$T/nocolor.text"
check "NO_COLOR on a TTY: no colour at all" test "$(grep -c "$ESC" "$T/nocolor.screen")" = 0
in_tty never "'$GRPX' sized --color never 'echo out' 'echo err >&2; exit 1'"
check "--color never on a TTY: the lines are there" grep -qx '\[sized/2\] err' "$T/never.text"
check "--color never on a TTY: no colour at all" test "$(grep -c "$ESC" "$T/never.screen")" = 0
in_tty noprogress "'$GRPX' sized --progress never 'sleep 1; echo done'"
expect_eq "--progress never: the output" 1 "$(grep -cx '\[sized/1\] done' "$T/noprogress.text")"

# --- Ctrl-S: a terminal that stops taking output delays no deadline ---
rm -f "$T/xoff.done" "$T/xoff.ev"
cat >"$T/xoff.yaml" <<'EOF'
groups:
  - name: x
    mode: sized
    tasks:
      - {name: talk, run: 'seq 1 200000'}
      - {name: slow, run: 'sleep 100', timeout: 1s}
EOF
{
	echo "'$GRPX' run --events $T/xoff.ev $T/xoff.yaml"
	echo "echo \$? >$T/xoff.rc"
} >"$T/xoff.sh"
tm send-keys -t e2e "clear; stty ixon; tmux -S $SOCK clear-history; bash $T/xoff.sh; touch $T/xoff.done" Enter
wait_for "$T/xoff.ev" 10
tm send-keys -t e2e C-s
sleep 3
xms=$(jq -r 'select(.event == "exit" and .path == "x/slow") | .t_ms' "$T/xoff.ev" 2>/dev/null | head -n 1)
tm send-keys -t e2e C-q
wait_for_done "$T/xoff.done" 60 || fail "Ctrl-S: grpx did not end after Ctrl-Q"
note "Ctrl-S: x/slow's timeout exit at ${xms}ms"
expect_lt "Ctrl-S: the 1s task timeout fires while the terminal is stopped" "${xms:-99999}" 2000
expect_eq "Ctrl-S: grpx ends after Ctrl-Q (the timeout failed the run)" 1 "$(cat "$T/xoff.rc" 2>/dev/null)"

# --- a narrow terminal: the progress line is cut, never wraps, leaves nothing ---
tm resize-window -t e2e -x 40 -y 30 2>/dev/null || tm resize-pane -t e2e -x 40 -y 30
rm -f "$T/narrow.done"
{
	echo "'$GRPX' sized --limit 2 'for i in 1 2 3 4 5 6; do echo line \$i; sleep 0.3; done' 'sleep 2'"
	echo "echo \$? >$T/narrow.rc"
} >"$T/narrow.sh"
tm send-keys -t e2e "clear; tmux -S $SOCK clear-history; bash $T/narrow.sh; touch $T/narrow.done" Enter
wait_for_done "$T/narrow.done" 20 || fail "narrow terminal: grpx did not end"
sleep 0.2
capture narrow
expect_eq "narrow terminal: exit" 0 "$(cat "$T/narrow.rc" 2>/dev/null)"
expect_eq "narrow terminal: the six lines" 6 "$(grep -cE '^\[sized/1\] line [1-6]$' "$T/narrow.text")"
expect_eq "narrow terminal: no stale piece of a progress line" 0 \
	"$(grep -cE 'running|done,|failed +[0-9]|ETA' "$T/narrow.text")"
tm resize-window -t e2e -x 200 -y 50 2>/dev/null || tm resize-pane -t e2e -x 200 -y 50

# --- stdin: inherit on a terminal: the task is the foreground, reads what is typed (D6) ---
cat >"$T/ask.yaml" <<'EOF'
groups:
  - name: g
    mode: errgroup
    tasks:
      - {name: ask, stdin: inherit, run: 'read -r x; echo "got [$x]"'}
EOF
rm -f "$T/ask.done"
{
	echo "'$GRPX' run --timeout 20s --report $T/ask.json $T/ask.yaml"
	echo "echo \$? >$T/ask.rc"
} >"$T/ask.sh"
tm send-keys -t e2e "clear; tmux -S $SOCK clear-history; bash $T/ask.sh; touch $T/ask.done" Enter
sleep 1
tm send-keys -t e2e "typed words" Enter
wait_for_done "$T/ask.done" 30 || fail "stdin: inherit on a terminal: grpx did not end"
sleep 0.2
capture ask
expect_eq "stdin: inherit on a terminal: exit" 0 "$(cat "$T/ask.rc" 2>/dev/null)"
expect_eq "stdin: inherit on a terminal: the task read what was typed" 1 \
	"$(grep -c 'got \[typed words\]' "$T/ask.text")"
expect_eq "stdin: inherit on a terminal: the task ok" ok "$(json "$T/ask.json" '.root.children[0].children[0].status')"
# the shell has its terminal back: it runs the next command in the foreground
in_tty after "read -t 5 -r y <&0 && echo \"after [\$y]\"" 10 &
sleep 1
tm send-keys -t e2e "more" Enter
wait
expect_eq "after the run the shell's terminal is its own again" 1 "$(grep -c 'after \[more\]' "$T/after.text")"

# --- Ctrl-C: tasks stopped, the run reports the signal, nothing garbled ---
rm -f "$T/int.done"
{
	echo "trap : INT"
	echo "'$GRPX' sized 'echo started; sleep 30 & echo \$! >$T/int.pid; wait' 'sleep 30'"
	echo "echo \$? >$T/int.rc"
} >"$T/int.sh"
tm send-keys -t e2e "clear; tmux -S $SOCK clear-history; bash $T/int.sh; touch $T/int.done" Enter
wait_for "$T/int.pid" 10
sleep 0.3
tm send-keys -t e2e C-c
wait_for_done "$T/int.done" 10 || fail "Ctrl-C: grpx did not end"
capture_settled int
expect_eq "Ctrl-C: grpx dies by SIGINT (130)" 130 "$(cat "$T/int.rc" 2>/dev/null)"
expect_eq "Ctrl-C: the interrupted line" 1 "$(grep -cx 'grpx: interrupted by SIGINT' "$T/int.text")"
expect_eq "Ctrl-C: no progress line left" 0 "$(grep -c 'running,' "$T/int.text")"
expect_match "Ctrl-C: the summary shows canceled tasks" '^ +sized/1 +canceled' "$(grep -E '^ +sized/1 ' "$T/int.text")"
expect_gone "Ctrl-C: the tasks' processes are gone" "$T/int.pid"

finish
