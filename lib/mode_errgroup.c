/* errgroup: all children at once; the first failure cancels the rest. */
#include "internal.h"

static void ended(struct run *r, struct grpx_node *g, struct grpx_node *c)
{
	group_offer(r, g, c);
	if (status_bad(c->status))
		group_on_error(r, g, c, GRPX_ON_CANCEL);
	group_settle_all_ok(r, g);
}

const struct mode_ops mode_errgroup = {
	.next = group_next_in_order,
	.ended = ended,
};
