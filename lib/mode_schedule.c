/*
 * schedule: each child starts at its `delay` after the group starts, or at
 * its wall-clock `at`.  Every child's time is an entry of the run's one
 * heap; ties fire in input order.  Children whose time came wait in a FIFO
 * for a free slot under `limit`.
 */
#include <time.h>

#include "engine.h"

/* Monotonic ms of an `at` moment: RFC 3339, or the next local HH:MM:SS. */
static int64_t at_due(int64_t started_at, const struct at_spec *at)
{
	struct timespec now;
	int64_t wall, due;

	clock_gettime(CLOCK_REALTIME, &now);
	wall = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	if (at->kind == AT_ABS) {
		due = at->value;
	} else {
		time_t t = now.tv_sec;
		struct tm tm;
		localtime_r(&t, &tm);
		for (int day = 0; day < 2; day++) {
			struct tm m = tm;
			m.tm_mday += day;
			m.tm_hour = (int)(at->value / 3600000);
			m.tm_min = (int)(at->value / 60000 % 60);
			m.tm_sec = (int)(at->value / 1000 % 60);
			m.tm_isdst = -1;
			due = (int64_t)mktime(&m) * 1000 + at->value % 1000;
			if (due > wall)
				break;
		}
	}
	return due > wall ? deadline_after(started_at, due - wall) : started_at;
}

static void begin(struct run *r, struct grpx_node *g)
{
	g->grp->rq_head = g->grp->rq_tail = NULL;
	for (uint32_t i = 0; i < g->nkids; i++) {
		struct grpx_node *c = g->kids[i];
		int64_t due = g->grp->started_at;
		if (c->opt->delay_ms >= 0)
			due += c->opt->delay_ms * 1000;
		else if (c->opt->at.kind != AT_NONE)
			due = at_due(g->grp->started_at, &c->opt->at);
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
