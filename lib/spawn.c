/*
 * spawn.c - the one spawn primitive, and the spool files task output
 * goes to.
 *
 * A task is started with posix_spawn in a new process group whose leader
 * it is, with the signals grpx catches or ignores reset to their defaults,
 * an empty signal mask, and fds 0, 1, 2 set up through file actions.  All
 * of grpx's own descriptors are close-on-exec, so nothing else leaks in.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine.h"

extern char **environ;

/*
 * An anonymous read-write file.  `big`: what a waterfall hands on, which
 * may be gigabytes: an O_TMPFILE in $TMPDIR (on disk, and faster to fill
 * than tmpfs).  Otherwise a memfd: creating a file on ext4 costs more than
 * starting the task (it dominated a profile of 2 000 short tasks).  Either
 * way the fallbacks are the other kind, then an unlinked temp file.
 */
int spool_open(bool big)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
#ifdef MFD_CLOEXEC
	if (!big && (fd = memfd_create("grpx-spool", MFD_CLOEXEC)) >= 0)
		return fd;
#endif
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0)
		return fd;
#endif
#ifdef MFD_CLOEXEC
	fd = memfd_create("grpx-spool", MFD_CLOEXEC);
	if (fd >= 0)
		return fd;
#endif
	if ((size_t)snprintf(path, sizeof path, "%s/grpx.XXXXXX", dir) >= sizeof path)
		return -1;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path);
	return fd;
}

/*
 * Copy `len` bytes of spool `in` from offset `off` to `out` at *outoff, in
 * the kernel when both are on one file system, else through a small
 * buffer.  Returns the bytes copied.
 */
int64_t spool_copy(int in, off_t off, int64_t len, int out, off_t *outoff)
{
	int64_t done = 0;
	char buf[16384];

	while (done < len) {
		ssize_t k = copy_file_range(in, &off, out, outoff, (size_t)(len - done), 0);
		if (k > 0) {
			done += k;
			continue;
		}
		if (k == 0)
			break;
		if (errno == EINTR)
			continue;
		/* another file system, or no copy_file_range here */
		k = pread(in, buf, (size_t)(len - done) < sizeof buf ? (size_t)(len - done) : sizeof buf, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		ssize_t w = pwrite(out, buf, (size_t)k, *outoff);
		if (w <= 0)
			break;
		off += w;
		*outoff += w;
		done += w;
	}
	return done;
}

/* A fresh read-only description of spool `fd`, at offset 0. */
int spool_reopen(int fd)
{
	char path[64];
	int nfd;

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	nfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nfd >= 0)
		return nfd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd >= 0 && lseek(nfd, 0, SEEK_SET) < 0) {
		close(nfd);
		return -1;
	}
	return nfd;
}

static char *const default_shell[] = { "/bin/sh", "-c", NULL };

/* Set KEY=VALUE in a NULL-terminated array with room to grow. */
static void env_put(char **env, size_t *n, char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; i < *n; i++)
		if (strncmp(env[i], kv, klen) == 0 && env[i][klen] == '=') {
			env[i] = kv;
			return;
		}
	env[(*n)++] = kv;
	env[*n] = NULL;
}

/* The innermost node around t (t included) that repeats, or NULL. */
static const struct grpx_node *retrier_of(const struct grpx_node *t)
{
	for (; t; t = t->up)
		if (t->retrying)
			return t;
	return NULL;
}

/*
 * Build what the child needs before spawning: argv, envp, cwd.  Every
 * string lives in `sp` and is freed by spawn_free().
 */
static int spawn_prepare(struct spawn *sp, const struct grpx_node *t)
{
	const struct grpx_node *n, *rt;
	size_t nenv = 0, nbase = 0, nkeys = 4;
	char *const *shell = NULL;
	char **slurm = NULL;
	int runner = -1;

	for (n = t; n; n = n->parent) {
		for (char **e = n->opt->env; e && *e; e++)
			nkeys++;
		if (!shell && n->opt->shell)
			shell = n->opt->shell;
		if (runner < 0 && n->runner >= 0) {
			runner = n->runner;
			slurm = n->opt->slurm_args;
		}
	}
	if (runner < 0)
		runner = 0;
	if (!shell)
		shell = default_shell;
	while (environ[nbase])
		nbase++;
	sp->envp = calloc(nbase + nkeys + 1, sizeof *sp->envp);
	if (!sp->envp)
		return ENOMEM;
	for (size_t i = 0; i < nbase; i++)
		if (runner != 1 || !slurm_env_drop(environ[i]))
			sp->envp[nenv++] = environ[i];
	sp->envp[nenv] = NULL;
	/* Outer maps first so that inner keys win. */
	for (uint32_t d = 0; d <= t->depth; d++) {
		n = t;
		while (n->depth > d)
			n = n->parent;
		for (char **e = n->opt->env; e && *e; e++)
			env_put(sp->envp, &nenv, *e);
	}
	rt = retrier_of(t);
	if (asprintf(&sp->vars[0], "GRPX_TASK=%s", t->path) < 0 ||
	    asprintf(&sp->vars[1], "GRPX_GROUP=%s", t->parent ? t->parent->path : "") < 0 ||
	    asprintf(&sp->vars[2], "GRPX_ATTEMPT=%u", rt ? rt->attempt : 1) < 0 ||
	    asprintf(&sp->vars[3], "GRPX_INDEX=%u", t->index) < 0)
		return ENOMEM;
	for (int i = 0; i < 4; i++)
		env_put(sp->envp, &nenv, sp->vars[i]);

	if (node_cwd(t, &sp->cwd) != 0)
		return ENOMEM;

	/* argv: [srun ... --] (shell... RUN | argv...) */
	size_t na = 0, ns = 0, nsl = 0;
	char *const *src = t->argv;
	if (!src)
		while (shell[ns])
			ns++;
	else
		while (src[na])
			na++;
	for (char **s = slurm; s && *s; s++)
		nsl++;
	sp->argv = calloc(ns + na + nsl + 8, sizeof *sp->argv);
	if (!sp->argv)
		return ENOMEM;
	size_t k = 0;
	if (runner == 1) {
		char name[128];
		if (slurm_job_name(t, name, sizeof name) < 0)
			return ENAMETOOLONG;
		if (asprintf(&sp->jobname, "--job-name=%s", name) < 0)
			return ENOMEM;
		sp->argv[k++] = "srun";
		/* -Q, not -QQ: that would also hide srun's errors, and an
		 * unreachable controller is known by its message. */
		sp->argv[k++] = "-Q";
		sp->argv[k++] = sp->jobname;
		for (size_t i = 0; i < nsl; i++)
			sp->argv[k++] = slurm[i];
		sp->argv[k++] = "--";
	}
	if (src) {
		for (size_t i = 0; i < na; i++)
			sp->argv[k++] = src[i];
	} else {
		for (size_t i = 0; i < ns; i++)
			sp->argv[k++] = shell[i];
		if (ns == 1) /* `shell: bash` means `bash -c RUN` */
			sp->argv[k++] = "-c";
		sp->argv[k++] = t->run;
	}
	sp->argv[k] = NULL;
	sp->path_lookup = runner == 1 || src || !strchr(sp->argv[0], '/');
	return 0;
}

void spawn_free(struct spawn *sp)
{
	free(sp->envp);
	free(sp->argv);
	free(sp->cwd);
	free(sp->jobname);
	for (int i = 0; i < 4; i++)
		free(sp->vars[i]);
	*sp = (struct spawn){ 0 };
}

/*
 * The one spawn primitive: argv in a new process group that it leads, the
 * signals grpx catches or ignores back at their defaults, `mask` as its
 * signal mask, fds[i] as its fd i (-1: /dev/null), in `cwd` unless NULL.
 * Returns 0 and sets *pid, or an errno value.
 */
int spawn_process(char *const argv[], char *const envp[], const int fds[3], const char *cwd,
		  bool path_lookup, const sigset_t *mask, pid_t *pid)
{
	static const int reset[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE,
				     SIGQUIT, SIGTSTP, SIGTTIN, SIGTTOU };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t def;
	int err;

	sigemptyset(&def);
	for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
		sigaddset(&def, reset[i]);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF |
					      POSIX_SPAWN_SETSIGMASK);
	posix_spawnattr_setpgroup(&at, 0);
	posix_spawnattr_setsigdefault(&at, &def);
	posix_spawnattr_setsigmask(&at, mask);
	for (int i = 0; i < 3; i++)
		if (fds[i] < 0)
			posix_spawn_file_actions_addopen(&fa, i, "/dev/null", i ? O_WRONLY : O_RDONLY, 0);
		else if (fds[i] != i)
			posix_spawn_file_actions_adddup2(&fa, fds[i], i);
	if (cwd)
		posix_spawn_file_actions_addchdir_np(&fa, cwd);
	err = (path_lookup ? posix_spawnp : posix_spawn)(pid, argv[0], &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return err;
}

/*
 * Start task t with the given fds as its 0, 1, 2.  Returns 0 and sets
 * t->pid, or an errno value: the task could not start.
 */
int spawn_task(struct grpx_node *t, int fd0, int fd1, int fd2)
{
	struct spawn sp = { 0 };
	const int fds[3] = { fd0, fd1, fd2 };
	sigset_t none;
	pid_t pid;
	int err;

	sigemptyset(&none);
	err = spawn_prepare(&sp, t);
	if (!err)
		err = spawn_process(sp.argv, sp.envp, fds, sp.cwd, sp.path_lookup, &none, &pid);
	spawn_free(&sp);
	if (err)
		return err;
	t->pid = pid;
	t->pgid = pid;
	return 0;
}
