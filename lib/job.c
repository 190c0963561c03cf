/*
 * job.c - the job tree: make nodes (the loader and the ad-hoc builder),
 * find them by path, free them, and the read-only views of grpx.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const struct node_opts opts_default = {
	.grace_ms = -1,
	.stagger_ms = -1,
	.delay_ms = -1,
	.backoff = { -1, -1, 2.0, false },
	.res = { -1, -1, NULL },
};

struct grpx_node *node_new(struct grpx_node *parent, uint32_t index)
{
	struct grpx_node *n = calloc(1, sizeof *n);

	if (!n)
		return NULL;
	n->parent = parent;
	n->index = index;
	n->depth = parent ? parent->depth + 1 : 0;
	n->opt = &opts_default;
	n->on_error = -1;
	n->runner = -1;
	n->timeout_ms = -1;
	n->attempts = -1;
	n->status = GRPX_PENDING;
	n->pid = n->pgid = -1;
	n->out_fd = n->in_fd = -1;
	n->exit_code = -1;
	n->start_ms = n->end_ms = -1;
	n->slot[0] = n->slot[1] = -1;
	return n;
}

int node_set_name(struct grpx_node *n, const char *name)
{
	const char *pp = n->parent ? n->parent->path : "";
	size_t plen = strlen(pp) + (*pp != '\0'); /* with its '/' */
	char *path = malloc(plen + strlen(name) + 1);

	if (!path)
		return -1;
	snprintf(path, plen + strlen(name) + 1, "%s%s%s", pp, *pp ? "/" : "", name);
	free(n->path);
	n->path = path;
	n->name = path + plen;
	return 0;
}

int node_make_group(struct grpx_node *n)
{
	if (!n->grp && !(n->grp = calloc(1, sizeof *n->grp)))
		return -1;
	n->kind = NODE_GROUP;
	return 0;
}

struct node_opts *node_opts(struct grpx_node *n)
{
	struct node_opts *o;

	if (n->opt != &opts_default)
		return (struct node_opts *)n->opt; /* n's own */
	if (!(o = malloc(sizeof *o)))
		return NULL;
	*o = opts_default;
	return (struct node_opts *)(n->opt = o);
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

void node_free(struct grpx_node *n)
{
	if (!n)
		return;
	for (uint32_t i = 0; i < n->nkids; i++)
		node_free(n->kids[i]);
	free(n->kids);
	free(n->path);
	free(n->run);
	strv_free(n->argv);
	strv_free(n->input);
	if (n->opt != &opts_default) {
		strv_free(n->opt->shell);
		strv_free(n->opt->env);
		free(n->opt->cwd);
		strv_free(n->opt->slurm_args);
		free(n->opt->res.mem);
		free(n->opt->retry_on);
		free((struct node_opts *)n->opt);
	}
	if (n->grp)
		feed_free(n->grp->feed);
	free(n->grp);
	free(n->log);
	free(n->errtext);
	free(n);
}

void grpx_job_free(struct grpx_job *job)
{
	if (!job)
		return;
	node_free(job->root);
	free(job->file);
	free(job);
}

struct grpx_node *grpx_job_find(struct grpx_job *job, const char *path)
{
	struct grpx_node *n = job->root;

	while (n && *path) {
		size_t len = strcspn(path, "/");
		struct grpx_node *hit = NULL;
		for (uint32_t i = 0; i < n->nkids && !hit; i++)
			if (strncmp(n->kids[i]->name, path, len) == 0 &&
			    n->kids[i]->name[len] == '\0')
				hit = n->kids[i];
		n = hit;
		path += len;
		if (*path == '/' && !*++path)
			return NULL; /* a trailing slash */
	}
	return n;
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
		.resumed = n->resumed,
		.fed = n->grp && n->grp->feed && !feed_done(n->grp->feed),
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

int node_cwd(const struct grpx_node *n, char **cwd)
{
	const struct grpx_node *p, *stop = NULL;
	size_t len = 0;
	char *s, *e;

	*cwd = NULL;
	for (p = n; p && !stop; p = p->parent)
		if (p->opt->cwd) {
			len += strlen(p->opt->cwd) + 1;
			if (p->opt->cwd[0] == '/')
				stop = p;
		}
	if (len == 0)
		return 0;
	if (!(s = malloc(len)))
		return -1;
	/* Written from the end: n's own cwd is the last part. */
	e = s + len - 1;
	*e = '\0';
	for (p = n; p; p = p->parent) {
		size_t l;
		if (!p->opt->cwd)
			continue;
		if (e != s + len - 1)
			*--e = '/';
		l = strlen(p->opt->cwd);
		e -= l;
		memcpy(e, p->opt->cwd, l);
		if (p == stop)
			break;
	}
	*cwd = s;
	return 0;
}
