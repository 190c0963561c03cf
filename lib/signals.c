/*
 * signals.c - what grpx does with the signals it takes from its signalfd:
 * SIGCHLD reaps, SIGINT/SIGTERM/... cancel the run (a second SIGINT kills at
 * once), SIGTSTP stops every task's process group and then grpx, SIGCONT
 * resumes them without the time stopped counting.
 */
#include <errno.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

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
void take_signals(struct grpx_run *r)
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

void on_signal(struct grpx_run *r, struct watch *w, uint32_t revents)
{
	(void)w;
	(void)revents;
	take_signals(r);
}

void act_on_signals(struct grpx_run *r)
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
