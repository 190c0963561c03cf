/*
 * run.c - grpx_run(): set up, turn the loop, fire timers, turn signals into
 * cancellation, sweep what escaped, drain the output, tear down; and the
 * outcome the caller asks about afterwards.
 *
 * One turn: take signals and reap; hand ended nodes to their groups in
 * position order; start what waits for a slot; close what is due; then
 * wait for the next fd event or deadline, and fire the timers that are due.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "run.h"

/* Signals that end the run as SIGTERM does (cleanup, report, re-raise). */
static const int ending[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2,
			      SIGALRM, SIGXCPU, SIGXFSZ };

void grpx_signals(sigset_t *set)
{
	struct sigaction sa;

	sigemptyset(set);
	for (size_t i = 0; i < sizeof ending / sizeof ending[0]; i++)
		/* ignored when we started (nohup, a background job): stays so */
		if (sigaction(ending[i], NULL, &sa) == 0 && sa.sa_handler != SIG_IGN)
			sigaddset(set, ending[i]);
	if (sigaction(SIGTSTP, NULL, &sa) == 0 && sa.sa_handler != SIG_IGN) {
		sigaddset(set, SIGTSTP);
		sigaddset(set, SIGCONT);
	}
	sigaddset(set, SIGCHLD);
}

/* --- small shared helpers --- */

void close_fd(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
}

void close_late(struct grpx_run *r, int *fd)
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

static void close_pending(struct grpx_run *r)
{
	if (r->nlate)
		r->freed++;
	while (r->nlate > 0)
		close(r->late[--r->nlate]);
}

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

/* --- events --- */

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

/* --- nodes --- */

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

/* --- handing ended nodes to their groups --- */

static int by_seq(const void *a, const void *b)
{
	const struct grpx_node *x = *(struct grpx_node *const *)a;
	const struct grpx_node *y = *(struct grpx_node *const *)b;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Hand what ended to the groups, in position order within a wake-up. */
static void dispatch(struct grpx_run *r)
{
	while (r->done_head) {
		size_t n = 0;
		for (struct grpx_node *c = r->done_head; c; c = c->q_next)
			n++;
		if (n > r->batch_cap) {
			struct grpx_node **v = realloc(r->batch, n * 2 * sizeof *v);
			if (v) {
				r->batch = v;
				r->batch_cap = n * 2;
			}
		}
		if (n > r->batch_cap) { /* no memory to sort: deliver in arrival order */
			struct grpx_node *c = r->done_head;
			r->done_head = c->q_next;
			if (!r->done_head)
				r->done_tail = NULL;
			c->q_next = NULL;
			group_deliver(r, c);
			continue;
		}
		n = 0;
		for (struct grpx_node *c = r->done_head; c; c = c->q_next)
			r->batch[n++] = c;
		r->done_head = r->done_tail = NULL;
		qsort(r->batch, n, sizeof *r->batch, by_seq);
		for (size_t i = 0; i < n; i++) {
			r->batch[i]->q_next = NULL;
			group_deliver(r, r->batch[i]);
		}
	}
}

/* --- signals --- */

static void kill_all_now(struct grpx_run *r, struct grpx_node *n)
{
	if (n->kind == NODE_TASK) {
		task_kill_now(r, n);
		return;
	}
	for (uint32_t i = 0; i < n->nkids; i++)
		kill_all_now(r, n->kids[i]);
}

void run_interrupt(struct grpx_run *r, int sig)
{
	int64_t drain = deadline_after(run_now(r), grace_of(r, r->job->root));

	if (r->signal) {
		if (sig == SIGINT && !r->no_grace) { /* a second SIGINT: no grace, no wait */
			r->no_grace = true;
			r->out_deadline = run_now(r);
			kill_all_now(r, r->job->root);
		}
		return;
	}
	r->signal = sig;
	r->outcome = GRPX_RUN_INTERRUPTED;
	if (drain < r->out_deadline) /* output waits for a reader at most the grace */
		r->out_deadline = drain;
	if (!r->finished)
		group_decide(r, r->job->root, GRPX_CANCELED, WHY_INTERRUPTED, NULL);
}

/* sig to the process group of every task that may have members. */
static void signal_groups(struct grpx_run *r, int sig)
{
	for (size_t i = 0; i < r->pids.cap; i++)
		if (r->pids.k[i] > 0 && r->pids.v[i]->pgid > 0)
			kill(-r->pids.v[i]->pgid, sig);
	for (struct grpx_node *t = r->drain; t; t = t->q_next)
		if (t->pgid > 0)
			kill(-t->pgid, sig);
}

/* Stop every task's process group, then ourselves; on SIGCONT resume
 * them, and let the time stopped not count (the run clock skips it). */
static void job_stop(struct grpx_run *r)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	task_tty_take(r); /* the shell gets its terminal back while we are stopped */
	signal_groups(r, SIGSTOP);
	kill(getpid(), SIGSTOP);
	signal_groups(r, SIGCONT);
	if (r->tty_holder)
		task_tty_give(r, r->tty_holder);
	clock_gettime(CLOCK_MONOTONIC, &b);
	r->loop.stopped_us += (int64_t)(b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
}

/* Take what the signalfd holds: children to reap, a signal to act on. */
static void take_signals(struct grpx_run *r)
{
	struct signalfd_siginfo si;
	ssize_t n;

	while ((n = read(r->loop.sigfd, &si, sizeof si)) == (ssize_t)sizeof si ||
	       (n < 0 && errno == EINTR)) {
		if (n <= 0)
			continue;
		switch (si.ssi_signo) {
		case SIGCHLD:
			r->chld_pending = true;
			break;
		case SIGCONT:
			break; /* we resumed; job_stop() did the rest */
		case SIGTSTP:
			r->stop_pending = true;
			break;
		default:
			if (!r->sig_pending)
				r->sig_pending = (int)si.ssi_signo;
			else if (!r->sig_pending2) /* a second one while the first waits */
				r->sig_pending2 = (int)si.ssi_signo;
		}
	}
}

static void on_signal(struct grpx_run *r, struct watch *w, uint32_t revents)
{
	(void)w;
	(void)revents;
	take_signals(r);
}

static void act_on_signals(struct grpx_run *r)
{
	take_signals(r);
	while (r->sig_pending) { /* in the order they came */
		int sig = r->sig_pending;
		r->sig_pending = r->sig_pending2;
		r->sig_pending2 = 0;
		run_interrupt(r, sig);
	}
	if (r->stop_pending) {
		r->stop_pending = false;
		job_stop(r);
	}
	r->chld_pending = false;
	task_reap(r);
}

/* --- what escaped: the end-of-run sweep --- */

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

static bool inherited(const struct grpx_run *r, pid_t pid)
{
	for (size_t i = 0; i < r->ninherit; i++)
		if (r->inherit[i] == pid)
			return true;
	return false;
}

/*
 * Nothing grpx started may outlive the run.  As a subreaper we inherit
 * whatever escaped its process group; it gets the grace sequence too.
 * Children grpx had before the run (`cmd & exec grpx`) are not ours to kill.
 * Returns true while some remain.
 */
static bool sweep(struct grpx_run *r)
{
	pid_t v[256];
	int n, k = 0;

	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid > 0) {
			for (size_t i = 0; i < r->ninherit; i++)
				if (r->inherit[i] == pid)
					r->inherit[i] = 0; /* gone: its pid may be reused */
			continue;
		}
		if (pid < 0 && errno == EINTR)
			continue;
		break;
	}
	n = list_children(v, 256);
	for (int i = 0; i < n; i++)
		if (!inherited(r, v[i]) && v[i] != r->keeper.pid)
			v[k++] = v[i];
	if (k == 0)
		return false;
	int64_t now = run_now(r);
	if (r->sweep_at == 0)
		r->sweep_at = deadline_after(now, r->no_grace ? 0 : grace_of(r, r->job->root));
	int sig = now >= r->sweep_at || r->no_grace ? SIGKILL : SIGTERM;
	for (int i = 0; i < k; i++) {
		kill(v[i], sig);
		kill(-v[i], sig);
		kill(v[i], SIGCONT);
	}
	return true;
}

/* --- the loop --- */

static void fire(struct grpx_run *r, struct grpx_node *n, enum timer which)
{
	if (n->kind == NODE_GROUP)
		group_fire(r, n, which);
	else
		task_on(r, n, which == TM_DEADLINE ? E_DEADLINE : E_WAKE);
}

static bool outputs_idle(const struct grpx_run *r)
{
	for (int i = GRPX_STDOUT; i <= GRPX_EVENTS; i++)
		if (!outq_idle(&r->out[i]))
			return false;
	return true;
}

/*
 * stdout gone (EPIPE) ends the run as a signal would (grpx then dies by
 * SIGPIPE, as a pipeline expects); any other write error on it stops the
 * run the same way, but as a failure (the caller says why).  stderr and
 * the events file going away stop nothing: their output is dropped.
 */
static void check_outputs(struct grpx_run *r)
{
	struct outq *q = outq_of(&r->out[GRPX_STDOUT]);

	if (!q->broken || !q->err || r->out_seen)
		return;
	r->out_seen = true;
	if (q->err == EPIPE) {
		run_interrupt(r, SIGPIPE);
	} else if (!r->signal && !r->finished) {
		r->outcome = GRPX_RUN_FAILED;
		group_decide(r, r->job->root, GRPX_CANCELED, WHY_INTERRUPTED, NULL);
	}
}

/* The root ended: the summary goes out, then only the sweep and the
 * queues keep the run. */
static void finish(struct grpx_run *r);

static void loop(struct grpx_run *r)
{
	bool finished = false;

	for (;;) {
		if (r->sig_pending || r->chld_pending || r->stop_pending)
			act_on_signals(r);
		dispatch(r);
		if (r->sig_pending)
			continue; /* taken meanwhile: act before starting more */
		task_pump(r);
		close_pending(r);
		streams_reap(r);
		if (r->keeper.nq)
			keeper_flush(r);
		check_outputs(r);
		if (r->done_head || r->sig_pending || r->chld_pending || r->stop_pending)
			continue;
		if (r->finished && !finished) {
			finished = true;
			finish(r);
		}
		bool escapees = finished && sweep(r);
		int64_t now = run_now(r);
		if (finished && r->out_deadline <= now)
			for (int i = GRPX_STDOUT; i <= GRPX_EVENTS; i++)
				outq_drop(r, &r->out[i]);
		if (finished && !escapees && outputs_idle(r))
			break;
		const struct heap_ent *top = heap_top(&r->loop.heap);
		int64_t due = top ? top->at : INT64_MAX;
		if (r->o->status && !r->finished && r->next_tick < due)
			due = r->next_tick;
		if (finished && r->out_deadline < due)
			due = r->out_deadline;
		if (escapees && r->sweep_at > now && r->sweep_at < due)
			due = r->sweep_at;
		loop_wait(r, due);
		for (int i = GRPX_STDOUT; i <= GRPX_EVENTS; i++)
			if (!outq_idle(&r->out[i]) && outq_of(&r->out[i])->kind == OQ_FILE)
				outq_flush(r, &r->out[i]);
		task_drain_scan(r);
		now = run_now(r);
		if ((top = heap_top(&r->loop.heap)) && top->at <= now) {
			/* what exited before the deadline counts first (after a
			 * SIGSTOP of grpx, say, both arrive in one wake-up) */
			act_on_signals(r);
			dispatch(r);
		}
		while ((top = heap_top(&r->loop.heap)) && top->at <= now) {
			struct grpx_node *n = top->n;
			enum timer which = (enum timer)top->which;
			heap_remove(&r->loop.heap, n, which);
			fire(r, n, which);
		}
		if (r->o->status && !r->finished && now >= r->next_tick) {
			char line[1024];
			size_t len = r->o->status(r->o->ctx, line, sizeof line);
			outq_status(r, &r->out[GRPX_STDERR], line, len < sizeof line ? len : sizeof line - 1);
			r->next_tick = now + (r->o->tick_ms > 0 ? r->o->tick_ms : 100) * 1000;
		}
	}
}

/* --- setup and teardown --- */

static int errs_by_seq(const void *a, const void *b)
{
	const struct grpx_node *x = *(struct grpx_node *const *)a;
	const struct grpx_node *y = *(struct grpx_node *const *)b;
	return (x->err_seq > y->err_seq) - (x->err_seq < y->err_seq);
}

static void collect_errors(struct grpx_run *r)
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

static void finish(struct grpx_run *r)
{
	if (r->outcome == GRPX_RUN_OK && r->job->root->status != GRPX_OK)
		r->outcome = GRPX_RUN_FAILED;
	if (r->outcome == GRPX_RUN_OK && r->journal_err) /* every line is written by now */
		r->outcome = GRPX_RUN_FAILED;
	/* the tasks an ad-hoc group made from its input as the run went get
	 * keys for the report, and their group a key over all of them (a PATH
	 * run's root holds other children now: its keys stay the job's) */
	if (!r->o->npaths)
		job_keys(r->job->root);
	collect_errors(r);
	outq_status(r, &r->out[GRPX_STDERR], NULL, 0);
	if (r->o->finish)
		r->o->finish(r->o->ctx, r);
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
static int select_paths(struct grpx_run *r)
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

static int open_outputs(struct grpx_run *r)
{
	const struct grpx_opts *o = r->o;
	size_t high = o->out_buffer ? o->out_buffer : 1 << 20;
	int err;

	if ((err = outq_open(r, &r->out[GRPX_STDOUT], o->stdout_fd > 0 ? o->stdout_fd : 1, high,
			     NULL)) ||
	    (err = outq_open(r, &r->out[GRPX_STDERR], o->stderr_fd > 0 ? o->stderr_fd : 2, high,
			     &r->out[GRPX_STDOUT])))
		return err;
	if (o->events_fd < 0) {
		r->out[GRPX_EVENTS] = (struct outq){ .w.fd = -1, .fd = -1, .broken = true };
		return 0;
	}
	/* the same object as stderr or stdout: their queue, so lines never mix */
	if ((err = outq_open(r, &r->out[GRPX_EVENTS], o->events_fd, high, &r->out[GRPX_STDERR])))
		return err;
	if (!r->out[GRPX_EVENTS].alias) {
		outq_close(r, &r->out[GRPX_EVENTS]);
		if ((err = outq_open(r, &r->out[GRPX_EVENTS], o->events_fd, high, &r->out[GRPX_STDOUT])))
			return err;
	}
	if (!(r->evf = open_memstream(&r->evbuf, &r->evlen)))
		return errno;
	return 0;
}

/* The children this process had before the run: not ours to sweep. */
static void note_inherited(struct grpx_run *r)
{
	pid_t v[256];
	int n = list_children(v, 256);

	if (n > 0 && (r->inherit = calloc((size_t)n, sizeof *r->inherit))) {
		memcpy(r->inherit, v, (size_t)n * sizeof *v);
		r->ninherit = (size_t)n;
	}
}

int grpx_run(struct grpx_job *job, const struct grpx_opts *o, struct grpx_run **runp)
{
	struct grpx_run *r = calloc(1, sizeof *r);
	struct sigaction ign = { .sa_handler = SIG_IGN }, dfl = { .sa_handler = SIG_DFL };
	struct sigaction oldpipe, oldchld;
	int err = 0;

	if (!r)
		return -1;
	r->job = job;
	r->o = o;
	r->loop.ep = r->loop.sigfd = r->devnull = r->capfd = -1;
	r->out_deadline = INT64_MAX;
	for (int i = 0; i < 4; i++)
		r->out[i] = (struct outq){ .w.fd = -1, .fd = -1 };
	note_inherited(r);
	keeper_start(r); /* without it the run goes on; only a crash is not covered */
#ifdef PR_SET_CHILD_SUBREAPER
	int was_reaper = 0;
	prctl(PR_GET_CHILD_SUBREAPER, &was_reaper);
	prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
	grpx_signals(&r->loop.caught);
	sigset_t block = r->loop.caught;
	sigaddset(&block, SIGTTOU); /* handing the terminal back from the background */
	sigprocmask(SIG_BLOCK, &block, &r->loop.old_mask);
	sigaction(SIGPIPE, &ign, &oldpipe);
	/* an inherited SIG_IGN would have the kernel reap our children */
	sigaction(SIGCHLD, &dfl, &oldchld);
	r->rand_state = (uint64_t)time(NULL) * 6364136223846793005u ^ (uint64_t)getpid();
	/* before the run clock starts: it may ask squeue */
	r->alloc_end_ms = slurm_alloc_end_ms(job->root);
	if ((err = loop_open(r)) || (err = watch_add(r, &r->loop.sigw, r->loop.sigfd, EPOLLIN, on_signal)))
		goto fail;
	r->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (r->devnull < 0 || (err = open_outputs(r))) {
		err = err ? err : errno;
		goto fail;
	}
	if (o->capture_bytes > 0 && (r->capfd = spool_new()) < 0) {
		err = errno;
		goto fail;
	}
	node_init(job->root, NULL);
	if (heap_reserve(&r->loop.heap, 2 * (size_t)job->nnodes) < 0 || job_keys(job->root) < 0) {
		err = ENOMEM;
		goto fail;
	}
	if ((err = journal_start(r)))
		goto fail;
	resume_mark(job->root, NULL); /* what a PATH run leaves out resumes nothing */
	if (o->npaths && select_paths(r) < 0) {
		err = errno;
		goto fail;
	}
	resume_mark(job->root, o->resume);
	r->outcome = GRPX_RUN_OK;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		r->fd_limit = rl.rlim_cur;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	/* inside a Slurm allocation, its CPUs, not the node's */
	r->ncpu = slurm_alloc_cpus();
	if (!r->ncpu)
		r->ncpu = ncpu > 0 ? (uint32_t)ncpu : 1;
	int64_t timeout = o->timeout_ms >= 0 ? o->timeout_ms : job->root->timeout_ms;
	if (timeout >= 0)
		r->out_deadline = deadline_after(run_now(r), timeout);
	take_signals(r);
	if (r->sig_pending) { /* it came while the caller loaded the job: run nothing */
		r->signal = r->sig_pending;
		r->sig_pending = r->sig_pending2 = 0;
		r->outcome = GRPX_RUN_INTERRUPTED;
		group_decide(r, job->root, GRPX_CANCELED, WHY_INTERRUPTED, NULL);
	} else {
		group_start(r, job->root);
	}
	loop(r);
	keeper_stop(r);
	close_pending(r);
	streams_reap(r);
	if (r->saved_kids) {
		free(job->root->kids);
		job->root->kids = r->saved_kids;
		job->root->nkids = r->saved_nkids;
		r->saved_kids = NULL;
	}
	for (int i = GRPX_EVENTS; i >= GRPX_STDOUT; i--)
		outq_close(r, &r->out[i]);
	loop_close(r);
	close_fd(&r->devnull);
	pidmap_free(&r->pids);
	free(r->batch);
	free(r->late);
	free(r->tagbuf.p);
	free(r->inherit);
	r->batch = NULL;
	r->late = NULL;
	r->tagbuf.p = NULL;
	r->inherit = NULL;
	if (r->evf)
		fclose(r->evf);
	free(r->evbuf);
	r->evf = NULL;
	r->evbuf = NULL;
	journal_close(r);
	sigaction(SIGCHLD, &oldchld, NULL);
	sigaction(SIGPIPE, &oldpipe, NULL);
	sigprocmask(SIG_SETMASK, &r->loop.old_mask, NULL);
#ifdef PR_SET_CHILD_SUBREAPER
	prctl(PR_SET_CHILD_SUBREAPER, was_reaper);
#endif
	*runp = r;
	return 0;
fail:
	keeper_stop(r);
	for (int i = GRPX_EVENTS; i >= GRPX_STDOUT; i--)
		outq_close(r, &r->out[i]);
	loop_close(r);
	close_fd(&r->devnull);
	close_fd(&r->capfd);
	if (r->evf)
		fclose(r->evf);
	free(r->evbuf);
	free(r->inherit);
	journal_close(r);
	sigaction(SIGCHLD, &oldchld, NULL);
	sigaction(SIGPIPE, &oldpipe, NULL);
	sigprocmask(SIG_SETMASK, &r->loop.old_mask, NULL);
#ifdef PR_SET_CHILD_SUBREAPER
	prctl(PR_SET_CHILD_SUBREAPER, was_reaper);
#endif
	free(r);
	errno = err;
	return -1;
}

/* --- the outcome --- */

enum grpx_outcome grpx_run_outcome(const struct grpx_run *r)
{
	return (enum grpx_outcome)r->outcome;
}

int grpx_run_signal(const struct grpx_run *r)
{
	return r->signal;
}

const char *grpx_run_input_error(const struct grpx_run *r)
{
	return r->input_error;
}

uint64_t grpx_run_inputs(const struct grpx_run *r)
{
	const struct grpx_node *root = r->job->root;

	if (root->nkids != 1 || !root->kids[0]->grp || !root->kids[0]->grp->feed)
		return 0;
	return feed_made(root->kids[0]->grp->feed);
}

int grpx_run_stream_error(const struct grpx_run *r, int stream)
{
	if (stream < GRPX_STDOUT || stream > GRPX_EVENTS)
		return 0;
	const struct outq *q = &r->out[stream];
	return q->alias ? q->alias->err : q->err;
}

int grpx_run_exit_code(const struct grpx_run *r)
{
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

void grpx_run_set_exit_code(struct grpx_run *r, int code)
{
	r->exit_set = true;
	r->exit_final = code;
}

int grpx_run_cause_code(const struct grpx_run *r)
{
	if (r->outcome != GRPX_RUN_FAILED || r->nerrs != 1)
		return grpx_run_exit_code(r);
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

size_t grpx_run_nerrors(const struct grpx_run *r)
{
	return r->nerrs;
}

const char *grpx_run_error(const struct grpx_run *r, size_t i, const char **msg)
{
	if (i >= r->nerrs)
		return NULL;
	*msg = r->errmsg[i] ? r->errmsg[i] : "out of memory";
	return r->errs[i]->path;
}

void grpx_run_free(struct grpx_run *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nerrs; i++)
		free(r->errmsg[i]);
	free(r->errmsg);
	free(r->errs);
	close_fd(&r->capfd);
	free(r->recs);
	free(r);
}
