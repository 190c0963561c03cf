/*
 * retry.c - attempts: whether and when a node tries again, and the record
 * of every attempt (the report's attempt_log, the trace).
 *
 * A node tries again when it `retries` (a task or group with `attempts`,
 * `backoff` or `retry_on`: its own attempts), or when it is the child of a
 * `retry` group (the group's attempts).  Either way the node that counts
 * the attempts keeps the log.
 */
#include <stdlib.h>

#include "run.h"

int64_t backoff_ms(struct grpx_run *r, const struct grpx_node *n, uint32_t attempt)
{
	const struct backoff *b = &n->opt->backoff;
	double d;

	if (b->initial_ms < 0)
		return 0;
	d = (double)b->initial_ms;
	for (uint32_t i = 1; i < attempt && d < 1e12; i++)
		d *= b->factor >= 1 ? b->factor : 2;
	if (b->max_ms >= 0 && d > (double)b->max_ms)
		d = (double)b->max_ms;
	if (d > (double)GRPX_DURATION_MAX_MS)
		d = (double)GRPX_DURATION_MAX_MS;
	if (b->jitter) { /* equal jitter: half fixed, half random (xorshift) */
		uint64_t x = r->rand_state;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		r->rand_state = x;
		d = d / 2 + (double)(x % 1000000) / 1e6 * d / 2;
	}
	return (int64_t)d;
}

bool may_retry(const struct grpx_node *n, int status, int exit_code, uint32_t attempt)
{
	int64_t max = n->attempts >= 0 ? n->attempts
		      : n->kind == NODE_GROUP ? mode_info_of(n->mode)->attempts : 1;

	if (!status_bad(status) || status == GRPX_ERROR)
		return false;
	if (max != 0 && attempt >= (uint64_t)max)
		return false;
	if (!n->opt->nretry_on)
		return true;
	if (status != GRPX_FAILED || exit_code < 0)
		return false;
	for (uint32_t i = 0; i < n->opt->nretry_on; i++)
		if (n->opt->retry_on[i] == exit_code)
			return true;
	return false;
}

int retry_exit_code(const struct grpx_node *c)
{
	return c->err_head ? c->err_head->exit_code : c->exit_code;
}

int attempt_log(struct grpx_node *n, struct attempt a)
{
	if (n->nlog == n->caplog) {
		uint32_t cap = n->caplog ? n->caplog * 2 : 4;
		struct attempt *v = realloc(n->log, cap * sizeof *v);
		if (!v)
			return -1;
		n->log = v;
		n->caplog = cap;
	}
	n->log[n->nlog++] = a;
	return 0;
}

void retry_after(struct grpx_run *r, struct grpx_node *n, int64_t ms)
{
	run_event(r, (struct grpx_event){ .kind = GRPX_EV_RETRY, .node = n, .delay_ms = (double)ms });
	timer_after(r, n, TM_WAKE, ms);
}

const struct grpx_node *attempt_counter(const struct grpx_node *t)
{
	for (; t; t = t->up)
		if (t->counts)
			return t;
	return NULL;
}

void trace_record(struct grpx_run *r, struct grpx_node *t)
{
	const struct grpx_node *ac = attempt_counter(t);

	if (!r->o->record_attempts)
		return;
	if (r->nrecs == r->caprecs) {
		size_t cap = r->caprecs ? r->caprecs * 2 : 256;
		struct rec *v = realloc(r->recs, cap * sizeof *v);
		if (!v)
			return;
		r->recs = v;
		r->caprecs = cap;
	}
	r->recs[r->nrecs++] = (struct rec){
		t, { t->exit_code, t->signal, t->status,
		     t->retries && t->nlog ? t->log[t->nlog - 1].start_ms : t->start_ms, rel_ms(r) },
		ac ? ac->attempt : 1 };
}
