/*
 * fd.c - descriptors closed at the right moment.  A spool's last close frees
 * its pages, which can take milliseconds for a large one: what a turn
 * releases is closed after the turn has started what is due.
 */
#include <stdlib.h>
#include <unistd.h>

#include "run.h"

void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

void close_late(struct grpx_run *r, int *fd)
{
	if (*fd < 0)
		return;
	if (r->nlate == r->caplate) {
		size_t cap = r->caplate ? r->caplate * 2 : 16;
		int *v = realloc(r->late, cap * sizeof *v);
		if (!v) {
			close_fd(fd);
			return;
		}
		r->late = v;
		r->caplate = cap;
	}
	r->late[r->nlate++] = *fd;
	*fd = -1;
}

void close_pending(struct grpx_run *r)
{
	if (r->nlate)
		r->freed++;
	while (r->nlate > 0)
		close(r->late[--r->nlate]);
}
