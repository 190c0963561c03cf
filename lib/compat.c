/*
 * compat.c - epoll_pwait2 and sigabbrev_np without glibc 2.32/2.35.
 *
 * The glibc wrappers are never called: the system call is made directly
 * (when the kernel headers know its number), and signal names come from a
 * table, so the same source builds on glibc 2.31 and runs on any kernel.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "compat.h"
#include "grpx.h"

/* Tests build this file with GRPX_COMPAT_NO_PWAIT2 to try the fallback. */
#if defined(SYS_epoll_pwait2) && !defined(GRPX_COMPAT_NO_PWAIT2)
#define HAVE_PWAIT2 1
#endif

int compat_epoll_wait_us(int ep, struct epoll_event *ev, int max, int64_t us)
{
#ifdef HAVE_PWAIT2
	static bool no_pwait2; /* the kernel said ENOSYS once: ask no more */

	if (us >= 0 && !no_pwait2) {
		/* The kernel's struct __kernel_timespec: 64-bit seconds even
		 * where time_t is 32 bits. */
		struct {
			int64_t tv_sec;
			long long tv_nsec;
		} ts = { us / 1000000, us % 1000000 * 1000 };
		/* The kernel reads a sigmask only when one is given: none here,
		 * so its size may be 0. */
		long n = syscall(SYS_epoll_pwait2, ep, ev, max, &ts, NULL, (size_t)0);
		if (n >= 0 || errno != ENOSYS)
			return (int)n;
		no_pwait2 = true;
	}
#endif
	if (us < 0)
		return epoll_wait(ep, ev, max, -1);
	/* Round up: a timer must never fire early. */
	int64_t ms = (us + 999) / 1000;
	return epoll_wait(ep, ev, max, ms > INT32_MAX ? INT32_MAX : (int)ms);
}

/* glibc's names, in its order; SIGIOT and SIGIO are aliases of SIGABRT and
 * SIGPOLL there and get those names. */
static const struct {
	int sig;
	const char *name;
} sig_names[] = {
	{ SIGHUP, "HUP" }, { SIGINT, "INT" }, { SIGQUIT, "QUIT" },
	{ SIGILL, "ILL" }, { SIGTRAP, "TRAP" }, { SIGABRT, "ABRT" },
	{ SIGBUS, "BUS" }, { SIGFPE, "FPE" }, { SIGKILL, "KILL" },
	{ SIGUSR1, "USR1" }, { SIGSEGV, "SEGV" }, { SIGUSR2, "USR2" },
	{ SIGPIPE, "PIPE" }, { SIGALRM, "ALRM" }, { SIGTERM, "TERM" },
#ifdef SIGSTKFLT
	{ SIGSTKFLT, "STKFLT" },
#endif
	{ SIGCHLD, "CHLD" }, { SIGCONT, "CONT" }, { SIGSTOP, "STOP" },
	{ SIGTSTP, "TSTP" }, { SIGTTIN, "TTIN" }, { SIGTTOU, "TTOU" },
	{ SIGURG, "URG" }, { SIGXCPU, "XCPU" }, { SIGXFSZ, "XFSZ" },
	{ SIGVTALRM, "VTALRM" }, { SIGPROF, "PROF" }, { SIGWINCH, "WINCH" },
#ifdef SIGPOLL
	{ SIGPOLL, "POLL" },
#endif
#ifdef SIGPWR
	{ SIGPWR, "PWR" },
#endif
	{ SIGSYS, "SYS" },
};

const char *compat_sigabbrev(int sig)
{
	for (size_t i = 0; i < sizeof sig_names / sizeof sig_names[0]; i++)
		if (sig_names[i].sig == sig)
			return sig_names[i].name;
	return NULL;
}

const char *grpx_signal_name(int sig)
{
	return compat_sigabbrev(sig);
}
