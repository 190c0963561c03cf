#!/usr/bin/env bash
# deb.sh BUILD - make the .deb with cpack in BUILD, install it with dpkg -i,
# use it, remove it with dpkg -r, and check that nothing is left.  Needs
# root, and installs into /usr: CI runs it (.ci/run); on a workstation use a
# throwaway machine.  grpx must not be installed already.
set -euo pipefail

build=${1:?usage: deb.sh BUILD_DIR}
src=$(cd "$(dirname "$0")/../.." && pwd)
version=$(sed -n 's/^  VERSION \([0-9.]*\)$/\1/p' "$src/CMakeLists.txt")
fail() { echo "FAIL - $*" >&2; exit 1; }
ok() { echo "ok - $*"; }

! dpkg -s grpx >/dev/null 2>&1 || fail "grpx is installed already: dpkg -r grpx first"
(cd "$build" && rm -f grpx_*.deb && cpack -G DEB >/dev/null)
deb=$(ls "$build"/grpx_"$version"_*.deb)
ok "cpack -G DEB made $(basename "$deb") ($(stat -c %s "$deb") bytes)"
depends=$(dpkg-deb -f "$deb" Depends)
case $depends in *libyaml-0-2*) ok "Depends: $depends" ;; *) fail "no libyaml in Depends: $depends" ;; esac

dpkg -i "$deb" >/dev/null
trap 'dpkg -r grpx >/dev/null 2>&1 || true' EXIT
ok "dpkg -i"
[ "$(command -v grpx)" = /usr/bin/grpx ] || fail "grpx is not /usr/bin/grpx: $(command -v grpx)"
[ "$(grpx --version)" = "grpx $version" ] || fail "grpx --version: $(grpx --version)"
ok "grpx --version: grpx $version"
[ "$(man -w grpx)" = /usr/share/man/man1/grpx.1 ] || fail "man -w grpx: $(man -w grpx 2>&1)"
[ "$(man -w 5 grpx.yaml)" = /usr/share/man/man5/grpx.yaml.5 ] || fail "man -w 5 grpx.yaml"
ok "man -w grpx, man -w 5 grpx.yaml"

# the demo job, run by the installed grpx from another directory
out=$(cd / && grpx run -o grouped "$src/jobs/demo.yaml" </dev/null 2>/dev/null)
case $out in *apple*) ok "grpx run jobs/demo.yaml" ;; *) fail "demo output: $out" ;; esac
# the installed completions and schema, with the installed grpx
paths=$(cd "$src" && bash --norc --noprofile -c '. /usr/share/bash-completion/completions/grpx
	COMP_WORDS=(grpx run jobs/demo.yaml ""); COMP_CWORD=3; _grpx; printf "%s\n" "${COMPREPLY[@]}"')
[ "$paths" = "$(cd "$src" && grpx plan --paths jobs/demo.yaml)" ] || fail "bash completion: $paths"
ok "bash completion of the node paths of jobs/demo.yaml"
zsh -n /usr/share/zsh/site-functions/_grpx && ok "zsh -n _grpx"
fish --no-config -n /usr/share/fish/vendor_completions.d/grpx.fish && ok "fish -n grpx.fish"
python3 "$src/tests/schema/validate.py" /usr/share/grpx/grpx.schema.json "$src"/jobs/*.yaml >/dev/null ||
	fail "jobs/*.yaml against the installed schema"
ok "jobs/*.yaml validate against /usr/share/grpx/grpx.schema.json"

files=$(dpkg -L grpx)
dpkg -r grpx >/dev/null
trap - EXIT
! dpkg -s grpx >/dev/null 2>&1 || fail "dpkg -s grpx still knows it"
left=''
for f in $files; do
	[ -d "$f" ] && continue
	[ -e "$f" ] && left="$left $f"
done
[ -z "$left" ] || fail "left behind by dpkg -r:$left"
[ ! -e /usr/share/grpx ] || fail "/usr/share/grpx is left behind"
! command -v grpx >/dev/null || fail "grpx is still in PATH: $(command -v grpx)"
ok "dpkg -r grpx removed every file ($(echo "$files" | wc -l) paths)"
