# shellcheck shell=bash
# tests/slurm/lib.sh - what t_slurm.sh and in_alloc.sh share: TAP-like
# "ok - " / "not ok - " lines (counted in npass, nfail), a clock, waits.

npass=0 nfail=0
pass() { npass=$((npass + 1)); echo "ok - $*"; }
fail() { nfail=$((nfail + 1)); echo "not ok - $*"; }
check() { # check NAME COMMAND...: pass if COMMAND succeeds
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
# Wait up to $1 tenths of a second for the command after it to succeed.
wait_for() {
	local n=$1
	shift
	until "$@" 2>/dev/null; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}
