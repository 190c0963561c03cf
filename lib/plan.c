/*
 * plan.c - `grpx plan`: the tree, one node per line, indented two spaces a
 * level: the name, then the mode (or "task"), then the settings written on
 * that node as key=value in a fixed order, then for a task ": COMMAND".
 * Modes show their effective on_error, and retry groups their attempts, even
 * when not written.  A first line "job ..." shows the top-level settings.
 * After grpx_job_resume(), a node a run would not run says so after its
 * mode: "resumed" (it ended ok before), or "skipped" (in a group resumed
 * whole, it did not).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mode.h"

/* A value, quoted '...' when it has spaces; newlines shown as \n. */
static void put_val(FILE *f, const char *s, bool quote)
{
	quote = quote && strpbrk(s, " \t'\n");
	if (quote)
		fputc('\'', f);
	for (; *s; s++)
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	if (quote)
		fputc('\'', f);
}

/* " key=a sep b ...": a list joined by sep; env shows names only. */
static void put_list(FILE *f, const char *key, char *const *v, const char *sep,
		     bool names)
{
	char buf[4096] = "";
	size_t len = 0;

	for (size_t i = 0; v[i] && len < sizeof buf; i++)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%.*s",
					i ? sep : "",
					names ? (int)strcspn(v[i], "=") : (int)strlen(v[i]),
					v[i]);
	fprintf(f, " %s=", key);
	put_val(f, buf, true);
}

static void put_dur(FILE *f, const char *key, int64_t ms)
{
	char buf[64];

	if (ms < 0)
		return;
	grpx_format_duration(ms, buf, sizeof buf);
	fprintf(f, " %s=%s", key, buf);
}

/* " resources=cpus:4,mem:8G,gpus:1": the keys set on the node. */
static void put_resources(FILE *f, const struct resources *res)
{
	const char *sep = " resources=";

	if (res->cpus >= 0) {
		fprintf(f, "%scpus:%d", sep, (int)res->cpus);
		sep = ",";
	}
	if (res->mem) {
		fprintf(f, "%smem:%s", sep, res->mem);
		sep = ",";
	}
	if (res->gpus >= 0)
		fprintf(f, "%sgpus:%d", sep, (int)res->gpus);
}

static void put_attrs(FILE *f, const struct grpx_node *n)
{
	static const char *const on_error[] = { "cancel", "drain", "continue" };
	bool group = n->parent && n->kind == NODE_GROUP;
	const struct mode_info *mi = mode_info_of(n->mode);
	int oe = n->on_error >= 0 ? n->on_error : mi->on_error;
	int64_t attempts = n->attempts;
	char at[64];

	if (group && n->grp->limit)
		fprintf(f, " limit=%u", n->grp->limit);
	if (group && n->grp->count)
		fprintf(f, " count=%u", n->grp->count);
	if (group && oe >= 0)
		fprintf(f, " on_error=%s", on_error[oe]);
	put_dur(f, "stagger", n->opt->stagger_ms);
	put_dur(f, "delay", n->opt->delay_ms);
	if (at_format(&n->opt->at, at, sizeof at) == 0)
		fprintf(f, " at=%s", at);
	put_dur(f, "timeout", n->timeout_ms);
	put_dur(f, "grace", n->opt->grace_ms);
	if (group && attempts < 0 && mi->attempts != 1)
		attempts = mi->attempts;
	if (attempts >= 0)
		fprintf(f, " attempts=%lld", (long long)attempts);
	if (n->opt->backoff.initial_ms >= 0) { /* INITIAL:MAX:FACTOR, as --backoff */
		char ini[32], max[32] = "-";
		grpx_format_duration(n->opt->backoff.initial_ms, ini, sizeof ini);
		if (n->opt->backoff.max_ms >= 0)
			grpx_format_duration(n->opt->backoff.max_ms, max, sizeof max);
		fprintf(f, " backoff=%s:%s:%g%s", ini, max, n->opt->backoff.factor,
			n->opt->backoff.jitter ? "+jitter" : "");
	}
	for (uint32_t i = 0; i < n->opt->nretry_on; i++)
		fprintf(f, "%s%d", i ? "," : " retry_on=", n->opt->retry_on[i]);
	if (n->stdin_inherit)
		fputs(" stdin=inherit", f);
	if (n->opt->cwd) {
		fputs(" cwd=", f);
		put_val(f, n->opt->cwd, true);
	}
	if (n->opt->shell)
		put_list(f, "shell", n->opt->shell, " ", false);
	if (n->opt->env && n->opt->env[0])
		put_list(f, "env", n->opt->env, ",", true);
	if (n->runner == RUN_LOCAL)
		fputs(" runner=local", f);
	else if (n->runner >= RUN_SLURM && n->opt->slurm_args && n->opt->slurm_args[0])
		put_list(f, "runner=slurm:", n->opt->slurm_args, " ", false);
	else if (n->runner >= RUN_SLURM)
		fputs(" runner=slurm", f);
	if (n->runner == RUN_SLURM_JOB)
		fputs(" allocation=new", f);
	put_resources(f, &n->opt->res);
}

static void plan_node(const struct grpx_node *n, FILE *f)
{
	fprintf(f, "%*s%s  %s", (int)(n->depth - 1) * 2, "", n->name,
		n->kind == NODE_GROUP ? mode_name(n->mode) : "task");
	/* plan --resume: what a run would not run (grpx_job_resume()) */
	if (n->resume == RM_OK)
		fputs(" resumed", f);
	else if (n->resume == RM_SKIP)
		fputs(" skipped", f);
	put_attrs(f, n);
	if (n->run) {
		fputs(": ", f);
		put_val(f, n->run, false);
	} else if (n->argv) {
		for (size_t i = 0; n->argv[i]; i++) {
			fputs(i ? ", " : ": [", f);
			put_val(f, n->argv[i], false);
		}
		fputc(']', f);
	}
	fputc('\n', f);
	for (uint32_t i = 0; i < n->nkids; i++)
		plan_node(n->kids[i], f);
}

void grpx_job_plan(const struct grpx_job *job, FILE *f)
{
	const struct grpx_node *r = job->root;
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);

	/* The top line only when the top level sets something. */
	if (m) {
		put_attrs(m, r);
		fclose(m);
		if (len)
			fprintf(f, "job %s\n", buf);
		free(buf);
	}
	for (uint32_t i = 0; i < r->nkids; i++)
		plan_node(r->kids[i], f);
}

/* One path a line, then the paths below it. */
static void paths_node(const struct grpx_node *n, FILE *f)
{
	fprintf(f, "%s\n", n->path);
	for (uint32_t i = 0; i < n->nkids; i++)
		paths_node(n->kids[i], f);
}

void grpx_job_paths(const struct grpx_job *job, FILE *f)
{
	for (uint32_t i = 0; i < job->root->nkids; i++)
		paths_node(job->root->kids[i], f);
}
