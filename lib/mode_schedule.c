/*
 * schedule: each child starts at its `delay` after the group starts, or at
 * its wall-clock `at`.  Every child's time is an entry of the run's one
 * heap; ties fire in input order.  Children whose time came wait in a FIFO
 * for a free slot under `limit`.
 */
#include "engine.h"

static void begin(struct run *r, struct grpx_node *g)
{
	g->grp->rq_head = g->grp->rq_tail = NULL;
	for (uint32_t i = 0; i < g->nkids; i++) {
		struct grpx_node *c = g->kids[i];
		int64_t due = g->grp->started_at;
		if (c->opt->delay_ms >= 0)
			due += c->opt->delay_ms * 1000;
		else if (c->opt->at.kind != AT_NONE)
			due = deadline_after(g->grp->started_at,
					     at_wait_ms(&c->opt->at));
		timer_arm(r, c, 1, due);
	}
}

static void wake(struct run *r, struct grpx_node *g, struct grpx_node *c)
{
	(void)r;
	c->q_next = NULL;
	if (g->grp->rq_tail)
		g->grp->rq_tail->q_next = c;
	else
		g->grp->rq_head = c;
	g->grp->rq_tail = c;
}

static struct grpx_node *next(struct run *r, struct grpx_node *g)
{
	struct grpx_node *c = g->grp->rq_head;

	(void)r;
	if (c) {
		g->grp->rq_head = c->q_next;
		if (!g->grp->rq_head)
			g->grp->rq_tail = NULL;
		c->q_next = NULL;
	}
	return c;
}

static void ended(struct run *r, struct grpx_node *g, struct grpx_node *c)
{
	group_offer(r, g, c);
	if (status_bad(c->status))
		group_on_error(r, g, c, GRPX_ON_CONTINUE);
	group_settle_all_ok(r, g);
}

const struct mode_ops mode_schedule = {
	.begin = begin,
	.next = next,
	.ended = ended,
	.wake = wake,
};
