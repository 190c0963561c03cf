/* adhoc.c - a one-group job from commands (`grpx MODE [OPTIONS] COMMAND...`). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mode.h"
#include "template.h"

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (len)
		vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* The job-file rules of SPEC section 3, said in terms of flags; `fed`:
 * more tasks come from input as the run goes (checked then, feed.c). */
static int check(const struct grpx_adhoc *a, size_t n, bool fed, char *err, size_t len)
{
	const struct mode_info *mi = mode_info_of((int)a->mode);
	const char *mode = mi->name;
	const struct { unsigned key; const char *flag; bool given; } opt[] = {
		{ MK_LIMIT, "--limit", a->limit != -1 },
		{ MK_COUNT, "--count", a->count != -1 },
		{ MK_ON_ERROR, "--on-error", a->on_error != -1 },
		{ MK_STAGGER, "--stagger", a->stagger_ms != -1 },
	};
	bool counted = mi->flags & M_COUNT;

	if ((unsigned)a->mode >= GRPX_NMODES)
		return fail(err, len, "unknown mode");
	for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++)
		if (opt[i].given && !(mi->keys & opt[i].key))
			return fail(err, len, "%s does not apply to mode '%s'",
				    opt[i].flag, mode);
	if (a->delay_ms != -1 && !(mi->flags & M_TIMED))
		return fail(err, len, "--delay does not apply to mode '%s'", mode);
	if (a->limit != -1 && a->limit < 1)
		return fail(err, len, "--limit must be at least 1");
	if (a->count != -1 && a->count < 1)
		return fail(err, len, "--count must be at least 1");
	if (a->attempts < -1)
		return fail(err, len, "--attempts must be at least 0");
	if (a->attempts > INT32_MAX)
		return fail(err, len, "--attempts must be at most %d", INT32_MAX);
	if (a->factor != 0 && !(a->factor >= 1))
		return fail(err, len, "--backoff factor must be at least 1");
	for (size_t i = 0; i < a->nretry_on; i++)
		if (a->retry_on[i] < 0 || a->retry_on[i] > 255)
			return fail(err, len, "--retry-on exit code %d is not "
				    "from 0 to 255", a->retry_on[i]);
	/* The engine's deadlines are in us: keep them inside int64. */
	if (a->stagger_ms > GRPX_DURATION_MAX_MS ||
	    a->delay_ms > GRPX_DURATION_MAX_MS || a->task_timeout_ms > GRPX_DURATION_MAX_MS ||
	    a->initial_ms > GRPX_DURATION_MAX_MS ||
	    a->max_ms > GRPX_DURATION_MAX_MS)
		return fail(err, len, "durations must be at most 1000000h");
	if (a->on_error < -1 || a->on_error > GRPX_ON_CONTINUE ||
	    a->stagger_ms < -1 || a->delay_ms < -1)
		return fail(err, len, "invalid option value");
	if (counted && a->count == -1)
		return fail(err, len, "mode '%s' needs --count", mode);
	if (fed)
		return 0;
	if (n == 0 && (mi->flags & M_NEEDS_KIDS))
		return fail(err, len, "mode '%s' needs a command", mode);
	if (counted && (size_t)a->count > n)
		return fail(err, len, "--count is %ld but there %s %zu command%s",
			    a->count, n == 1 ? "is" : "are", n, n == 1 ? "" : "s");
	if ((mi->flags & M_ONE_CHILD) && n > 1)
		return fail(err, len, "%s takes exactly one command", mode);
	return 0;
}

/* The group's --shell, --cwd and --env: inherited by every task. */
static int set_group(struct grpx_node *g, const struct grpx_adhoc *a)
{
	struct node_opts *o;
	size_t n = 0;

	if (a->stagger_ms < 0 && !a->shell && !a->cwd && !a->env)
		return 0;
	if (!(o = node_opts(g)))
		return -1;
	if (a->stagger_ms >= 0)
		o->stagger_ms = a->stagger_ms;
	if (a->shell && (!(o->shell = xcalloc(2, sizeof *o->shell)) ||
			 !(o->shell[0] = strdup(a->shell))))
		return -1;
	if (a->cwd && !(o->cwd = strdup(a->cwd)))
		return -1;
	while (a->env && a->env[n])
		n++;
	if (a->env && !(o->env = xcalloc(n + 1, sizeof *o->env)))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!(o->env[i] = strdup(a->env[i])))
			return -1;
	return 0;
}

int grpx_job_adhoc(const struct grpx_adhoc *a, char *const *cmds, size_t n,
		   struct grpx_job **jobp, char *err, size_t errlen)
{
	const struct mode_info *mi = mode_info_of((int)a->mode);
	bool fed = a->tpl || a->read_input;
	struct grpx_job *job;
	struct grpx_node *r, *g;
	size_t cap = n;

	*jobp = NULL;
	if (check(a, n, fed, err, errlen) != 0)
		return -1;
	if (n > UINT32_MAX - 2 || !(job = calloc(1, sizeof *job)))
		return fail(err, errlen, "out of memory");
	if (!(r = adhoc_add(job, NULL, 0, "")) || !(r->kids = xcalloc(1, sizeof *r->kids)) ||
	    !(g = adhoc_add(job, r, 0, mode_name(a->mode))) ||
	    !(g->kids = xcalloc(n, sizeof *g->kids)))
		goto oom;
	if (node_make_group(r) != 0 || node_make_group(g) != 0)
		goto oom;
	r->mode = GRPX_ERRGROUP;
	r->grp->limit = 1;
	g->mode = (uint8_t)a->mode;
	g->grp->limit = a->limit > 0 ? (uint32_t)a->limit : 0;
	g->grp->count = a->count > 0 ? (uint32_t)a->count : 0;
	g->on_error = (int8_t)a->on_error;
	if (set_group(g, a) != 0)
		goto oom;
	/* A retry group retries itself; in the other modes each task does. */
	if ((mi->flags & M_ONE_CHILD) && adhoc_set_retry(g, a) != 0)
		goto oom;
	for (size_t i = 0; i < n; i++) {
		char *run = strdup(cmds[i]);
		if (!run || !adhoc_task(job, g, run, NULL, a, &cap))
			goto oom;
	}
	if (fed && !(g->grp->feed = feed_new(a, cap)))
		goto oom;
	*jobp = job;
	return 0;
oom:
	grpx_job_free(job);
	return fail(err, errlen, "out of memory");
}

int grpx_template_has_rs(const char *cmd, size_t nsrc)
{
	struct tpl_input in = { .n = nsrc };

	return tpl_has_rs(cmd, &in);
}
