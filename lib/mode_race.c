/*
 * race: the first child to end ok wins and the others are canceled; if
 * every child fails, the group fails with the last error to arrive.
 */
#include "internal.h"

static void ended(struct run *r, struct grpx_node *g, struct grpx_node *c)
{
	if (c->status == GRPX_OK) {
		group_offer(r, g, c);
		group_decide(r, g, GRPX_OK, WHY_WON, c);
		return;
	}
	group_discard(r, c, false);
	if (g->grp->ended == g->nkids) {
		group_note_error(g, c);
		group_decide(r, g, GRPX_FAILED, WHY_FAILED, c);
		return;
	}
	stagger_failed(r, g);
}

const struct mode_ops mode_race = {
	.selects = true,
	.begin = stagger_begin,
	.next = stagger_next,
	.ended = ended,
	.wake = stagger_wake,
};
