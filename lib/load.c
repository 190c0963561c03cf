/*
 * load.c - read a job file (SPEC section 4) into a tree of struct grpx_node:
 * the loader's public entry points.
 *
 * Two passes.  The first (ytree.c) turns the YAML into a small tree that
 * keeps every position and refuses hostile input while it reads.  The
 * second checks that tree against the key tables (schema.c) and builds the
 * job (build.c), reporting every problem it finds.  One problem is enough
 * for -1, and then nothing built survives.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load_int.h"

/* grpx_load_mem() that also frees `own` (buf or NULL) once pass 1 is done
 * with buf: the file need not stay while pass 2 builds the job. */
static int load(const char *name, const char *buf, size_t len, char *own,
		struct grpx_job **jobp, struct grpx_diags *d)
{
	struct ld L = { .file = name, .d = d };
	struct ytree t;
	size_t first = d ? d->n : 0;
	struct grpx_job *job = calloc(1, sizeof *job);

	*jobp = NULL;
	if (!job || !(job->file = xstrdup(name))) {
		free(job);
		free(own);
		diag_add(d, name, 0, 0, "out of memory");
		return -1;
	}
	ytree_read(&L, buf, len, &t);
	free(own);
	if (!L.fatal)
		job->root = build_root(&L, t.root);
	job->nnodes = L.nnodes;
	ytree_free(&t);
	if (d)
		diags_sort(d, first);
	if (L.nerr > 0) {
		grpx_job_free(job);
		return -1;
	}
	*jobp = job;
	return 0;
}

int grpx_load_mem(const char *name, const char *buf, size_t len,
		  struct grpx_job **jobp, struct grpx_diags *d)
{
	return load(name, buf, len, NULL, jobp, d);
}

int grpx_load(const char *path, struct grpx_job **jobp, struct grpx_diags *d)
{
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t r = 0;
	int fd;

	*jobp = NULL;
	/* Read to EOF, whatever the size says: a pipe or /dev/stdin works too. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		goto fail;
	do {
		if (r > 0)
			len += (size_t)r;
		if (len == cap) {
			if (cap >= MAX_FILE) {
				close(fd);
				free(buf);
				diag_add(d, path, 0, 0, "job file is larger "
					 "than %u MiB", MAX_FILE >> 20);
				return -1;
			}
			cap = cap ? cap * 2 : 65536;
			if (!(nb = realloc(buf, cap)))
				goto fail;
			buf = nb;
		}
	} while ((r = read(fd, buf + len, cap - len)) > 0 ||
		 (r < 0 && errno == EINTR && (r = 0) == 0));
	if (r < 0)
		goto fail;
	close(fd);
	return load(path, buf, len, buf, jobp, d);
fail:
	diag_add(d, path, 0, 0, "cannot read job file: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	free(buf);
	return -1;
}
