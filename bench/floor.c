/*
 * floor.c - the spawn floor: the least a job runner can do.
 *
 * Reads commands, one per line, from stdin.  Runs each as `/bin/sh -c CMD`
 * with posix_spawn, in a new process group, stdin /dev/null, stdout and
 * stderr on pipes that are drained with poll(2) and written to our own
 * stdout/stderr as they arrive.  At most J run at once.  A command is over
 * when both its pipes are at EOF and it has been reaped.
 *
 *   floor [-j J] < commands
 *
 * Exit status: 0 if every command exited 0, else 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

struct slot {
	pid_t pid;
	int fd[2]; /* stdout, stderr read ends; -1 once at EOF */
};

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

static pid_t start(char *cmd, int devnull, int out[2])
{
	int po[2], pe[2];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	pid_t pid;

	if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) {
		perror("floor: pipe2");
		exit(2);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, devnull, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&at, 0);
	int err = posix_spawn(&pid, "/bin/sh", &fa, &at, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	close(po[1]);
	close(pe[1]);
	if (err) {
		errno = err;
		perror("floor: posix_spawn");
		exit(2);
	}
	out[0] = po[0];
	out[1] = pe[0];
	return pid;
}

int main(int argc, char **argv)
{
	long j = 2;
	int opt;

	while ((opt = getopt(argc, argv, "j:")) != -1) {
		if (opt != 'j') {
			fprintf(stderr, "usage: floor [-j J] < commands\n");
			return 2;
		}
		j = strtol(optarg, NULL, 10);
	}
	if (j < 1)
		j = 1;

	/* All commands first, as every runner under test does. */
	char **cmds = NULL, *line = NULL;
	size_t ncmds = 0, cap = 0, len = 0;
	ssize_t k;
	while ((k = getline(&line, &len, stdin)) >= 0) {
		while (k > 0 && line[k - 1] == '\n')
			line[--k] = '\0';
		if (!k)
			continue;
		if (ncmds == cap) {
			cap = cap ? cap * 2 : 1024;
			cmds = realloc(cmds, cap * sizeof *cmds);
		}
		cmds[ncmds++] = strdup(line);
	}
	free(line);

	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	struct slot *s = calloc((size_t)j, sizeof *s);
	struct pollfd *pfd = calloc((size_t)j * 2, sizeof *pfd);
	int *who = calloc((size_t)j * 2, sizeof *who);
	static char buf[65536];
	size_t next = 0, running = 0;
	int failed = 0;

	for (long i = 0; i < j; i++)
		s[i].pid = -1;
	for (;;) {
		for (long i = 0; i < j && next < ncmds; i++)
			if (s[i].pid < 0) {
				s[i].pid = start(cmds[next++], devnull, s[i].fd);
				running++;
			}
		if (!running)
			break;
		nfds_t n = 0;
		for (long i = 0; i < j; i++)
			for (int f = 0; f < 2; f++)
				if (s[i].pid >= 0 && s[i].fd[f] >= 0) {
					pfd[n] = (struct pollfd){ .fd = s[i].fd[f], .events = POLLIN };
					who[n++] = (int)(i * 2 + f);
				}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			perror("floor: poll");
			return 2;
		}
		for (nfds_t p = 0; p < n; p++) {
			if (!pfd[p].revents)
				continue;
			struct slot *sl = &s[who[p] / 2];
			int f = who[p] % 2;
			ssize_t r = read(sl->fd[f], buf, sizeof buf);
			if (r > 0) {
				write_all(f ? 2 : 1, buf, (size_t)r);
				continue;
			}
			if (r < 0 && errno == EINTR)
				continue;
			close(sl->fd[f]);
			sl->fd[f] = -1;
			if (sl->fd[0] < 0 && sl->fd[1] < 0) {
				int st;
				while (waitpid(sl->pid, &st, 0) < 0 && errno == EINTR)
					;
				if (!WIFEXITED(st) || WEXITSTATUS(st))
					failed = 1;
				sl->pid = -1;
				running--;
			}
		}
	}
	return failed;
}
