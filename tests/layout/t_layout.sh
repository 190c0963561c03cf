#!/bin/bash
# t_layout.sh - the shape of lib/ that README's layout section promises:
#   - no two files of lib/ call each other (from the symbols each object
#     file of libgrpxcore.a defines and uses: nm);
#   - no file of lib/ longer than 700 lines.
#
#     bash tests/layout/t_layout.sh build/grpx   (GRPX_BUILD, GRPX_SRC: ctest sets them)
E2E_NEEDS="nm awk"
. "$(dirname "$0")/../e2e/lib.sh" "$@"

SRC=${GRPX_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${GRPX_BUILD:-$(dirname "$GRPX")}
lib=$(find "$BUILD" -maxdepth 2 -name libgrpxcore.a | head -1)
check "libgrpxcore.a found beside grpx (in $BUILD)" test -n "$lib"

# "FILE DEF SYM" and "FILE USE SYM" lines, FILE without .c.o
nm -A "$lib" 2>/dev/null | awk '
	{ split($1, p, ":"); f = p[2]; sub(/\.c\.o$/, "", f); sub(/\.o$/, "", f) }
	$(NF - 1) ~ /^[TDBR]$/ { print f, "DEF", $NF }
	$(NF - 1) == "U" { print f, "USE", $NF }' >"$T/syms"
nfiles=$(awk '{ print $1 }' "$T/syms" | sort -u | wc -l)
check "libgrpxcore.a: symbols of every object file read ($nfiles files)" test "$nfiles" -gt 40

# "A B": file A calls (or reads) something file B defines
awk '$2 == "DEF" { def[$3] = $1 } $2 == "USE" { use[NR] = $1 " " $3 }
	END { for (i in use) { split(use[i], u, " "); if ((u[2] in def) && def[u[2]] != u[1]) print u[1], def[u[2]] } }' \
	"$T/syms" | sort -u >"$T/edges"
check "some file calls another (the edges were read: $(wc -l <"$T/edges"))" test -s "$T/edges"
awk '{ e[$1 " " $2] = 1 } END { for (k in e) { split(k, p, " "); if ((p[2] " " p[1]) in e && p[1] < p[2]) print p[1] " <-> " p[2] } }' \
	"$T/edges" | sort >"$T/cycles"
expect_eq "no two files of lib/ call each other" "" "$(tr '\n' ' ' <"$T/cycles")"

long=$(wc -l "$SRC"/lib/*.c "$SRC"/lib/*.h | awk '$2 != "total" && $1 > 700 { printf "%s (%d) ", $2, $1 }')
expect_eq "no file of lib/ over 700 lines" "" "$long"

finish
