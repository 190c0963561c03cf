/*
 * lib/compat.c: epoll with a microsecond timeout never returns early, and
 * the signal names are glibc's.  Built twice: as test_compat, and with
 * GRPX_COMPAT_NO_PWAIT2 as test_compat_fallback (epoll_wait in whole ms).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "compat.h"
#include "grpx.h"

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* With nothing to wait for, the call sleeps at least `us` (rounded up to
 * whole ms by the fallback), and not much longer. */
static void timeout_never_early(void **state)
{
	static const int64_t waits[] = { 1, 400, 999, 1000, 1001, 1500, 2500, 20000 };
	struct epoll_event ev[4];
	int ep = epoll_create1(EPOLL_CLOEXEC);

	(void)state;
	assert_true(ep >= 0);
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
			int64_t us = waits[i], t0 = now_us();
			assert_int_equal(compat_epoll_wait_us(ep, ev, 4, us), 0);
			int64_t took = now_us() - t0;
#ifdef GRPX_COMPAT_NO_PWAIT2
			int64_t least = (us + 999) / 1000 * 1000;
#else
			int64_t least = us;
#endif
			if (took < least)
				fail_msg("waited %lld us for a timeout of %lld us",
					 (long long)took, (long long)us);
			/* generous: the machine is shared */
			assert_true(took < least + 2000000);
		}
	int64_t t0 = now_us();
	assert_int_equal(compat_epoll_wait_us(ep, ev, 4, 0), 0);
	assert_true(now_us() - t0 < 1000000);
	close(ep);
}

/* A ready descriptor ends the wait at once, with or without a timeout. */
static void ready_fd_returns(void **state)
{
	struct epoll_event ev[4], add = { .events = EPOLLIN };
	int ep = epoll_create1(EPOLL_CLOEXEC), p[2];

	(void)state;
	assert_true(ep >= 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	add.data.fd = p[0];
	assert_int_equal(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &add), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	int64_t t0 = now_us();
	assert_int_equal(compat_epoll_wait_us(ep, ev, 4, 10000000), 1);
	assert_int_equal(ev[0].data.fd, p[0]);
	assert_int_equal(compat_epoll_wait_us(ep, ev, 4, -1), 1);
	assert_true(now_us() - t0 < 5000000);
	close(p[0]);
	close(p[1]);
	close(ep);
}

static void signal_names(void **state)
{
	(void)state;
	assert_string_equal(compat_sigabbrev(SIGINT), "INT");
	assert_string_equal(compat_sigabbrev(SIGKILL), "KILL");
	assert_string_equal(compat_sigabbrev(SIGTERM), "TERM");
	assert_string_equal(grpx_signal_name(SIGSEGV), "SEGV");
	assert_string_equal(grpx_signal_name(SIGIO), "POLL"); /* glibc's name */
	assert_null(compat_sigabbrev(0));
	assert_null(compat_sigabbrev(-1));
	assert_null(compat_sigabbrev(SIGRTMIN));
	assert_null(compat_sigabbrev(NSIG));
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
	/* where glibc has sigabbrev_np, ours says the same for every number */
	for (int sig = -1; sig <= NSIG + 1; sig++) {
		const char *want = sigabbrev_np(sig), *got = compat_sigabbrev(sig);
		if (!want || !got)
			assert_ptr_equal(want, got);
		else
			assert_string_equal(want, got);
	}
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timeout_never_early),
		cmocka_unit_test(ready_fd_returns),
		cmocka_unit_test(signal_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
