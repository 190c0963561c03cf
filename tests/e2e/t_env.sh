#!/bin/bash
# What a task sees: GRPX_* variables, env inheritance, cwd, argv, shell.
. "$(dirname "$0")/lib.sh" "$@"

mkdir -p "$T/top/mid/leaf"
cat >"$T/env.yaml" <<EOF
env: {A: top, B: top, C: top}
cwd: $T/top
groups:
  - name: g
    mode: errgroup
    env: {B: group}
    cwd: mid
    tasks:
      - name: first
        run: "echo \$A \$B \$C \$OUTSIDE; echo \$GRPX_TASK \$GRPX_GROUP \$GRPX_INDEX \$GRPX_ATTEMPT; pwd"
        env: {C: task}
        cwd: leaf
      - name: second
        run: "echo \$GRPX_TASK \$GRPX_GROUP \$GRPX_INDEX \$GRPX_ATTEMPT \$B; pwd"
      - name: nested
        mode: all
        tasks:
          - run: "echo \$GRPX_TASK \$GRPX_GROUP \$GRPX_INDEX"
          - run: "echo \$GRPX_TASK \$GRPX_GROUP \$GRPX_INDEX"
EOF
OUTSIDE=outer "$GRPX" run -o grouped "$T/env.yaml" >"$T/out" 2>"$T/err"
RC=$?
expect_rc "env job" 0
expect_eq "env maps merge, inner wins, grpx's own env kept" "top group task outer" "$(grep '^top' "$T/out")"
expect_eq "GRPX_* of first" "g/first g 0 1" "$(grep '^g/first' "$T/out")"
expect_eq "GRPX_* of second" "g/second g 1 1 group" "$(grep '^g/second' "$T/out")"
expect_eq "GRPX_* of nested" "g/nested/1 g/nested 0
g/nested/2 g/nested 1" "$(grep '^g/nested' "$T/out")"
expect_eq "relative cwd resolves against the parent's" "$T/top/mid
$T/top/mid/leaf" "$(grep "^/" "$T/out" | sort)"

# a missing cwd: status error, nothing else runs in a cancel group
cat >"$T/nocwd.yaml" <<EOF
groups:
  - name: g
    mode: errgroup
    tasks:
      - {name: x, cwd: $T/does-not-exist, run: "touch $T/x-ran"}
EOF
g run --report "$T/r.json" "$T/nocwd.yaml"
expect_rc "missing cwd" 1
check "did not run" test ! -e "$T/x-ran"
expect_node "missing cwd" "$T/r.json" g/x status error

# argv form: no shell, PATH lookup, arguments passed verbatim
cat >"$T/argv.yaml" <<'EOF'
groups:
  - name: a
    argv: [printf, "%s|", "two words", "$HOME", "*", ""]
EOF
g run "$T/argv.yaml"
expect_rc "argv" 0
expect_out "argv passed verbatim" 'two words|$HOME|*||'

cat >"$T/noexec.yaml" <<'EOF'
groups:
  - name: a
    argv: [grpx-no-such-program-xyz]
EOF
g run --report "$T/r2.json" "$T/noexec.yaml"
expect_rc "exec failure" 1
expect_node "exec failure in argv form" "$T/r2.json" a status error
g run -x "$T/noexec.yaml"
expect_rc "-x: task that could not start" 127

# shell: a list, the command is appended; also inherited
if command -v bash >/dev/null; then
	cat >"$T/shell.yaml" <<'EOF'
shell: [bash, -eo, pipefail, -c]
groups:
  - name: g
    mode: errgroup
    tasks:
      - {name: pf, run: "false | true"}
EOF
	g run --report "$T/r3.json" "$T/shell.yaml"
	expect_rc "pipefail shell list" 1
	expect_node "pipefail" "$T/r3.json" g/pf status failed

	cat >"$T/shell2.yaml" <<'EOF'
shell: /bin/sh
groups:
  - name: g
    mode: all
    shell: [bash, -c]
    tasks:
      - {name: b, run: "echo ${BASH_VERSION:+bash}"}
      - {name: s, shell: /bin/sh, run: "echo ${BASH_VERSION:-sh}"}
EOF
	g run -o grouped "$T/shell2.yaml"
	expect_rc "shell inheritance" 0
	expect_eq "inherited list shell, task override" "bash
sh" "$(cat "$T/out")"
fi

# stdin is /dev/null by default
echo "from-stdin" >"$T/in"
"$GRPX" errgroup 'cat; echo done' <"$T/in" >"$T/out" 2>/dev/null
expect_out "task stdin is /dev/null" 'done\n'

# stdin: inherit
cat >"$T/inherit.yaml" <<'EOF'
groups:
  - {name: a, stdin: inherit, run: "cat"}
EOF
printf 'hello\n' | "$GRPX" run "$T/inherit.yaml" >"$T/out" 2>"$T/err"
expect_out "stdin: inherit reads grpx's stdin" 'hello\n'

# no fd of grpx leaks into a task: the shell's own fds are exactly 0 1 2
# (ls runs in a child of the shell; $$ is the task's shell itself)
fds() { tr '\n' ' ' <"$T/out"; }
g_clean errgroup 'ls /proc/$$/fd'
expect_rc "fd listing" 0
expect_eq "only 0 1 2 are open in the task" "0 1 2 " "$(fds)"
# together DIR N: a task body that lists its fds once N tasks have got this
# far (a barrier): the siblings' pipes and spools exist while it looks
together()
{
	echo "mkdir -p $1; touch $1/\$\$; sh $T/until sh -c '[ \$(ls $1 | wc -l) -ge $2 ]'; ls /proc/\$\$/fd"
}
g_clean sized -o grouped --limit 3 "$(together "$T/b1" 3)" "$(together "$T/b1" 3)" "$(together "$T/b1" 3)"
expect_eq "no leak while siblings run (pipes, spools)" "0 1 2 0 1 2 0 1 2 " "$(fds)"
g_clean sized -o prefix --limit 3 "$(together "$T/b2" 2)" "$(together "$T/b2" 2)"
expect_eq "no leak under -o prefix" "[sized/1] 0 [sized/1] 1 [sized/1] 2 [sized/2] 0 [sized/2] 1 [sized/2] 2 " \
	"$(sort "$T/out" | tr '\n' ' ')"
g_clean waterfall 'echo x' 'ls /proc/$$/fd'
expect_eq "no leak into a waterfall stage" "0 1 2 " "$(fds)"
g_clean race 'sleep 0.3; ls /proc/$$/fd' 'sleep 0.2; ls /proc/$$/fd'
expect_eq "no leak into a race child" "0 1 2 " "$(fds)"

# an fd grpx itself inherited (not close-on-exec) is also not passed on
( exec 7</dev/null; exec "$GRPX" errgroup 'ls /proc/$$/fd' ) >"$T/out" 2>"$T/err" </dev/null
expect_eq "an inherited fd 7 of grpx does not reach the task" "" "$(grep -x 7 "$T/out")"

finish
