/*
 * waterfall: children one after another, the stdout of each the stdin of
 * the next (the engine hands the spool on: no byte of it passes through
 * grpx).  The first stage that does not end ok ends the group; the rest
 * are skipped.
 */
#include "mode.h"

static uint32_t next(struct grpx_node *g, const struct mode_now *now)
{
	uint32_t i = g->grp->m.seq.next;

	(void)now;
	if (g->grp->running || i >= g->nkids || (i > 0 && g->kids[i - 1]->status != GRPX_OK))
		return M_NONE;
	return g->grp->m.seq.next++;
}

static struct decision ended(struct grpx_node *g, struct grpx_node *c)
{
	if (c->status != GRPX_OK)
		return (struct decision){ OUT_DROP, V_FAIL, WHY_FAILED, c->status == GRPX_CANCELED,
					  first_cause(c) };
	if (c->index + 1 == g->nkids)
		return (struct decision){ OUT_PICK, V_OK, WHY_NONE, false, NULL };
	return (struct decision){ .out = OUT_HANDOFF };
}

const struct mode_ops mode_waterfall = {
	.next = next,
	.ended = ended,
};
