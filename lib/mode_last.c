/*
 * last: run every child; the last `count` to end ok are the result, in
 * completion order.  Fails once `count` successes are out of reach.
 */
#include "mode.h"

static struct decision ended(struct grpx_node *g, struct grpx_node *c)
{
	uint8_t out = c->status == GRPX_OK ? OUT_KEEP_LAST : OUT_DROP;

	if (g->grp->nok + group_remaining(g) < g->grp->count)
		return (struct decision){ out, V_FAIL, WHY_FAILED, false, g->err_head };
	if (group_remaining(g) == 0)
		return (struct decision){ out, V_OK, WHY_DONE, false, g };
	return (struct decision){ .out = out };
}

const struct mode_ops mode_last = {
	.next = next_in_order,
	.ended = ended,
};
