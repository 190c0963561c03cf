/*
 * rules.c - the rules several modes share, and errgroup and sized, which
 * are nothing but one of them (their rows in modes.c tell them apart).
 */
#include "mode.h"

bool status_bad(int status)
{
	return status == GRPX_FAILED || status == GRPX_TIMEOUT || status == GRPX_ERROR;
}

uint32_t group_remaining(const struct grpx_node *g)
{
	return g->draining ? g->grp->running : g->nkids - g->grp->ended;
}

uint32_t next_in_order(struct grpx_node *g, const struct mode_now *now)
{
	(void)now;
	return g->grp->m.seq.next < g->nkids ? g->grp->m.seq.next++ : M_NONE;
}

struct decision all_ok(const struct grpx_node *g, enum out_fate out)
{
	const struct group *gr = g->grp;

	if ((gr->ended == g->nkids && !gr->open) || (g->draining && gr->running == 0))
		return (struct decision){ out, gr->nbad ? V_FAIL : V_OK, WHY_FAILED, false,
					  g->err_head };
	return (struct decision){ .out = (uint8_t)out };
}

struct grpx_node *first_cause(struct grpx_node *c)
{
	return c->err_head ? c->err_head : c;
}

/* errgroup and sized: the same rule, two rows of defaults. */
static struct decision streaming_ended(struct grpx_node *g, struct grpx_node *c)
{
	(void)c;
	return all_ok(g, OUT_PASS);
}

const struct mode_ops mode_streaming = {
	.next = next_in_order,
	.ended = streaming_ended,
};
