/* util.c - small helpers shared by the library. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

void *xcalloc(size_t n, size_t size)
{
	return calloc(n ? n : 1, size ? size : 1);
}

char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double mono_ms_f(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

const char *grpx_status_name(enum grpx_status s)
{
	static const char *const names[] = {
		"pending", "running", "ok", "failed", "timeout", "canceled",
		"skipped", "error",
	};
	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}
