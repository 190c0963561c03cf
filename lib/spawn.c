/*
 * spawn.c - the one spawn primitive.
 *
 * A process is started with posix_spawn in a new process group whose leader
 * it is, with the signals grpx catches or ignores back at their defaults, a
 * signal mask of the caller's choosing, and fds 0, 1, 2 set up through file
 * actions.  All of grpx's own descriptors are close-on-exec, so nothing
 * else leaks in.  posix_spawn (vfork, then exec) costs a multi-hundred-MB
 * grpx no page-table copy per task.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>

#include "run.h"

int spawn_process(const char *prog, char *const argv[], char *const envp[], const int fds[3],
		  const char *cwd, const sigset_t *mask, pid_t *pid)
{
	static const int reset[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE, SIGQUIT,
				     SIGTSTP, SIGTTIN, SIGTTOU, SIGUSR1, SIGUSR2, SIGALRM,
				     SIGXCPU, SIGXFSZ, SIGCONT };
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
	err = prog ? posix_spawn(pid, prog, &fa, &at, argv, envp)
		   : posix_spawnp(pid, argv[0], &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return err;
}
