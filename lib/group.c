/*
 * group.c - a group's life: start children under its limit, hear their
 * ends in position order, act on its mode's decisions, cancel or skip the
 * rest, and end once every child it started has ended.
 *
 * A group attempt runs (G_RUN) until it has a verdict; then it stops its
 * running children (G_STOP) and ends when the last one has ended.  A group
 * that retries itself waits its backoff (G_WAIT) and runs again; so does a
 * `retry` group between two attempts of its child.  Events that can reach
 * a group are a table, as for tasks: group_table[state][event].
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "run.h"

static void check_end(struct grpx_run *r, struct grpx_node *g);

static struct mode_now now_of(const struct grpx_run *r)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (struct mode_now){ run_now(r), (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 };
}

static uint32_t limit_of(const struct grpx_run *r, const struct grpx_node *g)
{
	return g->grp->limit ? g->grp->limit : mode_has(g->mode, M_NCPU) ? r->ncpu : 0;
}

/* Arm the group's wake timer for when its mode next wants to start one.
 * A group at its limit waits for a child to end instead (group_fill runs
 * then): a due time already past would fire again at once, for ever. */
static void arm_due(struct grpx_run *r, struct grpx_node *g)
{
	const struct mode_ops *ops = mode_ops_of(g->mode);
	uint32_t limit = limit_of(r, g);
	struct mode_now now;
	int64_t due = INT64_MAX;

	if (g->state == G_RUN && !g->verdict && !g->draining && ops->due &&
	    (!limit || g->grp->running < limit)) {
		now = now_of(r);
		due = ops->due(g, &now);
	}
	if (due == INT64_MAX)
		timer_disarm(r, g, TM_WAKE);
	else
		timer_arm(r, g, TM_WAKE, due);
}

static void on_input(struct grpx_run *r, struct watch *w, uint32_t revents);
static void settle(struct grpx_run *r, struct grpx_node *g);

/* Read the input only while g wants a child it does not have yet.
 * Returns true when the input turned out to be a file: ask it again. */
static bool want_input(struct grpx_run *r, struct grpx_node *g, bool want)
{
	int err = feed_watch(r, g->grp->feed, g, on_input, want);

	if (err == EAGAIN)
		return true;
	if (err)
		feed_stop(r, g->grp->feed); /* cannot watch it: no more children */
	return false;
}

/*
 * A mode that chooses among its children (race, take, waterfall, ...)
 * sees them all: its input is read to the end before the first starts.
 * Returns true once they are all there.
 */
static bool all_input(struct grpx_run *r, struct grpx_node *g)
{
	struct feed *f = g->grp->feed;
	struct mode_now now = now_of(r);

	if (!f || !feed_waits_all(f, g->mode))
		return true;
	while (feed_pull(r, g) > 0)
		;
	if (!feed_done(f)) {
		if (want_input(r, g, true))
			return all_input(r, g);
		return false;
	}
	want_input(r, g, false);
	g->grp->open = false;
	if (feed_check(f, g) < 0) { /* a usage error: nothing runs, the caller says why */
		r->input_error = feed_error(f);
		group_decide(r, g, GRPX_CANCELED, WHY_NONE, NULL);
		return false;
	}
	if (g->nkids == 0) {
		group_decide(r, g, GRPX_OK, WHY_NONE, NULL);
		return false;
	}
	if (mode_ops_of(g->mode)->begin && mode_ops_of(g->mode)->begin(g, &now) < 0) {
		group_decide(r, g, GRPX_FAILED, WHY_FAILED, NULL);
		return false;
	}
	return true;
}

void group_fill(struct grpx_run *r, struct grpx_node *g)
{
	const struct mode_ops *ops = mode_ops_of(g->mode);
	uint32_t limit = limit_of(r, g);
	struct mode_now now = now_of(r);
	bool hungry = false;

	if (g->state != G_RUN || (g->grp->feed && !all_input(r, g)))
		return;
	while (!g->verdict && !g->draining && !r->signal && !r->sig_pending &&
	       (!limit || g->grp->running < limit)) {
		uint32_t i = ops->next(g, &now);
		if (i == M_NONE && g->grp->open) { /* ask the input for one more */
			int k = feed_pull(r, g);
			if (k > 0)
				continue;
			if (k == 0) {
				hungry = true;
			} else {
				g->grp->open = false;
				settle(r, g);
			}
			break;
		}
		if (i == M_NONE)
			break;
		struct grpx_node *c = g->kids[i];
		if (c->state == T_DONE)
			continue; /* resumed when the attempt began */
		c->counted = true;
		g->grp->running++;
		if (c->kind == NODE_GROUP)
			group_start(r, c);
		else
			task_launch(r, c);
	}
	if (g->grp->open && want_input(r, g, hungry && g->state == G_RUN && !g->verdict)) {
		group_fill(r, g);
		return;
	}
	arm_due(r, g);
}

/* n never started: skipped, and everything below it. */
static void skip_tree(struct grpx_run *r, struct grpx_node *n, int why, struct grpx_node *cause)
{
	n->status = GRPX_SKIPPED;
	n->state = T_DONE;
	n->why = (uint8_t)why;
	n->cause = cause;
	close_late(r, &n->in_fd);
	timer_disarm(r, n, TM_DEADLINE);
	timer_disarm(r, n, TM_WAKE);
	for (uint32_t i = 0; i < n->nkids; i++)
		skip_tree(r, n->kids[i], why, cause);
	run_end_event(r, n);
}

/* n and what is below it end without running, as --resume marked them:
 * ok, or skipped inside a group resumed whole (`top`). */
static void resume_tree(struct grpx_run *r, struct grpx_node *n, struct grpx_node *top)
{
	for (uint32_t i = 0; i < n->nkids; i++)
		resume_tree(r, n->kids[i], top);
	n->attempt = 0;
	if (n->resume == RM_OK) {
		n->status = GRPX_OK;
		n->resumed = true;
	} else {
		n->status = GRPX_SKIPPED;
		n->why = WHY_RESUMED;
		n->cause = top;
	}
	if (n == top) { /* its group hears of it as of any child that ended */
		node_ended(r, n);
		return;
	}
	n->state = T_DONE;
	n->end_ms = rel_ms(r);
	run_end_event(r, n);
}

/* The children that ended ok in the file given to --resume end so now,
 * whatever the mode's order or times: nothing of them runs. */
static void resume_kids(struct grpx_run *r, struct grpx_node *g)
{
	for (uint32_t i = 0; i < g->nkids; i++) {
		struct grpx_node *c = g->kids[i];
		if (c->resume != RM_OK)
			continue;
		c->counted = true; /* the group waits for its delivery */
		g->grp->running++;
		resume_tree(r, c, c);
	}
}

/* Count bad child c's causes among g's (before the verdict only). */
static void note_error(struct grpx_node *g, struct grpx_node *c)
{
	if (g->verdict || !c->err_head)
		return;
	if (g->err_tail)
		g->err_tail->err_next = c->err_head;
	else
		g->err_head = c->err_head;
	g->err_tail = c->err_tail;
	c->err_head = c->err_tail = NULL;
}

static void drop_picks(struct grpx_run *r, struct grpx_node *g)
{
	struct grpx_node *c = g->grp->pick_head;

	g->grp->pick_head = g->grp->pick_tail = NULL;
	while (c) {
		struct grpx_node *next = c->pick_next;
		c->pick_next = NULL;
		c->pick = 0;
		results_discard(r, c, false);
		c = next;
	}
}

void group_decide(struct grpx_run *r, struct grpx_node *g, int status, int why,
		  struct grpx_node *cause)
{
	if (g->verdict)
		return;
	g->verdict = true;
	g->status = (uint8_t)status;
	if (status == GRPX_CANCELED && why != WHY_NONE && g->why == WHY_NONE) {
		/* the root, interrupted, is decided here, not by node_cancel:
		 * a canceled node carries its reason (SPEC 6) */
		g->why = (uint8_t)why;
		g->cause = cause;
	}
	if (g->grp->feed && g->grp->open) { /* what is left of its input is not read */
		feed_stop(r, g->grp->feed);
		g->grp->open = false;
	}
	if (status != GRPX_OK)
		drop_picks(r, g); /* nothing was emitted: nothing is `selected` */
	timer_disarm(r, g, TM_WAKE);
	for (uint32_t i = 0; i < g->nkids; i++) {
		struct grpx_node *c = g->kids[i];
		if (c->state == T_IDLE && !c->counted) {
			/* never started: because of a drain, if one began */
			if (g->draining)
				skip_tree(r, c, WHY_FAILED, g->grp->drain_cause);
			else
				skip_tree(r, c, why, cause);
			g->grp->ended++;
		} else if (c->state != T_DONE) {
			node_cancel(r, c, why, cause);
		}
	}
	if (g->state == G_RUN || g->state == G_IDLE)
		g->state = G_STOP;
	check_end(r, g);
}

/* on_error of g for its bad child c (modes that have the key). */
static void apply_on_error(struct grpx_run *r, struct grpx_node *g, struct grpx_node *c)
{
	int policy = g->on_error >= 0 ? g->on_error : mode_info_of(g->mode)->on_error;

	note_error(g, c);
	if (policy == GRPX_ON_CANCEL) {
		group_decide(r, g, GRPX_FAILED, WHY_FAILED, first_cause(g));
	} else if (policy == GRPX_ON_DRAIN && !g->draining) {
		g->draining = true;
		g->grp->drain_cause = first_cause(g);
		/* children still waiting for a --jobs slot or the terminal will
		 * not start: they end now, not when a slot frees */
		for (uint32_t i = 0; i < g->nkids; i++)
			if (g->kids[i]->state == T_QUEUED)
				node_cancel(r, g->kids[i], WHY_FAILED, g->grp->drain_cause);
	}
}

/* all: each child's output goes up once all before it have gone. */
static void release_in_order(struct grpx_run *r, struct grpx_node *g)
{
	struct group *gr = g->grp;

	while (!g->verdict && gr->released < g->nkids && g->kids[gr->released]->state == T_DONE) {
		struct grpx_node *k = g->kids[gr->released++];
		if ((k->status == GRPX_OK && !k->resumed) || status_bad(k->status))
			results_offer(r, g, k);
		else
			results_discard(r, k, false);
	}
}

/* Waterfall: stage c's output becomes the next stage's stdin. */
static void handoff(struct grpx_run *r, struct grpx_node *g, struct grpx_node *c)
{
	struct grpx_node *n = g->kids[c->index + 1];
	int fd = results_handoff(r, c);

	if (fd == -2) { /* its input could not be kept: the next stage cannot start */
		n->errnum = errno;
		n->errwhat = EW_INPUT;
		n->status = GRPX_ERROR;
		n->state = T_DONE;
		n->err_head = n->err_tail = n;
		n->err_seq = ++r->err_stamp;
		n->counted = true;
		g->grp->running++;
		g->grp->m.seq.next = c->index + 2;
		node_ended(r, n);
		return;
	}
	n->in_fd = fd;
}

static void apply_fate(struct grpx_run *r, struct grpx_node *g, struct grpx_node *c, int out)
{
	switch (out) {
	case OUT_PASS:
		results_offer(r, g, c);
		break;
	case OUT_HOLD:
		break;
	case OUT_PICK:
	case OUT_KEEP_LAST:
		results_pick(r, g, c, out == OUT_KEEP_LAST);
		break;
	case OUT_STDERR:
		results_discard(r, c, true);
		break;
	case OUT_HANDOFF:
		handoff(r, g, c);
		break;
	default:
		results_discard(r, c, false);
	}
}

/* A retry group's child failed and may try again: wait the backoff. */
static void retry_child(struct grpx_run *r, struct grpx_node *g)
{
	g->state = G_WAIT;
	retry_after(r, g, backoff_ms(r, g, g->attempt));
}

/* Log the attempt of g (a retry group: its child c's) that just ended. */
static void log_attempt(struct grpx_node *g, struct grpx_node *c, double start_ms, double end_ms)
{
	struct grpx_node *e = first_cause(c);

	attempt_log(g, (struct attempt){ e->exit_code, e->signal, c->status, start_ms, end_ms });
}

/* Carry out g's verdict on the end of c (NULL: its input ended). */
static void act(struct grpx_run *r, struct grpx_node *g, struct grpx_node *c,
		const struct decision *d)
{
	switch (d->verdict) {
	case V_OK:
		results_release_picks(r, g);
		group_decide(r, g, GRPX_OK, d->why, d->cause);
		break;
	case V_FAIL:
		if (c && mode_info_of(g->mode)->on_error < 0)
			note_error(g, c);
		group_decide(r, g, d->canceled ? GRPX_CANCELED : GRPX_FAILED, d->why, d->cause);
		break;
	case V_RETRY:
		retry_child(r, g);
		break;
	default:
		break;
	}
}

/* g's input ended: every child is known now, and it may be decided. */
static void settle(struct grpx_run *r, struct grpx_node *g)
{
	if (g->state == G_RUN && !g->verdict) {
		struct decision d = mode_ops_of(g->mode)->ended(g, NULL);
		act(r, g, NULL, &d);
	}
}

static void on_input(struct grpx_run *r, struct watch *w, uint32_t revents)
{
	struct grpx_node *g = feed_group(feed_of_watch(w));

	(void)revents;
	feed_read(r, g->grp->feed);
	group_fill(r, g);
	check_end(r, g);
}

void group_deliver(struct grpx_run *r, struct grpx_node *c)
{
	struct grpx_node *g = c->up;
	struct group *gr;

	if (!g) {
		r->finished = true;
		return;
	}
	gr = g->grp;
	if (c->counted) {
		c->counted = false;
		gr->running--;
	}
	gr->ended++;
	if (c->status == GRPX_OK)
		gr->nok++;
	else if (status_bad(c->status))
		gr->nbad++;
	else if (c->why == WHY_ALLOC) { /* it did not run for want of time: no success */
		gr->nbad++;
		note_error(g, c);
	}
	if (mode_has(g->mode, M_ONE_CHILD) && c->start_ms >= 0)
		log_attempt(g, c, c->start_ms, c->end_ms);
	bool open = g->state == G_RUN && !g->verdict;
	if (open && status_bad(c->status) && mode_info_of(g->mode)->on_error >= 0)
		apply_on_error(r, g, c);
	if (g->state == G_RUN && !g->verdict) {
		struct decision d = mode_ops_of(g->mode)->ended(g, c);
		apply_fate(r, g, c, d.out);
		if (mode_has(g->mode, M_ORDERED))
			release_in_order(r, g);
		act(r, g, c, &d);
	} else if (mode_has(g->mode, M_SELECTS)) {
		results_discard(r, c, false); /* decided: it holds nothing more */
	} else {
		results_offer(r, g, c); /* a streaming group still shows what ends late */
	}
	group_fill(r, g);
	check_end(r, g);
}

/* --- an attempt of a group --- */

/* Per-attempt state back to the start; the job's settings stay. */
static void attempt_reset(struct grpx_node *g)
{
	struct group *gr = g->grp;

	*gr = (struct group){ .limit = gr->limit, .count = gr->count, .feed = gr->feed };
	g->verdict = g->draining = false;
	g->err_head = g->err_tail = NULL;
	g->pick = 0;
}

static void attempt_begin(struct grpx_run *r, struct grpx_node *g)
{
	const struct mode_ops *ops = mode_ops_of(g->mode);
	struct mode_now now;

	attempt_reset(g);
	g->status = GRPX_RUNNING;
	g->state = G_RUN;
	if (g->start_ms < 0)
		g->start_ms = rel_ms(r);
	g->grp->started_at = run_now(r);
	g->attempt++;
	if (g->retries)
		attempt_log(g, (struct attempt){ -1, 0, GRPX_RUNNING, rel_ms(r), -1 });
	run_event(r, (struct grpx_event){ .kind = GRPX_EV_START, .node = g });
	int64_t timeout = !g->up && r->o->timeout_ms >= 0 ? r->o->timeout_ms : g->timeout_ms;
	if (timeout >= 0)
		timer_arm(r, g, TM_DEADLINE, deadline_after(g->grp->started_at, timeout));
	now = now_of(r);
	g->grp->open = g->grp->feed && !feed_done(g->grp->feed);
	if (g->grp->open && feed_waits_all(g->grp->feed, g->mode)) {
		group_fill(r, g); /* reads the input; the mode begins once it is all in */
		check_end(r, g);
		return;
	}
	if (g->nkids == 0 && g->grp->open) {
		group_fill(r, g);
		check_end(r, g);
		return;
	}
	if (g->nkids == 0 && mode_has(g->mode, M_NEEDS_KIDS)) {
		/* an empty matrix: the group is its own cause, "matrix has no
		 * values" (node_error_message) */
		g->err_seq = ++r->err_stamp;
		g->err_head = g->err_tail = g;
		group_decide(r, g, GRPX_FAILED, WHY_FAILED, g);
		return;
	}
	if (g->nkids == 0) { /* an empty matrix, or ad hoc with no command */
		group_decide(r, g, GRPX_OK, WHY_NONE, NULL);
		return;
	}
	if (ops->begin && ops->begin(g, &now) < 0) {
		g->errnum = ENOMEM;
		group_decide(r, g, GRPX_FAILED, WHY_FAILED, NULL);
		return;
	}
	resume_kids(r, g);
	group_fill(r, g);
	check_end(r, g);
}

void group_start(struct grpx_run *r, struct grpx_node *g)
{
	attempt_begin(r, g);
}

/*
 * g has a verdict and no running child: this attempt is over.  A group
 * that retries itself may run again after its backoff; else it ends.
 */
static void check_end(struct grpx_run *r, struct grpx_node *g)
{
	const struct mode_ops *ops = mode_ops_of(g->mode);

	if (!g->verdict || g->grp->running > 0 || g->state != G_STOP)
		return;
	timer_disarm(r, g, TM_DEADLINE);
	timer_disarm(r, g, TM_WAKE);
	if (ops->end)
		ops->end(g);
	if (g->status == GRPX_RUNNING)
		g->status = GRPX_CANCELED;
	if (mode_has(g->mode, M_SELECTS))
		for (uint32_t i = 0; i < g->nkids; i++)
			results_discard(r, g->kids[i], false);
	if (g->retries && g->nlog) {
		struct attempt *a = &g->log[g->nlog - 1];
		struct grpx_node *e = first_cause(g);
		*a = (struct attempt){ e->exit_code, e->signal, g->status, a->start_ms, rel_ms(r) };
		if (!r->signal && (!g->up || !g->up->verdict) && e->why != WHY_ALLOC &&
		    may_retry(g, g->status, retry_exit_code(g), g->attempt)) {
			results_discard(r, g, true); /* a failed attempt's stdout is not a result */
			g->status = GRPX_RUNNING;
			g->state = G_WAIT;
			retry_after(r, g, backoff_ms(r, g, g->attempt));
			return;
		}
	}
	g->end_ms = rel_ms(r);
	g->state = G_DONE;
	node_ended(r, g);
}

/* --- the table --- */

/* RUN x cancel: its group no longer needs it. */
static void g_cancel(struct grpx_run *r, struct grpx_node *g)
{
	run_cancel_event(r, g);
	group_decide(r, g, GRPX_CANCELED, g->why, g->cause);
}

/* WAIT x cancel: between two attempts; what ran keeps its status. */
static void g_cancel_wait(struct grpx_run *r, struct grpx_node *g)
{
	timer_disarm(r, g, TM_WAKE);
	timer_disarm(r, g, TM_DEADLINE);
	g->status = GRPX_CANCELED;
	g->end_ms = rel_ms(r);
	g->state = G_DONE;
	node_ended(r, g);
}

/* Its own timeout is one of its causes (after those that came before). */
static void timed_out(struct grpx_run *r, struct grpx_node *g)
{
	g->err_seq = ++r->err_stamp;
	g->err_next = NULL;
	if (g->err_tail)
		g->err_tail->err_next = g;
	else
		g->err_head = g;
	g->err_tail = g;
	if (!g->up && !r->signal)
		r->outcome = GRPX_RUN_TIMEOUT;
}

/* RUN x deadline: its own timeout, over the whole group. */
static void g_timeout(struct grpx_run *r, struct grpx_node *g)
{
	timed_out(r, g);
	group_decide(r, g, GRPX_TIMEOUT, WHY_TIMEOUT, g);
}

/* WAIT x deadline: a retry group's timeout came during a backoff. */
static void g_timeout_wait(struct grpx_run *r, struct grpx_node *g)
{
	timer_disarm(r, g, TM_WAKE);
	timed_out(r, g);
	g->status = GRPX_TIMEOUT;
	g->end_ms = rel_ms(r);
	g->state = G_DONE;
	node_ended(r, g);
}

/* RUN x wake: its mode's time came (stagger, schedule). */
static void g_wake(struct grpx_run *r, struct grpx_node *g)
{
	group_fill(r, g);
	check_end(r, g);
}

/* WAIT x wake: the backoff is over; run again, everything below new. */
static void g_again(struct grpx_run *r, struct grpx_node *g)
{
	if (mode_has(g->mode, M_ONE_CHILD)) { /* a retry group: its child again */
		struct grpx_node *c = g->kids[0];
		node_reset(r, c);
		g->attempt++;
		g->grp->running = g->grp->ended = g->grp->nok = g->grp->nbad = 0;
		g->grp->m.seq.next = 0;
		g->state = G_RUN;
		group_fill(r, g);
		check_end(r, g);
		return;
	}
	for (uint32_t i = 0; i < g->nkids; i++)
		node_reset(r, g->kids[i]);
	attempt_begin(r, g);
}

enum group_event { GE_CANCEL, GE_DEADLINE, GE_WAKE, GE_N };

static void (*const group_table[G_DONE + 1][GE_N])(struct grpx_run *, struct grpx_node *) = {
	/*          cancel         deadline        wake */
	[G_RUN]  = { g_cancel,      g_timeout,      g_wake },
	[G_WAIT] = { g_cancel_wait, g_timeout_wait, g_again },
};

static void group_on(struct grpx_run *r, struct grpx_node *g, enum group_event ev)
{
	if (group_table[g->state][ev] && !(g->state == G_RUN && g->verdict && ev != GE_WAKE))
		group_table[g->state][ev](r, g);
}

void group_fire(struct grpx_run *r, struct grpx_node *g, enum timer which)
{
	group_on(r, g, which == TM_DEADLINE ? GE_DEADLINE : GE_WAKE);
}

void node_cancel(struct grpx_run *r, struct grpx_node *n, int why, struct grpx_node *cause)
{
	if (n->kind == NODE_TASK) {
		if (task_can(n, E_CANCEL)) {
			n->why = (uint8_t)why;
			n->cause = cause;
			task_on(r, n, E_CANCEL);
		}
		return;
	}
	if (group_table[n->state][GE_CANCEL] && !(n->state == G_RUN && n->verdict)) {
		n->why = (uint8_t)why;
		n->cause = cause;
		group_on(r, n, GE_CANCEL);
	}
}

/* --- another attempt above: the subtree new again --- */

static void node_release(struct grpx_run *r, struct grpx_node *n)
{
	queue_remove(r, n);
	timer_disarm(r, n, TM_DEADLINE);
	timer_disarm(r, n, TM_WAKE);
	if (n->io) {
		streams_finish(r, n);
		streams_end(r, n, false);
	}
	results_discard(r, n, false);
	close_late(r, &n->out_fd);
	close_late(r, &n->in_fd);
	if (n->kind == NODE_GROUP && mode_ops_of(n->mode)->end && n->state != T_IDLE)
		mode_ops_of(n->mode)->end(n);
	for (uint32_t i = 0; i < n->nkids; i++)
		node_release(r, n->kids[i]);
}

void node_reset(struct grpx_run *r, struct grpx_node *n)
{
	node_release(r, n);
	node_init(n, n->up);
}
