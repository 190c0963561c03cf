/*
 * retry: run the single child again and again until an attempt ends ok,
 * `attempts` run out, or the exit code is not one of `retry_on`.  Failed
 * attempts' stdout goes to stderr; backoff waits are the group's wake
 * timer.
 */
#include "engine.h"

static struct grpx_node *next(struct run *r, struct grpx_node *g)
{
	(void)r;
	if (g->grp->next)
		return NULL;
	g->grp->next = 1;
	if (g->nlog == g->attempt) /* the last one is logged: this is the next */
		g->attempt++;
	return g->kids[0];
}

/* The exit code that retry_on looks at: the first cause's. */
static int exit_code_of(const struct grpx_node *c)
{
	return c->err_head ? c->err_head->exit_code : c->exit_code;
}

void retry_log(struct grpx_node *g, const struct grpx_node *c)
{
	node_log(g, (struct attempt){ exit_code_of(c),
				      c->err_head ? c->err_head->signal : c->signal,
				      c->status, c->start_ms, c->end_ms });
}

static void ended(struct run *r, struct grpx_node *g, struct grpx_node *c)
{
	retry_log(g, c);
	if (c->status == GRPX_OK) {
		group_offer(r, g, c);
		group_decide(r, g, GRPX_OK, WHY_NONE, NULL);
	} else if (may_retry(g, c->status, exit_code_of(c), g->attempt)) {
		group_discard(r, c, true);
		node_reset(r, c);
		c->state = T_WAIT;
		retry_after(r, g, backoff_ms(g, g->attempt));
	} else {
		group_note_error(g, c);
		group_decide(r, g, c->status == GRPX_CANCELED ? GRPX_CANCELED : GRPX_FAILED,
			     WHY_FAILED, c);
	}
}

static void wake(struct run *r, struct grpx_node *g, struct grpx_node *c)
{
	(void)r;
	(void)c;
	g->kids[0]->state = T_IDLE;
	g->grp->next = 0;
}

const struct mode_ops mode_retry = {
	.selects = true,
	.next = next,
	.ended = ended,
	.wake = wake,
};
