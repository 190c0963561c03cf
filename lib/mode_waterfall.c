/*
 * waterfall: children one after another, the stdout of each the stdin of
 * the next.  A stage's stdout is a spool file; it is handed on as a file,
 * so no byte of it passes through grpx.  The first stage that does not end
 * ok ends the group; the rest are skipped.
 */
#include <unistd.h>

#include "engine.h"

static struct grpx_node *next(struct run *r, struct grpx_node *g)
{
	(void)r;
	if (g->grp->running || g->grp->next >= g->nkids)
		return NULL;
	if (g->grp->next > 0 && g->kids[g->grp->next - 1]->status != GRPX_OK)
		return NULL;
	return g->kids[g->grp->next++];
}

/*
 * The one spool that stage c hands on.  A task stage's own stdout file is
 * taken as it is; a group stage that selected several is joined into a new
 * spool, in the kernel.
 */
static int handoff(struct grpx_node *c)
{
	struct grpx_node *h = c->res_head;
	int fd;

	if (h && !h->res_next) {
		fd = h->out_fd;
		h->out_fd = -1;
		c->res_head = c->res_tail = NULL;
		return fd;
	}
	fd = spool_open(true);
	off_t end = 0;
	for (; fd >= 0 && h; h = h->res_next)
		spool_copy(h->out_fd, 0, h->stdout_bytes, fd, &end);
	return fd;
}

static void ended(struct run *r, struct grpx_node *g, struct grpx_node *c)
{
	struct grpx_node *cause = c->err_head ? c->err_head : c; /* before note_error moves it */

	if (c->status != GRPX_OK) {
		group_discard(r, c, false);
		group_note_error(g, c);
		group_decide(r, g, c->status == GRPX_CANCELED ? GRPX_CANCELED : GRPX_FAILED,
			     WHY_FAILED, cause);
		return;
	}
	if (c->index + 1 == g->nkids) {
		group_offer(r, g, c);
		group_decide(r, g, GRPX_OK, WHY_NONE, NULL);
		return;
	}
	struct grpx_node *n = g->kids[c->index + 1];
	n->in_fd = handoff(c);
	group_discard(r, c, false);
	if (n->in_fd < 0) /* no spool to hand on (out of fds): the rest cannot run */
		group_decide(r, g, GRPX_FAILED, WHY_FAILED, c);
}

const struct mode_ops mode_waterfall = {
	.selects = true,
	.next = next,
	.ended = ended,
};
