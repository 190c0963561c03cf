/*
 * key.c - a node's key: a hash of what it computes, so that --resume can
 * tell a node that already ended ok from one whose definition changed.
 *
 * The key is 64-bit FNV-1a over a byte string made of fields, each
 * written as NAME NUL LENGTH ':' VALUE (LENGTH in decimal), so that no two
 * definitions give the same bytes.  The string starts with the field
 * "grpx-key" = "1", the version of this format: a grpx that changes what
 * goes in changes that field, and no old key matches by accident.
 *
 *   task:  kind=task, then run=COMMAND and each word of its effective
 *          shell as shell=WORD (`shell: bash` counts as [bash, -c], no
 *          shell as [/bin/sh, -c]), or argv=WORD for each word of argv
 *          (an argv task runs no shell: its shell is left out); then
 *          env=KEY=VALUE for each variable of the merged `env:` maps of
 *          the task and its ancestors, inner wins, sorted by KEY; then
 *          cwd=DIR, its cwd joined from the nearest absolute one down, as
 *          written (not made absolute), when one is set.
 *   group: kind=group, mode=NAME, limit=N (0: the mode's default),
 *          count=N, on_error=POLICY (the effective one, for modes that
 *          take it), stagger=MS when set, then kid=KEY for each child in
 *          order.
 *
 * Left out, because they say how or when a node runs, not what it
 * computes: timeout, grace, attempts, backoff, retry_on, delay, at,
 * runner (local or Slurm), stdin: inherit, the node's name and position
 * (the path is matched on its own), the GRPX_* variables, and grpx's own
 * environment (it differs from one machine and one login to the next).
 *
 * FNV-1a, not a cryptographic hash: the key guards against mistakes, not
 * against the author of the job file, who can change it anyway.  64 bits
 * make the chance that a changed definition keeps its key 2^-64, and the
 * hash is a few lines with no library, the same on every machine (bytes,
 * not words: no endianness).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "mode.h"

#define FNV_PRIME 0x100000001b3ULL

uint64_t fnv1a(uint64_t h, const void *p, size_t len)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= FNV_PRIME;
	}
	return h;
}

void key_format(uint64_t key, char buf[KEY_HEX])
{
	snprintf(buf, KEY_HEX, "%016llx", (unsigned long long)key);
}

/* One field: NAME NUL LENGTH ':' VALUE. */
static uint64_t field(uint64_t h, const char *name, const char *val, size_t len)
{
	char n[32];
	int k = snprintf(n, sizeof n, "%zu:", len);

	h = fnv1a(h, name, strlen(name) + 1);
	h = fnv1a(h, n, (size_t)k);
	return fnv1a(h, val, len);
}

static uint64_t field_s(uint64_t h, const char *name, const char *val)
{
	return field(h, name, val, strlen(val));
}

static uint64_t field_u(uint64_t h, const char *name, unsigned long long v)
{
	char n[32];

	snprintf(n, sizeof n, "%llu", v);
	return field_s(h, name, n);
}

/* A variable of some ancestor's env: map. */
struct var {
	const char *kv;
	size_t klen;
	uint32_t depth;
};

/* Scratch space reused from task to task. */
struct keyctx {
	struct var *v;
	size_t cap;
	bool nomem;
};

/* By name, then the innermost first. */
static int by_name(const void *a, const void *b)
{
	const struct var *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->kv, y->kv, n);

	if (c)
		return c;
	if (x->klen != y->klen)
		return x->klen < y->klen ? -1 : 1;
	return (x->depth < y->depth) - (x->depth > y->depth);
}

static uint64_t env_fields(uint64_t h, struct keyctx *k, const struct grpx_node *t)
{
	size_t n = 0;

	for (const struct grpx_node *p = t; p; p = p->parent)
		for (char **e = p->opt->env; e && *e; e++)
			n++;
	if (n == 0)
		return h;
	if (n > k->cap) {
		struct var *v = realloc(k->v, n * sizeof *v);
		if (!v) {
			k->nomem = true;
			return h;
		}
		k->v = v;
		k->cap = n;
	}
	n = 0;
	for (const struct grpx_node *p = t; p; p = p->parent)
		for (char **e = p->opt->env; e && *e; e++)
			k->v[n++] = (struct var){ *e, strcspn(*e, "="), p->depth };
	qsort(k->v, n, sizeof *k->v, by_name);
	for (size_t i = 0; i < n; i++) {
		const struct var *a = &k->v[i], *b = i ? &k->v[i - 1] : NULL;
		if (!b || a->klen != b->klen || memcmp(a->kv, b->kv, a->klen) != 0)
			h = field_s(h, "env", a->kv); /* the innermost of its name */
	}
	return h;
}

static uint64_t task_key(struct keyctx *k, const struct grpx_node *t)
{
	static char *const default_shell[] = { "/bin/sh", "-c", NULL };
	uint64_t h = field_s(FNV_OFFSET, "grpx-key", "1");
	char *cwd = NULL;

	h = field_s(h, "kind", "task");
	if (t->argv) {
		for (char **a = t->argv; *a; a++)
			h = field_s(h, "argv", *a);
	} else {
		char *const *shell = NULL;
		size_t ns = 0;
		for (const struct grpx_node *p = t; p && !shell; p = p->parent)
			shell = p->opt->shell;
		if (!shell)
			shell = default_shell;
		h = field_s(h, "run", t->run ? t->run : "");
		for (; shell[ns]; ns++)
			h = field_s(h, "shell", shell[ns]);
		if (ns == 1) /* `shell: bash` runs `bash -c RUN`, as command.c does */
			h = field_s(h, "shell", "-c");
	}
	h = env_fields(h, k, t);
	if (node_cwd(t, &cwd) != 0)
		k->nomem = true;
	else if (cwd)
		h = field_s(h, "cwd", cwd);
	free(cwd);
	return h;
}

static uint64_t group_key(const struct grpx_node *g)
{
	static const char *const policy[] = { "cancel", "drain", "continue" };
	const struct mode_info *mi = mode_info_of(g->mode);
	uint64_t h = field_s(FNV_OFFSET, "grpx-key", "1");
	int oe = g->on_error >= 0 ? g->on_error : mi->on_error;
	char hex[KEY_HEX];

	h = field_s(h, "kind", "group");
	h = field_s(h, "mode", mi->name);
	h = field_u(h, "limit", g->grp->limit);
	h = field_u(h, "count", g->grp->count);
	if (oe >= 0 && oe <= GRPX_ON_CONTINUE)
		h = field_s(h, "on_error", policy[oe]);
	if (g->opt->stagger_ms >= 0)
		h = field_u(h, "stagger", (unsigned long long)g->opt->stagger_ms);
	for (uint32_t i = 0; i < g->nkids; i++) {
		key_format(g->kids[i]->key, hex);
		h = field_s(h, "kid", hex);
	}
	return h;
}

static void keys(struct keyctx *k, struct grpx_node *n)
{
	if (n->kind == NODE_TASK) {
		n->key = task_key(k, n);
		return;
	}
	for (uint32_t i = 0; i < n->nkids; i++)
		keys(k, n->kids[i]);
	n->key = group_key(n);
}

int job_keys(struct grpx_node *n)
{
	struct keyctx k = { 0 };

	keys(&k, n);
	free(k.v);
	return k.nomem ? -1 : 0;
}
