/*
 * node.c - a node's run state as before any attempt, and the settings a
 * node inherits from the groups above it while it runs.
 */
#include <stdlib.h>

#include "run.h"

int64_t grace_of(const struct grpx_run *r, const struct grpx_node *n)
{
	for (; n; n = n->parent) {
		if (!n->parent && r->o->grace_ms >= 0)
			return r->o->grace_ms;
		if (n->opt->grace_ms >= 0)
			return n->opt->grace_ms;
	}
	return 2000;
}

/* Does n run again after a failed attempt of its own? */
static bool retries(const struct grpx_node *n)
{
	if (n->kind == NODE_GROUP && mode_has(n->mode, M_ONE_CHILD))
		return false; /* a retry group's attempts are its child's */
	if (n->attempts >= 0)
		return n->attempts != 1;
	return n->kind == NODE_GROUP &&
	       (n->opt->backoff.initial_ms >= 0 || n->opt->nretry_on > 0);
}

void node_init(struct grpx_node *n, struct grpx_node *up)
{
	n->up = up;
	n->status = GRPX_PENDING;
	n->state = T_IDLE;
	n->why = WHY_NONE;
	n->jq = Q_NONE;
	n->cause = NULL;
	n->pid = n->pgid = -1;
	n->out_fd = n->in_fd = -1;
	n->exit_code = -1;
	n->signal = n->errnum = 0;
	n->errwhat = EW_SPAWN;
	n->attempt = n->pick = n->jslot = 0;
	n->start_ms = n->end_ms = -1;
	n->stdout_bytes = n->stderr_bytes = 0;
	n->cap_out = n->cap_err = 0;
	n->nlog = 0;
	n->slot[0] = n->slot[1] = -1;
	n->err_seq = 0;
	n->io = NULL;
	if (n->grp) /* its counters; limit and count are the job's */
		*n->grp = (struct group){ .limit = n->grp->limit, .count = n->grp->count,
					  .feed = n->grp->feed };
	n->res_head = n->res_tail = n->res_next = NULL;
	n->err_head = n->err_tail = n->err_next = NULL;
	n->q_next = n->pick_next = n->jq_prev = n->jq_next = NULL;
	n->verdict = n->draining = n->kill_sent = n->counted = false;
	n->slurm_scan_off = n->slurm_refused = n->slurm_killing = false;
	n->resumed = false; /* n->resume, the mark, stays: it holds for every attempt */
	free(n->errtext);
	n->errtext = NULL;
	n->retries = retries(n);
	n->counts = n->retries || (n->kind == NODE_GROUP && mode_has(n->mode, M_ONE_CHILD));
	n->held = n->retries || (up && (mode_has(up->mode, M_SELECTS) || up->held));
	for (uint32_t i = 0; i < n->nkids; i++)
		node_init(n->kids[i], n);
}
