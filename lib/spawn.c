/*
 * spawn.c - the one spawn primitive.
 *
 * A process is started in a new process group whose leader it is, with the
 * signals grpx catches or ignores back at their defaults, a signal mask of
 * the caller's choosing, and fds 0, 1, 2 set up before the exec.  All of
 * grpx's own descriptors are close-on-exec, so nothing else leaks in.
 *
 * vfork, not posix_spawn: a task's process group must be known to the
 * keeper before the task runs a single instruction of its own.  With
 * posix_spawn grpx learns the pid only once the exec is done; a SIGKILL of
 * grpx in between (it waits out the child's exec, milliseconds on a loaded
 * machine) left a task that nobody would kill, grandchildren and all.  Here
 * the child writes its pid to the keeper's pipe itself, just before it
 * execs; the keeper sees the end of that pipe only once the child's copy
 * of it is closed by the exec, so the message always comes first.  vfork,
 * like posix_spawn, costs a multi-hundred-MB grpx no page-table copy.
 *
 * Between vfork and exec the child shares grpx's memory: it makes only
 * async-signal-safe calls on data prepared before, with every signal
 * blocked until its own mask is set, and reports a failure over a
 * close-on-exec pipe (git's start_command does the same).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

struct child {
	const char *prog;
	char *const *argv;
	char *const *envp;
	const int *fds;
	const char *cwd;
	const sigset_t *mask;
	int tell; /* the keeper's pipe, or -1 */
	int err;  /* the write end of the error pipe */
};

static const int reset[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE, SIGQUIT, SIGTSTP,
			     SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2, SIGALRM, SIGXCPU, SIGXFSZ,
			     SIGCONT };

/* fd i of the child: the caller's fds[i], or /dev/null when it is -1. */
static int child_fd(const struct child *c, int i)
{
	int fd;

	if (c->fds[i] >= 0)
		/* the same fd: dup2 would leave its close-on-exec flag on */
		return c->fds[i] == i ? fcntl(i, F_SETFD, 0) : dup2(c->fds[i], i) == i ? 0 : -1;
	fd = open("/dev/null", i ? O_WRONLY : O_RDONLY);
	if (fd < 0 || fd == i)
		return fd < 0 ? -1 : 0;
	if (dup2(fd, i) != i)
		return -1;
	close(fd);
	return 0;
}

/* The child, after vfork: async-signal-safe calls only; never returns. */
static _Noreturn void child_main(const struct child *c)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int32_t me = (int32_t)getpid(), undo = -me;
	int e;

	for (size_t i = 0; i < sizeof reset / sizeof reset[0]; i++)
		sigaction(reset[i], &dfl, NULL);
	if (setpgid(0, 0) < 0 || child_fd(c, 0) < 0 || child_fd(c, 1) < 0 || child_fd(c, 2) < 0 ||
	    (c->cwd && chdir(c->cwd) < 0)) {
		e = errno;
	} else {
		/* a full pipe (thousands of messages behind) drops this one;
		 * the parent tells the keeper again after the exec */
		if (c->tell >= 0)
			(void)!write(c->tell, &me, sizeof me);
		sigprocmask(SIG_SETMASK, c->mask, NULL);
		if (c->prog)
			execve(c->prog, c->argv, c->envp);
		else
			execvpe(c->argv[0], c->argv, c->envp);
		e = errno;
		if (c->tell >= 0) /* not a group to kill after all */
			(void)!write(c->tell, &undo, sizeof undo);
	}
	(void)!write(c->err, &e, sizeof e);
	_exit(127);
}

int spawn_process(const char *prog, char *const argv[], char *const envp[], const int fds[3],
		  const char *cwd, const sigset_t *mask, int tell, pid_t *pid)
{
	struct child c = { prog, argv, envp, fds, cwd, mask, tell, -1 };
	sigset_t all, old;
	int ep[2], e = 0;
	ssize_t n;
	pid_t p;

	if (pipe2(ep, O_CLOEXEC) < 0)
		return errno;
	c.err = ep[1];
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old); /* no handler may run in the child */
	p = vfork();
	if (p == 0)
		child_main(&c);
	if (p < 0)
		e = errno;
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(ep[1]);
	while (p > 0 && (n = read(ep[0], &e, sizeof e)) < 0 && errno == EINTR)
		;
	close(ep[0]);
	if (p > 0 && e) { /* it never ran: reap it here */
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		return e;
	}
	if (e)
		return e;
	*pid = p;
	return 0;
}
