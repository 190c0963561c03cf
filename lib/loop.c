/*
 * loop.c - wait for the next fd event or deadline.
 *
 * One epoll set holds every watch (task pipes, output queues, the signalfd,
 * an input source); every deadline of the run sits in one heap.  The run
 * clock is CLOCK_MONOTONIC minus the time grpx spent stopped (SIGTSTP), so
 * that a stop moves every timeout, grace, backoff and delay along with it.
 * Knows nothing of tasks or groups.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "compat.h"
#include "run.h"

static int64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t run_now(const struct grpx_run *r)
{
	return mono() - r->loop.stopped_us;
}

double rel_ms(const struct grpx_run *r)
{
	return (double)(mono() - r->loop.t0_us) / 1000.0;
}

int64_t deadline_after(int64_t now_us, int64_t ms)
{
	return ms > (INT64_MAX - now_us) / 1000 ? INT64_MAX : now_us + ms * 1000;
}

void timer_arm(struct grpx_run *r, struct grpx_node *n, enum timer which, int64_t at_us)
{
	/* Cannot fail: the run reserved two entries a node, and a node has
	 * two timers. */
	(void)heap_push(&r->loop.heap, n, (int)which, at_us);
}

void timer_after(struct grpx_run *r, struct grpx_node *n, enum timer which, int64_t ms)
{
	timer_arm(r, n, which, deadline_after(run_now(r), ms));
}

void timer_disarm(struct grpx_run *r, struct grpx_node *n, enum timer which)
{
	heap_remove(&r->loop.heap, n, (int)which);
}

int watch_add(struct grpx_run *r, struct watch *w, int fd, uint32_t events,
	      void (*cb)(struct grpx_run *, struct watch *, uint32_t))
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	w->fd = fd;
	w->events = events;
	w->cb = cb;
	if (epoll_ctl(r->loop.ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
		w->fd = -1;
		return errno;
	}
	return 0;
}

void watch_mod(struct grpx_run *r, struct watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };

	if (w->fd < 0 || w->events == events)
		return;
	if (epoll_ctl(r->loop.ep, EPOLL_CTL_MOD, w->fd, &ev) == 0)
		w->events = events;
}

void watch_del(struct grpx_run *r, struct watch *w)
{
	if (w->fd >= 0)
		epoll_ctl(r->loop.ep, EPOLL_CTL_DEL, w->fd, NULL);
	w->fd = -1;
	w->events = 0;
}

void loop_wait(struct grpx_run *r, int64_t due_us)
{
	struct epoll_event ev[64];
	int64_t us = due_us == INT64_MAX ? -1 : due_us - run_now(r);

	if (r->loop.ready || (us < 0 && due_us != INT64_MAX))
		us = 0;
	r->loop.ready = false;
	int n = compat_epoll_wait_us(r->loop.ep, ev, 64, us > 3600000000 ? 3600000000 : us);
	for (int i = 0; i < n; i++) {
		struct watch *w = ev[i].data.ptr;
		/* an earlier callback of this batch may have closed it */
		if (w->fd >= 0 && w->cb)
			w->cb(r, w, ev[i].events);
	}
}

int loop_open(struct grpx_run *r)
{
	struct loop *l = &r->loop;

	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep < 0)
		return errno;
	l->sigfd = signalfd(-1, &l->caught, SFD_NONBLOCK | SFD_CLOEXEC);
	if (l->sigfd < 0) {
		int err = errno;
		close(l->ep);
		return err;
	}
	l->t0_us = mono();
	clock_gettime(CLOCK_REALTIME, &l->wall0);
	return 0;
}

void loop_close(struct grpx_run *r)
{
	struct loop *l = &r->loop;

	if (l->sigfd >= 0)
		close(l->sigfd);
	if (l->ep >= 0)
		close(l->ep);
	l->sigfd = l->ep = -1;
	heap_free(&l->heap);
}
