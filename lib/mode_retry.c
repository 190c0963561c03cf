/*
 * retry: run the single child again and again until an attempt ends ok,
 * `attempts` run out, or the exit code is not one of `retry_on`.  Failed
 * attempts' stdout goes to stderr; the engine waits the backoff, makes the
 * child new and starts it again.
 */
#include "mode.h"

static uint32_t next(struct grpx_node *g, const struct mode_now *now)
{
	(void)now;
	if (g->grp->m.seq.next)
		return M_NONE;
	g->grp->m.seq.next = 1;
	return 0;
}

static struct decision ended(struct grpx_node *g, struct grpx_node *c)
{
	if (c->status == GRPX_OK)
		return (struct decision){ OUT_PICK, V_OK, WHY_NONE, false, NULL };
	/* a Slurm task that the allocation's end kept from starting would
	 * not start again either */
	if (first_cause(c)->why != WHY_ALLOC && may_retry(g, c->status, retry_exit_code(c), g->attempt))
		return (struct decision){ .out = OUT_STDERR, .verdict = V_RETRY };
	return (struct decision){ OUT_DROP, V_FAIL, WHY_FAILED, c->status == GRPX_CANCELED, c };
}

const struct mode_ops mode_retry = {
	.next = next,
	.ended = ended,
};
