/*
 * engine.c - one event loop that runs a job tree.
 *
 * epoll watches a signalfd (SIGCHLD, SIGINT, SIGTERM, SIGHUP) and the live
 * output pipes of tasks; every deadline sits in one heap.  A task is done
 * when its main process has been reaped, its process group is empty (or
 * SIGKILLed after the grace) and its pipes are at EOF.  Ended nodes are
 * queued and handed to their group in position order once per wake-up;
 * the group's mode (struct mode_ops) decides what that means, and the
 * engine carries it out: start more, cancel the rest, select output.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "compat.h"
#include "engine.h"

static void task_spawn(struct run *r, struct grpx_node *t);
static void task_kill(struct run *r, struct grpx_node *t);
static int64_t fd_size(int fd);
static void attempt_over(struct run *r, struct grpx_node *t);
static void task_launch(struct run *r, struct grpx_node *t);

static void queue_push(struct run *r, int which, struct grpx_node *t)
{
	struct queue *q = &r->q[which];

	t->jq = (uint8_t)which;
	t->jq_prev = q->tail;
	t->jq_next = NULL;
	if (q->tail)
		q->tail->jq_next = t;
	else
		q->head = t;
	q->tail = t;
}

/* Take t out of the queue it waits in, if any: O(1). */
static void queue_remove(struct run *r, struct grpx_node *t)
{
	struct queue *q;

	if (t->jq == Q_NONE)
		return;
	q = &r->q[t->jq];
	if (t->jq_prev)
		t->jq_prev->jq_next = t->jq_next;
	else
		q->head = t->jq_next;
	if (t->jq_next)
		t->jq_next->jq_prev = t->jq_prev;
	else
		q->tail = t->jq_prev;
	t->jq = Q_NONE;
	t->jq_prev = t->jq_next = NULL;
}

static struct grpx_node *queue_pop(struct run *r, int which)
{
	struct grpx_node *t = r->q[which].head;

	if (t)
		queue_remove(r, t);
	return t;
}
static void node_ended(struct run *r, struct grpx_node *n);
static void group_start(struct run *r, struct grpx_node *g);
static void group_check_end(struct run *r, struct grpx_node *g);
static void cancel_node(struct run *r, struct grpx_node *n, int why,
			struct grpx_node *cause);
static bool task_can(const struct grpx_node *t, int ev);
static void task_on(struct run *r, struct grpx_node *t, int ev);

int64_t run_now(struct run *r)
{
	(void)r;
	return mono_us();
}

int64_t deadline_after(int64_t now, int64_t ms)
{
	return ms > (INT64_MAX - now) / 1000 ? INT64_MAX : now + ms * 1000;
}

void timer_after(struct run *r, struct grpx_node *n, int which, int64_t ms)
{
	timer_arm(r, n, which, deadline_after(run_now(r), ms));
}

static double rel_ms(struct run *r)
{
	return mono_ms_f() - r->t0f;
}

void event(struct run *r, struct grpx_event e)
{
	if (!r->o->event)
		return;
	e.t_ms = rel_ms(r);
	if (!e.attempt)
		e.attempt = e.node->attempt;
	r->o->event(r->o->ctx, &e);
}

static void end_event(struct run *r, struct grpx_node *n)
{
	char why[512];

	event(r, (struct grpx_event){ .kind = GRPX_EV_END, .node = n, .status = n->status,
				      .exit_code = n->exit_code, .signal = n->signal,
				      .reason = grpx_node_reason(n, why, sizeof why) });
}

static void cancel_event(struct run *r, struct grpx_node *n)
{
	char why[512];

	event(r, (struct grpx_event){ .kind = GRPX_EV_CANCEL, .node = n,
				      .reason = grpx_node_reason(n, why, sizeof why) });
}

void retry_after(struct run *r, struct grpx_node *n, int64_t ms)
{
	event(r, (struct grpx_event){ .kind = GRPX_EV_RETRY, .node = n, .delay_ms = (double)ms });
	timer_after(r, n, 1, ms);
}

/* --junit: keep the head of t's stdout and stderr spools, in the kernel. */
static void capture(struct run *r, struct grpx_node *t)
{
	int fds[2] = { t->out_pipe ? -1 : t->out_fd, t->err_pipe ? -1 : t->err_fd };
	int32_t *lens[2] = { &t->cap_out, &t->cap_err };

	if (r->capfd < 0)
		return;
	t->cap_off = r->capend;
	for (int i = 0; i < 2; i++) {
		int64_t want = fds[i] < 0 ? 0 : fd_size(fds[i]);
		off_t in = 0;
		if (want > r->o->capture_bytes)
			want = r->o->capture_bytes;
		off_t out = r->capend;
		*lens[i] = (int32_t)spool_copy(fds[i], in, want, r->capfd, &out);
		r->capend = out;
	}
}

/* --trace: keep this attempt of t, however its node is reset later. */
static void record(struct run *r, struct grpx_node *t)
{
	const struct grpx_node *rt = t;

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
	while (rt && !rt->retrying)
		rt = rt->up;
	r->recs[r->nrecs++] = (struct rec){
		t, { t->exit_code, t->signal, t->status,
		     t->retrying && t->nlog ? t->log[t->nlog - 1].start_ms : t->start_ms, rel_ms(r) },
		rt ? rt->attempt : 1 };
}

bool status_bad(int status)
{
	return status == GRPX_FAILED || status == GRPX_TIMEOUT || status == GRPX_ERROR;
}

const struct mode_ops *mode_ops_of(const struct grpx_node *g)
{
	static const struct mode_ops *const ops[GRPX_NMODES] = {
		[GRPX_ERRGROUP] = &mode_errgroup, [GRPX_SIZED] = &mode_sized,
		[GRPX_ALL] = &mode_all,           [GRPX_RACE] = &mode_race,
		[GRPX_TAKE] = &mode_take,         [GRPX_LAST] = &mode_last,
		[GRPX_RETRY] = &mode_retry,       [GRPX_WATERFALL] = &mode_waterfall,
		[GRPX_SCHEDULE] = &mode_schedule,
	};
	return ops[g->mode];
}

void timer_arm(struct run *r, struct grpx_node *n, int which, int64_t at)
{
	/* Cannot fail: grpx_run reserved two entries a node, and a node has
	 * two timers. */
	(void)heap_push(&r->heap, n, which, at);
}

void timer_disarm(struct run *r, struct grpx_node *n, int which)
{
	heap_remove(&r->heap, n, which);
}

/* --- pid map: open addressing, pid -> task --- */

static size_t pid_slot(const struct pidmap *m, pid_t pid)
{
	return ((size_t)pid * 2654435761u) & (m->cap - 1);
}

static int pid_put(struct pidmap *m, pid_t pid, struct grpx_node *t)
{
	if ((m->n + 1) * 2 > m->cap) {
		struct pidmap nm = { 0 };
		nm.cap = m->cap ? m->cap * 2 : 64;
		nm.k = calloc(nm.cap, sizeof *nm.k);
		nm.v = calloc(nm.cap, sizeof *nm.v);
		if (!nm.k || !nm.v) {
			free(nm.k);
			free(nm.v);
			return -1;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->k[i] > 0)
				pid_put(&nm, m->k[i], m->v[i]);
		free(m->k);
		free(m->v);
		*m = nm;
	}
	size_t i = pid_slot(m, pid);
	while (m->k[i] > 0)
		i = (i + 1) & (m->cap - 1);
	m->k[i] = pid;
	m->v[i] = t;
	m->n++;
	return 0;
}

/* Remove pid and return its task, or NULL (backward-shift deletion). */
static struct grpx_node *pid_take(struct pidmap *m, pid_t pid)
{
	if (!m->cap)
		return NULL;
	size_t i = pid_slot(m, pid);
	while (m->k[i] != pid) {
		if (m->k[i] == 0)
			return NULL;
		i = (i + 1) & (m->cap - 1);
	}
	struct grpx_node *t = m->v[i];
	for (size_t j = i;;) {
		m->k[i] = 0;
		for (;;) {
			j = (j + 1) & (m->cap - 1);
			if (m->k[j] == 0) {
				m->n--;
				return t;
			}
			size_t h = pid_slot(m, m->k[j]);
			if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j))
				break;
		}
		m->k[i] = m->k[j];
		m->v[i] = m->v[j];
		i = j;
	}
}

/* --- process groups --- */

static bool pg_alive(pid_t pgid)
{
	return pgid > 0 && (kill(-pgid, 0) == 0 || errno == EPERM);
}

/* SIGTERM, then SIGCONT so that a stopped process can act on it. */
static void pg_term(pid_t pgid)
{
	if (pgid > 0) {
		kill(-pgid, SIGTERM);
		kill(-pgid, SIGCONT);
	}
}

static int64_t grace_of(struct run *r, const struct grpx_node *n)
{
	for (; n; n = n->parent) {
		if (!n->parent && r->o->grace_ms >= 0)
			return r->o->grace_ms;
		if (n->opt->grace_ms >= 0)
			return n->opt->grace_ms;
	}
	return 2000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

/*
 * Close *fd once the loop has started what is due.  The last close of a
 * spool frees its pages, ~0.15 s per GiB here: a waterfall's next stage
 * should not wait for that.
 */
static void close_late(struct run *r, int *fd)
{
	if (*fd < 0)
		return;
	if (r->nlate == r->caplate) {
		size_t cap = r->caplate ? r->caplate * 2 : 16;
		int *v = realloc(r->late, cap * sizeof *v);
		if (!v) {
			close_fd(fd);
			return;
		}
		r->late = v;
		r->caplate = cap;
	}
	r->late[r->nlate++] = *fd;
	*fd = -1;
}

static void close_pending(struct run *r)
{
	while (r->nlate > 0)
		close(r->late[--r->nlate]);
}

/* --- output --- */

static int64_t fd_size(int fd)
{
	struct stat st;

	return fd >= 0 && fstat(fd, &st) == 0 ? (int64_t)st.st_size : 0;
}

static void interrupt(struct run *r, int sig);

static void emit(struct run *r, struct grpx_node *t, int stream, int fd)
{
	int64_t len = fd_size(fd);

	if (len <= 0 || !r->o->emit || r->out_broken)
		return;
	if (r->o->emit(r->o->ctx, t, stream, fd, (off_t)len) == -1) {
		r->out_broken = true;
		interrupt(r, SIGPIPE);
	}
}

static void pipe_close(struct run *r, struct grpx_node *t, int stream)
{
	int *fd = stream == GRPX_STDOUT ? &t->out_fd : &t->err_fd;
	bool *is_pipe = stream == GRPX_STDOUT ? &t->out_pipe : &t->err_pipe;

	if (*fd < 0 || !*is_pipe)
		return;
	epoll_ctl(r->ep, EPOLL_CTL_DEL, *fd, NULL);
	close_fd(fd);
	*is_pipe = false;
	if (r->o->chunk)
		r->o->chunk(r->o->ctx, t, stream, NULL, 0);
}

static bool pipes_open(const struct grpx_node *t)
{
	return t->out_pipe || t->err_pipe;
}

static void pipe_read(struct run *r, struct grpx_node *t, int stream)
{
	int fd = stream == GRPX_STDOUT ? t->out_fd : t->err_fd;
	ssize_t n;

	for (int rounds = 0; rounds < 4; rounds++) {
		n = read(fd, r->buf, sizeof r->buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			pipe_close(r, t, stream);
			return;
		}
		*(stream == GRPX_STDOUT ? &t->stdout_bytes : &t->stderr_bytes) += n;
		if (stream == GRPX_STDERR)
			slurm_scan(t, r->buf, (size_t)n);
		if (r->o->chunk && !r->out_broken &&
		    r->o->chunk(r->o->ctx, t, stream, r->buf, (size_t)n) == -1) {
			r->out_broken = true;
			interrupt(r, SIGPIPE);
		}
		if ((size_t)n < sizeof r->buf)
			return;
	}
}

/* A pipe whose read end we watch; the write end is for the child. */
static int pipe_open(struct run *r, struct grpx_node *t, int stream, int *wr)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	struct epoll_event ev = { .events = EPOLLIN,
				  .data.ptr = (void *)((uintptr_t)t | (stream == GRPX_STDERR)) };
	if (epoll_ctl(r->ep, EPOLL_CTL_ADD, p[0], &ev) < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	*(stream == GRPX_STDOUT ? &t->out_fd : &t->err_fd) = p[0];
	*(stream == GRPX_STDOUT ? &t->out_pipe : &t->err_pipe) = true;
	*wr = p[1];
	return 0;
}

/* --- result and error lists --- */

static void list_append(struct grpx_node **head, struct grpx_node **tail,
			struct grpx_node *h2, struct grpx_node *t2, size_t link)
{
	if (!h2)
		return;
	if (*tail)
		*(struct grpx_node **)((char *)*tail + link) = h2;
	else
		*head = h2;
	*tail = t2;
}

#define RES_LINK offsetof(struct grpx_node, res_next)
#define ERR_LINK offsetof(struct grpx_node, err_next)

void group_offer(struct run *r, struct grpx_node *g, struct grpx_node *c)
{
	struct grpx_node *n = g, *h = c->res_head, *t = c->res_tail;

	c->res_head = c->res_tail = NULL;
	if (mode_ops_of(g)->selects && !c->pick)
		c->pick = ++g->grp->npicked;
	if (mode_ops_of(g)->selects)
		event(r, (struct grpx_event){ .kind = GRPX_EV_SELECT, .node = c, .group = g });
	while (n->up && !mode_ops_of(n->up)->selects)
		n = n->up;
	if (n->up) { /* n is a child of a selecting group: hold for it */
		list_append(&n->res_head, &n->res_tail, h, t, RES_LINK);
		return;
	}
	while (h) {
		struct grpx_node *next = h->res_next;
		h->res_next = NULL;
		emit(r, h, GRPX_STDOUT, h->out_fd);
		close_fd(&h->out_fd);
		h = next;
	}
}

void group_discard(struct run *r, struct grpx_node *c, bool show)
{
	struct grpx_node *h = c->res_head;

	c->res_head = c->res_tail = NULL;
	while (h) {
		struct grpx_node *next = h->res_next;
		h->res_next = NULL;
		if (show)
			emit(r, h, GRPX_STDERR, h->out_fd);
		close_fd(&h->out_fd);
		h = next;
	}
}

/* Picks wait in a FIFO through q_next (free once a node has ended). */
void group_pick(struct run *r, struct grpx_node *g, struct grpx_node *c)
{
	c->pick = ++g->grp->npicked;
	c->q_next = NULL;
	list_append(&g->grp->rq_head, &g->grp->rq_tail, c, c, offsetof(struct grpx_node, q_next));
	if (g->mode != GRPX_LAST || g->grp->npicked - g->grp->rq_head->pick < g->grp->count)
		return;
	struct grpx_node *old = g->grp->rq_head; /* keep only the last `count` */
	g->grp->rq_head = old->q_next;
	old->q_next = NULL;
	old->pick = 0;
	group_discard(r, old, false);
}

void group_offer_picks(struct run *r, struct grpx_node *g)
{
	struct grpx_node *c = g->grp->rq_head;

	g->grp->rq_head = g->grp->rq_tail = NULL;
	while (c) {
		struct grpx_node *next = c->q_next;
		c->q_next = NULL;
		group_offer(r, g, c);
		c = next;
	}
}

void group_note_error(struct grpx_node *g, struct grpx_node *c)
{
	if (g->verdict)
		return;
	list_append(&g->err_head, &g->err_tail, c->err_head, c->err_tail, ERR_LINK);
	c->err_head = c->err_tail = NULL;
}

/* The root cause to name in a reason: c's first error, or c. */
static struct grpx_node *first_cause(struct grpx_node *c)
{
	return c->err_head ? c->err_head : c;
}

/* --- cancel and skip --- */

static void skip_tree(struct run *r, struct grpx_node *n, int why,
		      struct grpx_node *cause)
{
	n->status = GRPX_SKIPPED;
	n->state = T_DONE;
	n->why = (uint8_t)why;
	n->cause = cause;
	close_fd(&n->in_fd);
	timer_disarm(r, n, 0);
	timer_disarm(r, n, 1);
	for (uint32_t i = 0; i < n->nkids; i++)
		skip_tree(r, n->kids[i], why, cause);
	end_event(r, n);
}

static void task_stop(struct run *r, struct grpx_node *t)
{
	if (r->no_grace) {
		task_kill(r, t);
		t->state = T_KILL;
		timer_disarm(r, t, 0);
		return;
	}
	if (node_slurm(t)) /* the step gets SIGTERM; a signalled srun kills it at once */
		slurm_stop(t, SIGTERM);
	else
		pg_term(t->pgid);
	t->state = T_STOP;
	timer_after(r, t, 0, grace_of(r, t));
}

static void cancel_node(struct run *r, struct grpx_node *n, int why,
			struct grpx_node *cause)
{
	if (n->kind == NODE_GROUP) {
		if (n->state == T_DONE)
			return;
		if (n->state == T_WAIT) { /* between two attempts of a retry */
			n->status = GRPX_CANCELED;
			n->why = (uint8_t)why;
			n->cause = cause;
			skip_tree(r, n, why, cause);
			n->status = GRPX_CANCELED;
			node_ended(r, n);
			return;
		}
		if (!n->verdict) {
			n->why = (uint8_t)why;
			n->cause = cause;
			cancel_event(r, n);
			group_decide(r, n, GRPX_CANCELED, why, cause);
		}
		return;
	}
	if (task_can(n, E_CANCEL)) {
		n->why = (uint8_t)why;
		n->cause = cause;
		task_on(r, n, E_CANCEL);
	}
}

void group_decide(struct run *r, struct grpx_node *g, int status, int why,
		  struct grpx_node *cause)
{
	if (g->verdict)
		return;
	g->verdict = true;
	g->status = (uint8_t)status;
	timer_disarm(r, g, 1);
	for (uint32_t i = 0; i < g->nkids; i++) {
		struct grpx_node *c = g->kids[i];
		if (c->state == T_IDLE && !c->counted) {
			skip_tree(r, c, why, cause);
			g->grp->ended++;
		} else if (c->state != T_DONE) {
			cancel_node(r, c, why, cause);
		}
	}
	group_check_end(r, g);
}

void group_on_error(struct run *r, struct grpx_node *g, struct grpx_node *c,
		    int def)
{
	int policy = g->on_error >= 0 ? g->on_error : def;

	group_note_error(g, c);
	if (policy == GRPX_ON_CANCEL) {
		group_decide(r, g, GRPX_FAILED, WHY_FAILED, first_cause(g));
	} else if (policy == GRPX_ON_DRAIN && !g->draining) {
		g->draining = true;
		/* children still waiting for a --jobs slot or the terminal will
		 * not start: they end now, not when a slot frees */
		for (uint32_t i = 0; i < g->nkids; i++)
			if (g->kids[i]->state == T_QUEUED)
				cancel_node(r, g->kids[i], WHY_FAILED, first_cause(g));
	}
}

uint32_t group_remaining(const struct grpx_node *g)
{
	return g->draining ? g->grp->running : g->nkids - g->grp->ended;
}

void group_settle_all_ok(struct run *r, struct grpx_node *g)
{
	if (g->verdict)
		return;
	if (g->grp->ended == g->nkids || (g->draining && g->grp->running == 0))
		group_decide(r, g, g->grp->nbad ? GRPX_FAILED : GRPX_OK, WHY_FAILED,
			     g->err_head);
}

struct grpx_node *group_next_in_order(struct run *r, struct grpx_node *g)
{
	(void)r;
	return g->grp->next < g->nkids ? g->kids[g->grp->next++] : NULL;
}

/* --- starting --- */

static uint32_t limit_of(const struct run *r, const struct grpx_node *g)
{
	return g->grp->limit ? g->grp->limit : g->mode == GRPX_SIZED ? r->ncpu : 0;
}

static void group_fill(struct run *r, struct grpx_node *g)
{
	const struct mode_ops *ops = mode_ops_of(g);
	uint32_t limit = limit_of(r, g);

	while (!g->verdict && !g->draining && !r->signal && !r->sig_pending &&
	       (!limit || g->grp->running < limit)) {
		struct grpx_node *c = ops->next(r, g);
		if (!c)
			break;
		c->counted = true;
		g->grp->running++;
		if (c->kind == NODE_GROUP)
			group_start(r, c);
		else
			task_launch(r, c);
	}
}

static void group_start(struct run *r, struct grpx_node *g)
{
	g->status = GRPX_RUNNING;
	g->state = T_RUN;
	if (g->start_ms < 0)
		g->start_ms = rel_ms(r);
	g->grp->started_at = run_now(r);
	g->attempt = g->attempt ? g->attempt : 1;
	event(r, (struct grpx_event){ .kind = GRPX_EV_START, .node = g });
	int64_t timeout = !g->up && r->o->timeout_ms >= 0 ? r->o->timeout_ms : g->timeout_ms;
	if (timeout >= 0)
		timer_arm(r, g, 0, deadline_after(g->grp->started_at, timeout));
	if (g->nkids == 0) /* only ad-hoc groups with no commands */
		group_decide(r, g, GRPX_OK, WHY_NONE, NULL);
	else if (mode_ops_of(g)->begin)
		mode_ops_of(g)->begin(r, g);
	group_fill(r, g);
	group_check_end(r, g);
}

/* The stdin a task reads: the nearest spool handed in by a waterfall. */
static int stdin_source(const struct grpx_node *t)
{
	for (const struct grpx_node *n = t; n; n = n->up) {
		if (n->in_fd >= 0)
			return n->in_fd;
		if (n->up && n->up->mode == GRPX_WATERFALL && n->index > 0)
			break;
	}
	return -1;
}

/* Is t's stdout handed on to a later stage of a waterfall? */
static bool feeds_stage(const struct grpx_node *t)
{
	for (const struct grpx_node *n = t; n->up; n = n->up)
		if (n->up->mode == GRPX_WATERFALL && n->index + 1 < n->up->nkids)
			return true;
	return false;
}

/* Where stdout goes: 0 our fd 1, 1 a spool, 2 a pipe. */
static int stdout_kind(struct run *r, const struct grpx_node *t)
{
	switch (r->o->output) {
	case GRPX_OUT_RAW:
		return feeds_stage(t);
	case GRPX_OUT_PREFIX:
		return t->held || r->capfd >= 0 ? 1 : 2;
	default:
		return 1;
	}
}

static void task_spawn(struct run *r, struct grpx_node *t)
{
	int fd0 = r->devnull, fd1 = STDOUT_FILENO, fd2 = STDERR_FILENO;
	int in = -1, w1 = -1, w2 = -1, err = 0;

	r->tasks_running++;
	t->attempt++;
	if (t->stdin_inherit)
		r->tty_holder = t;
	t->state = T_RUN;
	t->status = GRPX_RUNNING;
	t->exit_code = -1;
	t->signal = 0;
	t->reaped = t->kill_sent = false;
	t->stdout_bytes = t->stderr_bytes = 0;
	if (t->start_ms < 0)
		t->start_ms = rel_ms(r);
	if (t->retrying)
		node_log(t, (struct attempt){ -1, 0, GRPX_RUNNING, rel_ms(r), -1 });

	if (t->stdin_inherit) {
		fd0 = STDIN_FILENO;
	} else if (stdin_source(t) >= 0) {
		in = spool_reopen(stdin_source(t));
		if (in < 0)
			err = errno;
		fd0 = in;
	}
	switch (err ? -1 : stdout_kind(r, t)) {
	case 1:
		if ((t->out_fd = spool_open(feeds_stage(t))) < 0)
			err = errno;
		fd1 = t->out_fd;
		break;
	case 2:
		if (pipe_open(r, t, GRPX_STDOUT, &w1) < 0)
			err = errno;
		fd1 = w1;
		break;
	}
	if (!err && r->o->output == GRPX_OUT_PREFIX && r->capfd < 0) {
		if (pipe_open(r, t, GRPX_STDERR, &w2) < 0)
			err = errno;
		fd2 = w2;
	} else if (!err && r->o->output != GRPX_OUT_RAW) {
		if ((t->err_fd = spool_open(false)) < 0)
			err = errno;
		fd2 = t->err_fd;
	}
	if (!err)
		err = spawn_task(t, fd0, fd1, fd2);
	if (in >= 0)
		close(in);
	if (w1 >= 0)
		close(w1);
	if (w2 >= 0)
		close(w2);
	if (!err && pid_put(&r->pids, t->pid, t) < 0) {
		/* Untracked we could not reap it in order: stop it now. */
		kill(-t->pgid, SIGKILL);
		err = ENOMEM;
	}
	if (err) {
		t->errnum = err;
		t->status = GRPX_ERROR;
		t->pid = t->pgid = -1;
		pipe_close(r, t, GRPX_STDOUT);
		pipe_close(r, t, GRPX_STDERR);
		t->reaped = true;
		attempt_over(r, t);
		return;
	}
	if (t->timeout_ms >= 0)
		timer_after(r, t, 0, t->timeout_ms);
	event(r, (struct grpx_event){ .kind = GRPX_EV_START, .node = t, .pid = t->pid });
}


/* Start t now, or queue it behind the run's --jobs cap. */
static void task_launch(struct run *r, struct grpx_node *t)
{
	if (t->stdin_inherit && r->tty_holder && r->tty_holder != t) {
		/* one running task at a time may read our stdin */
		t->state = T_QUEUED;
		queue_push(r, Q_TTY, t);
		return;
	}
	if (r->o->jobs > 0 && r->tasks_running >= r->o->jobs) {
		t->state = T_QUEUED;
		queue_push(r, Q_JOBS, t);
		return;
	}
	task_spawn(r, t);
}

/* May a queued task still start?  Not once its group stopped starting. */
static bool still_wanted(struct run *r, struct grpx_node *t)
{
	struct grpx_node *g = t->up;

	if (!g->verdict && !g->draining && !r->signal)
		return true;
	t->status = t->attempt ? GRPX_CANCELED : GRPX_SKIPPED;
	t->why = r->signal ? WHY_INTERRUPTED : WHY_FAILED;
	t->cause = r->signal ? NULL : g->err_head;
	node_ended(r, t);
	return false;
}

/*
 * Start what waits for a free slot: the terminal (stdin: inherit) or a
 * --jobs slot.  Runs after the ended tasks have been handed to their
 * groups, so a group that just failed never sees a sibling start.
 */
static void pump(struct run *r)
{
	if (r->sig_pending)
		return; /* a signal waits to be acted on: start nothing before it */
	while (!r->tty_holder && r->q[Q_TTY].head) {
		struct grpx_node *t = queue_pop(r, Q_TTY);
		if (still_wanted(r, t))
			task_launch(r, t);
	}
	while (r->q[Q_JOBS].head && (r->o->jobs <= 0 || r->tasks_running < r->o->jobs)) {
		struct grpx_node *t = queue_pop(r, Q_JOBS);
		if (!still_wanted(r, t))
			continue;
		if (t->stdin_inherit && r->tty_holder && r->tty_holder != t)
			queue_push(r, Q_TTY, t); /* a slot, but the terminal is taken */
		else
			task_spawn(r, t);
	}
}

static void node_ended(struct run *r, struct grpx_node *n)
{
	close_late(r, &n->in_fd); /* the spool a waterfall handed it, read or not */
	n->state = T_DONE;
	if (n->end_ms < 0 || n->kind == NODE_TASK)
		n->end_ms = rel_ms(r);
	n->q_next = NULL;
	list_append(&r->done_head, &r->done_tail, n, n,
		    offsetof(struct grpx_node, q_next));
	end_event(r, n);
}

int node_log(struct grpx_node *n, struct attempt a)
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

static uint64_t rand_state;

int64_t backoff_ms(const struct grpx_node *n, uint32_t attempt)
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
	if (d > 3.6e12) /* 1000000h, the longest duration a job file may say */
		d = 3.6e12;
	if (b->jitter) { /* equal jitter: half fixed, half random */
		if (!rand_state)
			rand_state = (uint64_t)mono_ms() * 6364136223846793005u ^ (uint64_t)getpid();
		rand_state ^= rand_state << 13;
		rand_state ^= rand_state >> 7;
		rand_state ^= rand_state << 17;
		d = d / 2 + (double)(rand_state % 1000000) / 1e6 * d / 2;
	}
	return (int64_t)d;
}

bool may_retry(const struct grpx_node *n, int status, int exit_code, uint32_t attempt)
{
	int64_t max = n->attempts >= 0 ? n->attempts : n->kind == NODE_GROUP ? 3 : 1;

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

/* One attempt of task t is over: retry it, or end it. */
static void attempt_over(struct run *r, struct grpx_node *t)
{
	r->tasks_running--;
	timer_disarm(r, t, 0);
	pipe_close(r, t, GRPX_STDOUT);
	pipe_close(r, t, GRPX_STDERR);
	if (t->status == GRPX_RUNNING)
		t->status = t->exit_code == 0 ? GRPX_OK : GRPX_FAILED;
	slurm_check(t);
	if (t->out_fd >= 0)
		t->stdout_bytes = fd_size(t->out_fd);
	if (t->err_fd >= 0)
		t->stderr_bytes = fd_size(t->err_fd);
	if (t->retrying && t->nlog) {
		struct attempt *a = &t->log[t->nlog - 1];
		a->exit_code = t->exit_code;
		a->signal = t->signal;
		a->status = t->status;
		a->end_ms = rel_ms(r);
	}
	capture(r, t);
	record(r, t);
	if (r->tty_holder == t)
		r->tty_holder = NULL;
	event(r, (struct grpx_event){ .kind = GRPX_EV_EXIT, .node = t, .exit_code = t->exit_code,
				      .signal = t->signal, .status = t->status });
	if (!r->signal && !t->up->verdict &&
	    may_retry(t, t->status, t->exit_code, t->attempt)) {
		emit(r, t, GRPX_STDERR, t->out_fd);
		emit(r, t, GRPX_STDERR, t->err_fd);
		close_fd(&t->out_fd);
		close_fd(&t->err_fd);
		t->status = GRPX_RUNNING;
		t->state = T_WAIT;
		retry_after(r, t, backoff_ms(t, t->attempt));
		return;
	}
	emit(r, t, GRPX_STDERR, t->err_fd);
	close_fd(&t->err_fd);
	if (t->out_fd >= 0)
		t->res_head = t->res_tail = t;
	if (status_bad(t->status)) {
		t->err_head = t->err_tail = t;
		t->err_seq = ++r->err_stamp;
	}
	node_ended(r, t);
}

/* --- reaping and draining --- */

static void drain_remove(struct run *r, struct grpx_node *t)
{
	for (struct grpx_node **pp = &r->drain; *pp; pp = &(*pp)->q_next)
		if (*pp == t) {
			*pp = t->q_next;
			t->q_next = NULL;
			return;
		}
}

/* Drained tasks whose group is empty and pipes closed are over. */
static void drain_scan(struct run *r)
{
	struct grpx_node **pp = &r->drain;

	while (*pp) {
		struct grpx_node *t = *pp;
		if (t->pgid > 0 && !pg_alive(t->pgid))
			t->pgid = -1;
		if (t->pgid < 0 && !pipes_open(t)) {
			*pp = t->q_next;
			t->q_next = NULL;
			task_on(r, t, E_DRAINED);
		} else {
			pp = &t->q_next;
		}
	}
}

/*
 * The main process of t exited.  Whatever is left in its process group
 * gets the grace sequence; pipes held open by escaped writers get the
 * grace too.  Then the attempt is over.
 */
static void t_exited(struct run *r, struct grpx_node *t)
{
	if (t->status == GRPX_RUNNING)
		t->status = t->exit_code == 0 ? GRPX_OK : GRPX_FAILED;
	if (t->state == T_RUN)
		timer_disarm(r, t, 0);
	if (pg_alive(t->pgid)) {
		if (t->state == T_RUN) {
			if (r->no_grace) {
				kill(-t->pgid, SIGKILL);
				t->kill_sent = true;
			} else {
				pg_term(t->pgid);
			}
		}
	} else {
		t->pgid = -1;
		if (!pipes_open(t)) {
			attempt_over(r, t);
			return;
		}
	}
	if (t->slot[0] < 0)
		timer_after(r, t, 0, t->kill_sent ? 0 : grace_of(r, t));
	t->state = T_DRAIN;
	t->q_next = r->drain;
	r->drain = t;
}

static void reap(struct run *r)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		struct grpx_node *t = pid_take(&r->pids, pid);
		if (!t)
			continue; /* a descendant that escaped its group, inherited */
		t->pid = -1;
		t->reaped = true;
		if (WIFEXITED(st))
			t->exit_code = WEXITSTATUS(st);
		else if (WIFSIGNALED(st))
			t->signal = WTERMSIG(st);
		task_on(r, t, E_EXIT);
	}
	drain_scan(r);
}

/* Close what a SIGKILLed task still holds: its pipes may never see EOF. */
static void task_kill(struct run *r, struct grpx_node *t)
{
	if (node_slurm(t)) /* a SIGKILLed srun leaves its step and job behind */
		slurm_stop(t, SIGKILL);
	if (t->pgid > 0) {
		kill(-t->pgid, SIGKILL);
		kill(-t->pgid, SIGCONT);
	}
	t->kill_sent = true;
	pipe_close(r, t, GRPX_STDOUT);
	pipe_close(r, t, GRPX_STDERR);
}

static void group_timeout(struct run *r, struct grpx_node *g)
{
	if (g->verdict)
		return;
	g->err_seq = ++r->err_stamp;
	list_append(&g->err_head, &g->err_tail, g, g, ERR_LINK);
	if (!g->up && !r->signal)
		r->outcome = GRPX_RUN_TIMEOUT;
	group_decide(r, g, GRPX_TIMEOUT, WHY_TIMEOUT, g);
}

/* --- a task's life: actions[state][event] --- */

/* QUEUED x cancel: this attempt never started. */
static void t_unqueue(struct run *r, struct grpx_node *t)
{
	queue_remove(r, t);
	t->status = t->attempt ? GRPX_CANCELED : GRPX_SKIPPED;
	node_ended(r, t);
}

/* WAIT x cancel: it had started, so it is canceled, not skipped. */
static void t_cancel_wait(struct run *r, struct grpx_node *t)
{
	timer_disarm(r, t, 1);
	t->status = GRPX_CANCELED;
	node_ended(r, t);
}

/* WAIT x wake: the backoff is over. */
static void t_relaunch(struct run *r, struct grpx_node *t)
{
	task_launch(r, t);
}

/* RUN x cancel: SIGTERM to its group, grace armed. */
static void t_cancel(struct run *r, struct grpx_node *t)
{
	t->status = GRPX_CANCELED;
	cancel_event(r, t);
	task_stop(r, t);
}

/* RUN x deadline: its own timeout. */
static void t_timeout(struct run *r, struct grpx_node *t)
{
	t->status = GRPX_TIMEOUT;
	task_stop(r, t);
}

/* STOP x deadline: the grace is over. */
static void t_kill(struct run *r, struct grpx_node *t)
{
	task_kill(r, t);
	t->state = T_KILL;
}

/* DRAIN x deadline: leftovers and pipe holders had their grace. */
static void t_drain_kill(struct run *r, struct grpx_node *t)
{
	task_kill(r, t);
	t->pgid = -1;
	drain_remove(r, t);
	attempt_over(r, t);
}

static void (*const task_table[T_DONE + 1][E_N])(struct run *, struct grpx_node *) = {
	/*           cancel         deadline      wake        exit      drained */
	[T_QUEUED] = { t_unqueue,     NULL,         NULL,       NULL,     NULL },
	[T_WAIT]   = { t_cancel_wait, NULL,         t_relaunch, NULL,     NULL },
	[T_RUN]    = { t_cancel,      t_timeout,    NULL,       t_exited, NULL },
	[T_STOP]   = { NULL,          t_kill,       NULL,       t_exited, NULL },
	[T_KILL]   = { NULL,          NULL,         NULL,       t_exited, NULL },
	[T_DRAIN]  = { NULL,          t_drain_kill, NULL,       NULL,     attempt_over },
};

static bool task_can(const struct grpx_node *t, int ev)
{
	return task_table[t->state][ev] != NULL;
}

static void task_on(struct run *r, struct grpx_node *t, int ev)
{
	if (task_can(t, ev))
		task_table[t->state][ev](r, t);
}

static void fire(struct run *r, struct grpx_node *n, int which)
{
	if (which == 1) {
		if (n->state == T_IDLE && n->up) { /* its time in a schedule came */
			struct grpx_node *g = n->up;
			mode_ops_of(g)->wake(r, g, n);
			group_fill(r, g);
			group_check_end(r, g);
		} else if (n->kind == NODE_TASK) {
			task_on(r, n, E_WAKE);
		} else if (n->kind == NODE_GROUP && n->state != T_DONE) {
			mode_ops_of(n)->wake(r, n, NULL);
			group_fill(r, n);
			group_check_end(r, n);
		}
		return;
	}
	if (n->kind == NODE_GROUP) {
		group_timeout(r, n);
		return;
	}
	task_on(r, n, E_DEADLINE);
}

/* --- handing ended nodes to their groups --- */

static int by_seq(const void *a, const void *b)
{
	const struct grpx_node *x = *(struct grpx_node *const *)a;
	const struct grpx_node *y = *(struct grpx_node *const *)b;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

static void deliver(struct run *r, struct grpx_node *c)
{
	struct grpx_node *g = c->up;

	if (!g) {
		r->finished = true;
		return;
	}
	if (c->counted) {
		c->counted = false;
		g->grp->running--;
	}
	g->grp->ended++;
	if (g->mode == GRPX_RETRY) { /* attempts == the entries of attempt_log */
		if (g->verdict && c->start_ms >= 0)
			retry_log(g, c); /* canceled mid-attempt */
		else if (c->start_ms < 0 && g->attempt > g->nlog)
			g->attempt = g->nlog; /* it waited for a slot and never ran */
	}
	if (c->status == GRPX_OK)
		g->grp->nok++;
	else if (status_bad(c->status))
		g->grp->nbad++;
	if (!g->verdict)
		mode_ops_of(g)->ended(r, g, c);
	else if (mode_ops_of(g)->selects)
		group_discard(r, c, false);
	else
		group_offer(r, g, c);
	if (!g->verdict)
		group_fill(r, g);
	group_check_end(r, g);
}

static void dispatch(struct run *r)
{
	struct grpx_node **batch = r->batch;
	size_t cap = r->batch_cap;

	while (r->done_head) {
		size_t n = 0;
		for (struct grpx_node *c = r->done_head; c; c = c->q_next)
			n++;
		if (n > cap) {
			struct grpx_node **v = realloc(batch, n * 2 * sizeof *v);
			if (v) {
				batch = r->batch = v;
				cap = r->batch_cap = n * 2;
			}
		}
		if (n > cap) { /* no memory to sort: deliver in arrival order */
			struct grpx_node *c = r->done_head;
			r->done_head = c->q_next;
			if (!r->done_head)
				r->done_tail = NULL;
			c->q_next = NULL;
			deliver(r, c);
			continue;
		}
		n = 0;
		for (struct grpx_node *c = r->done_head; c; c = c->q_next)
			batch[n++] = c;
		r->done_head = r->done_tail = NULL;
		qsort(batch, n, sizeof *batch, by_seq);
		for (size_t i = 0; i < n; i++) {
			batch[i]->q_next = NULL;
			deliver(r, batch[i]);
		}
	}
}

static void group_check_end(struct run *r, struct grpx_node *g)
{
	if (!g->verdict || g->grp->running > 0 || g->state == T_DONE)
		return;
	timer_disarm(r, g, 0);
	timer_disarm(r, g, 1);
	g->end_ms = rel_ms(r);
	if (g->status == GRPX_RUNNING)
		g->status = GRPX_CANCELED;
	if (mode_ops_of(g)->selects)
		for (uint32_t i = 0; i < g->nkids; i++)
			group_discard(r, g->kids[i], false);
	node_ended(r, g);
}

/* --- signals --- */

static void kill_all_now(struct run *r, struct grpx_node *n)
{
	if (n->kind == NODE_TASK) {
		if (n->state == T_RUN || n->state == T_STOP) {
			task_kill(r, n);
			timer_disarm(r, n, 0);
			n->state = T_KILL;
		} else if (n->state == T_DRAIN) {
			timer_arm(r, n, 0, run_now(r));
		}
		return;
	}
	for (uint32_t i = 0; i < n->nkids; i++)
		kill_all_now(r, n->kids[i]);
}

static void interrupt(struct run *r, int sig)
{
	if (r->signal) {
		if (sig == SIGINT && !r->no_grace) {
			r->no_grace = true;
			kill_all_now(r, r->job->root);
		}
		return;
	}
	r->signal = sig;
	r->outcome = GRPX_RUN_INTERRUPTED;
	group_decide(r, r->job->root, GRPX_CANCELED, WHY_INTERRUPTED, NULL);
}

/* A SIGINT, SIGTERM or SIGHUP already waiting in the signalfd, or 0. */
static int pending_signal(struct run *r)
{
	struct signalfd_siginfo si;
	int sig = 0;

	while (read(r->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
		if (si.ssi_signo != SIGCHLD && !sig)
			sig = (int)si.ssi_signo;
	return sig;
}

/* Take what the signalfd holds: children to reap, a signal to act on. */
static void take_signals(struct run *r)
{
	struct signalfd_siginfo si;
	ssize_t n;

	while ((n = read(r->sigfd, &si, sizeof si)) == (ssize_t)sizeof si || (n < 0 && errno == EINTR)) {
		if (n <= 0)
			continue;
		if (si.ssi_signo == SIGCHLD)
			r->chld_pending = true;
		else if (!r->sig_pending)
			r->sig_pending = (int)si.ssi_signo;
		else if (!r->sig_pending2) /* a second one while the first waits */
			r->sig_pending2 = (int)si.ssi_signo;
	}
}

static void read_signals(struct run *r)
{
	take_signals(r);
	while (r->sig_pending) { /* in the order they came */
		int sig = r->sig_pending;
		r->sig_pending = r->sig_pending2;
		r->sig_pending2 = 0;
		interrupt(r, sig);
	}
	r->chld_pending = false;
	reap(r);
}

static struct run *current_run; /* the run in progress, for grpx_output_wait() */

int grpx_output_wait(int fd)
{
	struct run *r = current_run;
	struct pollfd p[2] = { { .fd = fd, .events = POLLOUT }, { .fd = -1, .events = POLLIN } };

	if (r)
		p[1].fd = r->sigfd;
	for (;;) {
		int timeout = -1;
		if (r && (r->signal || r->sig_pending || r->outcome == GRPX_RUN_TIMEOUT)) {
			timeout = 0; /* the run is ending: do not wait for a stalled reader */
		} else if (r && r->job->root->slot[0] >= 0) {
			int64_t us = r->heap.v[r->job->root->slot[0]].at - run_now(r);
			timeout = us <= 0 ? 0 : (int)((us + 999) / 1000);
		}
		int n = poll(p, 2, timeout);
		if (n < 0 && errno == EINTR)
			continue;
		if (n > 0 && p[0].revents)
			return 0; /* writable, or an error that write() will tell */
		if (n > 0 && p[1].revents) {
			take_signals(r);
			if (!r->sig_pending)
				continue; /* only SIGCHLD: the loop reaps later */
		}
		errno = EINTR;
		return -1;
	}
}

/* --- setup and teardown --- */

/* Run state of every node, as before any run; `up` is the runner group. */
static void node_init(struct grpx_node *n, struct grpx_node *up)
{
	n->up = up;
	n->status = GRPX_PENDING;
	n->state = T_IDLE;
	n->why = WHY_NONE;
	n->cause = NULL;
	n->pid = n->pgid = -1;
	n->out_fd = n->err_fd = n->in_fd = -1;
	n->exit_code = -1;
	n->signal = n->errnum = 0;
	n->attempt = 0;
	n->start_ms = n->end_ms = -1;
	n->stdout_bytes = n->stderr_bytes = 0;
	n->cap_off = 0;
	n->cap_out = n->cap_err = 0;
	n->nlog = 0;
	n->slot[0] = n->slot[1] = -1;
	n->err_seq = 0;
	if (n->grp) /* its counters; limit and count are the job's */
		*n->grp = (struct group){ .limit = n->grp->limit, .count = n->grp->count };
	n->res_head = n->res_tail = n->res_next = NULL;
	n->err_head = n->err_tail = n->err_next = NULL;
	n->q_next = n->jq_prev = n->jq_next = NULL;
	n->jq = Q_NONE;
	n->verdict = n->draining = n->kill_sent = n->reaped = false;
	n->counted = n->out_pipe = n->err_pipe = false;
	n->pick = 0;
	n->held = up && (mode_ops_of(up)->selects || up->held);
	n->retrying = n->kind == NODE_TASK ? n->attempts >= 0 && n->attempts != 1
					   : n->mode == GRPX_RETRY;
	for (uint32_t i = 0; i < n->nkids; i++)
		node_init(n->kids[i], n);
}

static void node_release(struct run *r, struct grpx_node *n)
{
	queue_remove(r, n);
	timer_disarm(r, n, 0);
	timer_disarm(r, n, 1);
	pipe_close(r, n, GRPX_STDOUT);
	pipe_close(r, n, GRPX_STDERR);
	group_discard(r, n, false);
	close_fd(&n->out_fd);
	close_fd(&n->err_fd);
	close_fd(&n->in_fd);
	for (uint32_t i = 0; i < n->nkids; i++)
		node_release(r, n->kids[i]);
}

/* Make a subtree new again for another attempt of the retry group above it. */
void node_reset(struct run *r, struct grpx_node *n)
{
	node_release(r, n);
	node_init(n, n->up);
}

static int list_children(pid_t *v, int max)
{
	char path[64];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long)getpid());
	f = fopen(path, "re");
	if (!f)
		return 0;
	long pid;
	while (n < max && fscanf(f, "%ld", &pid) == 1)
		v[n++] = (pid_t)pid;
	fclose(f);
	return n;
}

/*
 * Nothing grpx started may outlive the run.  As a subreaper we inherit
 * whatever escaped its process group; give it the grace sequence too.
 */
static void reap_escapees(struct run *r)
{
	int64_t deadline = run_now(r) + (r->no_grace ? 0 : grace_of(r, r->job->root)) * 1000;
	bool killing = false;
	pid_t v[256];

	for (;;) {
		int st;
		while (waitpid(-1, &st, WNOHANG) > 0)
			;
		int n = list_children(v, 256);
		if (n == 0)
			break;
		if (!killing && run_now(r) >= deadline)
			killing = true;
		for (int i = 0; i < n; i++) {
			int sig = killing ? SIGKILL : SIGTERM;
			kill(v[i], sig);
			kill(-v[i], sig);
			kill(v[i], SIGCONT);
		}
		struct epoll_event ev;
		int64_t wait = killing ? 50 : (deadline - run_now(r)) / 1000;
		if (epoll_wait(r->ep, &ev, 1, (int)(wait > 0 ? wait : 0)) > 0 && ev.data.ptr == NULL) {
			struct signalfd_siginfo si;
			while (read(r->sigfd, &si, sizeof si) == (ssize_t)sizeof si)
				if (si.ssi_signo == SIGINT && r->signal)
					killing = true;
		}
	}
}

/* epoll with a microsecond timeout (-1: none), so timers fire on time. */
static int wait_events(struct run *r, struct epoll_event *ev, int max, int64_t us)
{
	if (us > 3600000000)
		us = 3600000000;
	return compat_epoll_wait_us(r->ep, ev, max, us);
}

static void loop(struct run *r)
{
	struct epoll_event ev[64];

	for (;;) {
		if (r->sig_pending || r->chld_pending)
			read_signals(r);
		dispatch(r);
		if (r->sig_pending)
			continue; /* taken while output waited: act before starting more */
		pump(r);
		close_pending(r);
		if (r->done_head || r->sig_pending || r->chld_pending)
			continue;
		if (r->finished)
			break;
		const struct heap_ent *top = heap_top(&r->heap);
		int64_t due = top ? top->at : INT64_MAX;
		if (r->o->tick && r->next_tick < due)
			due = r->next_tick;
		int64_t us = due == INT64_MAX ? -1 : due - run_now(r);
		int n = wait_events(r, ev, 64, due != INT64_MAX && us < 0 ? 0 : us);
		for (int i = 0; i < n; i++) {
			uintptr_t p = (uintptr_t)ev[i].data.ptr;
			if (!p)
				read_signals(r);
			else
				pipe_read(r, (struct grpx_node *)(p & ~(uintptr_t)1),
					  p & 1 ? GRPX_STDERR : GRPX_STDOUT);
		}
		if (r->drain)
			drain_scan(r);
		int64_t now = run_now(r);
		if ((top = heap_top(&r->heap)) && top->at <= now) {
			/* what exited before the deadline counts first (after a
			 * SIGSTOP of grpx, say, both arrive in one wake-up) */
			read_signals(r);
			dispatch(r);
		}
		while ((top = heap_top(&r->heap)) && top->at <= now) {
			struct grpx_node *t = top->n;
			int which = top->which;
			heap_remove(&r->heap, t, which);
			fire(r, t, which);
		}
		if (r->o->tick && now >= r->next_tick) {
			r->o->tick(r->o->ctx);
			r->next_tick = now + (r->o->tick_ms > 0 ? r->o->tick_ms : 100) * 1000;
		}
	}
}

static int errs_by_seq(const void *a, const void *b)
{
	const struct grpx_node *x = *(struct grpx_node *const *)a;
	const struct grpx_node *y = *(struct grpx_node *const *)b;
	return (x->err_seq > y->err_seq) - (x->err_seq < y->err_seq);
}

static void collect_errors(struct run *r)
{
	struct grpx_node *root = r->job->root, *e;
	size_t n = 0;

	for (e = root->err_head; e; e = e->err_next)
		n++;
	r->errs = calloc(n + 1, sizeof *r->errs);
	r->errmsg = calloc(n + 1, sizeof *r->errmsg);
	if (!r->errs || !r->errmsg)
		return;
	for (e = root->err_head; e; e = e->err_next)
		r->errs[r->nerrs++] = e;
	qsort(r->errs, r->nerrs, sizeof *r->errs, errs_by_seq);
	for (size_t i = 0; i < r->nerrs; i++) {
		if (r->errs[i] == root && r->o->timeout_ms >= 0) {
			char dur[32];
			grpx_format_duration(r->o->timeout_ms, dur, sizeof dur);
			if (asprintf(&r->errmsg[i], "timed out after %s", dur) < 0)
				r->errmsg[i] = NULL;
		} else {
			r->errmsg[i] = node_error_message(r->errs[i]);
		}
	}
}

char *node_error_message(const struct grpx_node *n)
{
	char dur[32], *s = NULL;
	int rc;

	switch (n->status) {
	case GRPX_TIMEOUT:
		grpx_format_duration(n->kind == NODE_GROUP || n->timeout_ms >= 0 ? n->timeout_ms : 0,
				     dur, sizeof dur);
		rc = asprintf(&s, "timed out after %s", dur);
		break;
	case GRPX_ERROR:
		rc = asprintf(&s, "cannot start: %s", slurm_strerror(n->errnum));
		break;
	default:
		if (n->signal)
			rc = asprintf(&s, "killed by signal %d (SIG%s)", n->signal,
				      compat_sigabbrev(n->signal) ? compat_sigabbrev(n->signal) : "?");
		else
			rc = asprintf(&s, "exit status %d", n->exit_code);
	}
	return rc < 0 ? NULL : s;
}

/* No descriptor of ours may reach a task but 0, 1, 2: what we inherited
 * without close-on-exec gets it now (it stays usable here). */
static void cloexec_inherited(void)
{
#ifdef CLOSE_RANGE_CLOEXEC
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0 && !(fl & FD_CLOEXEC))
			fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	}
}

static void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			int nfd = open("/dev/null", O_RDWR);
			if (nfd >= 0 && nfd != fd) {
				dup2(nfd, fd);
				close(nfd);
			}
		}
}

/* Skipped, reason "not selected": no event, nothing ran. */
static void mark_unselected(struct grpx_node *n)
{
	n->status = GRPX_SKIPPED;
	n->state = T_DONE;
	n->why = WHY_NONE;
	for (uint32_t i = 0; i < n->nkids; i++)
		mark_unselected(n->kids[i]);
}

/* Run only the nodes named by o->paths: they become the root's children. */
static int select_paths(struct run *r)
{
	struct grpx_node *root = r->job->root, **sel;
	size_t n = 0;

	sel = calloc(r->o->npaths + 1, sizeof *sel);
	if (!sel)
		return -1;
	for (size_t i = 0; i < r->o->npaths; i++) {
		struct grpx_node *x = grpx_job_find(r->job, r->o->paths[i]);
		if (!x || x == root) {
			free(sel);
			errno = ENOENT;
			return -1;
		}
		sel[n++] = x;
	}
	qsort(sel, n, sizeof *sel, by_seq);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) { /* drop duplicates and nodes inside another */
		bool inside = false;
		for (struct grpx_node *a = sel[i]->parent; a && !inside; a = a->parent)
			for (size_t j = 0; j < k; j++)
				inside |= sel[j] == a;
		if (!inside && (k == 0 || sel[k - 1] != sel[i]))
			sel[k++] = sel[i];
	}
	r->saved_kids = root->kids;
	r->saved_nkids = root->nkids;
	node_init(root, NULL);
	for (size_t i = 0; i < root->nkids; i++)
		mark_unselected(root->kids[i]);
	root->kids = sel;
	root->nkids = (uint32_t)k;
	for (size_t i = 0; i < k; i++)
		node_init(sel[i], root);
	return 0;
}

int grpx_run(struct grpx_job *job, const struct grpx_opts *o, struct grpx_run **runp)
{
	struct run *r = calloc(1, sizeof *r);
	sigset_t set, old;
	struct sigaction ign = { .sa_handler = SIG_IGN }, oldpipe;

	if (!r)
		return -1;
	r->job = job;
	r->o = o;
	r->ep = r->sigfd = r->devnull = r->capfd = -1;
	ensure_std_fds();
	cloexec_inherited();
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
#ifdef PR_SET_CHILD_SUBREAPER
	prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	sigaction(SIGPIPE, &ign, &oldpipe);
	r->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	r->ep = epoll_create1(EPOLL_CLOEXEC);
	r->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	if (r->sigfd < 0 || r->ep < 0 || r->devnull < 0 ||
	    epoll_ctl(r->ep, EPOLL_CTL_ADD, r->sigfd, &ev) < 0)
		goto fail;
	if (o->capture_bytes > 0 && (r->capfd = spool_open(true)) < 0)
		goto fail;
	node_init(job->root, NULL);
	if (heap_reserve(&r->heap, 2 * (size_t)job->nnodes) < 0) {
		errno = ENOMEM;
		goto fail;
	}
	if (o->npaths && select_paths(r) < 0)
		goto fail;
	clock_gettime(CLOCK_REALTIME, &r->wall0);
	r->t0f = mono_ms_f();
	r->t0 = mono_ms();
	r->outcome = GRPX_RUN_OK;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	r->ncpu = ncpu > 0 ? (uint32_t)ncpu : 1;
	current_run = r;
	int early = pending_signal(r);
	if (early) { /* it came while the caller loaded the job: run nothing */
		r->signal = early;
		r->outcome = GRPX_RUN_INTERRUPTED;
		group_decide(r, job->root, GRPX_CANCELED, WHY_INTERRUPTED, NULL);
	} else {
		group_start(r, job->root);
	}
	loop(r);
	close_pending(r);
	free(r->late);
	r->late = NULL;
	current_run = NULL;
	reap_escapees(r);
	if (r->outcome == GRPX_RUN_OK && job->root->status != GRPX_OK)
		r->outcome = GRPX_RUN_FAILED;
	collect_errors(r);
	if (r->saved_kids) {
		free(job->root->kids);
		job->root->kids = r->saved_kids;
		job->root->nkids = r->saved_nkids;
		r->saved_kids = NULL;
	}
	close(r->sigfd);
	close(r->ep);
	close(r->devnull);
	heap_free(&r->heap);
	free(r->batch);
	free(r->pids.k);
	free(r->pids.v);
	sigaction(SIGPIPE, &oldpipe, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	*runp = (struct grpx_run *)r;
	return 0;
fail:;
	int e = errno;
	if (r->sigfd >= 0)
		close(r->sigfd);
	if (r->ep >= 0)
		close(r->ep);
	if (r->devnull >= 0)
		close(r->devnull);
	if (r->capfd >= 0)
		close(r->capfd);
	heap_free(&r->heap);
	sigaction(SIGPIPE, &oldpipe, NULL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	free(r);
	errno = e;
	return -1;
}

/* --- the outcome --- */

enum grpx_outcome grpx_run_outcome(const struct grpx_run *run)
{
	return (enum grpx_outcome)((const struct run *)run)->outcome;
}

int grpx_run_signal(const struct grpx_run *run)
{
	return ((const struct run *)run)->signal;
}

int grpx_run_exit_code(const struct grpx_run *run)
{
	const struct run *r = (const struct run *)run;

	switch (r->outcome) {
	case GRPX_RUN_OK:
		return 0;
	case GRPX_RUN_TIMEOUT:
		return 124;
	case GRPX_RUN_INTERRUPTED:
		return 128 + r->signal;
	default:
		return 1;
	}
}

int grpx_run_cause_code(const struct grpx_run *run)
{
	const struct run *r = (const struct run *)run;

	if (r->outcome != GRPX_RUN_FAILED || r->nerrs != 1)
		return grpx_run_exit_code(run);
	const struct grpx_node *n = r->errs[0];
	switch (n->status) {
	case GRPX_TIMEOUT:
		return 124;
	case GRPX_ERROR:
		return 127;
	default:
		return n->signal ? 128 + n->signal : n->exit_code > 0 ? n->exit_code : 1;
	}
}

size_t grpx_run_nerrors(const struct grpx_run *run)
{
	return ((const struct run *)run)->nerrs;
}

const char *grpx_run_error(const struct grpx_run *run, size_t i, const char **msg)
{
	const struct run *r = (const struct run *)run;

	if (i >= r->nerrs)
		return NULL;
	*msg = r->errmsg[i] ? r->errmsg[i] : "out of memory";
	return r->errs[i]->path;
}

void grpx_run_free(struct grpx_run *run)
{
	struct run *r = (struct run *)run;

	if (!r)
		return;
	for (size_t i = 0; i < r->nerrs; i++)
		free(r->errmsg[i]);
	free(r->errmsg);
	free(r->errs);
	if (r->capfd >= 0)
		close(r->capfd);
	free(r->recs);
	free(r);
}
