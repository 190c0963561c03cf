#!/usr/bin/env bash
# tests/slurm/in_alloc.sh - the slurm runner inside an allocation (SPEC 9),
# run by t_slurm.sh under salloc and sbatch:
#
#   in_alloc.sh GRPX DIR TEST...     TEST: steps resources refusals cancel
#                                    new walltime-env latency
#
# Prints one "ok - ..." or "not ok - ..." line per check (t_slurm.sh counts
# them) and "  ..." lines of measurements.  Tasks are gated by marker files
# in DIR, so what is read while they run does not depend on timing.
set -u

# shellcheck source=tests/slurm/lib.sh
. "$(dirname "$0")/lib.sh"
GRPX=$1 DIR=$2
shift 2
mkdir -p "$DIR" && cd "$DIR" || { echo "not ok - no work folder $DIR"; exit 1; }
JOB=${SLURM_JOB_ID:?not inside an allocation}
HOST=$(hostname -s)

# The steps of this allocation that grpx run $1 started: "JOB.STEP NAME".
steps_of() { squeue -h --steps -j "$JOB" -o '%i %j' | grep " grpx-$HOST-$1-" || true; }
no_steps() { [ -z "$(steps_of "$1")" ]; }
nlines() { [ "$(grep -c . "$1" 2>/dev/null)" -ge "$2" ]; }
# Whether squeue lists a step of this allocation named $1 (`squeue -n`
# would also list the batch step).
step_listed() { squeue -h --steps -j "$JOB" -o '%i %j' | awk -v n="$1" '$2 == n { f = 1 } END { exit !f }'; }
step_gone() { ! step_listed "$1"; }

# --- four 1-CPU tasks, steps of this one job, never more than two at once ---
t_steps() {
	local d=$DIR/steps gp rc ids max snap
	mkdir -p "$d"
	# Each task logs its step and a "+" / "-" under a lock, then waits for
	# its own go file: the driver decides when each one ends.
	cat >"$d/job.yaml" <<EOF
runner: slurm
groups:
  - name: s
    mode: sized
    tasks:
$(for i in 0 1 2 3; do
		printf "      - run: 'i=\$GRPX_INDEX; flock %s/lock sh -c \"echo + >>%s/log\"; echo \"\$SLURM_JOB_ID.\$SLURM_STEP_ID \$SLURM_NTASKS\" >%s/\$i.id; n=0; until [ -e %s/go.\$i ] || [ \$n = 600 ]; do sleep 0.1; n=\$((n + 1)); done; flock %s/lock sh -c \"echo - >>%s/log\"'\n" \
			"$d" "$d" "$d" "$d" "$d" "$d"
	done)
EOF
	"$GRPX" run -q --report "$d/r.json" "$d/job.yaml" &
	gp=$!
	check "[steps] two tasks start (sized's default limit: the allocation's 2 CPUs)" \
		wait_for 300 nlines "$d/log" 2
	snap=$(steps_of "$gp")
	echo "  squeue --steps while two run: $(echo "$snap" | tr '\n' ' ')"
	check "[steps] squeue --steps lists them as two steps $JOB.N of this job" \
		awk -v j="$JOB" 'NF { n++; if ($1 !~ ("^" j "\\.[0-9]+$")) exit 1 } END { exit n != 2 }' <<<"$snap"
	sleep 1.5 # a third task would have started by now if anything let it
	check "[steps] no third task while two run" [ "$(grep -c + "$d/log")" = 2 ]
	for i in 0 1 2 3; do
		touch "$d/go.$i"
		[ "$i" -lt 2 ] && wait_for 300 nlines "$d/log" $((i + 4))
		[ "$i" = 0 ] && echo "  squeue --steps after one ended: $(steps_of "$gp" | tr '\n' ' ')"
	done
	wait "$gp"
	rc=$?
	check "[steps] the run succeeds (rc $rc)" [ "$rc" = 0 ]
	ids=$(cat "$d"/[0-3].id 2>/dev/null | tr '\n' ' ')
	check "[steps] four tasks ran as steps $JOB.N of this allocation, 1 task each ($ids)" \
		awk -v j="$JOB" '$1 ~ ("^" j "\\.[0-9]+$") && $2 == 1 { n++; s[$1] } END { exit !(n == 4 && length(s) == 4) }' \
		"$d"/0.id "$d"/1.id "$d"/2.id "$d"/3.id
	max=$(awk '$1 == "+" { n++; if (n > m) m = n } $1 == "-" { n-- } END { print m + 0 }' "$d/log")
	check "[steps] never more than two at once, two at a time (at most $max)" [ "$max" = 2 ]
	check "[steps] no step of the run left in squeue 5 s after grpx has ended" wait_for 50 no_steps "$gp"
}

# --- resources reach the step ---
t_resources() {
	local d=$DIR/res gp rc id line
	mkdir -p "$d"
	cat >"$d/job.yaml" <<EOF
runner: slurm
resources: {cpus: 1, gpus: 0}
groups:
  - name: g
    mode: errgroup
    resources: {mem: 1}
    tasks:
      - name: big
        resources: {cpus: 2}
        run: 'echo "\$SLURM_JOB_ID.\$SLURM_STEP_ID \$SLURM_CPUS_PER_TASK" >$d/id; n=0; until [ -e $d/go ] || [ \$n = 600 ]; do sleep 0.1; n=\$((n + 1)); done'
EOF
	"$GRPX" run -q "$d/job.yaml" &
	gp=$!
	wait_for 300 test -s "$d/id"
	read -r id line <"$d/id"
	check "[resources] cpus: 2 reaches the task as SLURM_CPUS_PER_TASK=2 (got '$line')" [ "$line" = 2 ]
	line=$(scontrol show step "$id" 2>&1 | tr '\n' ' ')
	check "[resources] scontrol show step $id says CPUs=2" grep -q 'CPUs=2 ' <<<"$line"
	line=$(pgrep -a -f -- "--job-name=grpx-$HOST-$gp-" | head -1)
	echo "  srun: ${line#* }"
	check "[resources] srun got --exact -N1 -n1 --cpus-per-task=2 --mem=1 --gpus=0 (inner keys win)" \
		grep -q -- ' -Q --exact -N1 -n1 --cpus-per-task=2 --mem=1 --gpus=0 --job-name=' <<<"$line"
	touch "$d/go"
	wait "$gp"
	rc=$?
	check "[resources] the run succeeds (rc $rc)" [ "$rc" = 0 ]
}

# --- srun refusing a step or an option: error with srun's words, no hang ---
t_refusals() {
	local d=$DIR/refuse rc t out got
	mkdir -p "$d"
	cat >"$d/job.yaml" <<'EOF'
runner: slurm
groups:
  - name: g
    mode: sized
    limit: 1
    tasks:
      - {name: cpus, run: 'echo ran', resources: {cpus: 3}}
      - {name: gpus, run: 'echo ran', resources: {gpus: 1}}
      - {name: mem, run: 'echo ran', runner: {slurm: {args: [--mem=4X]}}}
      - {name: fine, run: 'echo ran'}
EOF
	for out in prefix grouped; do
		t=$(now)
		timeout 60 "$GRPX" run -o "$out" --report "$d/$out.json" "$d/job.yaml" >"$d/$out.out" 2>"$d/$out.err"
		rc=$?
		echo "  -o $out: rc $rc in $(elapsed "$t") s"
		got=$(jq -r '[.root.children[0].children[] | .status] | join(",")' "$d/$out.json" 2>/dev/null)
		check "[refusals -o $out] refused steps end error, the others run (got $got, rc $rc)" \
			[ "$got,$rc" = "error,error,error,ok,1" ]
		got=$(jq -r '.errors[] | .path + ": " + .message' "$d/$out.json" 2>/dev/null)
		echo "$got" | sed 's/^/  /'
		check "[refusals -o $out] cpus: 3 > 2: srun's 'Unable to create step ... More processors requested than permitted'" \
			grep -q "^g/cpus: cannot start: srun: Unable to create step for job $JOB: More processors requested than permitted$" <<<"$got"
		check "[refusals -o $out] gpus: 1 on a node without GPUs: srun's 'Invalid generic resource'" \
			grep -q "^g/gpus: cannot start: srun: Invalid generic resource (gres) specification$" <<<"$got"
		check "[refusals -o $out] --mem=4X: srun's 'Invalid --mem specification'" \
			grep -q "^g/mem: cannot start: srun: Invalid --mem specification$" <<<"$got"
	done
}

# --- a canceled step is gone from squeue --steps within grace + 5 s ---
# race_gone NAME GRACE LOSER-COMMAND SECS: a race of a winner and that
# loser, whose `sleep SECS` must not survive.  LOSER-COMMAND calls `ready`
# once its trap is set: the winner ends only after that, so the SIGTERM
# cannot come before the trap however slowly the step's shell runs.
race_gone() {
	local name=$1 grace=$2 loser=$3 d=$DIR/$1 gp rc t gone took
	mkdir -p "$d"
	cat >"$d/job.yaml" <<EOF
runner: slurm
grace: ${grace}s
groups:
  - name: r
    mode: race
    tasks:
      - {name: win, run: 'n=0; until [ -e $d/go ] || [ \$n = 600 ]; do sleep 0.1; n=\$((n + 1)); done; echo won'}
      - {name: lose, run: "ready() { echo \$SLURM_JOB_ID.\$SLURM_STEP_ID >$d/id; }; $loser"}
EOF
	# A step of the same allocation that is not grpx's: never touched.
	srun -Q --overlap -N1 -n1 --job-name="bystander-$name" -- sleep 120 >/dev/null 2>&1 &
	local by=$!
	wait_for 300 step_listed "bystander-$name"
	t=$(now)
	"$GRPX" run -o grouped --events "$d/events" --report "$d/r.json" "$d/job.yaml" >"$d/out" 2>"$d/err" &
	gp=$!
	wait_for 300 test -s "$d/id"
	# the loser's step name: seq 3 (root 0, r 1, win 2, lose 3)
	check "[$name] the loser runs as step $(cat "$d/id") named grpx-$HOST-$gp-3" \
		wait_for 50 step_listed "grpx-$HOST-$gp-3"
	touch "$d/go"
	wait_for 300 grep -q '"event": "cancel".*"path": "r/lose"' "$d/events"
	t=$(now)
	wait_for 200 step_gone "grpx-$HOST-$gp-3"
	gone=$(elapsed "$t")
	wait "$gp"
	rc=$?
	took=$(jq -r '(.root.children[0].children[1].end_ms - .root.children[0].children[0].end_ms) / 1000' "$d/r.json" 2>/dev/null |
		awk '{ printf "%.2f", $1 }')
	echo "  [$name] cancel to gone from squeue --steps: $gone s; the loser ended ${took} s after the win (grace ${grace} s)"
	check "[$name] race won (rc $rc, stdout '$(cat "$d/out")')" [ "$rc:$(cat "$d/out")" = 0:won ]
	check "[$name] the loser is canceled" [ "$(jq -r '.root.children[0].children[1].status' "$d/r.json")" = canceled ]
	check "[$name] its step is gone from squeue --steps within grace + 5 s ($gone s)" \
		awk -v g="$gone" -v b="$grace" 'BEGIN { exit !(g <= b + 5) }'
	# srun ends when its task has; Slurm drops the step's record moments later
	t=$(now)
	check "[$name] no step of the run is left 5 s after grpx has ended" wait_for 50 no_steps "$gp"
	echo "  [$name] squeue --steps empty $(elapsed "$t") s after grpx ended"
	check "[$name] nothing of the loser survives on the node" bash -c "! pgrep -f '^sleep $4\$' >/dev/null"
	check "[$name] a step of the allocation that is not grpx's still runs" \
		bash -c 'kill -0 "$1" && squeue -h --steps -j "$2" -o %j | grep -qx "$3"' _ "$by" "$JOB" "bystander-$name"
	kill "$by" 2>/dev/null
	wait "$by" 2>/dev/null
}

# The SIGTERM of a cancel goes through squeue and scancel: on a busy
# machine it took up to 2 s to reach the step, so the trapped loser gets a
# 10 s grace, and its end is checked against it on grpx's own clock.
t_cancel() {
	local took
	race_gone cancel-trap 10 "trap 'echo loser got TERM >&2; exit 9' TERM; ready; sleep 311 & wait" 311
	check "[cancel-trap] the loser's trap ran: SIGTERM reached the step's processes" \
		grep -q 'loser got TERM' "$DIR/cancel-trap/err"
	took=$(jq -r '.root.children[0].children as $c | "\($c[1].end_ms - $c[0].end_ms | floor) \($c[1].exit_code)"' \
		"$DIR/cancel-trap/r.json" 2>/dev/null)
	check "[cancel-trap] the loser ended by its trap (exit 9), before the grace was out (ms after the win, exit code: $took)" \
		awk -v d="$took" 'BEGIN { split(d, a, " "); exit !(a[1] != "" && a[1] + 0 < 10000 && a[2] == "9") }'
	race_gone cancel-stubborn 1 "trap '' TERM; ready; sleep 312" 312
}

# --- allocation: new still makes a job per task ---
t_new() {
	local d=$DIR/new rc
	mkdir -p "$d"
	cat >"$d/job.yaml" <<'EOF'
runner: {slurm: {allocation: new}}
groups:
  - name: g
    mode: errgroup
    tasks: [{run: 'echo "$SLURM_JOB_ID $SLURM_NTASKS"'}]
EOF
	"$GRPX" run -o grouped "$d/job.yaml" >"$d/out" 2>"$d/err"
	rc=$?
	check "[new] allocation: new runs the task once, as a job of its own, not in $JOB (rc $rc, got '$(cat "$d/out")')" \
		awk -v a="$JOB" -v rc="$rc" 'NR == 1 && ($1 == a || $2 != 1 || $1 !~ /^[0-9]+$/) { exit 1 } END { exit NR != 1 || rc != 0 }' "$d/out"
}

# --- the walltime rule, with the end time from SLURM_JOB_END_TIME ---
# The allocation "ends" 70 s from now: its last minute begins in 10 s.
# first waits for a gate opened only after that; second would start then.
t_walltime_env() {
	local d=$DIR/wt-env end rc got
	mkdir -p "$d"
	cat >"$d/job.yaml" <<EOF
runner: slurm
groups:
  - name: g
    mode: sized
    limit: 1
    tasks:
      - {name: first, run: 'n=0; until [ -e $d/gate ] || [ \$n = 600 ]; do sleep 0.1; n=\$((n + 1)); done; echo first'}
      - {name: local, run: 'echo local', runner: local}
      - {name: second, run: 'echo second'}
EOF
	end=$(($(date +%s) + 70))
	SLURM_JOB_END_TIME=$end "$GRPX" run -o grouped --report "$d/r.json" "$d/job.yaml" >"$d/out" 2>"$d/err" &
	local gp=$!
	sleep $((end - 60 - $(date +%s) + 1))
	touch "$d/gate"
	wait "$gp"
	rc=$?
	got=$(jq -r '[.root.children[0].children[] | .status + "/" + (.reason // "-")] | join(",")' "$d/r.json" 2>/dev/null)
	check "[walltime-env] started before the last minute: ok; local: ok; Slurm task in it: skipped, allocation ends (got $got)" \
		[ "$got" = "ok/-,ok/-,skipped/allocation ends" ]
	check "[walltime-env] the run fails (rc $rc) and says why" \
		bash -c '[ "$1" = 1 ] && grep -q "g/second: not started: the allocation ends" "$2"' _ "$rc" "$d/err"
}

# --- what a step costs: 20 steps one after another ---
t_latency() {
	local d=$DIR/lat t took rc
	mkdir -p "$d"
	{
		echo 'runner: slurm'
		echo 'groups:'
		echo '  - {name: seq, mode: sized, limit: 1, tasks: ['
		for i in $(seq 20); do echo "    {run: 'true'},"; done
		echo '  ]}'
	} >"$d/job.yaml"
	t=$(now)
	"$GRPX" run -q "$d/job.yaml"
	rc=$?
	took=$(elapsed "$t")
	check "[latency] 20 steps one after another (rc $rc)" [ "$rc" = 0 ]
	echo "  per-step latency in an allocation: $(awk -v t="$took" 'BEGIN { printf "%.0f", t * 1000 / 20 }') ms (20 steps in ${took}s)"
}

for t in "$@"; do
	t0=$(now)
	case $t in
	steps | resources | refusals | cancel | new | latency) "t_$t" ;;
	walltime-env) t_walltime_env ;;
	*) fail "unknown test $t" ;;
	esac
	echo "  ($t: $(elapsed "$t0") s)"
done
