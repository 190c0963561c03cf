/*
 * take: the first `count` children to end ok, in completion order; the
 * rest are canceled.  Fails as soon as `count` successes are out of reach
 * (or, with on_error: cancel, at the first error).
 */
#include "internal.h"

static void ended(struct run *r, struct grpx_node *g, struct grpx_node *c)
{
	if (c->status == GRPX_OK) {
		group_pick(r, g, c);
		if (g->grp->nok == g->grp->count) {
			group_offer_picks(r, g);
			group_decide(r, g, GRPX_OK, WHY_DONE, g);
		}
		return;
	}
	group_discard(r, c, false);
	if (status_bad(c->status))
		group_on_error(r, g, c, GRPX_ON_CONTINUE);
	if (g->grp->nok + group_remaining(g) < g->grp->count)
		group_decide(r, g, GRPX_FAILED, WHY_FAILED, g->err_head);
	else
		stagger_failed(r, g);
}

const struct mode_ops mode_take = {
	.selects = true,
	.begin = stagger_begin,
	.next = stagger_next,
	.ended = ended,
	.wake = stagger_wake,
};
