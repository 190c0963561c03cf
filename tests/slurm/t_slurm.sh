#!/usr/bin/env bash
# tests/slurm/t_slurm.sh - the slurm runner end to end, on a real one-node
# cluster brought up here (cluster.sh) and torn down at the end.
#
#   bash tests/slurm/t_slurm.sh build/grpx
#
# Needs root and Debian 12: it installs munge slurmctld slurmd slurm-client.
# Not a ctest test (root, packages, ~20 s); .ci/run runs it as a stage.
set -u

die() { printf 't_slurm: %s\n' "$*" >&2; exit 1; }

[ $# = 1 ] || die "usage: t_slurm.sh PATH/TO/grpx"
GRPX=$(realpath "$1") || die "no grpx at '$1'"
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts daemons)"

export DEBIAN_FRONTEND=noninteractive
pkgs="munge slurmctld slurmd slurm-client"
# shellcheck disable=SC2086
if ! apt-get install -y -q $pkgs >/dev/null 2>&1; then
	apt-get update -q >/dev/null && apt-get install -y -q $pkgs >/dev/null ||
		die "cannot install $pkgs"
fi

TMP=$(mktemp -d /tmp/grpx-slurm.XXXXXX)
chmod 755 "$TMP" # munged runs as munge and must reach its socket below
CL=$TMP/cluster
trap 'bash "$HERE/cluster.sh" down "$CL"; rm -rf "$TMP"' EXIT
cd "$TMP" || die "no $TMP"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }

t=$(now)
bash "$HERE/cluster.sh" up "$CL" || die "the cluster did not come up"
echo "cluster up in $(elapsed "$t") s"
# shellcheck disable=SC1091
. "$CL/env"

npass=0 nfail=0
pass() { npass=$((npass + 1)); echo "ok - $*"; }
fail() { nfail=$((nfail + 1)); echo "not ok - $*"; }
check() { # check NAME COMMAND...: pass if COMMAND succeeds
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}
# Jobs of this test still known to Slurm (running, pending or completing).
grpx_jobs() { squeue -h -o %j | grep -c '^grpx-'; }
# Wait up to $1 tenths of a second for no grpx job in squeue.
jobs_gone() {
	local n=$1
	while [ "$(grpx_jobs)" != 0 ]; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

# --- exit codes 0, 3 and 143 (a step killed by SIGTERM, 128+15) ---
cat >codes.yaml <<'EOF'
runner: {slurm: {args: []}}
groups:
  - name: codes
    mode: sized
    tasks:
      - {name: zero, run: "true"}
      - {name: three, run: "exit 3"}
      - {name: term, run: "kill -TERM $$"}
EOF
"$GRPX" run -q --report codes.json codes.yaml
rc=$?
got=$(jq -c '[.root.children[0].children[] | .exit_code]' codes.json 2>/dev/null)
check "exit codes 0, 3, 143 in the report (got $got)" [ "$got" = "[0,3,143]" ]
got=$(jq -r '[.root.children[0].children[] | .status] | join(",")' codes.json 2>/dev/null)
check "statuses ok, failed, failed (got $got)" [ "$got" = "ok,failed,failed" ]
check "grpx exits 1 when a step failed (got $rc)" [ "$rc" = 1 ]
"$GRPX" run -q -x codes.yaml codes/three
rc=$?
check "-x passes a step's exit status 3 through (got $rc)" [ "$rc" = 3 ]

# --- 5 MB of binary stdout, and stdin through a waterfall ---
head -c 5000000 /dev/urandom >f
cat >bytes.yaml <<EOF
runner: {slurm: {args: []}}
groups:
  - name: cat
    mode: errgroup
    tasks: [{run: "cat $TMP/f"}]
  - name: pipe
    mode: waterfall
    tasks: [{run: "cat $TMP/f"}, {run: cat}, {run: cat}]
EOF
"$GRPX" run -o grouped bytes.yaml cat >out1 && cmp -s f out1
check "5 MB binary stdout of a step is byte-exact" [ $? = 0 ]
"$GRPX" run -o grouped bytes.yaml pipe >out2 && cmp -s f out2
check "5 MB through a 3-step waterfall (stdin and stdout) is byte-exact" [ $? = 0 ]

# --- a waterfall's stages are steps, each of its own job ---
cat >water.yaml <<'EOF'
runner: {slurm: {args: []}}
groups:
  - name: w
    mode: waterfall
    tasks:
      - {name: a, run: 'echo "$GRPX_TASK ${SLURM_JOB_ID:-none}.${SLURM_STEP_ID:-none}"'}
      - {name: b, run: 'cat; echo "$GRPX_TASK ${SLURM_JOB_ID:-none}.${SLURM_STEP_ID:-none}"'}
      - {name: c, run: 'cat; echo "$GRPX_TASK ${SLURM_JOB_ID:-none}.${SLURM_STEP_ID:-none}"'}
EOF
"$GRPX" run -o grouped water.yaml >water.out
rc=$?
check "waterfall of steps succeeds (got $rc)" [ "$rc" = 0 ]
check "each stage ran as a step: w/a, w/b, w/c with a job and step id ($(tr '\n' ' ' <water.out))" \
	awk '$2 !~ /^[0-9]+\.[0-9]+$/ { exit 1 } { p = p $1 " " } END { exit p != "w/a w/b w/c " }' water.out
check "three stages, three jobs" [ "$(awk '{ split($2, j, "."); print j[1] }' water.out | sort -u | wc -l)" = 3 ]

# --- a race: the loser's step gets SIGTERM through Slurm and is gone within the grace ---
cat >race.yaml <<'EOF'
runner: {slurm: {args: []}}
grace: 2s
groups:
  - name: r
    mode: race
    tasks:
      - {name: win, run: "sleep 1; echo won"}
      - {name: lose, run: "trap 'echo loser got TERM >&2; exit 9' TERM; sleep 300 & wait"}
EOF
t=$(now)
"$GRPX" run -o grouped --report race.json race.yaml >race.out 2>race.err
rc=$?
took=$(elapsed "$t")
check "race is won (rc $rc, stdout '$(cat race.out)')" [ "$rc" = 0 ] && [ "$(cat race.out)" = won ]
check "the loser's trap ran: SIGTERM reached the step, not srun" grep -q 'loser got TERM' race.err
got=$(jq -r '.root.children[0].children[1].status' race.json 2>/dev/null)
check "the loser is canceled (got $got)" [ "$got" = canceled ]
check "the race ended before the win + grace (${took}s < 3s)" awk -v t="$took" 'BEGIN { exit !(t < 3) }'
check "no step of the race left in squeue" jobs_gone 5

# A loser that ignores SIGTERM: after the grace srun is killed, and
# Slurm kills the step and drops its job.
cat >stubborn.yaml <<'EOF'
runner: {slurm: {args: []}}
grace: 1s
groups:
  - name: r
    mode: race
    tasks:
      - {name: win, run: "sleep 1; echo won"}
      - {name: lose, run: "trap '' TERM; sleep 300"}
EOF
t=$(now)
"$GRPX" run -q stubborn.yaml
rc=$?
took=$(elapsed "$t")
check "race with a TERM-proof loser is won (rc $rc) in ${took}s (< 3s)" \
	awk -v t="$took" -v rc="$rc" 'BEGIN { exit !(rc == 0 && t < 3) }'
# Slurm's own SIGKILL of a step whose srun is gone took 5-8 s here (KillWait
# is 2 s): wait for it, and say how long it took.
t=$(now)
check "the TERM-proof loser's step and job are gone from squeue within 15 s" jobs_gone 150
echo "  (gone $(elapsed "$t") s after grpx ended)"
check "no sleep 300 survives on the node" bash -c '! pgrep -f "^sleep 300" >/dev/null'

# --- an unreachable controller is an error, not a failure ---
sed -e 's/^SlurmctldPort=.*/SlurmctldPort=1/' "$SLURM_CONF" >"$CL/bad.conf"
echo "MessageTimeout=2" >>"$CL/bad.conf"
cat >down.yaml <<EOF
runner: {slurm: {args: []}}
env: {SLURM_CONF: $CL/bad.conf}
groups:
  - name: g
    mode: errgroup
    tasks: [{name: t, run: "echo never"}]
EOF
"$GRPX" run -o grouped --report down.json down.yaml >down.out 2>down.err
rc=$?
got=$(jq -c '[.root.children[0].children[0].status, .errors[0].message]' down.json 2>/dev/null)
check "unreachable controller: status error with its message (got $got, rc $rc)" \
	[ "$got" = '["error","cannot start: unable to contact slurm controller"]' ]
check "grpx's summary names it" grep -q 'g/t: cannot start: unable to contact slurm controller' down.err

# --- inside an allocation: its SLURM_* do not leak, a step is one task ---
cat >alloc.yaml <<'EOF'
runner: {slurm: {args: []}}
groups:
  - name: g
    mode: errgroup
    tasks: [{name: t, run: 'echo "$SLURM_JOB_ID $SLURM_NTASKS"'}]
EOF
salloc -Q -n2 bash -c 'echo "$SLURM_JOB_ID" >alloc.id; "$1" run -o grouped alloc.yaml' _ "$GRPX" >alloc.out 2>alloc.err
check "under salloc -n2 the task runs once, as a 1-task step of its own job ($(tr '\n' ' ' <alloc.out))" \
	awk -v a="$(cat alloc.id)" 'NR == 1 && ($1 == a || $2 != 1) { exit 1 } END { exit NR != 1 }' alloc.out

# --- what a step costs ---
{
	echo 'runner: {slurm: {args: []}}'
	echo 'groups:'
	echo '  - {name: seq, mode: sized, limit: 1, tasks: ['
	for i in $(seq 20); do echo "    {run: 'true'},"; done
	echo '  ]}'
} >lat.yaml
t=$(now)
"$GRPX" run -q lat.yaml
rc=$?
took=$(elapsed "$t")
check "20 steps one after another" [ "$rc" = 0 ]
echo "per-step latency: $(awk -v t="$took" 'BEGIN { printf "%.0f", t * 1000 / 20 }') ms (20 steps in ${took}s)"

echo "$npass passed, $nfail failed"
[ "$nfail" = 0 ]
