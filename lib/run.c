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

/* --- handing ended nodes to their groups --- */

int by_seq(const void *a, const void *b)
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
