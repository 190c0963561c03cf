/*
 * slurm.c - what differs when a task is a Slurm job step.
 *
 * command.c starts such a task as `srun -Q --job-name=NAME [args] -- ...`
 * and the engine treats srun as the task.  Three things differ, and they
 * live here: the step's environment does not inherit an enclosing
 * allocation, cancelling asks Slurm to signal the step (signalling srun
 * would kill the step at once, no trap run), and an srun that cannot
 * reach the controller makes the task an `error`, not a `failed`.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

extern char **environ;

static const char ctld_msg[] = "Unable to contact slurm controller";

bool node_slurm(const struct grpx_node *t)
{
	for (; t; t = t->parent)
		if (t->runner >= 0)
			return t->runner == 1;
	return false;
}

/* The host is in the name: grpx runs on several login nodes of a cluster
 * at once, and `scancel --name` must reach only this run's steps. */
int slurm_job_name(const struct grpx_node *t, char *buf, size_t len)
{
	static char host[65];

	if (!host[0] && (gethostname(host, sizeof host - 1) != 0 || !host[0]))
		strcpy(host, "localhost");
	host[strcspn(host, ".")] = '\0'; /* the short name */
	int n = snprintf(buf, len, "grpx-%s-%ld-%u", host, (long)getpid(), t->seq);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * Inside an allocation (salloc, sbatch) srun would take the allocation's
 * SLURM_NTASKS, SLURM_CPUS_PER_TASK, ... as its own defaults and run the
 * command as many times, inside that job, where `scancel --name` cannot
 * reach it.  So each step gets a job of its own: every SLURM_* variable
 * but SLURM_CONF is dropped when grpx runs in one; `env:` can set them.
 */
bool slurm_env_drop(const char *kv)
{
	static int alloc = -1;

	if (alloc < 0)
		alloc = getenv("SLURM_JOB_ID") || getenv("SLURM_JOBID");
	return alloc && strncmp(kv, "SLURM_", 6) == 0 &&
	       strncmp(kv, "SLURM_CONF=", 11) != 0;
}

/* Run scancel with argv, detached: no wait, stdio on /dev/null, SIGINT,
 * SIGTERM and SIGHUP blocked so that the end-of-run sweep of escaped
 * children cannot stop it halfway. */
static int scancel(char *const argv[])
{
	const int devnull[3] = { -1, -1, -1 };
	sigset_t mask;
	pid_t pid;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	return spawn_process(NULL, argv, environ, devnull, NULL, &mask, &pid);
}

/*
 * Ask Slurm to stop t's step.  SIGTERM: signal the step, its traps run.
 * SIGKILL (after the grace, as srun's process group is killed): kill the
 * step now and cancel its job, which a SIGKILLed srun can no longer
 * release.  The engine's waitpid(-1) loop reaps scancel.
 */
int slurm_stop(const struct grpx_node *t, int sig)
{
	char name[128], opt[144];
	int err;

	if (slurm_job_name(t, name, sizeof name) < 0)
		return ENAMETOOLONG;
	snprintf(opt, sizeof opt, "--name=%s", name);
	char *term[] = { "scancel", "--quiet", opt, "--signal=TERM", NULL };
	char *kill[] = { "scancel", "--quiet", opt, "--signal=KILL", NULL };
	char *job[] = { "scancel", "--quiet", opt, NULL };
	if (sig != SIGKILL)
		return scancel(term);
	err = scancel(kill);
	int err2 = scancel(job);
	return err ? err : err2;
}

/* srun prints its own errors first, so the start of stderr tells. */
void slurm_scan(struct grpx_node *t, const char *buf, size_t len)
{
	if (memmem(buf, len, ctld_msg, sizeof ctld_msg - 1) && node_slurm(t))
		t->slurm_down = true;
}

void slurm_check(struct grpx_node *t, int err_spool)
{
	char buf[8192];
	bool seen = t->slurm_down;

	t->slurm_down = false;
	if (t->status != GRPX_FAILED || t->exit_code != 1 || !node_slurm(t))
		return;
	if (!seen && err_spool >= 0) {
		ssize_t n = pread(err_spool, buf, sizeof buf, 0);
		seen = n > 0 && memmem(buf, (size_t)n, ctld_msg, sizeof ctld_msg - 1);
	}
	if (seen) {
		t->status = GRPX_ERROR;
		t->errnum = SLURM_ENOCTLD;
	}
}

const char *slurm_strerror(int errnum)
{
	return errnum == SLURM_ENOCTLD ? "unable to contact slurm controller"
				       : strerror(errnum);
}
