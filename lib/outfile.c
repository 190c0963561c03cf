/*
 * outfile.c - write one whole output file (the JSON report, JUnit, the
 * trace) where the user asked, without damaging what is there.
 *
 * A report is replaced atomically (a temporary file beside it, then
 * rename) only when that is what writing it means: the target is a regular
 * file, or nothing yet.  Renaming over anything else would destroy it: as
 * root, `--report /dev/null` or `--report /dev/stdout` would turn a device
 * node or the system's /dev/stdout symlink into a regular file, and a FIFO's
 * reader would get nothing (defect D3).  So:
 *
 *  - grpx's own standard output or standard error (/dev/stdout, /dev/fd/2,
 *    or a path naming the same file): written through that descriptor,
 *    after what grpx wrote there, as `>&1` would;
 *  - a regular file, or a path that does not exist: atomically.  A symlink
 *    is followed: the temporary file goes beside the link's final target and
 *    is renamed over it, so the link stays and its target is written.  A
 *    replaced file keeps its permission bits; a new one gets 0666 minus the
 *    umask, as `>` would give it;
 *  - anything else (a FIFO, a character device, a symlink whose target does
 *    not exist yet): opened and written in place, never replaced.  A FIFO
 *    without a reader is waited for, the way `echo > fifo` waits; a signal
 *    grpx handles (pending, as the caller blocks them) ends the wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

/* A FILE over fd that writes everything, also when fd is non-blocking (a
 * shared description of our stdout may be): it waits instead of EAGAIN. */
static ssize_t fd_write(void *cookie, const char *buf, size_t len)
{
	int fd = *(int *)cookie;
	size_t done = 0;

	while (done < len) {
		ssize_t k = write(fd, buf + done, len - done);
		if (k > 0) {
			done += (size_t)k;
		} else if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, -1);
		} else if (!(k < 0 && errno == EINTR)) {
			return done ? (ssize_t)done : -1;
		}
	}
	return (ssize_t)done;
}

static int fd_close(void *cookie)
{
	int *fd = cookie, rc = close(*fd);

	free(fd);
	return rc;
}

/* A FILE that owns fd (closed with it, also when this fails). */
static FILE *fd_file(int fd)
{
	int *c = malloc(sizeof *c);
	FILE *f;

	if (!c) {
		close(fd);
		return NULL;
	}
	*c = fd;
	f = fopencookie(c, "w", (cookie_io_functions_t){ .write = fd_write, .close = fd_close });
	if (!f) {
		int err = errno;
		fd_close(c);
		errno = err;
	}
	return f;
}

/* True when a signal of grpx_signals() waits (the caller blocks them). */
static bool signal_waits(void)
{
	sigset_t ours, pending;

	grpx_signals(&ours);
	if (sigpending(&pending) < 0)
		return false;
	for (int s = 1; s < NSIG; s++)
		if (s != SIGCHLD && sigismember(&ours, s) == 1 && sigismember(&pending, s) == 1)
			return true;
	return false;
}

/* Open `path` for writing in place; a FIFO waits for its reader.  O_CREAT:
 * a symlink to nothing yet creates its target. */
static int open_in_place(const char *path, bool fifo)
{
	int fd;

	for (;;) {
		fd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | O_CREAT, 0666);
		if (fd >= 0 || errno != ENXIO || !fifo) /* a socket gives ENXIO too */
			break;
		if (signal_waits()) { /* no reader yet, and grpx is asked to stop */
			errno = EINTR;
			return -1;
		}
		nanosleep(&(struct timespec){ .tv_nsec = 20 * 1000000 }, NULL);
	}
	if (fd >= 0) /* ours alone: writes may now wait for a slow reader */
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* Create a new file beside `target` (same directory), mode 0666 minus the
 * umask, its name in tmp.  O_EXCL: never an existing file. */
static int open_temp(const char *target, char *tmp, size_t len)
{
	static unsigned seq;
	struct timespec ts;

	for (int i = 0; i < 100; i++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		unsigned long v = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 12) ^
				  (unsigned long)++seq * 2654435761u;
		char suffix[8];
		for (int k = 0; k < 6; k++, v /= 36)
			suffix[k] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
		suffix[6] = '\0';
		if ((size_t)snprintf(tmp, len, "%s.%s", target, suffix) >= len) {
			errno = ENAMETOOLONG;
			return -1;
		}
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
		if (fd >= 0 || errno != EEXIST)
			return fd;
	}
	return -1;
}

/* The same file as our descriptor fd? */
static bool same_as(const struct stat *st, int fd)
{
	struct stat fs;

	return fstat(fd, &fs) == 0 && fs.st_dev == st->st_dev && fs.st_ino == st->st_ino;
}

/* Finish f: 0 when every byte reached it, else -1 with errno. */
static int close_checked(FILE *f)
{
	int bad = fflush(f) != 0 || ferror(f);
	int err = errno;

	if (fclose(f) != 0 && !bad) {
		bad = 1;
		err = errno;
	}
	errno = err ? err : EIO;
	return bad ? -1 : 0;
}

int outfile_write(const char *path, void (*fill)(FILE *f, const void *arg), const void *arg)
{
	char target[PATH_MAX], tmp[PATH_MAX + 16];
	struct stat st, lst;
	bool exists = stat(path, &st) == 0;
	int fd;
	FILE *f;

	if (!exists && errno != ENOENT)
		return -1; /* EACCES, ENOTDIR, ELOOP...: say so */
	if (exists && (same_as(&st, STDOUT_FILENO) || same_as(&st, STDERR_FILENO))) {
		fd = fcntl(same_as(&st, STDOUT_FILENO) ? STDOUT_FILENO : STDERR_FILENO,
			   F_DUPFD_CLOEXEC, 3);
		if (fd < 0 || !(f = fd_file(fd)))
			return -1;
		fill(f, arg);
		return close_checked(f);
	}
	if (exists ? !S_ISREG(st.st_mode)
		   : lstat(path, &lst) == 0) { /* not a file, or a link to nothing yet */
		if ((fd = open_in_place(path, exists && S_ISFIFO(st.st_mode))) < 0 || !(f = fd_file(fd)))
			return -1;
		fill(f, arg);
		return close_checked(f);
	}
	/* A regular file, or nothing: replace it whole.  Through a symlink,
	 * replace its target (realpath: the link stays a link). */
	if (exists && !realpath(path, target))
		return -1;
	if (!exists && (size_t)snprintf(target, sizeof target, "%s", path) >= sizeof target) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((fd = open_temp(target, tmp, sizeof tmp)) < 0)
		return -1;
	if (exists)
		fchmod(fd, st.st_mode & 07777);
	if (!(f = fd_file(fd))) {
		int err = errno;
		unlink(tmp);
		errno = err;
		return -1;
	}
	fill(f, arg);
	if (close_checked(f) == 0 && rename(tmp, target) == 0)
		return 0;
	int err = errno;
	unlink(tmp);
	errno = err;
	return -1;
}
