/*
 * journal.c - --journal FILE: one JSON line per node as it ends, each in
 * one write(2) to a file opened O_APPEND, so that a grpx killed with
 * SIGKILL leaves every line but at most a cut last one, and several runs
 * appended to one FILE read as one history (the latest line of a path
 * counts, resume.c).
 *
 * Only a regular file is taken: a write to one does not wait for a
 * reader, so it can be done inline in the event loop; a FIFO, a terminal
 * or a socket could hold the run back (SPEC section 10).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

int grpx_journal_open(const char *path, char *err, size_t errlen)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a reader before we
	 * can refuse it; O_RDWR: to look at the last byte (journal_start) */
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK, 0666);
	struct stat st;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open journal '%s': %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "journal '%s' is not a regular file", path);
		close(fd);
		errno = EINVAL;
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int grpx_run_journal_error(const struct grpx_run *r)
{
	return r->journal_err;
}

/* Append the line formatted in r->jf in one write; a failure is kept and
 * ends the journal (a line after a cut one would read as corrupt). */
static void journal_put(struct grpx_run *r)
{
	if (r->journal_err)
		return;
	if (fflush(r->jf) != 0) {
		r->journal_err = errno ? errno : ENOMEM;
		return;
	}
	const char *p = r->jbuf;
	size_t len = (size_t)ftell(r->jf);
	while (len > 0) {
		ssize_t k = write(r->o->journal_fd, p, len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r->journal_err = k < 0 ? errno : EIO;
			return;
		}
		p += k; /* short: the file is full; what is left fails next */
		len -= (size_t)k;
	}
}

int journal_start(struct grpx_run *r)
{
	char stamp[64];
	char last = '\n';
	off_t size;

	if (r->o->journal_fd <= 0)
		return 0;
	if (!(r->jf = open_memstream(&r->jbuf, &r->jlen)))
		return errno;
	/* a line cut by a kill gets its newline: a line of its own, which
	 * resume.c knows by the "run" line after it */
	size = lseek(r->o->journal_fd, 0, SEEK_END);
	if (size > 0 && pread(r->o->journal_fd, &last, 1, size - 1) != 1)
		last = '\n';
	started_at(r, stamp, sizeof stamp);
	fprintf(r->jf, "%s{\"event\": \"run\", \"file\": ", last == '\n' ? "" : "\n");
	json_str(r->jf, r->job->file ? r->job->file : "");
	fprintf(r->jf, ", \"started_at\": \"%s\", \"version\": \"%s\"}\n", stamp, GRPX_VERSION);
	journal_put(r);
	return 0;
}

void journal_end(struct grpx_run *r, const struct grpx_node *n)
{
	char key[KEY_HEX], why[512];

	if (!r->jf)
		return;
	rewind(r->jf);
	key_format(n->key, key);
	fputs("{\"event\": \"end\", \"path\": ", r->jf);
	json_str(r->jf, n->path);
	fprintf(r->jf, ", \"kind\": \"%s\", \"key\": \"%s\", \"status\": \"%s\"",
		n->kind == NODE_TASK ? "task" : "group", key,
		grpx_status_name((enum grpx_status)n->status));
	if (n->kind == NODE_TASK && n->exit_code >= 0)
		fprintf(r->jf, ", \"exit_code\": %d", n->exit_code);
	else
		fputs(", \"exit_code\": null", r->jf);
	if (n->kind == NODE_TASK && n->signal)
		fprintf(r->jf, ", \"signal\": %d", n->signal);
	else
		fputs(", \"signal\": null", r->jf);
	fprintf(r->jf, ", \"attempts\": %u, \"end_ms\": %.3f", n->attempt,
		n->end_ms >= 0 ? n->end_ms : rel_ms(r));
	if (n->resumed)
		fputs(", \"resumed\": true", r->jf);
	if ((n->status == GRPX_CANCELED || n->status == GRPX_SKIPPED) &&
	    grpx_node_reason(n, why, sizeof why)) {
		fputs(", \"reason\": ", r->jf);
		json_str(r->jf, why);
	}
	fputs("}\n", r->jf);
	journal_put(r);
}

void journal_close(struct grpx_run *r)
{
	if (r->jf)
		fclose(r->jf);
	free(r->jbuf);
	r->jf = NULL;
	r->jbuf = NULL;
}
