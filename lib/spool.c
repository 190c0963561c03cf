/*
 * spool.c - anonymous files for output that waits: a task's held stdout, a
 * grouped task's stderr, a waterfall stage's output, an overflowing queue.
 *
 * A spool starts as a memfd: creating a file on ext4 costs more than
 * starting a short task (it dominated a profile of 2 000 of them).  Held
 * output must not live in RAM without bound, though, so a spool that grows
 * past SPOOL_MEM_MAX moves to an O_TMPFILE in $TMPDIR (on disk, and faster
 * to fill than tmpfs for gigabytes); if that cannot be made, it stays in
 * memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "run.h"

#define SPOOL_MEM_MAX (8 << 20) /* bytes a spool may hold in memory */
#define TMPFS_MAGIC 0x01021994

int64_t fd_size(int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* An unnamed file in $TMPDIR, or -1. */
static int tmp_file(void)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
#ifdef O_TMPFILE
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
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

int spool_new(void)
{
#ifdef MFD_CLOEXEC
	int fd = memfd_create("grpx-spool", MFD_CLOEXEC);
	if (fd >= 0)
		return fd;
#endif
	return tmp_file();
}

static bool in_memory(int fd)
{
	struct statfs fs;

	return fstatfs(fd, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

void spool_grow(int *fd, off_t len)
{
	if (len <= SPOOL_MEM_MAX || len - (off_t)(1 << 20) > SPOOL_MEM_MAX || !in_memory(*fd))
		return; /* small, or already moved (or could not be: asked once per MiB) */
	int nfd = tmp_file();
	if (nfd < 0)
		return;
	if (in_memory(nfd)) { /* $TMPDIR is a tmpfs itself: nothing to gain */
		close(nfd);
		return;
	}
	off_t off = 0, done = 0;
	while (done < len) {
		ssize_t k = sendfile(nfd, *fd, &off, (size_t)(len - done));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		done += k;
	}
	if (done != len) { /* a full $TMPDIR: stay in memory */
		close(nfd);
		return;
	}
	close(*fd);
	*fd = nfd;
}

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
		if (errno == ENOSPC || errno == EDQUOT || errno == EFBIG || errno == EIO)
			break;
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

/* A fresh read-only description of spool `fd` at offset 0, so that every
 * reader (every attempt of a retried stage, every task of a group stage)
 * has its own offset.  Without /proc: a copy. */
int spool_reopen(int fd)
{
	char path[64];
	int nfd;

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	nfd = open(path, O_RDONLY | O_CLOEXEC);
	if (nfd >= 0 || (errno != ENOENT && errno != ENOTDIR))
		return nfd;
	if ((nfd = spool_new()) < 0)
		return -1;
	off_t out = 0;
	int64_t len = fd_size(fd);
	if (spool_copy(fd, 0, len, nfd, &out) != len) {
		int err = errno ? errno : EIO;
		close(nfd);
		errno = err;
		return -1;
	}
	return nfd;
}
