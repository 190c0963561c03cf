/*
 * last: run every child; the last `count` to end ok are the result, in
 * completion order.  Fails once `count` successes are out of reach.
 */
#include "internal.h"

static void ended(struct run *r, struct grpx_node *g, struct grpx_node *c)
{
	if (c->status == GRPX_OK) {
		group_pick(r, g, c);
	} else {
		group_discard(r, c, false);
		if (status_bad(c->status))
			group_on_error(r, g, c, GRPX_ON_CONTINUE);
	}
	if (g->verdict)
		return;
	if (g->grp->nok + group_remaining(g) < g->grp->count) {
		group_decide(r, g, GRPX_FAILED, WHY_FAILED, g->err_head);
	} else if (group_remaining(g) == 0) {
		group_offer_picks(r, g);
		group_decide(r, g, GRPX_OK, WHY_DONE, g);
	}
}

const struct mode_ops mode_last = {
	.selects = true,
	.next = group_next_in_order,
	.ended = ended,
};
