#!/bin/bash
# Inside a Slurm allocation, without a cluster (SPEC 9): stand-ins for srun
# and squeue on PATH record how grpx calls them, and srun runs the command
# after its `--` here.  What a real cluster does with them is in
# tests/slurm/t_slurm.sh.
E2E_NEEDS='jq flock'
. "$(dirname "$0")/lib.sh" "$@"

mkdir -p "$T/bin"
# srun: one line of its options, and the SLURM_*/SRUN_* it was given
cat >"$T/bin/srun" <<EOF
#!/bin/sh
opts=
while [ "\$#" -gt 0 ] && [ "\$1" != -- ]; do opts="\$opts \$1"; shift; done
shift
echo "\${opts# }" >>"$T/srun.log"
printf '%s\n' "\$(env | grep -E '^(SLURM|SRUN)_' | sort | tr '\n' ' ')" >>"$T/srun.env"
exec "\$@"
EOF
# squeue: the end time in $T/end (squeue's own format), or NONE
cat >"$T/bin/squeue" <<EOF
#!/bin/sh
echo "\$*" >>"$T/squeue.log"
if [ -s "$T/end" ]; then date -d "@\$(cat "$T/end")" +%Y-%m-%dT%H:%M:%S; else echo NONE; fi
EOF
chmod +x "$T/bin/srun" "$T/bin/squeue"
PATH=$T/bin:$PATH
export PATH
reset_logs() { rm -f "$T/srun.log" "$T/srun.env" "$T/squeue.log"; }

# The allocation grpx runs in, as sbatch -n 8 -c 2 --mem=4G would set it.
alloc() {
	env SLURM_JOB_ID=4242 SLURM_NTASKS=8 SLURM_NPROCS=8 SLURM_CPUS_PER_TASK=2 \
		SLURM_MEM_PER_NODE=4096 SLURM_JOB_NUM_NODES=1 SLURM_CPUS_ON_NODE=16 \
		SLURM_EXPORT_ENV=ALL SLURM_CONF=/nowhere/slurm.conf "$@"
}

# --- a step of the allocation, with its resources ---
cat >"$T/steps.yaml" <<'EOF'
runner: slurm
resources: {cpus: 1}
groups:
  - name: g
    mode: errgroup
    resources: {mem: 4G}
    tasks:
      - {name: a, run: 'echo a ran'}
      - {name: b, run: 'echo b ran', resources: {cpus: 2, gpus: 0}}
      - {name: c, run: 'echo c ran', runner: {slurm: {args: [-p, big], allocation: new}}}
      - {name: d, run: 'echo d ran', runner: local, resources: {cpus: 64}}
EOF
reset_logs
echo $(($(date +%s) + 3600)) >"$T/end"
alloc "$GRPX" run -o grouped "$T/steps.yaml" >"$T/out" 2>"$T/err"
RC=$?
expect_rc "steps in an allocation" 0
expect_eq "every task ran" "a ran
b ran
c ran
d ran" "$(sort "$T/out")"
expect_eq "steps: --exact -N1 -n1 and the resources; a job of its own for allocation: new" \
	"-Q --cpus-per-task=1 --mem=4G --job-name=grpx-H-P-4 -p big
-Q --exact -N1 -n1 --cpus-per-task=1 --mem=4G --job-name=grpx-H-P-2
-Q --exact -N1 -n1 --cpus-per-task=2 --mem=4G --gpus=0 --job-name=grpx-H-P-3" \
	"$(sed -E 's/--job-name=grpx-[^ ]+-[0-9]+-([0-9]+)/--job-name=grpx-H-P-\1/' "$T/srun.log" | sort)"
expect_eq "srun was not used for the local task (its resources ignored)" 3 "$(wc -l <"$T/srun.log")"
expect_eq "a step keeps the allocation but not its shape; a job of its own keeps only SLURM_CONF" \
	"SLURM_CONF=/nowhere/slurm.conf SLURM_CPUS_ON_NODE=16 SLURM_JOB_ID=4242 SLURM_JOB_NUM_NODES=1 
SLURM_CONF=/nowhere/slurm.conf SLURM_CPUS_ON_NODE=16 SLURM_JOB_ID=4242 SLURM_JOB_NUM_NODES=1 
SLURM_CONF=/nowhere/slurm.conf " "$(sort -r "$T/srun.env")"
expect_eq "squeue was asked once, for the allocation's end" "-h -j 4242 -o %e" "$(cat "$T/squeue.log")"

# outside an allocation: a job per task, grpx's environment as it is
reset_logs
env SLURM_NTASKS=8 SLURM_PARTITION=debug "$GRPX" run -q "$T/steps.yaml" g/a
RC=$?
expect_rc "outside an allocation" 0
expect_eq "outside an allocation: a job of its own" \
	"-Q --cpus-per-task=1 --mem=4G --job-name=grpx" "$(sed -E 's/(--job-name=grpx)-.*/\1/' "$T/srun.log")"
expect_eq "outside an allocation: its SLURM_* pass" "SLURM_NTASKS=8 SLURM_PARTITION=debug " "$(cat "$T/srun.env")"
check "outside an allocation squeue is not asked" test ! -e "$T/squeue.log"

# --- sized's default limit: the allocation's CPUs ---
# Each task logs + and - under a lock; the most at once is read from the log.
max_at_once() { awk '$1 == "+" { n++; if (n > m) m = n } $1 == "-" { n-- } END { print m + 0 }' "$1"; }
cmd="flock $T/lock sh -c 'echo + >>$T/LOG'; sleep 0.3; flock $T/lock sh -c 'echo - >>$T/LOG'"
runs() { for i in 1 2 3 4 5 6 7 8 9; do printf '%s\n' "${cmd//LOG/$1}"; done; }
runs n3 | env SLURM_JOB_ID=7 SLURM_NTASKS=3 "$GRPX" sized -q
RC=$?
expect_rc "sized in an allocation" 0
expect_eq "SLURM_NTASKS=3: sized runs at most 3 at once" 3 "$(max_at_once "$T/n3")"
runs n4 | env SLURM_JOB_ID=7 SLURM_CPUS_ON_NODE=2 SLURM_JOB_NUM_NODES=2 "$GRPX" sized -q
RC=$?
expect_eq "SLURM_CPUS_ON_NODE=2 x SLURM_JOB_NUM_NODES=2: at most 4 at once" 4 "$(max_at_once "$T/n4")"
runs n5 | env SLURM_JOB_ID=7 SLURM_JOB_CPUS_PER_NODE='2(x2),1' "$GRPX" sized -q
RC=$?
expect_eq "SLURM_JOB_CPUS_PER_NODE=2(x2),1 (salloc's shell): at most 5 at once" 5 "$(max_at_once "$T/n5")"
runs n1 | env SLURM_JOB_ID=7 SLURM_NTASKS=9 "$GRPX" sized -q --limit 1
RC=$?
expect_eq "--limit still rules" 1 "$(max_at_once "$T/n1")"

# --- the allocation's last minute ---
cat >"$T/wall.yaml" <<'EOF'
runner: slurm
groups:
  - name: g
    mode: sized
    tasks:
      - {name: local, run: 'echo local ran', runner: local}
      - {name: step, run: 'echo step ran'}
      - {name: again, run: 'echo again ran', attempts: 3}
  - name: r
    mode: retry
    attempts: 0
    tasks: [{name: t, run: 'echo retried ran'}]
EOF
# SLURM_JOB_END_TIME 30 s from now: the last minute has begun
reset_logs
alloc env SLURM_JOB_END_TIME=$(($(date +%s) + 30)) \
	"$GRPX" run -o grouped --report "$T/wall.json" "$T/wall.yaml" g >"$T/out" 2>"$T/err"
RC=$?
expect_rc "a run in the allocation's last minute" 1
expect_eq "the local task runs; Slurm tasks are skipped: allocation ends" \
	"ok/-,skipped/allocation ends,skipped/allocation ends" \
	"$(jq -r '[.root.children[0].children[] | .status + "/" + (.reason // "-")] | join(",")' "$T/wall.json")"
expect_eq "their group fails with them as its causes" \
	"failed g/step: not started: the allocation ends|g/again: not started: the allocation ends" \
	"$(jq -r '.root.children[0].status + " " + ([.errors[] | .path + ": " + .message] | join("|"))' "$T/wall.json")"
expect_match "the summary says why" "g/step: not started: the allocation ends" "$(cat "$T/err")"
expect_eq "only the local task ran" "local ran" "$(cat "$T/out")"
check "srun never ran" test ! -e "$T/srun.log"
check "SLURM_JOB_END_TIME set: squeue is not asked" test ! -e "$T/squeue.log"

# a retry group (attempts: 0, until success) does not retry a skipped step
reset_logs
alloc env SLURM_JOB_END_TIME=$(($(date +%s) + 30)) \
	timeout 20 "$GRPX" run -q --report "$T/retry.json" "$T/wall.yaml" r
RC=$?
expect_rc "a retry group in the last minute ends (no endless retry)" 1
expect_eq "no attempt: its child skipped: allocation ends; the group failed" "0 skipped/allocation ends failed" \
	"$(jq -r '.root.children[1] | "\(.attempts) \(.children[0].status)/\(.children[0].reason) \(.status)"' "$T/retry.json")"

# the end from squeue: one minute and a half from now
reset_logs
echo $(($(date +%s) + 50)) >"$T/end"
alloc "$GRPX" run -q --report "$T/sq.json" "$T/wall.yaml" g
RC=$?
expect_rc "the end from squeue, in the last minute" 1
expect_eq "squeue's end time holds the Slurm tasks back" "ok,skipped,skipped" \
	"$(jq -r '[.root.children[0].children[] | .status] | join(",")' "$T/sq.json")"
expect_eq "squeue was asked once" 1 "$(wc -l <"$T/squeue.log")"
# no time limit (NONE), or outside an allocation: no rule
reset_logs
: >"$T/end"
alloc "$GRPX" run -q "$T/wall.yaml" g
RC=$?
expect_rc "an allocation with no end" 0
expect_eq "every Slurm task ran" 2 "$(wc -l <"$T/srun.log")"
reset_logs
env SLURM_JOB_END_TIME=$(($(date +%s) + 30)) "$GRPX" run -q "$T/wall.yaml" g
RC=$?
expect_rc "SLURM_JOB_END_TIME outside an allocation" 0
# a job with no Slurm task does not ask squeue
reset_logs
alloc "$GRPX" sized -q true true
RC=$?
expect_rc "local tasks in an allocation" 0
check "no Slurm task: squeue is not asked" test ! -e "$T/squeue.log"

# --- plan shows resources and allocation: new ---
g plan "$T/steps.yaml"
expect_rc "plan" 0
expect_eq "plan" "job  runner=slurm resources=cpus:1
g  errgroup on_error=cancel resources=mem:4G
  a  task: echo a ran
  b  task resources=cpus:2,gpus:0: echo b ran
  c  task runner=slurm:='-p big' allocation=new: echo c ran
  d  task runner=local resources=cpus:64: echo d ran" "$(cat "$T/out")"

finish
