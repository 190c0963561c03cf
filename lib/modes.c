/*
 * modes.c - the table of modes: every fact about a mode in one row, its
 * policy (mode_*.c) beside it, and the rules several modes share.
 */
#include "mode.h"

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

static const struct mode_info infos[GRPX_NMODES] = {
	[GRPX_ERRGROUP] = { "errgroup", GRPX_ON_CANCEL, 1, M_LIMIT },
	[GRPX_SIZED] = { "sized", GRPX_ON_CONTINUE, 1, M_LIMIT | M_NCPU },
	[GRPX_ALL] = { "all", GRPX_ON_CONTINUE, 1, M_LIMIT | M_SELECTS | M_ORDERED },
	[GRPX_RACE] = { "race", -1, 1, M_LIMIT | M_SELECTS | M_STAGGER | M_NEED_CMD },
	[GRPX_TAKE] = { "take", GRPX_ON_CONTINUE, 1,
			M_LIMIT | M_SELECTS | M_STAGGER | M_COUNT | M_NEED_CMD },
	[GRPX_LAST] = { "last", GRPX_ON_CONTINUE, 1, M_LIMIT | M_SELECTS | M_COUNT | M_NEED_CMD },
	[GRPX_RETRY] = { "retry", -1, 3, M_SELECTS | M_ONE_CHILD | M_RETRY | M_NEED_CMD },
	[GRPX_WATERFALL] = { "waterfall", -1, 1, M_SELECTS | M_STAGES | M_NEED_CMD },
	[GRPX_SCHEDULE] = { "schedule", GRPX_ON_CONTINUE, 1, M_LIMIT | M_TIMES },
};

static const struct mode_ops *const opses[GRPX_NMODES] = {
	[GRPX_ERRGROUP] = &mode_streaming, [GRPX_SIZED] = &mode_streaming,
	[GRPX_ALL] = &mode_all,            [GRPX_RACE] = &mode_race,
	[GRPX_TAKE] = &mode_take,          [GRPX_LAST] = &mode_last,
	[GRPX_RETRY] = &mode_retry,        [GRPX_WATERFALL] = &mode_waterfall,
	[GRPX_SCHEDULE] = &mode_schedule,
};

const struct mode_info *mode_info_of(int mode)
{
	return &infos[mode];
}

const struct mode_ops *mode_ops_of(int mode)
{
	return opses[mode];
}

bool mode_has(int mode, enum mode_flag f)
{
	return (infos[mode].flags & f) != 0;
}

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

	if (gr->ended == g->nkids || (g->draining && gr->running == 0))
		return (struct decision){ out, gr->nbad ? V_FAIL : V_OK, WHY_FAILED, false,
					  g->err_head };
	return (struct decision){ .out = (uint8_t)out };
}

struct grpx_node *first_cause(struct grpx_node *c)
{
	return c->err_head ? c->err_head : c;
}
