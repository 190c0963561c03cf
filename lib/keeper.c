/*
 * keeper.c - nothing outlives grpx, even when grpx is SIGKILLed.
 *
 * At the start of a run grpx forks a keeper: a small process in a session
 * of its own (terminal signals do not reach it) that holds the read end of
 * a pipe from grpx.  grpx tells it each process group it starts and each
 * one it knows is gone.  When the pipe reaches EOF without grpx's "the run
 * is over", grpx died (SIGKILL, the OOM killer, a crash): the keeper sends
 * SIGTERM and SIGCONT to every group still listed, waits half a second,
 * sends SIGKILL, and exits.  After a normal run it exits at once.
 *
 * The keeper never execs: between the fork and its _exit it makes only
 * async-signal-safe calls (read, kill, close, sigaction, setsid, nanosleep)
 * on memory allocated before the fork, so it is safe even in a host
 * program with threads.  Its table has room for KEEPER_MAX groups alive at
 * once; groups beyond that are not covered (grpx starts far fewer: each
 * needs descriptors).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

#define KEEPER_MAX 65536
#define KEEPER_END 0 /* the message "the run is over": exit, kill nothing */

static void keeper_kill_all(const int32_t *tab, size_t n, int sig)
{
	for (size_t i = 0; i < n; i++)
		if (tab[i] > 0) {
			kill(-tab[i], sig);
			if (sig == SIGTERM)
				kill(-tab[i], SIGCONT);
		}
}

/* The keeper: async-signal-safe only. */
static void keeper_main(int fd, int32_t *tab)
{
	int32_t msg[1024];
	size_t n = 0;

	struct sigaction ign = { .sa_handler = SIG_IGN };

	setsid();
	for (int sig = 1; sig < 32; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sig != SIGCHLD)
			sigaction(sig, &ign, NULL);
	for (;;) {
		ssize_t k = read(fd, msg, sizeof msg);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break; /* grpx is gone */
		for (ssize_t i = 0; i < k / (ssize_t)sizeof msg[0]; i++) {
			int32_t m = msg[i];
			if (m == KEEPER_END)
				_exit(0);
			if (m > 0) {
				size_t j = 0;
				while (j < n && tab[j] > 0)
					j++;
				if (j < KEEPER_MAX) {
					tab[j] = m;
					if (j == n)
						n++;
				}
			} else {
				for (size_t j = 0; j < n; j++)
					if (tab[j] == -m)
						tab[j] = 0;
				while (n > 0 && tab[n - 1] == 0)
					n--;
			}
		}
	}
	keeper_kill_all(tab, n, SIGTERM);
	struct timespec half = { 0, 500000000 };
	while (nanosleep(&half, &half) < 0 && errno == EINTR)
		;
	keeper_kill_all(tab, n, SIGKILL);
	_exit(0);
}

int keeper_start(struct grpx_run *r)
{
	int p[2];
	int32_t *tab = calloc(KEEPER_MAX, sizeof *tab);
	pid_t pid;

	r->keeper.fd = -1;
	r->keeper.pid = -1;
	if (!tab)
		return ENOMEM;
	if (pipe2(p, O_CLOEXEC) < 0) {
		free(tab);
		return errno;
	}
	pid = fork();
	if (pid < 0) {
		int err = errno;
		free(tab);
		close(p[0]);
		close(p[1]);
		return err;
	}
	if (pid == 0) {
		/* hold nothing of grpx's: not its stdout (a reader would wait
		 * for our EOF), not a task's pipe */
		int null = open("/dev/null", O_RDWR);
		if (p[0] != 3 && dup2(p[0], 3) != 3)
			_exit(1);
		for (int i = 0; i < 3; i++)
			dup2(null, i);
#ifdef SYS_close_range
		if (syscall(SYS_close_range, 4, ~0U, 0) < 0)
#endif
			for (int fd = 4; fd < 65536; fd++)
				close(fd);
		keeper_main(3, tab);
	}
	free(tab);
	close(p[0]);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	r->keeper.fd = p[1];
	r->keeper.pid = pid;
	return 0;
}

/* Queue a message; what the pipe does not take now goes with the next. */
static void keeper_send(struct grpx_run *r, int32_t m)
{
	struct keeper *k = &r->keeper;

	if (k->fd < 0)
		return;
	if (k->nq == k->capq) {
		size_t cap = k->capq ? k->capq * 2 : 64;
		int32_t *q = realloc(k->q, cap * sizeof *q);
		if (!q)
			return; /* no memory: that group is not covered */
		k->q = q;
		k->capq = cap;
	}
	k->q[k->nq++] = m;
	keeper_flush(r);
}

void keeper_flush(struct grpx_run *r)
{
	struct keeper *k = &r->keeper;
	size_t done = 0;

	while (done < k->nq) {
		ssize_t w = write(k->fd, k->q + done, (k->nq - done) * sizeof *k->q);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* full: later; gone: nothing to tell */
		done += (size_t)w / sizeof *k->q; /* a pipe write of whole messages is atomic */
	}
	memmove(k->q, k->q + done, (k->nq - done) * sizeof *k->q);
	k->nq -= done;
}

void keeper_add(struct grpx_run *r, pid_t pgid)
{
	if (pgid > 0)
		keeper_send(r, (int32_t)pgid);
}

void keeper_del(struct grpx_run *r, pid_t pgid)
{
	if (pgid > 0)
		keeper_send(r, -(int32_t)pgid);
}

void keeper_stop(struct grpx_run *r)
{
	struct keeper *k = &r->keeper;

	if (k->fd >= 0) {
		int fl = fcntl(k->fd, F_GETFL);
		fcntl(k->fd, F_SETFL, fl & ~O_NONBLOCK); /* the last words must arrive */
		keeper_send(r, KEEPER_END);
		close(k->fd);
		k->fd = -1;
	}
	if (k->pid > 0) {
		while (waitpid(k->pid, NULL, 0) < 0 && errno == EINTR)
			;
		k->pid = -1;
	}
	free(k->q);
	k->q = NULL;
	k->nq = k->capq = 0;
}
