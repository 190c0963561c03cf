#!/usr/bin/env bash
# tests/slurm/t_slurm.sh - the slurm runner end to end, on a real one-node
# cluster brought up here (cluster.sh) and torn down at the end.
#
#   bash tests/slurm/t_slurm.sh build/grpx
#
# Needs root and Debian 12: it installs munge slurmctld slurmd slurm-client.
# Not a ctest test (root, packages, about 2 minutes where Slurm is
# installed: 1m25 on a busy two-core machine, 1m47 beside two CPU hogs, 3m
# beside five; one of the walltime checks waits a minute for an
# allocation's last minute, beside the scenarios in allocations); .ci/run
# runs it as a stage.
set -u

die() { printf 't_slurm: %s\n' "$*" >&2; exit 1; }

[ $# = 1 ] || die "usage: t_slurm.sh PATH/TO/grpx"
GRPX=$(realpath "$1") || die "no grpx at '$1'"
HERE=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || die "must run as root (it installs packages and starts daemons)"

export DEBIAN_FRONTEND=noninteractive
pkgs="munge slurmctld slurmd slurm-client"
# apt-get is asked only when one is missing: even with nothing to do it
# took 12-18 s here on a busy machine; dpkg-query takes a fraction of one.
installed() {
	local p
	for p; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q ' installed$' || return 1
	done
}
# shellcheck disable=SC2086
if installed $pkgs; then
	:
elif ! apt-get install -y -q $pkgs >/dev/null 2>&1; then
	apt-get update -q >/dev/null && apt-get install -y -q $pkgs >/dev/null ||
		die "cannot install $pkgs"
fi

TMP=$(mktemp -d /tmp/grpx-slurm.XXXXXX)
chmod 755 "$TMP" # munged runs as munge and must reach its socket below
CL=$TMP/cluster
trap 'bash "$HERE/cluster.sh" down "$CL"; rm -rf "$TMP"' EXIT
cd "$TMP" || die "no $TMP"

# shellcheck source=tests/slurm/lib.sh
. "$HERE/lib.sh"

t=$(now)
bash "$HERE/cluster.sh" up "$CL" || die "the cluster did not come up"
echo "cluster up in $(elapsed "$t") s"
# shellcheck disable=SC1091
. "$CL/env"

# Jobs of this test still known to Slurm (running, pending or completing).
grpx_jobs() { squeue -h -o %j | grep -c '^grpx-'; }
# Wait up to $1 seconds for no grpx job in squeue.
jobs_gone() {
	local n=$(($1 * 10))
	while [ "$(grpx_jobs)" != 0 ]; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}
# Wait up to $2 seconds for the process whose pid is in file $1 to be gone.
# (By pid: other sessions on this machine may run a `sleep 300` too.)
pid_gone() {
	local p n=$(($2 * 10))
	p=$(cat "$1" 2>/dev/null) || return 1
	case $p in '' | *[!0-9]*) return 1 ;; esac
	while kill -0 "$p" 2>/dev/null; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}
# ms_between REPORT PATH_A PATH_B: end_ms of B less end_ms of A.
ms_between() {
	jq -r --arg a "$2" --arg b "$3" '[.. | objects | select(has("kind"))] as $n
		| (($n[] | select(.path == $b) | .end_ms) - ($n[] | select(.path == $a) | .end_ms))' "$1" 2>/dev/null |
		awk '{ printf "%.1f", $1 }'
}
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 < b + 0) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a + 0 >= b + 0) }'; }

# How long Slurm may take to remove what is left of a canceled step, by its
# own documentation: scancel(1) sends SIGTERM, and SIGKILL KillWait seconds
# later; slurm.conf(5) gives processes UnkillableStepTimeout seconds to die
# after the SIGKILL before it calls them unkillable.  Here (KillWait=2) a
# TERM-proof step was gone 5-8 s after grpx had ended.
conf() { scontrol show config 2>/dev/null | awk -v k="$1" '$1 == k { print $3 + 0; exit }'; }
killwait=$(conf KillWait)
unkillable=$(conf UnkillableStepTimeout)
slurm_gone=$(( ${killwait:-30} + ${unkillable:-60} ))
echo "a canceled step's processes may take KillWait + UnkillableStepTimeout = $slurm_gone s to go"

t_out=$(now)
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
# (The steps run on this host, in this folder: their pid files are here.)
# The winner ends once the loser has set its trap and written its pid (or
# after 60 s): a step can take seconds to start on a busy machine.
cat >race.yaml <<'EOF'
runner: {slurm: {args: []}}
grace: 10s
groups:
  - name: r
    mode: race
    tasks:
      - {name: win, run: "i=0; while [ ! -s race-sleep.pid ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo won"}
      - {name: lose, run: "trap 'echo loser got TERM >&2; exit 9' TERM; sleep 301 & echo $! > race-sleep.pid; wait"}
EOF
"$GRPX" run -o grouped --report race.json race.yaml >race.out 2>race.err
rc=$?
check "race is won (rc $rc, stdout '$(cat race.out)')" [ "$rc" = 0 ] && [ "$(cat race.out)" = won ]
check "the loser's trap ran: SIGTERM reached the step, not srun" grep -q 'loser got TERM' race.err
got=$(jq -r '.root.children[0].children[1].status' race.json 2>/dev/null)
check "the loser is canceled (got $got)" [ "$got" = canceled ]
# grpx's own clock, from the win: the loser ended by its trap, not by what
# comes after the 10 s grace
d=$(ms_between race.json r/win r/lose)
check "the loser ended before the grace was out (${d} ms after the win < 10000)" lt "$d" 10000
check "the loser's background sleep is gone within $slurm_gone s" pid_gone race-sleep.pid "$slurm_gone"
check "no step of the race left in squeue within $slurm_gone s" jobs_gone "$slurm_gone"

# A loser that ignores SIGTERM: after the grace srun gets SIGTERM, which it
# passes on to its step as SIGKILL; it exits once the step's task is dead
# and its job released, and only then does the task end.  So nothing of it
# runs when grpx ends, and Slurm drops the job moments later.
cat >stubborn.yaml <<'EOF'
runner: {slurm: {args: []}}
grace: 1s
groups:
  - name: r
    mode: race
    tasks:
      - {name: win, run: "i=0; while [ ! -s stubborn.pid ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done; echo won"}
      - {name: lose, run: "trap '' TERM; echo $$ > stubborn.pid; exec sleep 302"}
EOF
"$GRPX" run -q --report stubborn.json stubborn.yaml
rc=$?
check "race with a TERM-proof loser is won (rc $rc)" [ "$rc" = 0 ]
d=$(ms_between stubborn.json r/win r/lose)
check "the TERM-proof loser was killed no sooner than the 1 s grace (${d} ms after the win)" ge "$d" 999
check "... and within the grace and 15 s (${d} ms < 16000)" lt "$d" 16000
# srun ended once its task was dead: the process is gone (a moment for the kernel)
check "the TERM-proof loser's process is gone when grpx has ended" pid_gone stubborn.pid 5
t=$(now)
check "its step and job are gone from squeue within $slurm_gone s" jobs_gone "$slurm_gone"
echo "  (gone from squeue $(elapsed "$t") s after grpx ended)"

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

echo "  (outside an allocation: $(elapsed "$t_out") s)"

# --- the walltime rule in real allocations (their end from squeue) ---
cat >wall.yaml <<'EOF'
runner: slurm
groups:
  - name: g
    mode: sized
    limit: 1
    tasks:
      - {name: local, run: 'echo local ran', runner: local}
      - {name: step, run: 'echo step ran'}
EOF
# A one-minute allocation is all last minute: no Slurm task starts.
timeout 120 salloc -Q -n2 --time=1 "$GRPX" run -o grouped --report wall1.json wall.yaml >wall1.out 2>wall1.err
rc=$?
got=$(jq -r '[.root.children[0].children[] | .status + "/" + (.reason // "-")] | join(",")' wall1.json 2>/dev/null)
check "salloc --time=1: the local task runs, the Slurm task is skipped: allocation ends (got $got)" \
	[ "$got" = "ok/-,skipped/allocation ends" ]
check "salloc --time=1: grpx exits 1 (got $rc), says why, and the step never ran" \
	bash -c '[ "$1" = 1 ] && grep -q "g/step: not started: the allocation ends" wall1.err && ! grep -q "step ran" wall1.out' _ "$rc"

# A two-minute allocation: a Slurm task started in its first minute runs;
# the next, held back by a gate until the last minute has begun, does not
# start.
cat >wall2.sh <<'EOF'
end=$(date -d "$(squeue -h -j "$SLURM_JOB_ID" -o %e)" +%s) || exit 3
cat >wall2.yaml <<EOT
runner: slurm
groups:
  - name: g
    mode: sized
    limit: 1
    tasks:
      - {name: first, run: 'n=0; until [ -e $PWD/gate2 ] || [ \$n = 1200 ]; do sleep 0.1; n=\$((n + 1)); done; echo first ran'}
      - {name: second, run: 'echo second ran'}
EOT
"$1" run -o grouped --report wall2.json wall2.yaml >wall2.out 2>wall2.err &
sleep $((end - 60 - $(date +%s) + 1))
touch gate2
wait $!
EOF
# It waits a minute for that last minute: it runs beside the scenarios in
# allocations below (the partition oversubscribes, and it only polls a
# file) and is checked after them.
t2=$(now)
timeout 180 salloc -Q -n2 --time=2 bash wall2.sh "$GRPX" >wall2.salloc 2>&1 &
wall2=$!

# --- inside an allocation: tasks are steps of it (in_alloc.sh) ---
# in_alloc LABEL FILE: count in_alloc.sh's "ok" / "not ok" lines in FILE.
in_alloc() {
	local line seen=0
	while IFS= read -r line; do
		case $line in
		"ok - "*) pass "$1 ${line#ok - }" ;;
		"not ok - "*) fail "$1 ${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
		seen=1
	done <"$2"
	[ "$seen" = 1 ] || fail "$1 in_alloc.sh said nothing"
}
t=$(now)
timeout 300 salloc -Q -n2 bash "$HERE/in_alloc.sh" "$GRPX" "$TMP/salloc" \
	steps resources refusals cancel new walltime-env latency >salloc.out 2>&1
in_alloc "salloc -n2:" salloc.out
echo "  (under salloc: $(elapsed "$t") s)"

# The same steps from a batch job: grpx runs in the batch script.
t=$(now)
id=$(sbatch --parsable -n2 -o "$TMP/sbatch.out" \
	--wrap "bash '$HERE/in_alloc.sh' '$GRPX' '$TMP/sbatch' steps cancel" 2>&1)
batch_done() { [ -z "$(squeue -h -j "$1" -o %i 2>/dev/null)" ]; }
n=1200
while [ "$n" -gt 0 ] && ! batch_done "$id"; do
	sleep 0.1
	n=$((n - 1))
done
check "the sbatch job $id ended within 120 s" batch_done "$id"
in_alloc "sbatch -n2:" sbatch.out
echo "  (under sbatch: $(elapsed "$t") s)"

# --- the two-minute allocation, started above ---
wait "$wall2"
rc=$?
got=$(jq -r '[.root.children[0].children[] | .status + "/" + (.reason // "-")] | join(",")' wall2.json 2>/dev/null)
check "salloc --time=2: started in the first minute: ok; next, in the last: skipped, allocation ends (got $got, rc $rc, $(elapsed "$t2") s)" \
	[ "$got,$rc" = "ok/-,skipped/allocation ends,1" ]
[ "$rc" = 1 ] || cat wall2.salloc

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
