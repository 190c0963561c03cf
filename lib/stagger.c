/*
 * stagger.c - hedged starts for race and take.
 *
 * Child i may start at i x stagger after the group started, except that
 * whenever every started child has failed the next one starts at once (the
 * later ones keep their times).  m.seq.released counts the children
 * released so far, m.seq.next those started.
 */
#include "mode.h"

int stagger_begin(struct grpx_node *g, const struct mode_now *now)
{
	(void)now;
	g->grp->m.seq.next = 0;
	g->grp->m.seq.released = g->opt->stagger_ms > 0 ? 1 : g->nkids;
	return 0;
}

uint32_t stagger_next(struct grpx_node *g, const struct mode_now *now)
{
	struct group *gr = g->grp;

	if (g->opt->stagger_ms > 0) {
		int64_t due = (now->run_us - gr->started_at) / (g->opt->stagger_ms * 1000) + 1;
		if (due > (int64_t)gr->m.seq.released)
			gr->m.seq.released = due > (int64_t)g->nkids ? g->nkids : (uint32_t)due;
	}
	return gr->m.seq.next < gr->m.seq.released ? gr->m.seq.next++ : M_NONE;
}

int64_t stagger_due(const struct grpx_node *g, const struct mode_now *now)
{
	const struct group *gr = g->grp;
	int64_t step = g->opt->stagger_ms;

	(void)now;
	if (step <= 0 || gr->m.seq.released >= g->nkids)
		return INT64_MAX;
	if ((int64_t)gr->m.seq.released > (INT64_MAX - gr->started_at) / 1000 / step)
		return INT64_MAX;
	return gr->started_at + (int64_t)gr->m.seq.released * step * 1000;
}

void stagger_failed(struct grpx_node *g)
{
	struct group *gr = g->grp;

	if (gr->running == 0 && gr->m.seq.next == gr->m.seq.released && gr->m.seq.released < g->nkids)
		gr->m.seq.released++;
}
