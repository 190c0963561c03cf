/*
 * all: every child's stdout, in input order, failed children's too; a
 * child's output goes out as soon as all before it have gone.
 */
#include "engine.h"

static void ended(struct run *r, struct grpx_node *g, struct grpx_node *c)
{
	if (status_bad(c->status))
		group_on_error(r, g, c, GRPX_ON_CONTINUE);
	while (!g->verdict && g->grp->emitted < g->nkids &&
	       g->kids[g->grp->emitted]->state == T_DONE) {
		struct grpx_node *k = g->kids[g->grp->emitted++];
		if (k->status == GRPX_OK || status_bad(k->status))
			group_offer(r, g, k);
	}
	group_settle_all_ok(r, g);
}

const struct mode_ops mode_all = {
	.selects = true,
	.next = group_next_in_order,
	.ended = ended,
};
