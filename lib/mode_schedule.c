/*
 * schedule: each child starts at its `delay` after the group starts, or at
 * its wall-clock `at`.  The children are sorted by due time once, when the
 * group starts; the group's one timer wakes it at the earliest, and
 * children whose time came wait, in that order, for a slot under `limit`.
 * A `delay` is counted on the run clock (time grpx spent stopped does not
 * count); an `at` keeps its hour on the wall clock.
 */
#include <stdlib.h>

#include "mode.h"

struct sched {
	struct due { int64_t at; uint32_t idx; } *v, *w; /* delay (run clock), `at` (wall) */
	uint32_t nv, nw, cv, cw;                          /* counts, cursors */
	int64_t t0;                                       /* when the group started */
};

static int by_due(const void *a, const void *b)
{
	const struct due *x = a, *y = b;

	if (x->at != y->at)
		return x->at < y->at ? -1 : 1;
	return (x->idx > y->idx) - (x->idx < y->idx);
}

static int begin(struct grpx_node *g, const struct mode_now *now)
{
	struct sched *s = calloc(1, sizeof *s);
	int64_t t0 = g->grp->started_at;

	if (!s || !(s->v = calloc(g->nkids + 1, sizeof *s->v)) ||
	    !(s->w = calloc(g->nkids + 1, sizeof *s->w))) {
		if (s)
			free(s->v);
		free(s);
		return -1;
	}
	for (uint32_t i = 0; i < g->nkids; i++) {
		const struct node_opts *o = g->kids[i]->opt;
		int64_t wall = o->delay_ms < 0 && o->at.kind != AT_NONE
				       ? at_next_ms(&o->at, now->wall_us / 1000) * 1000 : 0;
		if (wall > now->wall_us) /* a moment to come: on the wall clock */
			s->w[s->nw++] = (struct due){ wall, i };
		else /* a delay, none, or a moment already past: at once */
			s->v[s->nv++] = (struct due){
				o->delay_ms > 0 && o->delay_ms < (INT64_MAX - t0) / 1000
					? t0 + o->delay_ms * 1000 : o->delay_ms > 0 ? INT64_MAX : t0, i };
	}
	s->t0 = t0;
	qsort(s->v, s->nv, sizeof *s->v, by_due);
	qsort(s->w, s->nw, sizeof *s->w, by_due);
	g->grp->m.sched = s;
	return 0;
}

/* The run-clock due time of the next `at` child; a moment before the
 * group started counts as its start (then input order decides). */
static int64_t wall_due(const struct sched *s, const struct mode_now *now)
{
	int64_t d = s->w[s->cw].at - now->wall_us;

	if (d > INT64_MAX - now->run_us)
		return INT64_MAX;
	return now->run_us + d < s->t0 ? s->t0 : now->run_us + d;
}

/* Which list's head comes first: equal times go in input order. */
static bool delay_first(const struct sched *s, const struct mode_now *now)
{
	if (s->cw == s->nw)
		return true;
	if (s->cv == s->nv)
		return false;
	int64_t a = s->v[s->cv].at, b = wall_due(s, now);
	return a != b ? a < b : s->v[s->cv].idx < s->w[s->cw].idx;
}

static uint32_t next(struct grpx_node *g, const struct mode_now *now)
{
	struct sched *s = g->grp->m.sched;

	if (s->cv == s->nv && s->cw == s->nw)
		return M_NONE;
	if (delay_first(s, now))
		return s->v[s->cv].at <= now->run_us ? s->v[s->cv++].idx : M_NONE;
	return wall_due(s, now) <= now->run_us ? s->w[s->cw++].idx : M_NONE;
}

static int64_t due(const struct grpx_node *g, const struct mode_now *now)
{
	const struct sched *s = g->grp->m.sched;

	if (s->cv == s->nv && s->cw == s->nw)
		return INT64_MAX;
	return delay_first(s, now) ? s->v[s->cv].at : wall_due(s, now);
}

static struct decision ended(struct grpx_node *g, struct grpx_node *c)
{
	(void)c;
	return all_ok(g, OUT_PASS);
}

static void end(struct grpx_node *g)
{
	struct sched *s = g->grp->m.sched;

	if (s) {
		free(s->v);
		free(s->w);
		free(s);
	}
	g->grp->m.sched = NULL;
}

const struct mode_ops mode_schedule = {
	.begin = begin,
	.next = next,
	.ended = ended,
	.due = due,
	.end = end,
};
