/*
 * sized: at most `limit` children at once (the CPU count by default); by
 * default every child runs and every error is reported.
 */
#include "internal.h"

static void ended(struct run *r, struct grpx_node *g, struct grpx_node *c)
{
	group_offer(r, g, c);
	if (status_bad(c->status))
		group_on_error(r, g, c, GRPX_ON_CONTINUE);
	group_settle_all_ok(r, g);
}

const struct mode_ops mode_sized = {
	.next = group_next_in_order,
	.ended = ended,
};
