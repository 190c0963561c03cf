/*
 * take: the first `count` children to end ok, in completion order; the
 * rest are canceled.  Fails as soon as `count` successes are out of reach
 * (with on_error: cancel the engine fails it at the first error).
 */
#include "mode.h"

static struct decision ended(struct grpx_node *g, struct grpx_node *c)
{
	if (c->status == GRPX_OK)
		return g->grp->nok == g->grp->count
			       ? (struct decision){ OUT_PICK, V_OK, WHY_DONE, false, g }
			       : (struct decision){ .out = OUT_PICK };
	if (g->grp->nok + group_remaining(g) < g->grp->count)
		return (struct decision){ OUT_DROP, V_FAIL, WHY_FAILED, false, g->err_head };
	stagger_failed(g);
	return (struct decision){ .out = OUT_DROP };
}

const struct mode_ops mode_take = {
	.begin = stagger_begin,
	.next = stagger_next,
	.ended = ended,
	.due = stagger_due,
};
