/*
 * adhoc_task.c - the nodes of an ad-hoc job: its root, its one group, and
 * each task, whether made from the command line at once (adhoc.c) or from
 * an input as the run goes (feed.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mode.h"

/* attempts, backoff and retry_on: on the retry group, else on each task. */
int adhoc_set_retry(struct grpx_node *n, const struct grpx_adhoc *a)
{
	struct node_opts *o;

	n->attempts = (int32_t)a->attempts;
	if (a->initial_ms < 0 && a->nretry_on == 0)
		return 0; /* the defaults: no opts of its own */
	if (!(o = node_opts(n)))
		return -1;
	o->backoff.initial_ms = a->initial_ms;
	o->backoff.max_ms = a->max_ms;
	if (a->factor != 0)
		o->backoff.factor = a->factor;
	if (a->nretry_on == 0)
		return 0;
	if (!(o->retry_on = xcalloc(a->nretry_on, sizeof *o->retry_on)))
		return -1;
	memcpy(o->retry_on, a->retry_on, a->nretry_on * sizeof *o->retry_on);
	o->nretry_on = (uint32_t)a->nretry_on;
	return 0;
}

/* A group of kind `kind` or a task, as the `index`-th child of p. */
struct grpx_node *adhoc_add(struct grpx_job *job, struct grpx_node *p, uint32_t index,
			    const char *name)
{
	struct grpx_node *n = node_new(p, index);

	if (!n)
		return NULL;
	n->seq = job->nnodes++;
	if (node_set_name(n, name) != 0) {
		node_free(n);
		return NULL;
	}
	if (p)
		p->kids[p->nkids++] = n;
	else
		job->root = n;
	return n;
}

struct grpx_node *adhoc_task(struct grpx_job *job, struct grpx_node *g, char *run, char **input,
			     const struct grpx_adhoc *a, size_t *cap)
{
	const struct mode_info *mi = mode_info_of(g->mode);
	uint32_t i = g->nkids;
	struct grpx_node *t = NULL;
	char pos[24];

	if (i == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct grpx_node **v = realloc(g->kids, ncap * sizeof *v);
		if (!v || i == UINT32_MAX - 2)
			goto fail;
		g->kids = v;
		*cap = ncap;
	}
	snprintf(pos, sizeof pos, "%u", i + 1);
	if (!(t = adhoc_add(job, g, i, pos)))
		goto fail;
	t->run = run;
	t->input = input;
	t->timeout_ms = a->task_timeout_ms;
	if (!(mi->flags & M_ONE_CHILD) && adhoc_set_retry(t, a) != 0)
		return NULL; /* t is g's now: freed with it */
	if ((mi->flags & M_TIMED) && a->delay_ms >= 0) {
		struct node_opts *o = node_opts(t);
		if (!o)
			return NULL;
		o->delay_ms = i && a->delay_ms > GRPX_DURATION_MAX_MS / (int64_t)i
			? GRPX_DURATION_MAX_MS : a->delay_ms * (int64_t)i;
	}
	if (a->stdin_stage && (mi->flags & M_STAGES) && i == 0)
		t->stdin_inherit = true; /* `seq 5 | grpx waterfall 'sort -r' 'head -2'` */
	return t;
fail:
	free(run);
	for (char **p = input; p && *p; p++)
		free(*p);
	free(input);
	return NULL;
}
