/*
 * compat.h - the few calls that need a newer libc than Debian 11's (glibc
 * 2.31), done without it: epoll_pwait2 (glibc 2.35) and sigabbrev_np
 * (glibc 2.32).  Internal to lib/; cmd/ uses grpx_signal_name().
 */
#ifndef GRPX_COMPAT_H
#define GRPX_COMPAT_H

#include <stdint.h>
#include <sys/epoll.h>

/*
 * epoll_wait with a timeout in microseconds (-1: none).  Uses the
 * epoll_pwait2 system call where the kernel has it (Linux 5.11), else
 * epoll_wait with the timeout rounded up to whole milliseconds: a timer
 * may fire up to 1 ms late, never early.  Returns as epoll_wait does.
 */
int compat_epoll_wait_us(int ep, struct epoll_event *ev, int max, int64_t us);

/* "INT" for SIGINT, as sigabbrev_np(); NULL for a number it does not know
 * (real-time signals included). */
const char *compat_sigabbrev(int sig);

#endif
