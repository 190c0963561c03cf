#!/usr/bin/env bash
# tests/slurm/cluster.sh - a one-node Slurm cluster for the tests, as root,
# without systemd.
#
#   cluster.sh up DIR     bring it up with every file under DIR; then
#                         `. DIR/env` points the Slurm commands at it
#   cluster.sh down DIR   stop it by the PIDs in its pid files
#
# Needs the packages munge slurmctld slurmd slurm-client (Debian 12).  The
# node is this host (`hostname -s`, added to /etc/hosts when it does not
# resolve); the daemons listen on 127.0.0.1, ports GRPX_SLURM_PORT (16817)
# and the one after it.  The partition oversubscribes (FORCE:16) so that a
# step never waits for a free CPU: a queued job costs seconds.
set -euo pipefail

die() { printf 'cluster.sh: %s\n' "$*" >&2; exit 1; }

# Wait up to $1 tenths of a second for the command after it to succeed.
wait_for() {
	local n=$1
	shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.1
	done
}

node_idle() { [ "$(sinfo -h -N -o %T 2>/dev/null)" = idle ]; }

up() {
	local dir=$1 node port cpus overrides proctrack
	[ "$(id -u)" = 0 ] || die "must run as root"
	for c in munged slurmctld slurmd srun sinfo; do
		command -v "$c" >/dev/null || die "'$c' not found: apt-get install munge slurmctld slurmd slurm-client"
	done
	node=$(hostname -s)
	getent hosts "$node" >/dev/null || echo "127.0.0.1 $node" >>/etc/hosts
	port=${GRPX_SLURM_PORT:-16817}
	# Two CPUs at least, so that two steps of a `salloc -n2` run at
	# once; slurmd is told to believe the file on a one-CPU machine.
	cpus=$(nproc)
	overrides=
	if [ "$cpus" -lt 2 ]; then
		cpus=2
		overrides=SlurmdParameters=config_overrides
	fi
	# proctrack/cgroup finds every process of a step; it needs a writable
	# v1 freezer here.  linuxproc (parent links) is the fallback.
	# GRPX_SLURM_PROCTRACK overrides.
	if [ -n "${GRPX_SLURM_PROCTRACK:-}" ]; then
		proctrack=$GRPX_SLURM_PROCTRACK
	elif [ -d /sys/fs/cgroup/freezer ] && [ -w /sys/fs/cgroup/freezer ]; then
		proctrack=proctrack/cgroup
	else
		proctrack=proctrack/linuxproc
	fi

	mkdir -p "$dir"
	dir=$(cd "$dir" && pwd)
	chmod 755 "$dir" # munged, running as munge, must reach its socket
	# munged wants its key private and its socket's directory open to all.
	mkdir -p "$dir/munge" "$dir/sock" "$dir/state" "$dir/spool" "$dir/log"
	dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
	chown -R munge: "$dir/munge" "$dir/sock"
	chmod 700 "$dir/munge"
	chmod 755 "$dir/sock"
	chmod 600 "$dir/munge/munge.key"

	cat >"$dir/slurm.conf" <<EOF
ClusterName=grpxtest
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/sock/munge.sock
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=$proctrack
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/builtin
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
KillWait=2
InactiveLimit=0
MinJobAge=10
$overrides
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:16
EOF
	printf 'CgroupPlugin=cgroup/v1\nCgroupMountpoint=/sys/fs/cgroup\n' >"$dir/cgroup.conf"
	printf 'export SLURM_CONF=%q\n' "$dir/slurm.conf" >"$dir/env"
	export SLURM_CONF="$dir/slurm.conf"

	runuser -u munge -- munged --socket="$dir/sock/munge.sock" \
		--key-file="$dir/munge/munge.key" --pid-file="$dir/munge/munged.pid" \
		--log-file="$dir/munge/munged.log" --seed-file="$dir/munge/munged.seed" ||
		die "munged did not start (see $dir/munge/munged.log)"
	slurmctld -c -f "$dir/slurm.conf" || die "slurmctld did not start (see $dir/log/slurmctld.log)"
	slurmd -f "$dir/slurm.conf" || die "slurmd did not start (see $dir/log/slurmd.log)"
	wait_for 300 node_idle || {
		sinfo -N >&2 || true
		tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
		die "node '$node' not idle after 30s"
	}
}

# Read every pid file first: a daemon may remove its own as it goes.
down() {
	local dir=$1 pids="" f p
	[ -f "$dir/env" ] || return 0
	export SLURM_CONF="$dir/slurm.conf"
	for f in slurmd.pid slurmctld.pid munge/munged.pid; do
		p=$(cat "$dir/$f" 2>/dev/null || true)
		case $p in '' | *[!0-9]*) ;; *) pids="$pids $p" ;; esac
	done
	timeout 5 scancel --quiet --user=root >/dev/null 2>&1 || true
	[ -n "$pids" ] || return 0
	# shellcheck disable=SC2086
	kill $pids 2>/dev/null || true
	# shellcheck disable=SC2086
	if ! wait_for 100 bash -c 'for p; do ! kill -0 "$p" 2>/dev/null || exit 1; done' _ $pids; then
		# shellcheck disable=SC2086
		kill -9 $pids 2>/dev/null || true
	fi
}

case ${1:-} in
up) [ $# = 2 ] || die "usage: cluster.sh up DIR"; up "$2" ;;
down) [ $# = 2 ] || die "usage: cluster.sh down DIR"; down "$2" ;;
*) die "usage: cluster.sh up|down DIR" ;;
esac
