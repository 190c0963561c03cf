/*
 * race: the first child to end ok wins and the others are canceled; if
 * every child fails, the group fails with the last error to arrive.
 */
#include "mode.h"

static struct decision ended(struct grpx_node *g, struct grpx_node *c)
{
	if (c->status == GRPX_OK)
		return (struct decision){ OUT_PICK, V_OK, WHY_WON, false, c };
	if (g->grp->ended == g->nkids)
		return (struct decision){ OUT_DROP, V_FAIL, WHY_FAILED, false, c };
	stagger_failed(g);
	return (struct decision){ .out = OUT_DROP };
}

const struct mode_ops mode_race = {
	.begin = stagger_begin,
	.next = stagger_next,
	.ended = ended,
	.due = stagger_due,
};
