#!/bin/bash
# matrix: + template: in a job file (SPEC 7.2), and GNU parallel's
# replacement strings compared byte for byte with GNU parallel itself.
. "$(dirname "$0")/lib.sh" "$@"

# yaml_str S: S as a YAML double-quoted scalar (JSON strings are YAML).
yaml_str()
{
	jq -n --arg v "$1" '$v'
}

# bad NAME WANT_STDERR YAML: `check` and `run` exit 2 with exactly that
# message (FILE is $T/bad-NAME.yaml), and run nothing.
bad()
{
	local f="$T/bad-$1.yaml" cmd
	printf '%s\n' "$3" | sed "s|@T@|$T|g" >"$f"
	for cmd in check run; do
		rm -f "$T/ran"
		g $cmd "$f"
		expect_rc "bad $1 ($cmd)" 2
		expect_eq "bad $1 ($cmd): message" "$f:$2" "$(cat "$T/err")"
		check "bad $1 ($cmd): nothing ran" test ! -e "$T/ran"
	done
}

# --- GNU parallel as the oracle: every replacement string, hostile names ---

vals=('a b.txt' "it's.x" '$HOME.sh' '*.c' $'new\nline.txt' '-n' 'dir.d/file'
	'dir.d/noext' '.bashrc' 'dir/.hidden' 'a.b.c' 'noext' 'a/b/' '/' ''
	'.' '..' 'a//' '/abs/x.y' $'x/a.b\nc' '~user' '; touch PWNED'
	'$(touch PWNED)' '`touch PWNED`' $'tab\there' 'a"b.q/c'"'"'d.e'
	'\' '#c' '{}' '{.}' '%s')
{
	echo "groups:"
	echo "  - name: p"
	echo "    mode: all"
	echo "    cwd: $T/work"
	echo "    matrix:"
	echo "      f:"
	for v in "${vals[@]}"; do echo "        - $(yaml_str "$v")"; done
	echo "    template:"
	echo "      run: $(yaml_str "printf '%s\0' {} {.} {/} {//} {/.} {#} {f} {f.} {f/} {f//} {f/.}")"
} >"$T/par.yaml"
mkdir -p "$T/work"
if command -v parallel >/dev/null; then
	g run --report "$T/par.json" "$T/par.yaml"
	expect_rc "hostile names run" 0
	printf '%s\0' "${vals[@]}" | (cd "$T/work" &&
		parallel -0 -k -j1 "printf '%s\0' {} {.} {/} {//} {/.} {#} {} {.} {/} {//} {/.}") >"$T/par.out"
	expect_file "hostile names: every replacement string, bytes of GNU parallel" "$T/par.out" "$T/out"
	# the commands themselves: GNU parallel's quoting, byte for byte
	jq -j '[.. | objects | select(.kind == "task")] | .[] | .run + "\n"' "$T/par.json" >"$T/par.cmds"
	printf '%s\0' "${vals[@]}" |
		parallel -0 -k -j1 --dry-run "printf '%s\0' {} {.} {/} {//} {/.} {#} {} {.} {/} {//} {/.}" >"$T/par.dry"
	expect_file "hostile names: the commands equal parallel --dry-run's" "$T/par.dry" "$T/par.cmds"
else
	note "GNU parallel not installed: the comparison with it is skipped"
fi
check "hostile names: no value ran as code" test ! -e "$T/work/PWNED"

# outside `run` values go in as they are: argv items, env values
{
	echo "groups:"
	echo "  - name: raw"
	echo "    mode: all"
	echo "    matrix:"
	echo "      v:"
	for v in "${vals[@]}"; do echo "        - $(yaml_str "$v")"; done
	echo "    template:"
	echo "      argv: [sh, -c, 'printf \"%s\\0\" \"\$0\" \"\$V\"', \"{v}\"]"
	echo "      env: {V: \"<{v}>\"}"
} >"$T/raw.yaml"
g run "$T/raw.yaml"
expect_rc "argv and env values" 0
for v in "${vals[@]}"; do printf '%s\0<%s>\0' "$v" "$v"; done >"$T/raw.want"
expect_file "argv items and env values get the values unquoted" "$T/raw.want" "$T/out"

# --- shell injection: nothing a value holds runs ---

mkdir -p "$T/inj"
cat >"$T/inj.yaml" <<EOF
groups:
  - name: inj
    mode: all
    cwd: $T/inj
    matrix:
      x: ['\$(touch PWNED)', '; touch PWNED', '\`touch PWNED\`', "' ; touch PWNED ; '",
          '" ; touch PWNED ; "', '| touch PWNED', '&& touch PWNED', "\$(touch\tPWNED)"]
    template: {run: "echo {x} && echo {}"}
EOF
g run "$T/inj.yaml"
expect_rc "injection values run" 0
check "injection: no PWNED file" test -z "$(ls -A "$T/inj")"
expect_eq "injection: each value printed as it is" \
	"\$(touch PWNED)|; touch PWNED|\`touch PWNED\`|' ; touch PWNED ; '|\" ; touch PWNED ; \"|| touch PWNED|&& touch PWNED|\$(touch	PWNED)" \
	"$(awk 'NR % 2 == 1' "$T/out" | paste -sd'|')"

# --- product order, exclude, names, {#}, plan ---

cat >"$T/prod.yaml" <<EOF
groups:
  - name: test
    mode: all
    limit: 4
    matrix:
      py: ["3.11", "3.12"]
      db: [pg, my, lite]
      exclude: [{py: "3.11", db: my}, {db: lite}]
    template:
      name: "py{py}-{db}"
      run: echo {#} py{py} {db} \$DB
      env: {DB: "db-{db}"}
  - name: idx
    mode: sized
    matrix: {a: [x, y], b: ["1", "2"]}
    template: {run: "echo {a}{b}"}
EOF
g plan "$T/prod.yaml"
expect_rc "plan of a matrix" 0
expect_out "plan shows the generated children, in cartesian order" \
'test  all limit=4 on_error=continue
  py3.11-pg  task env=DB: echo 1 py3.11 pg $DB
  py3.12-pg  task env=DB: echo 2 py3.12 pg $DB
  py3.12-my  task env=DB: echo 3 py3.12 my $DB
idx  sized on_error=continue
  1  task: echo x1
  2  task: echo x2
  3  task: echo y1
  4  task: echo y2
'
g check "$T/prod.yaml"
expect_rc "check of a matrix" 0
g run -o grouped --report "$T/prod.json" "$T/prod.yaml" test
expect_rc "run of a matrix" 0
expect_out "first variable slowest, exclude left out, {#} after exclude, env values" \
	'1 py3.11 pg db-pg\n2 py3.12 pg db-pg\n3 py3.12 my db-my\n'
expect_eq "report paths" "test/py3.11-pg test/py3.12-pg test/py3.12-my" \
	"$(json "$T/prod.json" '[.root.children[0].children[].path] | join(" ")')"
g run "$T/prod.yaml" idx/3
expect_rc "a generated child is selected by its index name" 0
expect_eq "idx/3 is the third combination" "y1" "$(cat "$T/out")"

# --- glob: sorted, relative to the group's cwd; none matching ---

mkdir -p "$T/g/sub/logs"
for f in b.log a.log C.log a-2.log .hidden.log other.txt; do : >"$T/g/sub/logs/$f"; done
cat >"$T/glob.yaml" <<EOF
cwd: $T/g
groups:
  - name: gz
    mode: all
    cwd: sub
    matrix: {f: {glob: "logs/*.log"}}
    template: {name: "{f/.}", argv: [sh, -c, 'test -e "\$0" && echo "\$0"', "{f}"]}
  - name: empty
    mode: sized
    matrix: {f: {glob: "nothing/*.log"}}
    template: {run: "touch $T/ran"}
EOF
g run -o grouped --report "$T/glob.json" "$T/glob.yaml"
expect_rc "glob matrix" 0
expect_out "glob values sorted by bytes, relative to the cwd, no hidden files" \
	'logs/C.log\nlogs/a-2.log\nlogs/a.log\nlogs/b.log\n'
expect_eq "glob names from {f/.}" "C a-2 a b" \
	"$(json "$T/glob.json" '[.root.children[0].children[].name] | join(" ")')"
expect_node "a glob matching nothing: ok at once for sized" "$T/glob.json" empty status ok
expect_eq "a glob matching nothing: no child" "0" \
	"$(json "$T/glob.json" '.root.children[1].children | length')"

# a cwd with pattern characters of its own is not a pattern
mkdir -p "$T/w[1]*d/logs" && : >"$T/w[1]*d/logs/x.log" && : >"$T/w[1]*d/logs/y.log"
printf 'groups:\n  - {name: w, mode: all, cwd: "%s/", matrix: {f: {glob: "logs/*.log"}}, template: {run: "ls {f}"}}\n' \
	"$T/w[1]*d" >"$T/weird.yaml"
g run "$T/weird.yaml"
expect_rc "glob under a cwd with [ and *" 0
expect_out "glob under a cwd with [ and *: relative values" 'logs/x.log\nlogs/y.log\n'

# an empty matrix fails the modes that need a child
for mode in race take last retry waterfall; do
	extra=""
	[ $mode = take ] || [ $mode = last ] && extra=", count: 1"
	cat >"$T/empty-$mode.yaml" <<EOF
groups:
  - {name: e, mode: $mode$extra, matrix: {f: {glob: "$T/none/*"}}, template: {run: "true"}}
  - {name: after, run: "touch $T/ran"}
EOF
	rm -f "$T/ran"
	g run --report "$T/empty.json" "$T/empty-$mode.yaml"
	expect_rc "empty matrix in $mode" 1
	expect_node "empty matrix in $mode" "$T/empty.json" e status failed
	expect_eq "empty matrix in $mode: the error" "e: matrix has no values" \
		"$(json "$T/empty.json" '.errors[] | .path + ": " + .message')"
	check "empty matrix in $mode: the next group did not run" test ! -e "$T/ran"
done
for mode in errgroup sized all schedule; do
	printf 'groups:\n  - {name: e, mode: %s, matrix: {f: []}, template: {run: "true"}}\n' \
		$mode >"$T/empty-$mode.yaml"
	g run "$T/empty-$mode.yaml"
	expect_rc "empty matrix in $mode: ok" 0
done

# --- lines: one value a line, empty lines kept, relative to the cwd ---

mkdir -p "$T/l"
printf 'one\ntwo words\n\n$(touch PWNED)\nlast' >"$T/l/in.txt"
printf 'x\ny\n' >"$T/l/nl.txt"
cat >"$T/lines.yaml" <<EOF
groups:
  - name: l
    mode: all
    cwd: $T/l
    matrix: {v: {lines: in.txt}, w: {lines: nl.txt}}
    template: {run: "printf '<%s|%s>' {v} {w}"}
EOF
g run "$T/lines.yaml"
expect_rc "lines matrix" 0
expect_out "lines: every line a value, a final newline adds none" \
	'<one|x><one|y><two words|x><two words|y><|x><|y><$(touch PWNED)|x><$(touch PWNED)|y><last|x><last|y>'
check "lines: no value ran as code" test ! -e "$T/l/PWNED"

# --- a group template: a waterfall per value; nested matrices ---

cat >"$T/wf.yaml" <<EOF
groups:
  - name: per
    mode: all
    matrix: {w: [a, b]}
    template:
      name: "wf-{w}"
      mode: waterfall
      cwd: "$T/{w}dir"
      tasks:
        - run: "echo {w}; pwd"
        - name: "up-{w}"
          run: tr a-z A-Z
  - name: outer
    mode: all
    matrix: {o: ["1", "2"]}
    template:
      mode: all
      matrix: {i: [x, y]}
      template: {name: "{o}{i}", run: "echo {o}{i}#{#}"}
EOF
mkdir -p "$T/adir" "$T/bdir"
g run -o grouped --report "$T/wf.json" "$T/wf.yaml"
expect_rc "group templates" 0
expect_out "a waterfall per value, cwd substituted; nested matrices see both" \
	"A\n$(echo "$T/adir" | tr a-z A-Z)\nB\n$(echo "$T/bdir" | tr a-z A-Z)\n1x#1\n1y#2\n2x#1\n2y#2\n"
expect_eq "nested names" "per/wf-a/up-a per/wf-b/up-b outer/1/1x outer/2/2y" \
	"$(json "$T/wf.json" '[.. | objects | select(.kind == "task") | .path] | [.[1], .[3], .[4], .[7]] | join(" ")')"

# --- size: 10 000 combinations load fast, and count against the limit ---

{
	echo "groups:"
	echo "  - name: big"
	echo "    mode: sized"
	echo "    matrix:"
	printf '      a: ['; seq -s, 1 100 | tr -d '\n'; echo ']'
	printf '      b: ['; seq -s, 1 100 | tr -d '\n'; echo ']'
	echo "    template: {name: \"t{a}-{b}\", run: \"echo {a} {b}\", env: {A: \"{a}\"}}"
} >"$T/big.yaml"
# the same 10 000 tasks written out: the time a matrix may take is measured
# against it, on this machine and this build (ASan is 10 times slower)
{
	echo "groups:"
	echo "  - name: big"
	echo "    mode: sized"
	echo "    tasks:"
	for a in $(seq 1 100); do for b in $(seq 1 100); do
		echo "      - {name: t$a-$b, run: echo $a $b, env: {A: \"$a\"}}"
	done; done
} >"$T/flat.yaml"
g check "$T/flat.yaml"
flat=$ELAPSED
g check "$T/big.yaml"
expect_rc "10000 combinations" 0
note "loading a 10000-combination matrix took ${ELAPSED}s, the same tasks written out ${flat}s"
expect_lt "10000 combinations load about as fast as the tasks written out" "$ELAPSED" \
	"$(awk -v f="$flat" 'BEGIN { print 3 * f + 0.3 }')"
g plan "$T/big.yaml"
expect_eq "plan shows all 10000" 10001 "$(wc -l <"$T/out")"
{
	echo "groups:"
	echo "  - name: huge"
	echo "    mode: sized"
	echo "    matrix:"
	for v in a b c; do printf '      %s: [' $v; seq -s, 1 200 | tr -d '\n'; echo ']'; done
	echo "    template: {run: \"touch $T/ran\"}"
} >"$T/huge.yaml"
g check "$T/huge.yaml"
expect_rc "8 000 000 combinations refused" 2
expect_match "8 000 000 combinations: at the matrix" "^$T/huge.yaml:5:7: 'matrix' has more than 100000 combinations$" "$(cat "$T/err")"
expect_lt "8 000 000 combinations refused at once" "$ELAPSED" 2

# --- every error, at its FILE:LINE:COL ---

bad tasks-and-matrix "4:5: group 'g' has both 'tasks' and 'matrix'" 'groups:
  - name: g
    mode: all
    matrix: {x: [a]}
    template: {run: "touch @T@/ran"}
    tasks: [{run: "touch @T@/ran"}]'
bad matrix-alone "2:26: 'matrix' without 'template' in group 'g'" 'groups:
  - {name: g, mode: all, matrix: {x: [a]}}
  - {run: "touch @T@/ran"}'
bad template-alone "2:26: 'template' without 'matrix' in group 'g'" 'groups:
  - {name: g, mode: all, template: {run: "touch @T@/ran"}}'
bad not-scalars "2:42: values of 'x' in 'matrix' must be scalars" 'groups:
  - {name: g, mode: all, matrix: {x: [a, {b: c}]}, template: {run: "touch @T@/ran"}}'
bad not-a-list "2:38: 'x' in 'matrix' must be a list of scalars, {glob: PATTERN} or {lines: FILE}" 'groups:
  - {name: g, mode: all, matrix: {x: a}, template: {run: "touch @T@/ran"}}'
bad lines-unreadable "2:46: cannot read lines file 'nope.txt' for 'x' in 'matrix': No such file or directory" 'groups:
  - {name: g, mode: all, matrix: {x: {lines: nope.txt}}, template: {run: "touch @T@/ran"}}'
bad glob-empty "2:45: 'glob' of 'x' in 'matrix' must be a pattern" 'groups:
  - {name: g, mode: all, matrix: {x: {glob: ""}}, template: {run: "touch @T@/ran"}}'
bad glob-list "2:45: 'glob' of 'x' in 'matrix' must be a pattern" 'groups:
  - {name: g, mode: all, matrix: {x: {glob: [a]}}, template: {run: "touch @T@/ran"}}'
bad exclude-unknown "2:54: unknown variable 'y' in 'exclude'" 'groups:
  - {name: g, mode: all, matrix: {x: [a], exclude: [{y: a}]}, template: {run: "touch @T@/ran"}}'
bad var-name "2:35: invalid variable name 'a-b' in 'matrix' (allowed: a letter or '_', then letters, digits and '_')" 'groups:
  - {name: g, mode: all, matrix: {a-b: [x]}, template: {run: "touch @T@/ran"}}'
bad no-vars "2:34: 'matrix' has no variables" 'groups:
  - {name: g, mode: all, matrix: {exclude: []}, template: {run: "touch @T@/ran"}}'
bad name-empty "5:22: name '{x}' is empty for matrix child 2" 'groups:
  - name: g
    mode: all
    matrix: {x: [a, ""]}
    template: {name: "{x}", run: "touch @T@/ran"}'
bad name-slash "5:22: name 'n-{x}' gives 'n-a/b' for matrix child 1: a name cannot contain '/'" 'groups:
  - name: g
    mode: all
    matrix: {x: [a/b]}
    template: {name: "n-{x}", run: "touch @T@/ran"}'
bad name-chars "5:22: name '{x}' gives 'a b' for matrix child 1 (allowed: letters, digits, '.', '_' and '-')" 'groups:
  - name: g
    mode: all
    matrix: {x: [a b]}
    template: {name: "{x}", run: "touch @T@/ran"}'
bad name-repeated "5:22: matrix children 1 and 3 are both named 'a'" 'groups:
  - name: g
    mode: all
    matrix: {x: [a, b, a]}
    template: {name: "{x}", run: "touch @T@/ran"}'
bad template-error "5:16: unknown key 'tiemout' in task 'g/1' (did you mean 'timeout'?)" 'groups:
  - name: g
    mode: all
    matrix: {x: [a, b]}
    template: {tiemout: 1s, run: "touch @T@/ran"}'
bad empty-template-error "2:81: missing 'run' or 'argv' in task 'g/x'" 'groups:
  - {name: g, mode: sized, matrix: {f: {glob: "no-such-dir-grpx/*"}}, template: {name: x}}'
bad retry-two "2:28: retry group 'g' must have exactly one task, not 2" 'groups:
  - {name: g, mode: retry, matrix: {x: [a, b]}, template: {run: "touch @T@/ran"}}'

finish
