/*
 * event.c - what is told about a run as it goes: live events (the caller's
 * callback and --events lines), the journal line of what ended, and the
 * ended list run.c hands to the groups once per turn.
 */
#include <stdio.h>

#include "run.h"

void run_event(struct grpx_run *r, struct grpx_event e)
{
	e.t_ms = rel_ms(r);
	if (!e.attempt)
		e.attempt = e.node->attempt;
	if (r->o->event)
		r->o->event(r->o->ctx, &e);
	if (!r->evf || outq_of(&r->out[GRPX_EVENTS])->broken)
		return;
	rewind(r->evf);
	event_write(r->evf, &e);
	if (fflush(r->evf) == 0) {
		long len = ftell(r->evf);
		if (len > 0)
			outq_bytes(r, &r->out[GRPX_EVENTS], r->evbuf, (size_t)len);
	}
}

void run_end_event(struct grpx_run *r, struct grpx_node *n)
{
	char why[8192];

	run_event(r, (struct grpx_event){ .kind = GRPX_EV_END, .node = n, .status = n->status,
					  .exit_code = n->exit_code, .signal = n->signal,
					  .reason = grpx_node_reason(n, why, sizeof why) });
	journal_end(r, n);
}

void run_cancel_event(struct grpx_run *r, struct grpx_node *n)
{
	char why[8192];

	run_event(r, (struct grpx_event){ .kind = GRPX_EV_CANCEL, .node = n,
					  .reason = grpx_node_reason(n, why, sizeof why) });
}

int grpx_run_write(struct grpx_run *r, int stream, const char *buf, size_t len)
{
	if (stream < GRPX_STDOUT || stream > GRPX_EVENTS)
		return -1;
	return outq_bytes(r, &r->out[stream], buf, len);
}

void node_ended(struct grpx_run *r, struct grpx_node *n)
{
	close_late(r, &n->in_fd); /* the spool a waterfall handed it, read or not */
	n->state = T_DONE;
	if (n->end_ms < 0 || n->kind == NODE_TASK)
		n->end_ms = rel_ms(r);
	n->q_next = NULL;
	if (r->done_tail)
		r->done_tail->q_next = n;
	else
		r->done_head = n;
	r->done_tail = n;
	run_end_event(r, n);
}
