/*
 * stagger.c - hedged starts for race and take.
 *
 * Child i may start at i x stagger after the group started, except that
 * whenever every started child has failed the next one starts at once (the
 * later ones keep their times).  g->emitted counts the children released
 * so far; one wake timer on the group releases the next.
 */
#include "internal.h"

static void arm_next(struct run *r, struct grpx_node *g)
{
	if (g->grp->emitted < g->nkids)
		timer_arm(r, g, 1, deadline_after(g->grp->started_at, (int64_t)g->grp->emitted * g->opt->stagger_ms));
}

void stagger_begin(struct run *r, struct grpx_node *g)
{
	g->grp->emitted = g->opt->stagger_ms > 0 ? 1 : g->nkids;
	arm_next(r, g);
}

struct grpx_node *stagger_next(struct run *r, struct grpx_node *g)
{
	(void)r;
	return g->grp->next < g->grp->emitted ? g->kids[g->grp->next++] : NULL;
}

void stagger_wake(struct run *r, struct grpx_node *g, struct grpx_node *c)
{
	(void)c;
	int64_t due = (run_now(r) - g->grp->started_at) / (g->opt->stagger_ms * 1000) + 1;

	if (due > (int64_t)g->grp->emitted)
		g->grp->emitted = due > (int64_t)g->nkids ? g->nkids : (uint32_t)due;
	arm_next(r, g);
}

void stagger_failed(struct run *r, struct grpx_node *g)
{
	(void)r;
	if (g->grp->running == 0 && g->grp->next == g->grp->emitted && g->grp->emitted < g->nkids)
		g->grp->emitted++;
}
