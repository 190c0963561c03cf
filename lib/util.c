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

static const char *const mode_names[GRPX_NMODES] = {
	"errgroup", "sized", "all", "race", "take", "last", "retry",
	"waterfall", "schedule",
};

const char *mode_name(int mode)
{
	return mode >= 0 && mode < GRPX_NMODES ? mode_names[mode] : "?";
}

const char *grpx_mode_name(enum grpx_mode m)
{
	return mode_name((int)m);
}

int grpx_mode_parse(const char *s)
{
	for (int i = 0; i < GRPX_NMODES; i++)
		if (strcmp(s, mode_names[i]) == 0)
			return i;
	return -1;
}

const char *grpx_status_name(enum grpx_status s)
{
	static const char *const names[] = {
		"pending", "running", "ok", "failed", "timeout", "canceled",
		"skipped", "error",
	};
	return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?";
}

const char *grpx_node_path(const struct grpx_node *n)
{
	return n->path;
}

enum grpx_status grpx_node_status(const struct grpx_node *n)
{
	return (enum grpx_status)n->status;
}

void grpx_node_info(const struct grpx_node *n, struct grpx_node_info *info)
{
	*info = (struct grpx_node_info){
		.path = n->path,
		.name = n->name,
		.is_task = n->kind == NODE_TASK,
		.status = (enum grpx_status)n->status,
		.exit_code = n->exit_code,
		.signal = n->signal,
		.attempts = n->attempt,
		.start_ms = n->start_ms,
		.end_ms = n->end_ms,
		.stdout_bytes = n->stdout_bytes,
		.stderr_bytes = n->stderr_bytes,
		.nkids = n->nkids,
	};
}

const struct grpx_node *grpx_node_kid(const struct grpx_node *n, size_t i)
{
	return i < n->nkids ? n->kids[i] : NULL;
}

const struct grpx_node *grpx_job_root(const struct grpx_job *job)
{
	return job->root;
}
