/*
 * wf_floor.c - the waterfall floor: stages in turn, each one's stdout an
 * anonymous file (O_TMPFILE in $TMPDIR, as grpx does) handed to the next
 * as its stdin; the last one's copied to our stdout.  Nothing else: no
 * pipes, no stderr capture, no timers.  What no runner that keeps a
 * waterfall's stages sequential can beat on this machine.
 *
 *   wf_floor CMD1 CMD2 ...
 *
 * Exit status: 0 if every stage exited 0, else 1.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static int spool(void)
{
	const char *dir = getenv("TMPDIR");
	int fd = open(dir && *dir ? dir : "/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

	if (fd < 0) {
		perror("wf_floor: O_TMPFILE");
		exit(2);
	}
	return fd;
}

/* A fresh read-only description of fd, at offset 0. */
static int reopen(int fd)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return open(path, O_RDONLY | O_CLOEXEC);
}

int main(int argc, char **argv)
{
	int in = open("/dev/null", O_RDONLY | O_CLOEXEC), prev = -1, out = -1;

	for (int i = 1; i < argc; i++) {
		char *av[] = { "/bin/sh", "-c", argv[i], NULL };
		posix_spawn_file_actions_t fa;
		pid_t pid;
		int st;

		out = spool();
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, in, 0);
		posix_spawn_file_actions_adddup2(&fa, out, 1);
		if (posix_spawn(&pid, "/bin/sh", &fa, NULL, av, environ) != 0) {
			perror("wf_floor: posix_spawn");
			return 2;
		}
		posix_spawn_file_actions_destroy(&fa);
		close(in);
		while (waitpid(pid, &st, 0) < 0)
			;
		if (prev >= 0)
			close(prev); /* the stage that read it is over */
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			return 1;
		prev = out;
		in = reopen(out);
	}
	struct stat sb;
	off_t off = 0;
	if (out >= 0 && fstat(out, &sb) == 0)
		while (off < sb.st_size && sendfile(1, in, &off, (size_t)(sb.st_size - off)) > 0)
			;
	return 0;
}
