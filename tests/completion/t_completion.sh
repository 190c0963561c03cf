#!/bin/bash
# Shell completions (completions/): subcommands and modes, option values,
# job files, and the node paths of FILE after `grpx run FILE`, which come
# from `grpx plan --paths FILE`.  bash is driven through its completion
# function in a non-interactive bash, zsh through a pseudo-terminal
# (zcap.zsh), fish with `complete -C`.
E2E_NEEDS=''
. "$(dirname "$0")/../e2e/lib.sh" "$@"

SRC=${GRPX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
COMP=$SRC/completions
MODES='all errgroup last race retry schedule sized take waterfall'
# `grpx` on the command line is the grpx under test
export PATH="$(dirname "$GRPX"):$PATH"

# A job file whose paths are known, with unnamed and nested nodes.
mkdir -p "$T/jobs/sub.yaml" "$T/jobs/dir"
cat >"$T/jobs/p.yaml" <<'YAML'
groups:
  - name: build
    mode: sized
    tasks:
      - {name: lint, run: 'true'}
      - run: 'true'
  - name: ship
    mode: race
    tasks:
      - name: inner
        mode: take
        count: 1
        tasks: [{run: 'true'}]
YAML
: >"$T/jobs/b.yml"
: >"$T/jobs/c.txt"
P_PATHS='build build/2 build/lint ship ship/inner ship/inner/1'

# --- grpx plan --paths ---

g plan --paths "$T/jobs/p.yaml"
expect_rc "plan --paths" 0
expect_out "plan --paths: every path, in file order" 'build\nbuild/lint\nbuild/2\nship\nship/inner\nship/inner/1\n'
g run --paths "$T/jobs/p.yaml"
expect_rc "--paths is for plan only (run)" 2
expect_match "--paths on run says why" "'--paths' is for plan only" "$(cat "$T/err")"
g race --paths true
expect_rc "--paths is for plan only (a mode)" 2
printf 'groups: [{name: x, mode: nope, tasks: [{run: "true"}]}]\n' >"$T/bad.yaml"
g plan --paths "$T/bad.yaml"
expect_rc "plan --paths of an invalid file" 2
expect_eq "plan --paths of an invalid file prints no path" "" "$(cat "$T/out")"
g --help
expect_match "usage names plan --paths and --resume" 'grpx plan \[--paths\] \[--resume FILE\] JOBFILE' "$(cat "$T/out")"

# sorted NAME WANT GOT: compare as sorted, space-separated sets
sorted()
{
	expect_eq "$1" "$(printf '%s\n' $2 | sort -u | tr '\n' ' ')" "$(printf '%s\n' $3 | sort -u | tr '\n' ' ')"
}

# --- bash ---

# bcomp WORD...: what bash completes for the command line WORD... (the last
# word is the one completed, '' for a new word), in a non-interactive bash.
bcomp()
{
	bash --norc --noprofile -c '
		. "$1" || exit 1
		shift
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_grpx
		printf "%s\n" "${COMPREPLY[@]}"' bcomp "$COMP/grpx.bash" "$@"
}

expect_eq "bash: the file registers _grpx" "complete -F _grpx grpx" \
	"$(bash --norc --noprofile -c '. "$1"; complete -p grpx' x "$COMP/grpx.bash")"
sorted "bash: 'grpx ' gives the subcommands and modes" "run check plan $MODES" "$(bcomp grpx '')"
sorted "bash: 'grpx ra' gives race" "race" "$(bcomp grpx ra)"
sorted "bash: 'grpx --' gives --help --version" "--help --version" "$(bcomp grpx --)"
sorted "bash: -o values" "prefix grouped raw quiet" "$(bcomp grpx run -o '')"
sorted "bash: -o values in a mode" "prefix grouped raw quiet" "$(bcomp grpx sized -o '')"
sorted "bash: --output=g" "grouped" "$(bcomp grpx run --output = g)"
sorted "bash: --color values" "auto always never" "$(bcomp grpx run --color '')"
sorted "bash: --progress values" "auto always never" "$(bcomp grpx race --progress '')"
sorted "bash: --on-error values" "cancel drain continue" "$(bcomp grpx sized --on-error '')"
sorted "bash: run's options" "--jobs --junit --journal" "$(bcomp grpx run --j)"
sorted "bash: a mode's options" "--stagger --shell" "$(bcomp grpx race --s)"
sorted "bash: plan's options" "--paths --resume --help" "$(bcomp grpx plan --)"
: >"$T/jobs/run.journal"
sorted "bash: files after --journal" "$T/jobs/run.journal" "$(bcomp grpx run --journal "$T/jobs/ru")"
sorted "bash: files after --resume" "$T/jobs/run.journal" "$(bcomp grpx run --resume "$T/jobs/ru")"
sorted "bash: files after plan --resume" "$T/jobs/run.journal" "$(bcomp grpx plan --resume "$T/jobs/ru")"
sorted "bash: job files after plan --resume FILE" "$T/jobs/p.yaml" "$(bcomp grpx plan --resume "$T/jobs/run.journal" "$T/jobs/p")"
sorted "bash: node paths after run --resume FILE JOBFILE" "ship ship/inner ship/inner/1" \
	"$(bcomp grpx run --journal "$T/jobs/run.journal" --resume "$T/jobs/run.journal" "$T/jobs/p.yaml" sh)"
sorted "bash: job files and directories" "$T/jobs/p.yaml $T/jobs/b.yml $T/jobs/sub.yaml $T/jobs/dir" \
	"$(bcomp grpx run "$T/jobs/")"
sorted "bash: job files after check" "$T/jobs/p.yaml" "$(bcomp grpx check "$T/jobs/p")"
sorted "bash: node paths after run FILE" "$P_PATHS" "$(bcomp grpx run "$T/jobs/p.yaml" '')"
sorted "bash: node paths after options and a path" "ship ship/inner ship/inner/1" \
	"$(bcomp grpx run -q -o raw "$T/jobs/p.yaml" build sh)"
sorted "bash: the paths of jobs/demo.yaml" "$("$GRPX" plan --paths "$SRC/jobs/demo.yaml")" \
	"$(bcomp grpx run "$SRC/jobs/demo.yaml" '')"
expect_match "bash: jobs/demo.yaml has paths" "checks/lint" "$(bcomp grpx run "$SRC/jobs/demo.yaml" '')"
sorted "bash: no paths after plan FILE" "" "$(bcomp grpx plan "$T/jobs/p.yaml" '')"

# --- zsh ---

if ! command -v zsh >/dev/null; then
	if [ -n "${CI:-}" ]; then fail "zsh is required under CI"; else note "zsh is not installed: its completion is not tested"; fi
else
	check "zsh -n _grpx" zsh -n "$COMP/_grpx"
	zcomp()
	{
		timeout 60 zsh -f "$SRC/tests/completion/zcap.zsh" "$COMP" "$*" 2>&1
	}
	sorted "zsh: 'grpx ' gives the subcommands and modes" "run check plan $MODES" "$(zcomp 'grpx ')"
	sorted "zsh: -o values" "prefix grouped raw quiet" "$(zcomp 'grpx run -o ')"
	sorted "zsh: --on-error values" "cancel drain continue" "$(zcomp 'grpx sized --on-error=')"
	sorted "zsh: --color values" "auto always never" "$(zcomp 'grpx take --color ')"
	sorted "zsh: plan's options" "--paths --resume --help" "$(zcomp 'grpx plan --')"
	sorted "zsh: files after --journal" "run.journal" "$(zcomp "grpx run --journal $T/jobs/ru")"
	sorted "zsh: files after --resume" "run.journal" "$(zcomp "grpx run --resume $T/jobs/ru")"
	sorted "zsh: files after plan --resume" "run.journal" "$(zcomp "grpx plan --resume $T/jobs/ru")"
	sorted "zsh: job files and directories" "p.yaml b.yml sub.yaml dir" "$(zcomp "grpx run $T/jobs/")"
	sorted "zsh: node paths after run FILE" "$P_PATHS" "$(zcomp "grpx run $T/jobs/p.yaml ")"
	sorted "zsh: node paths after options" "ship ship/inner ship/inner/1" "$(zcomp "grpx run -q $T/jobs/p.yaml sh")"
fi

# --- fish ---

if ! command -v fish >/dev/null; then
	if [ -n "${CI:-}" ]; then fail "fish is required under CI"; else note "fish is not installed: its completion is not tested"; fi
else
	check "fish -n grpx.fish" fish --no-config -n "$COMP/grpx.fish"
	fcomp()
	{
		fish --no-config -c 'source $argv[1]; complete -C $argv[2]' "$COMP/grpx.fish" "$*" 2>&1 | cut -f1
	}
	sorted "fish: 'grpx ' gives the subcommands and modes" "run check plan $MODES" "$(fcomp 'grpx ')"
	sorted "fish: -o values" "prefix grouped raw quiet" "$(fcomp 'grpx run -o ')"
	sorted "fish: --on-error values" "cancel drain continue" "$(fcomp 'grpx sized --on-error ')"
	sorted "fish: --progress values" "auto always never" "$(fcomp 'grpx run --progress ')"
	sorted "fish: plan's options" "--paths --resume --help" "$(fcomp 'grpx plan --')"
	sorted "fish: files after --journal" "$T/jobs/run.journal" "$(fcomp "grpx run --journal $T/jobs/ru")"
	sorted "fish: files after --resume" "$T/jobs/run.journal" "$(fcomp "grpx run --resume $T/jobs/ru")"
	sorted "fish: files after plan --resume" "$T/jobs/run.journal" "$(fcomp "grpx plan --resume $T/jobs/ru")"
	sorted "fish: job files and directories" "$T/jobs/p.yaml $T/jobs/b.yml $T/jobs/sub.yaml/ $T/jobs/dir/" \
		"$(fcomp "grpx run $T/jobs/")"
	sorted "fish: node paths after run FILE" "$P_PATHS" "$(fcomp "grpx run $T/jobs/p.yaml ")"
	sorted "fish: node paths after options" "ship ship/inner ship/inner/1" "$(fcomp "grpx run -q $T/jobs/p.yaml sh")"
fi

finish
