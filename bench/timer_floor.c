/*
 * timer_floor.c - the floor for timers: N deadlines at random delays within
 * SPAN ms, fired from one binary heap and one timerfd + poll loop.
 * Prints the start lateness (fire time minus deadline) p50/p99/max in µs.
 *
 *   timer_floor [-n N] [-s SPAN_MS] [-r SEED] [-x]
 *
 * -x: at each deadline also posix_spawn `/bin/sh -c true` in a new process group
 * (reaped without blocking), as a runner must: that shows what a spawn
 * per deadline costs on top of the timer alone.
 *
 * Output (one line): p50_us=... p99_us=... max_us=... n=...
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t *heap;
static size_t hn;

static void push(int64_t v)
{
	size_t i = hn++;
	while (i > 0 && heap[(i - 1) / 2] > v) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i] = v;
}

static int64_t pop(void)
{
	int64_t top = heap[0], v = heap[--hn];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= hn)
			break;
		if (c + 1 < hn && heap[c + 1] < heap[c])
			c++;
		if (heap[c] >= v)
			break;
		heap[i] = heap[c];
		i = c;
	}
	heap[i] = v;
	return top;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	long n = 10000, span = 2000;
	unsigned seed = 1;
	int spawn = 0, opt;

	while ((opt = getopt(argc, argv, "n:s:r:x")) != -1)
		switch (opt) {
		case 'n': n = strtol(optarg, NULL, 10); break;
		case 's': span = strtol(optarg, NULL, 10); break;
		case 'r': seed = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'x': spawn = 1; break;
		default:
			fprintf(stderr, "usage: timer_floor [-n N] [-s SPAN_MS] [-r SEED] [-x]\n");
			return 2;
		}
	heap = calloc((size_t)n, sizeof *heap);
	int64_t *late = calloc((size_t)n, sizeof *late);
	size_t nl = 0;
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (tfd < 0) {
		perror("timerfd_create");
		return 2;
	}
	srand(seed);
	int64_t t0 = now_us();
	for (long i = 0; i < n; i++) /* millisecond delays, as a job file gives */
		push(t0 + (int64_t)(rand() % span) * 1000);

	posix_spawnattr_t at;
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
	posix_spawnattr_setpgroup(&at, 0);
	char *targv[] = { "/bin/sh", "-c", "true", NULL };

	while (hn) {
		struct itimerspec its = { 0 };
		its.it_value.tv_sec = heap[0] / 1000000;
		its.it_value.tv_nsec = heap[0] % 1000000 * 1000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
		timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
		struct pollfd p = { .fd = tfd, .events = POLLIN };
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return 2;
		uint64_t ticks;
		(void)!read(tfd, &ticks, sizeof ticks);
		while (hn && heap[0] <= now_us()) {
			int64_t due = pop();
			late[nl++] = now_us() - due;
			if (spawn) {
				pid_t pid;
				posix_spawn(&pid, targv[0], NULL, &at, targv, environ);
			}
		}
		if (spawn)
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
	}
	while (spawn && wait(NULL) > 0)
		;
	qsort(late, nl, sizeof *late, cmp64);
	printf("p50_us=%lld p99_us=%lld max_us=%lld n=%zu\n", (long long)late[nl / 2],
	       (long long)late[(size_t)((double)nl * 0.99)], (long long)late[nl - 1], nl);
	return 0;
}
