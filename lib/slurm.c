/*
 * slurm.c - what differs when a task runs under `runner: slurm`.
 *
 * command.c starts such a task as srun, and the engine treats srun as the
 * task.  What differs lives here:
 *  - how: inside an allocation (SLURM_JOB_ID set, as under salloc or
 *    sbatch) a task is a step of it, `srun --exact -N1 -n1 ...`; outside
 *    one, or with `allocation: new`, it is a job of its own;
 *  - what srun sees of grpx's environment: the allocation's shape must
 *    not become each step's;
 *  - cancelling: SIGTERM to the step's processes through scancel (srun
 *    turns a SIGTERM of its own into SIGKILL for the step), and after the
 *    grace SIGTERM to srun, which kills the step and exits once its task
 *    is dead;
 *  - an srun that could not start the task (controller down, step or job
 *    refused, a bad option) makes the task an `error` with srun's words;
 *  - the allocation's CPU count and end time, read once per run.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

extern char **environ;

static const char ctld_msg[] = "Unable to contact slurm controller";

int node_runner(const struct grpx_node *t)
{
	for (; t; t = t->parent)
		if (t->runner >= 0)
			return t->runner;
	return RUN_LOCAL;
}

bool node_slurm(const struct grpx_node *t)
{
	return node_runner(t) != RUN_LOCAL;
}

/* The id of the allocation grpx runs in, or NULL. */
static const char *alloc_id(void)
{
	const char *id = getenv("SLURM_JOB_ID");

	if (!id || !*id)
		id = getenv("SLURM_JOBID");
	return id && *id ? id : NULL;
}

int slurm_how(const struct grpx_node *t)
{
	int how = node_runner(t);

	return how == RUN_SLURM && !alloc_id() ? RUN_SLURM_JOB : how;
}

/* The host is in the name: grpx runs on several login nodes of a cluster
 * at once, and scancel and squeue must find only this run's tasks. */
int slurm_job_name(const struct grpx_node *t, char *buf, size_t len)
{
	static char host[65];

	if (!host[0] && (gethostname(host, sizeof host - 1) != 0 || !host[0]))
		strcpy(host, "localhost");
	host[strcspn(host, ".")] = '\0'; /* the short name */
	int n = snprintf(buf, len, "grpx-%s-%ld-%u", host, (long)getpid(), t->seq);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

void node_resources(const struct grpx_node *t, struct resources *res)
{
	*res = (struct resources){ -1, -1, NULL };
	for (; t; t = t->parent) {
		const struct resources *o = &t->opt->res;
		if (res->cpus < 0)
			res->cpus = o->cpus;
		if (res->gpus < 0)
			res->gpus = o->gpus;
		if (!res->mem)
			res->mem = o->mem;
	}
}

/* Append one formatted word to v, its text in buf; -1: no room. */
static int word(char **v, size_t *k, char *buf, size_t len, size_t *used, const char *fmt,
		const char *s, long n)
{
	int w = s ? snprintf(buf + *used, len - *used, fmt, s) : snprintf(buf + *used, len - *used, fmt, n);

	if (w < 0 || (size_t)w >= len - *used)
		return -1;
	v[(*k)++] = buf + *used;
	*used += (size_t)w + 1;
	return 0;
}

int slurm_argv(const struct grpx_node *t, int how, char **v, char *buf, size_t len)
{
	struct resources res;
	char name[128];
	size_t k = 0, used = 0;

	if (slurm_job_name(t, name, sizeof name) < 0)
		return -1;
	node_resources(t, &res);
	v[k++] = "srun";
	/* -Q, not -QQ: that would also hide srun's errors, which tell why a
	 * task could not start. */
	v[k++] = "-Q";
	if (how == RUN_SLURM) {
		/* one task on one node, on only the CPUs it asks for, so
		 * that the allocation's other CPUs serve other steps */
		v[k++] = "--exact";
		v[k++] = "-N1";
		v[k++] = "-n1";
	}
	if ((res.cpus >= 0 && word(v, &k, buf, len, &used, "--cpus-per-task=%ld", NULL, res.cpus)) ||
	    (res.mem && word(v, &k, buf, len, &used, "--mem=%s", res.mem, 0)) ||
	    (res.gpus >= 0 && word(v, &k, buf, len, &used, "--gpus=%ld", NULL, res.gpus)) ||
	    word(v, &k, buf, len, &used, "--job-name=%s", name, 0))
		return -1;
	return (int)k;
}

/*
 * What srun takes from its environment as a step's shape, set by sbatch
 * and salloc for the whole allocation: SLURM_NTASKS would run that many
 * copies, SLURM_MEM_PER_NODE would give every step all of the memory (so
 * that they run one at a time), SLURM_CPUS_PER_TASK (read again by srun
 * since Slurm 23.11) every step the job's CPUs per task.  `resources:`
 * says what a step takes.  SLURM_EXPORT_ENV=NONE (sbatch --export=NONE)
 * would keep grpx's environment and GRPX_* from the task.
 */
static const char *const step_drop[] = {
	"SLURM_NTASKS", "SLURM_NPROCS", "SLURM_NNODES", "SLURM_NTASKS_PER_NODE",
	"SLURM_NTASKS_PER_CORE", "SLURM_NTASKS_PER_SOCKET", "SLURM_NTASKS_PER_GPU",
	"SLURM_CPUS_PER_TASK", "SRUN_CPUS_PER_TASK", "SLURM_TRES_PER_TASK",
	"SLURM_CPUS_PER_GPU", "SLURM_MEM_PER_CPU", "SLURM_MEM_PER_GPU", "SLURM_MEM_PER_NODE",
	"SLURM_GPUS", "SLURM_GPUS_PER_NODE", "SLURM_GPUS_PER_TASK", "SLURM_GPUS_PER_SOCKET",
	"SLURM_EXPORT_ENV", "SRUN_EXPORT_ENV", NULL
};

static bool named(const char *kv, const char *const *names)
{
	for (; *names; names++) {
		size_t len = strlen(*names);
		if (strncmp(kv, *names, len) == 0 && kv[len] == '=')
			return true;
	}
	return false;
}

bool slurm_env_drop(const char *kv, int how)
{
	if (how == RUN_SLURM)
		return named(kv, step_drop);
	/* A job of its own inside an allocation: none of the allocation's
	 * variables, or srun would make a step of it after all. */
	if (how == RUN_SLURM_JOB && alloc_id())
		return (strncmp(kv, "SLURM_", 6) == 0 && strncmp(kv, "SLURM_CONF=", 11) != 0) ||
		       named(kv, step_drop);
	return false;
}

/* Run argv detached: no wait, stdio on /dev/null, SIGINT, SIGTERM and
 * SIGHUP blocked so that the end-of-run sweep of escaped children cannot
 * stop it halfway.  The engine's waitpid(-1) loop reaps it. */
static int detach(char *const argv[])
{
	const int devnull[3] = { -1, -1, -1 };
	sigset_t mask;
	pid_t pid;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	return spawn_process(NULL, argv, environ, devnull, NULL, &mask, -1, &pid);
}

/* scancel wants JOB.STEP, and srun says nothing of its step id: ask
 * squeue for the step of that name (unique to this run and task) in our
 * own allocation.  The name is matched here: `squeue -n` also lists the
 * batch step, which is grpx itself.  A step not created yet (still waiting
 * for CPUs) is not found: srun itself is stopped after the grace. */
static const char step_scancel[] =
	"ids=$(squeue -h --steps -j \"$1\" -n \"$2\" -o '%i %j' | "
	"awk -v n=\"$2\" '$2 == n { print $1 }') && [ -n \"$ids\" ] && "
	"exec scancel -Q ${3:+\"$3\"} $ids";

int slurm_stop(const struct grpx_node *t, int sig)
{
	char name[128], opt[144];
	const char *job = alloc_id();
	int err;

	if (slurm_job_name(t, name, sizeof name) < 0)
		return ENAMETOOLONG;
	if (slurm_how(t) == RUN_SLURM && job) {
		/* SIGKILL: cancel the step, which kills what is left of it */
		char *argv[] = { "/bin/sh", "-c", (char *)step_scancel, "grpx-scancel", (char *)job,
				 name, sig == SIGKILL ? "" : "--signal=TERM", NULL };
		return detach(argv);
	}
	snprintf(opt, sizeof opt, "--name=%s", name);
	char *term[] = { "scancel", "--quiet", opt, "--signal=TERM", NULL };
	char *kill[] = { "scancel", "--quiet", opt, "--signal=KILL", NULL };
	char *cancel[] = { "scancel", "--quiet", opt, NULL };
	if (sig != SIGKILL)
		return detach(term);
	err = detach(kill);
	int err2 = detach(cancel);
	return err ? err : err2;
}

/* --- an srun that could not start the task --- */

static bool starts(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

/* "srun: error: NODE: task N: ...": srun's report of a task that ran. */
static bool task_report(const char *s, size_t len)
{
	const char *p = s + 13, *end = s + len;

	if (!starts(s, len, "srun: error: "))
		return false;
	while (p < end && *p != ':' && *p != ' ')
		p++;
	return end - p > 8 && memcmp(p, ": task ", 7) == 0 && p[7] >= '0' && p[7] <= '9';
}

/* srun's words for "the task was not started": the controller, the job or
 * step refused, an option it does not take. */
static bool refusal(const char *s, size_t len)
{
	static const char *const says[] = {
		"srun: error: Unable to ", "srun: error: Invalid ", "srun: error: invalid ",
		"srun: fatal: ", "srun: unrecognized option", "srun: invalid option",
		"srun: option requires an argument", NULL
	};

	for (const char *const *p = says; *p; p++)
		if (starts(s, len, *p))
			return true;
	return false;
}

/* Add srun's error line s to t->errtext: "srun: A; B". */
static void keep_line(struct grpx_node *t, const char *s, size_t len)
{
	const char *skip[] = { "srun: error: ", "srun: fatal: ", "srun: " };
	size_t old = t->errtext ? strlen(t->errtext) : 0;
	char *p;

	for (int i = 0; i < 3; i++)
		if (starts(s, len, skip[i])) {
			s += strlen(skip[i]);
			len -= strlen(skip[i]);
			break;
		}
	if (old + len > 1024) /* enough to say why */
		return;
	if (!(p = realloc(t->errtext, old + len + 8)))
		return;
	t->errtext = p;
	snprintf(p + old, len + 8, "%s%.*s", old ? "; " : "srun: ", (int)len, s);
}

/*
 * srun writes its own lines first, before anything of the task: read
 * whole lines while they are srun's.  A line of the task's own, or srun's
 * report of the task's end, means the task started: nothing more to see.
 */
void slurm_scan(struct grpx_node *t, const char *buf, size_t len)
{
	const char *end = buf + len;

	if (t->slurm_scan_off || !node_slurm(t))
		return;
	while (buf < end) {
		const char *nl = memchr(buf, '\n', (size_t)(end - buf));
		if (!nl) /* srun writes a line at once (less than PIPE_BUF): not one of its */
			return;
		size_t n = (size_t)(nl - buf);
		if (!starts(buf, n, "srun: ") || task_report(buf, n)) {
			t->slurm_scan_off = true;
			return;
		}
		if (refusal(buf, n))
			t->slurm_refused = true;
		if (starts(buf, n, "srun: error: ") || starts(buf, n, "srun: fatal: ") || refusal(buf, n))
			keep_line(t, buf, n);
		buf = nl + 1;
	}
}

void slurm_check(struct grpx_node *t, int err_spool)
{
	char buf[8192];

	if (t->status == GRPX_FAILED && t->exit_code > 0 && node_slurm(t) && !t->slurm_refused &&
	    !t->slurm_scan_off && err_spool >= 0) {
		ssize_t n = pread(err_spool, buf, sizeof buf, 0);
		if (n > 0)
			slurm_scan(t, buf, (size_t)n);
	}
	if (t->status == GRPX_FAILED && t->exit_code > 0 && t->slurm_refused && t->errtext) {
		t->status = GRPX_ERROR;
		t->errnum = strstr(t->errtext, ctld_msg) ? SLURM_ENOCTLD : SLURM_ESRUN;
		return;
	}
	free(t->errtext);
	t->errtext = NULL;
}

const char *slurm_strerror(int errnum)
{
	return errnum == SLURM_ENOCTLD ? "unable to contact slurm controller"
	       : errnum == SLURM_ESRUN ? "srun could not start it"
				       : strerror(errnum);
}

const char *node_strerror(const struct grpx_node *n)
{
	return n->errnum == SLURM_ESRUN && n->errtext ? n->errtext : slurm_strerror(n->errnum);
}

/* --- the allocation: its CPUs and its end --- */

/* A positive decimal number, or 0. */
static uint32_t count_of(const char *s)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	return *end || errno || v > UINT32_MAX ? 0 : (uint32_t)v;
}

uint32_t slurm_cpus_of(const char *ntasks, const char *cpus_on_node, const char *nnodes,
		       const char *cpus_per_node)
{
	uint64_t sum = 0;
	uint32_t n;

	if ((n = count_of(ntasks)))
		return n;
	if (count_of(cpus_on_node) && count_of(nnodes)) {
		sum = (uint64_t)count_of(cpus_on_node) * count_of(nnodes);
		return sum > UINT32_MAX ? UINT32_MAX : (uint32_t)sum;
	}
	/* salloc's shell has neither: "4(x2),2" is 4 CPUs on each of two
	 * nodes and 2 on a third. */
	for (const char *p = cpus_per_node; p && *p;) {
		char *end;
		unsigned long c = strtoul(p, &end, 10), m = 1;
		if (end == p)
			return 0;
		if (strncmp(end, "(x", 2) == 0) {
			p = end + 2;
			m = strtoul(p, &end, 10);
			if (end == p || *end != ')')
				return 0;
			end++;
		}
		sum += (uint64_t)c * m;
		if (sum > UINT32_MAX)
			return UINT32_MAX;
		if (*end != ',' && *end)
			return 0;
		p = *end ? end + 1 : end;
	}
	return (uint32_t)sum;
}

uint32_t slurm_alloc_cpus(void)
{
	const char *nn = getenv("SLURM_JOB_NUM_NODES");

	if (!alloc_id())
		return 0;
	return slurm_cpus_of(getenv("SLURM_NTASKS"), getenv("SLURM_CPUS_ON_NODE"),
			     nn ? nn : getenv("SLURM_NNODES"), getenv("SLURM_JOB_CPUS_PER_NODE"));
}

int64_t slurm_parse_end(const char *s)
{
	struct tm tm = { 0 };
	time_t t;
	int n = 0;

	/* squeue's %e: local time, or NONE, Unknown, N/A */
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 || s[n] != '\0')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	tm.tm_isdst = -1;
	if ((t = mktime(&tm)) == (time_t)-1)
		return -1;
	return (int64_t)t * 1000;
}

/* squeue's answer about our allocation's end: its first line, within
 * 10 s (an unreachable controller must not hold the run). */
static int64_t ask_squeue(const char *job)
{
	char *argv[] = { "squeue", "-h", "-j", (char *)job, "-o", "%e", NULL };
	char out[256];
	size_t got = 0;
	int p[2], fds[3] = { -1, -1, -1 }, st = 0;
	sigset_t none;
	pid_t pid;
	int64_t due = mono_ms() + 10000, left;

	if (pipe2(p, O_CLOEXEC) != 0)
		return -1;
	fds[1] = p[1];
	sigemptyset(&none);
	int err = spawn_process(NULL, argv, environ, fds, NULL, &none, -1, &pid);
	close(p[1]);
	if (err) {
		close(p[0]);
		return -1;
	}
	while (got < sizeof out - 1 && (left = due - mono_ms()) > 0) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		int rc = poll(&pf, 1, (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			break;
		ssize_t k = read(p[0], out + got, sizeof out - 1 - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(p[0]);
	out[got] = '\0';
	if (mono_ms() >= due)
		kill(pid, SIGKILL);
	pid_t w;
	while ((w = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
		;
	if (w != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return -1;
	out[strcspn(out, "\n")] = '\0';
	return slurm_parse_end(out);
}

static bool has_slurm_task(const struct grpx_node *n, int runner)
{
	if (n->runner >= 0)
		runner = n->runner;
	if (n->kind == NODE_TASK)
		return runner != RUN_LOCAL;
	for (uint32_t i = 0; i < n->nkids; i++)
		if (has_slurm_task(n->kids[i], runner))
			return true;
	return false;
}

int64_t slurm_alloc_end_ms(const struct grpx_node *root)
{
	const char *job = alloc_id(), *end = getenv("SLURM_JOB_END_TIME");
	uint32_t secs;

	if (!job || !has_slurm_task(root, RUN_LOCAL))
		return -1;
	if ((secs = count_of(end)))
		return (int64_t)secs * 1000;
	return ask_squeue(job);
}

bool slurm_late(int64_t end_ms, const struct grpx_node *t)
{
	struct timespec now;

	if (end_ms < 0 || !node_slurm(t))
		return false;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 >= end_ms - SLURM_END_MARGIN_MS;
}
