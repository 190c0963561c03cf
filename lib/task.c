/*
 * task.c - one task attempt, from queued to reaped and drained.
 *
 * A task's life is a table of small actions, task_table[state][event], in
 * the manner of s6-supervise.  A task is done when its main process has
 * been reaped, its process group is empty (or SIGKILLed after the grace)
 * and its pipes are at EOF, in any order.  Cancelling sends SIGTERM and
 * SIGCONT to the whole process group, then SIGKILL after the grace.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "run.h"

static void task_spawn(struct grpx_run *r, struct grpx_node *t);

static void queue_push(struct grpx_run *r, enum queue_id which, struct grpx_node *t)
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
void queue_remove(struct grpx_run *r, struct grpx_node *t)
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

static struct grpx_node *queue_pop(struct grpx_run *r, enum queue_id which)
{
	struct grpx_node *t = r->q[which].head;

	if (t)
		queue_remove(r, t);
	return t;
}

/* --- process groups --- */

/* t's process group is gone (or killed for good): forget it. */
static void pg_forget(struct grpx_run *r, struct grpx_node *t)
{
	keeper_del(r, t->pgid);
	t->pgid = -1;
}

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

/* SIGKILL the group, and close what it still holds: its pipes may never
 * see EOF (an escaped writer); what they hold now is taken first. */
static void task_kill(struct grpx_run *r, struct grpx_node *t)
{
	if (node_slurm(t) && !r->no_grace && !t->slurm_killing && t->pid > 0) {
		/* srun passes a SIGTERM on to its step as SIGKILL and exits
		 * once the step's task is dead (releasing a job of its own):
		 * the task ends when nothing of it runs any more.  SIGKILL
		 * comes only if srun cannot get there. */
		t->slurm_killing = true;
		pg_term(t->pgid);
		timer_after(r, t, TM_DEADLINE, SLURM_KILL_WAIT_MS);
		return;
	}
	if (node_slurm(t)) /* a SIGKILLed srun leaves its step and job behind */
		slurm_stop(t, SIGKILL);
	if (t->pgid > 0) {
		kill(-t->pgid, SIGKILL);
		kill(-t->pgid, SIGCONT);
	}
	t->kill_sent = true;
	streams_close_pipes(r, t);
}

static void task_stop(struct grpx_run *r, struct grpx_node *t)
{
	if (r->no_grace) {
		task_kill(r, t);
		t->state = T_KILL;
		timer_disarm(r, t, TM_DEADLINE);
		return;
	}
	if (node_slurm(t)) /* the step gets SIGTERM; a signalled srun kills it at once */
		slurm_stop(t, SIGTERM);
	else
		pg_term(t->pgid);
	t->state = T_STOP;
	timer_after(r, t, TM_DEADLINE, grace_of(r, t));
}

/* --- the terminal --- */

void task_tty_give(struct grpx_run *r, struct grpx_node *t)
{
	if (t->pgid <= 0)
		return;
	if (!r->tty_given && isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp() &&
	    tcsetpgrp(STDIN_FILENO, t->pgid) == 0)
		r->tty_given = true;
	/* it may have tried to read before it was the foreground: SIGTTIN */
	kill(-t->pgid, SIGCONT);
}

void task_tty_take(struct grpx_run *r)
{
	/* SIGTTOU is blocked for the run: a background group may do this */
	if (r->tty_given && tcsetpgrp(STDIN_FILENO, getpgrp()) == 0)
		r->tty_given = false;
}

/* --- an attempt --- */

/* One attempt of task t is over: retry it, or end it. */
static void attempt_over(struct grpx_run *r, struct grpx_node *t)
{
	r->tasks_running--;
	r->freed++;
	if (t->jslot) {
		feed_slot_give(t->up->grp->feed, t->jslot);
		t->jslot = 0;
	}
	timer_disarm(r, t, TM_DEADLINE);
	if (t->status == GRPX_RUNNING)
		t->status = t->exit_code == 0 ? GRPX_OK : GRPX_FAILED;
	streams_finish(r, t);
	if (t->retries && t->nlog) {
		struct attempt *a = &t->log[t->nlog - 1];
		a->exit_code = t->exit_code;
		a->signal = t->signal;
		a->status = t->status;
		a->end_ms = rel_ms(r);
	}
	trace_record(r, t);
	if (r->tty_holder == t) {
		task_tty_take(r);
		r->tty_holder = NULL;
	}
	run_event(r, (struct grpx_event){ .kind = GRPX_EV_EXIT, .node = t, .exit_code = t->exit_code,
					  .signal = t->signal, .status = t->status });
	bool again = !r->signal && !t->up->verdict && t->retries &&
		     may_retry(t, t->status, t->exit_code, t->attempt);
	streams_end(r, t, again);
	if (again) {
		t->status = GRPX_RUNNING;
		t->state = T_WAIT;
		retry_after(r, t, backoff_ms(r, t, t->attempt));
		return;
	}
	if (t->out_fd >= 0)
		t->res_head = t->res_tail = t;
	if (status_bad(t->status)) {
		t->err_head = t->err_tail = t;
		t->err_seq = ++r->err_stamp;
	}
	node_ended(r, t);
}

/*
 * Out of descriptors or processes for now?  The lowest free descriptor
 * tells how many are in use (they are handed out lowest first); a task
 * needs a few at once (its pipes, stdin, a spool), and output waiting to
 * be written needs some too.
 */
static bool fds_tight(const struct grpx_run *r)
{
	int fd = fcntl(r->devnull, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		return errno == EMFILE || errno == ENFILE;
	close(fd);
	return r->fd_limit > 0 && (rlim_t)fd + 16 > r->fd_limit;
}

/* A resource error that others may free: the task waits for them. */
static bool may_wait(const struct grpx_run *r, int err)
{
	if (err != EMFILE && err != ENFILE && err != EAGAIN)
		return false;
	if (r->tasks_running > 0 || r->drain)
		return true; /* a task ending frees its descriptors and its process */
	for (int i = GRPX_STDOUT; i <= GRPX_EVENTS; i++)
		if (!outq_idle(&r->out[i]))
			return true; /* spools waiting to be written free theirs */
	return false;
}

static void task_spawn(struct grpx_run *r, struct grpx_node *t);

/* Park t until something frees descriptors or processes (task_pump). */
static bool wait_resources(struct grpx_run *r, struct grpx_node *t, int err)
{
	if (!may_wait(r, err))
		return false;
	t->state = T_QUEUED;
	queue_push(r, Q_RES, t);
	return true;
}

/*
 * A Slurm task does not start in the last minute of the allocation grpx
 * runs in: the allocation would end under it.  It ends skipped (canceled
 * between two attempts), reason "allocation ends", for --resume to run in
 * the next allocation; its group cannot succeed without it.
 */
static bool alloc_ends(struct grpx_run *r, struct grpx_node *t)
{
	if (!slurm_late(r->alloc_end_ms, t))
		return false;
	t->status = t->attempt ? GRPX_CANCELED : GRPX_SKIPPED;
	t->why = WHY_ALLOC;
	t->cause = NULL;
	t->err_head = t->err_tail = t;
	t->err_seq = ++r->err_stamp;
	node_ended(r, t);
	return true;
}

static void task_spawn(struct grpx_run *r, struct grpx_node *t)
{
	int fds[3] = { -1, -1, -1 };
	bool own_in = false;
	int err;

	if (alloc_ends(r, t))
		return;
	if (fds_tight(r) && wait_resources(r, t, EMFILE))
		return;
	r->tasks_running++;
	t->attempt++;
	if (t->stdin_inherit)
		r->tty_holder = t;
	t->state = T_RUN;
	t->status = GRPX_RUNNING;
	t->exit_code = -1;
	t->signal = t->errnum = 0;
	t->errwhat = EW_SPAWN;
	t->kill_sent = t->slurm_scan_off = t->slurm_refused = t->slurm_killing = false;
	free(t->errtext);
	t->errtext = NULL;
	t->stdout_bytes = t->stderr_bytes = 0;
	if (t->start_ms < 0)
		t->start_ms = rel_ms(r);
	if (t->retries)
		attempt_log(t, (struct attempt){ -1, 0, GRPX_RUNNING, rel_ms(r), -1 });
	struct feed *f = t->up->grp->feed;
	bool too_long = t->too_long;
	if (f && t->input && feed_slotted(f)) { /* {%}: its slot, known only now */
		char *cmd;
		t->jslot = feed_slot_take(f);
		if (feed_command(f, t, t->jslot, &cmd) == 0) {
			free(t->run);
			t->run = cmd;
		} else if (errno == E2BIG) {
			too_long = true;
		}
	}

	err = too_long ? E2BIG : stdin_of(r, t, &fds[0], &own_in);
	if (!err)
		err = streams_open(r, t, fds);
	if (!err)
		/* the keeper hears of the task from the task itself, before
		 * it runs; keeper_add below says it again (a repeat is harmless) */
		err = spawn_task(t, fds, r->keeper.fd);
	streams_started(t);
	if (own_in)
		close(fds[0]);
	bool later = false;
	if ((err == EMFILE || err == ENFILE || err == EAGAIN) && t->errwhat == EW_SPAWN) {
		r->tasks_running--; /* may the others free what it lacks? */
		later = may_wait(r, err);
		r->tasks_running++;
	}
	if (later) { /* not now: undo this attempt's start and wait */
		streams_finish(r, t);
		streams_end(r, t, false);
		close_late(r, &t->out_fd);
		r->tasks_running--;
		t->attempt--;
		if (t->retries && t->nlog)
			t->nlog--;
		if (t->jslot) {
			feed_slot_give(t->up->grp->feed, t->jslot);
			t->jslot = 0;
		}
		if (r->tty_holder == t)
			r->tty_holder = NULL;
		t->status = GRPX_PENDING;
		wait_resources(r, t, err);
		return;
	}
	if (!err && pid_put(&r->pids, t->pid, t) < 0) {
		/* Untracked we could not reap it in order: stop it now. */
		kill(-t->pgid, SIGKILL);
		err = ENOMEM;
	}
	if (!err)
		keeper_add(r, t->pgid);
	if (err) {
		t->errnum = err;
		t->status = GRPX_ERROR;
		t->pid = t->pgid = -1;
		streams_close_pipes(r, t);
		attempt_over(r, t);
		return;
	}
	if (t->timeout_ms >= 0)
		timer_after(r, t, TM_DEADLINE, t->timeout_ms);
	if (t->stdin_inherit)
		task_tty_give(r, t); /* it reads what the user types (D6) */
	run_event(r, (struct grpx_event){ .kind = GRPX_EV_START, .node = t, .pid = t->pid });
}

void task_launch(struct grpx_run *r, struct grpx_node *t)
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
static bool still_wanted(struct grpx_run *r, struct grpx_node *t)
{
	struct grpx_node *g = t->up;

	if (!g->verdict && !g->draining && !r->signal)
		return true;
	t->status = t->attempt ? GRPX_CANCELED : GRPX_SKIPPED;
	t->why = r->signal ? WHY_INTERRUPTED : WHY_FAILED;
	t->cause = r->signal ? NULL : g->draining ? g->grp->drain_cause : g->err_head;
	node_ended(r, t);
	return false;
}

/*
 * Start what waits for a free slot: the terminal (stdin: inherit) or a
 * --jobs slot.  Runs after the ended tasks have been handed to their
 * groups, so a group that just failed never sees a sibling start.
 */
void task_pump(struct grpx_run *r)
{
	if (r->sig_pending)
		return; /* a signal waits to be acted on: start nothing before it */
	if (r->q[Q_RES].head && r->freed != r->freed_seen) {
		/* something freed descriptors or a process: try those that wait */
		r->freed_seen = r->freed;
		struct grpx_node *last = r->q[Q_RES].tail;
		for (struct grpx_node *t; (t = queue_pop(r, Q_RES));) {
			if (still_wanted(r, t))
				task_spawn(r, t);
			if (t == last)
				break;
		}
	}
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

/* --- reaping and draining --- */

static void drain_remove(struct grpx_run *r, struct grpx_node *t)
{
	for (struct grpx_node **pp = &r->drain; *pp; pp = &(*pp)->q_next)
		if (*pp == t) {
			*pp = t->q_next;
			t->q_next = NULL;
			return;
		}
}

void task_drain_scan(struct grpx_run *r)
{
	struct grpx_node **pp = &r->drain;

	while (*pp) {
		struct grpx_node *t = *pp;
		if (t->pgid > 0 && !pg_alive(t->pgid))
			pg_forget(r, t);
		if (t->pgid < 0 && !streams_open_pipes(t)) {
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
static void t_exited(struct grpx_run *r, struct grpx_node *t)
{
	if (t->status == GRPX_RUNNING)
		t->status = t->exit_code == 0 ? GRPX_OK : GRPX_FAILED;
	if (t->state == T_RUN)
		timer_disarm(r, t, TM_DEADLINE);
	streams_exited(r, t);
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
		pg_forget(r, t);
		if (!streams_open_pipes(t)) {
			attempt_over(r, t);
			return;
		}
	}
	if (t->slot[TM_DEADLINE] < 0)
		timer_after(r, t, TM_DEADLINE, t->kill_sent ? 0 : grace_of(r, t));
	t->state = T_DRAIN;
	t->q_next = r->drain;
	r->drain = t;
}

void task_reap(struct grpx_run *r)
{
	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG | WUNTRACED);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		if (WIFSTOPPED(st)) {
			struct grpx_node *s = pid_get(&r->pids, pid);
			int sig = WSTOPSIG(st);
			if (s && s == r->tty_holder && sig == SIGTSTP)
				r->stop_pending = true; /* Ctrl-Z in the task: stop the whole run */
			else if (s && !r->tty_holder && (sig == SIGTTIN || sig == SIGTTOU)) {
				r->tty_holder = s; /* a prompt (sudo, ssh): it gets the terminal */
				task_tty_give(r, s);
			}
			continue;
		}
		struct grpx_node *t = pid_take(&r->pids, pid);
		if (!t)
			continue; /* a descendant that escaped its group, inherited */
		t->pid = -1;
		if (WIFEXITED(st))
			t->exit_code = WEXITSTATUS(st);
		else if (WIFSIGNALED(st))
			t->signal = WTERMSIG(st);
		task_on(r, t, E_EXIT);
	}
	task_drain_scan(r);
}

void task_kill_now(struct grpx_run *r, struct grpx_node *t)
{
	if (t->state == T_RUN || t->state == T_STOP || (t->state == T_KILL && !t->kill_sent)) {
		task_kill(r, t);
		timer_disarm(r, t, TM_DEADLINE);
		t->state = T_KILL;
	} else if (t->state == T_DRAIN) {
		timer_arm(r, t, TM_DEADLINE, run_now(r));
	}
}

/* --- the table --- */

/* QUEUED x cancel: this attempt never started. */
static void t_unqueue(struct grpx_run *r, struct grpx_node *t)
{
	queue_remove(r, t);
	t->status = t->attempt ? GRPX_CANCELED : GRPX_SKIPPED;
	node_ended(r, t);
}

/* WAIT x cancel: it had started, so it is canceled, not skipped. */
static void t_cancel_wait(struct grpx_run *r, struct grpx_node *t)
{
	timer_disarm(r, t, TM_WAKE);
	t->status = GRPX_CANCELED;
	node_ended(r, t);
}

/* WAIT x wake: the backoff is over. */
static void t_relaunch(struct grpx_run *r, struct grpx_node *t)
{
	task_launch(r, t);
}

/* RUN x cancel: SIGTERM to its group, grace armed. */
static void t_cancel(struct grpx_run *r, struct grpx_node *t)
{
	t->status = GRPX_CANCELED;
	run_cancel_event(r, t);
	task_stop(r, t);
}

/* RUN x deadline: its own timeout. */
static void t_timeout(struct grpx_run *r, struct grpx_node *t)
{
	t->status = GRPX_TIMEOUT;
	task_stop(r, t);
}

/* STOP x deadline: the grace is over.  KILL x deadline: srun did not
 * end its step in time (Slurm tasks only). */
static void t_kill(struct grpx_run *r, struct grpx_node *t)
{
	task_kill(r, t);
	t->state = T_KILL;
}

/* DRAIN x deadline: leftovers and pipe holders had their grace. */
static void t_drain_kill(struct grpx_run *r, struct grpx_node *t)
{
	task_kill(r, t);
	pg_forget(r, t);
	drain_remove(r, t);
	attempt_over(r, t);
}

static void (*const task_table[T_DONE + 1][E_N])(struct grpx_run *, struct grpx_node *) = {
	/*           cancel         deadline      wake        exit      drained */
	[T_QUEUED] = { t_unqueue,     NULL,         NULL,       NULL,     NULL },
	[T_WAIT]   = { t_cancel_wait, NULL,         t_relaunch, NULL,     NULL },
	[T_RUN]    = { t_cancel,      t_timeout,    NULL,       t_exited, NULL },
	[T_STOP]   = { NULL,          t_kill,       NULL,       t_exited, NULL },
	[T_KILL]   = { NULL,          t_kill,       NULL,       t_exited, NULL },
	[T_DRAIN]  = { NULL,          t_drain_kill, NULL,       NULL,     attempt_over },
};

bool task_can(const struct grpx_node *t, enum task_event ev)
{
	return task_table[t->state][ev] != NULL;
}

void task_on(struct grpx_run *r, struct grpx_node *t, enum task_event ev)
{
	if (task_can(t, ev))
		task_table[t->state][ev](r, t);
}
