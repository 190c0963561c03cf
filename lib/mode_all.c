/*
 * all: every child's stdout, in input order, failed children's too; the
 * engine releases a child's output as soon as all before it have gone.
 */
#include "mode.h"

static struct decision ended(struct grpx_node *g, struct grpx_node *c)
{
	(void)c;
	return all_ok(g, OUT_HOLD);
}

const struct mode_ops mode_all = {
	.next = next_in_order,
	.ended = ended,
};
