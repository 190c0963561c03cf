#!/bin/bash
# `cmake --install` (SPEC section 12): into a temporary prefix, and with
# DESTDIR, exactly these files and nothing else (no library, no header);
# the binary runs and says the project's version; the man pages carry that
# version, render without a groff warning, and man finds them; the
# completion and the schema are the source's and work with the installed
# binary.
E2E_NEEDS='groff man'
. "$(dirname "$0")/../e2e/lib.sh" "$@"

SRC=${GRPX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${GRPX_BUILD:-$(dirname "$GRPX")}
CMAKE=${GRPX_CMAKE:-cmake}
VERSION=${GRPX_PROJECT_VERSION:-$(sed -n 's/^  VERSION \([0-9.]*\)$/\1/p' "$SRC/CMakeLists.txt")}

FILES='bin/grpx
share/bash-completion/completions/grpx
share/doc/grpx/LICENSE
share/doc/grpx/README.md
share/fish/vendor_completions.d/grpx.fish
share/grpx/grpx.schema.json
share/man/man1/grpx.1
share/man/man5/grpx.yaml.5
share/zsh/site-functions/_grpx'

P=$T/prefix
"$CMAKE" --install "$BUILD" --prefix "$P" >"$T/install.out" 2>&1
expect_eq "cmake --install --prefix succeeds" 0 "$?"
expect_eq "exactly the files of SPEC 12 (and the licence) are installed" "$FILES" \
	"$(cd "$P" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort)"

# the files as they are in the source tree
for pair in completions/grpx.bash:share/bash-completion/completions/grpx \
	completions/_grpx:share/zsh/site-functions/_grpx \
	completions/grpx.fish:share/fish/vendor_completions.d/grpx.fish \
	schema/grpx.schema.json:share/grpx/grpx.schema.json \
	LICENSE:share/doc/grpx/LICENSE; do
	check "installed ${pair#*:} is ${pair%%:*}" cmp -s "$SRC/${pair%%:*}" "$P/${pair#*:}"
done

# the binary
check "bin/grpx is executable" test -x "$P/bin/grpx"
expect_eq "grpx --version says the project's version" "grpx $VERSION" "$("$P/bin/grpx" --version)"
(cd "$SRC" && "$P/bin/grpx" run -o grouped jobs/demo.yaml) >"$T/demo.out" 2>"$T/demo.err" </dev/null
expect_eq "the installed grpx runs jobs/demo.yaml" 0 "$?"
expect_match "jobs/demo.yaml printed its result" 'apple' "$(cat "$T/demo.out")"

# the man pages: the version in .TH, nothing else changed, no warning
for page in man1/grpx.1 man5/grpx.yaml.5; do
	inst=$P/share/man/$page
	expect_match "$page carries version $VERSION" "^\\.TH [^ ]+ [15] [0-9-]+ \"grpx $VERSION\"" "$(grep '^\.TH' "$inst")"
	expect_eq "$page differs from the source in its .TH line only" 1 \
		"$(diff "$SRC/man/${page#*/}" "$inst" | grep -c '^>')"
	LC_ALL=C.UTF-8 groff -man -ww -z "$inst" 2>"$T/groff.err"
	expect_eq "groff -man -ww renders $page" 0 "$?"
	expect_eq "groff -man -ww: no warning for $page" "" "$(cat "$T/groff.err")"
	MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$inst" >"$T/man.out" 2>"$T/man.err"
	expect_eq "man -l --warnings: no warning for $page" "" "$(cat "$T/man.err")"
	expect_match "man -l renders $page" 'NAME' "$(cat "$T/man.out")"
done
expect_eq "man -w finds grpx(1) under the prefix" "$P/share/man/man1/grpx.1" \
	"$(MANPATH=$P/share/man man -w grpx 2>&1)"
expect_eq "man -w finds grpx.yaml(5) under the prefix" "$P/share/man/man5/grpx.yaml.5" \
	"$(MANPATH=$P/share/man man -w 5 grpx.yaml 2>&1)"

# the installed bash completion, with the installed grpx first in PATH
got=$(cd "$SRC" && PATH=$P/bin:$PATH bash --norc --noprofile -c '
	. "$1"
	COMP_WORDS=(grpx run jobs/demo.yaml "")
	COMP_CWORD=3
	_grpx
	printf "%s\n" "${COMPREPLY[@]}"' x "$P/share/bash-completion/completions/grpx")
expect_eq "installed bash completion: the paths of jobs/demo.yaml" \
	"$(cd "$SRC" && "$P/bin/grpx" plan --paths jobs/demo.yaml)" "$got"

# DESTDIR, as packagers stage an install
DESTDIR=$T/stage "$CMAKE" --install "$BUILD" --prefix /usr >"$T/install.out" 2>&1
expect_eq "DESTDIR install succeeds" 0 "$?"
expect_eq "DESTDIR install puts the same files under DESTDIR/usr" "$FILES" \
	"$(cd "$T/stage/usr" 2>/dev/null && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort)"
expect_eq "nothing is installed outside DESTDIR/usr" "usr" "$(ls "$T/stage")"

finish
