#!/bin/bash
# Bad input never runs anything: every problem as FILE:LINE:COL:, exit 2.
. "$(dirname "$0")/lib.sh" "$@"

# three mistakes; the first task would leave a trace if anything ran
cat >"$T/three.yaml" <<EOF
groups:
  - name: checks
    mode: sized
    tasks:
      - name: lint
        run: touch $T/ran
        tiemout: 5s
      - name: lint
        run: touch $T/ran2
      - name: unit
        run: touch $T/ran3
        timeout: 10x
EOF
for cmd in check run; do
	g $cmd "$T/three.yaml"
	expect_rc "$cmd of a bad file" 2
	expect_eq "$cmd: three FILE:LINE:COL: lines" 3 "$(grep -c "^$T/three.yaml:[0-9][0-9]*:[0-9][0-9]*: " "$T/err")"
	expect_eq "$cmd: lines 7, 8, 12 (1-based)" "7 8 12" \
		"$(grep -o "^$T/three.yaml:[0-9]*" "$T/err" | sed 's/.*://' | tr '\n' ' ' | sed 's/ $//')"
	check "$cmd: nothing ran" test ! -e "$T/ran" -a ! -e "$T/ran2" -a ! -e "$T/ran3"
	expect_eq "$cmd: nothing on stdout" "" "$(cat "$T/out")"
done
expect_match "unknown key at line 7 col 9, with a suggestion" \
	"^$T/three.yaml:7:9: .*tiemout.*timeout" "$(grep ':7:' "$T/err")"
expect_match "malformed duration named" "^$T/three.yaml:12:18: .*10x" "$(grep ':12:' "$T/err")"
expect_match "duplicate name named" "^$T/three.yaml:8:[0-9]+: .*lint" "$(grep ':8:' "$T/err")"

# a valid file: check exits 0 and runs nothing
cat >"$T/good.yaml" <<EOF
version: 1
groups:
  - {name: a, run: "touch $T/good-ran"}
EOF
g check "$T/good.yaml"
expect_rc "check of a good file" 0
check "check runs nothing" test ! -e "$T/good-ran"
g plan "$T/good.yaml"
expect_rc "plan" 0
check "plan runs nothing" test ! -e "$T/good-ran"

# one problem of each kind: each is reported, exit 2
bad() # NAME YAML
{
	printf '%s\n' "$2" >"$T/bad-$1.yaml"
	g check "$T/bad-$1.yaml"
	expect_rc "bad: $1" 2
	expect_match "bad: $1 has a FILE:LINE:COL: diagnostic" "^$T/bad-$1.yaml:[0-9]+:[0-9]+: " "$(head -1 "$T/err")"
}
bad missing-mode 'groups:
  - name: g
    tasks: [{run: "true"}]'
bad run-and-argv 'groups:
  - {name: a, run: "true", argv: ["true"]}'
bad count-0 'groups:
  - {name: t, mode: take, count: 0, tasks: [{run: "true"}]}'
bad empty-group 'groups:
  - {name: g, mode: all, tasks: []}'
bad yaml-syntax 'groups:
  - {name: a, run: "true"'
bad version-2 'version: 2
groups: [{run: "true"}]'
bad wrong-type 'groups:
  - {name: g, mode: sized, limit: lots, tasks: [{run: "true"}]}'
bad unknown-mode 'groups:
  - {name: g, mode: gather, tasks: [{run: "true"}]}'
bad bad-name 'groups:
  - {name: "a b", run: "true"}'
bad count-outside 'groups:
  - {name: g, mode: all, count: 1, tasks: [{run: "true"}]}'
bad stagger-outside 'groups:
  - {name: g, mode: all, stagger: 1s, tasks: [{run: "true"}]}'
bad on-error-in-race 'groups:
  - {name: g, mode: race, on_error: drain, tasks: [{run: "true"}]}'
bad no-groups 'version: 1'

# D15: an explicit name equal to an unnamed sibling's position is a duplicate
# path; before the fix, `run dup.yaml g/1` ran the unnamed task
cat >"$T/dup.yaml" <<EOF
groups:
  - name: g
    mode: sized
    tasks:
      - {run: "touch $T/dup-unnamed"}
      - {name: "1", run: "touch $T/dup-named"}
EOF
for cmd in check run; do
	g $cmd "$T/dup.yaml"
	expect_rc "D15 $cmd: name equal to a sibling's position" 2
	expect_eq "D15 $cmd: at the clashing name" \
		"$T/dup.yaml:6:16: duplicate name '1': the unnamed task at 5:9 is named by its position" \
		"$(cat "$T/err")"
done
check "D15: nothing ran" test ! -e "$T/dup-unnamed" -a ! -e "$T/dup-named"

# position of a yaml syntax error: 1-based
printf 'groups:\n  - name: a\n    run: [unclosed\n' >"$T/syn.yaml"
g check "$T/syn.yaml"
expect_rc "syntax error" 2

# billion laughs: refused at once
{
	echo 'a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'
	for i in 1 2 3 4 5 6 7 8 9; do
		p=$((i - 1))
		echo "a$i: &a$i [*a$p, *a$p, *a$p, *a$p, *a$p, *a$p, *a$p, *a$p, *a$p, *a$p]"
	done
	echo 'groups: [{run: echo, env: {X: *a9}}]'
} >"$T/bomb.yaml"
g check "$T/bomb.yaml"
expect_rc "billion laughs" 2
# (expanding it would take minutes and gigabytes; 5 s is room for a busy machine)
expect_time_lt "billion laughs refused at once" "$ELAPSED" 5
g run "$T/bomb.yaml"
expect_rc "billion laughs (run)" 2

# deep nesting: a clear error or a correct run, never a crash
python_deep()
{
	local d=$1 i ind=""
	echo "groups:"
	for ((i = 0; i < d; i++)); do
		echo "${ind}- mode: errgroup"
		echo "${ind}  tasks:"
		ind="$ind  "
	done
	echo "${ind}- run: echo deep"
}
python_deep 1000 >"$T/deep.yaml"
g check "$T/deep.yaml"
check "deep nesting: exit 0 or 2, no crash (got $RC)" test "$RC" = 0 -o "$RC" = 2
expect_time_lt "deep nesting quick" "$ELAPSED" 5

# a 10 MB scalar: an error or a correct run
{
	printf 'groups:\n  - {name: a, run: "true # '
	head -c 10000000 /dev/zero | tr '\0' x
	printf '"}\n'
} >"$T/huge.yaml"
g run "$T/huge.yaml"
check "10 MB scalar: exit 0 or 2, no crash (got $RC)" test "$RC" = 0 -o "$RC" = 2
expect_time_lt "10 MB scalar quick" "$ELAPSED" 10

# many tasks
{
	echo 'groups:'
	echo '  - {name: g, mode: sized, tasks: ['
	for i in $(seq 1 20000); do echo '      {run: "true"},'; done
	echo '    ]}'
} >"$T/many.yaml"
g check "$T/many.yaml"
expect_rc "20000 tasks check" 0
expect_time_lt "20000 tasks check quick" "$ELAPSED" 5

finish
