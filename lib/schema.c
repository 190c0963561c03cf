/*
 * schema.c - pass 2a of the loader: what each key of a job file accepts.
 *
 * A key is a row of a table (struct keydef): where it may appear, which
 * modes take it, and the setter that checks its value and writes it into
 * the node.  walk_map() checks a mapping's keys against a table, with a
 * "did you mean" for the near misses, and calls the setters.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load_int.h"
#include "mode.h"

/* Levenshtein distance between short strings; 3 when surely more than 2. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[40], diag, up;

	if (la > lb + 2 || lb > la + 2 || lb >= sizeof row / sizeof row[0])
		return 3;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* " (did you mean 'x'?)" for the nearest candidate within 2 edits, or "". */
static void suggest(char *buf, size_t len, const char *s,
		    const char *const *cand, size_t n)
{
	size_t best = 3, d;
	const char *pick = NULL;

	for (size_t i = 0; i < n; i++)
		if ((d = edit_distance(s, cand[i])) < best && d < strlen(s)) {
			best = d;
			pick = cand[i];
		}
	if (pick)
		snprintf(buf, len, " (did you mean '%s'?)", pick);
	else if (len)
		buf[0] = '\0';
}

#define W_NODE (W_GROUP | W_TASK)
#define W_ANY (W_TOP | W_NODE)

enum { IN_NODE, IN_OPTS, IN_GROUP };
#define NODE_OFF(f) IN_NODE, offsetof(struct grpx_node, f)
#define OPT_OFF(f) IN_OPTS, offsetof(struct node_opts, f)
#define GROUP_OFF(f) IN_GROUP, offsetof(struct group, f)
#define NO_FIELD IN_NODE, 0, 0 /* the setter knows where it writes */

/* The field setter k fills in n; NULL (reported) when out of memory. */
static void *field(struct ld *L, struct grpx_node *n, const struct keydef *k)
{
	char *base = k->in == IN_OPTS ? (char *)node_opts(n)
		   : k->in == IN_GROUP ? (char *)n->grp : (char *)n;

	if (!base)
		oom(L);
	return base ? base + k->off : NULL;
}

#define FIELD(n, k, type) ((type *)field(L, n, k))

/* Where a matrix template puts its values (SPEC section 7.2): into `run`
 * shell-quoted; into `argv` items, `env` values and `cwd` as they are
 * (and into `name`, see build.c); nowhere else. */
static int sub_of(const struct keydef *k)
{
	if (k == &node_keys[K_RUN])
		return SUB_SHELL;
	if (k == &node_keys[K_ARGV] || k == &node_keys[K_ENV] ||
	    k == &node_keys[K_CWD])
		return SUB_RAW;
	return SUB_NONE;
}

static void set_version(struct ld *L, struct grpx_node *n,
			const struct ynode *v, const struct keydef *k)
{
	(void)n, (void)k;
	if (!text(v) || strcmp(v->s, "1") != 0)
		erry(L, v, "'version' must be 1");
}

static void set_mode(struct ld *L, struct grpx_node *n, const struct ynode *v,
		     const struct keydef *k)
{
	const char *names[GRPX_NMODES];
	char hint[64];
	int m;

	(void)k;
	if (!text(v)) {
		erry(L, v, "'mode' must be a string");
		return;
	}
	if ((m = grpx_mode_parse(v->s)) >= 0) {
		n->mode = (uint8_t)m;
		return;
	}
	for (int i = 0; i < GRPX_NMODES; i++)
		names[i] = mode_name(i);
	suggest(hint, sizeof hint, v->s, names, GRPX_NMODES);
	erry(L, v, "unknown mode '%.64s'%s", v->s, hint);
}

static void set_str(struct ld *L, struct grpx_node *n, const struct ynode *v,
		    const struct keydef *k)
{
	char **f;

	if (!text(v))
		erry(L, v, "'%s' must be a string", k->name);
	else if ((f = FIELD(n, k, char *)))
		*f = ld_subst(L, v, v->s, sub_of(k));
}

/* A list of strings; k->min is the least length. */
static void set_strv(struct ld *L, struct grpx_node *n, const struct ynode *v,
		     const struct keydef *k)
{
	char **a, ***f;

	if (v->type != Y_SEQ) {
		erry(L, v, "'%s' must be a list of strings", k->name);
		return;
	}
	if (v->n < k->min) {
		erry(L, v, "'%s' must not be empty", k->name);
		return;
	}
	for (uint32_t i = 0; i < v->n; i++)
		if (!text(v->kid[i])) {
			erry(L, v->kid[i], "'%s' must be a list of strings",
			     k->name);
			return;
		}
	if (!(f = FIELD(n, k, char **)))
		return;
	if (!(*f = a = xcalloc(v->n + 1, sizeof *a))) {
		oom(L);
		return;
	}
	for (uint32_t i = 0; i < v->n; i++)
		if (!(a[i] = ld_subst(L, v->kid[i], v->kid[i]->s, sub_of(k))))
			return;
}

/* `shell: /bin/sh` is stored as {"/bin/sh", "-c"}: the command is always
 * appended to the list, for both forms. */
static void set_shell(struct ld *L, struct grpx_node *n, const struct ynode *v,
		      const struct keydef *k)
{
	struct node_opts *o;

	if (v->type == Y_SEQ) {
		set_strv(L, n, v, k);
	} else if (!text(v) || !*v->s) {
		erry(L, v, "'shell' must be a string or a list of strings");
	} else if (!(o = node_opts(n)) ||
		   !(o->shell = xcalloc(3, sizeof *o->shell)) ||
		   !(o->shell[0] = strdup(v->s)) ||
		   !(o->shell[1] = strdup("-c"))) {
		oom(L);
	}
}

/* env: a map of names to scalars, stored as "NAME=VALUE"; a null is "".
 * Matrix values go into the values, not the names. */
static void set_env(struct ld *L, struct grpx_node *n, const struct ynode *v,
		    const struct keydef *k)
{
	struct node_opts *o;
	size_t m = 0;
	char *vs;

	if (v->type != Y_MAP) {
		erry(L, v, "'env' must be a mapping of names to values");
		return;
	}
	if (!(o = node_opts(n)) || !(o->env = xcalloc(v->n / 2 + 1, sizeof *o->env))) {
		oom(L);
		return;
	}
	for (uint32_t i = 0; i < v->n; i += 2) {
		const struct ynode *key = v->kid[i], *val = v->kid[i + 1];
		if (key->type != Y_SCALAR)
			continue; /* reported by pass 1 */
		if (!*key->s || strchr(key->s, '=')) {
			erry(L, key, "invalid environment name '%.64s'", key->s);
			continue;
		}
		if (val->type != Y_SCALAR) {
			erry(L, val, "value of '%.64s' in 'env' must be a scalar",
			     key->s);
			continue;
		}
		if (!(vs = ld_subst(L, val, is_null(val) ? "" : val->s, sub_of(k))))
			return;
		size_t len = strlen(key->s) + strlen(vs) + 2;
		if (!(o->env[m] = malloc(len))) {
			free(vs);
			oom(L);
			return;
		}
		snprintf(o->env[m++], len, "%s=%s", key->s, vs);
		free(vs);
	}
}

static void set_dur(struct ld *L, struct grpx_node *n, const struct ynode *v,
		    const struct keydef *k)
{
	int64_t ms, *f;

	if (!text(v))
		erry(L, v, "'%s' must be a duration", k->name);
	else if (grpx_parse_duration(v->s, &ms) != 0)
		erry(L, v, errno == ERANGE ? "duration '%.64s' for '%s' is too "
		     "large" : "malformed duration '%.64s' for '%s'", v->s,
		     k->name);
	else if (ms > GRPX_DURATION_MAX_MS)
		erry(L, v, "duration '%.64s' for '%s' is too large (at most "
		     "1000000h)", v->s, k->name);
	else if ((f = FIELD(n, k, int64_t)))
		*f = ms;
}

static void set_at(struct ld *L, struct grpx_node *n, const struct ynode *v,
		   const struct keydef *k)
{
	struct at_spec at, *f;

	if (!text(v) || at_parse(v->s, &at) != 0)
		erry(L, v, "malformed time '%.64s' for 'at' (want RFC 3339 or "
		     "HH:MM[:SS])", text(v) ? v->s : "");
	else if ((f = FIELD(n, k, struct at_spec)))
		*f = at;
}

/* An integer in [k->min, max]; false (reported) otherwise. */
static bool get_int(struct ld *L, const struct ynode *v,
		    const struct keydef *k, long long max, long long *x)
{
	if (!as_int(v, x))
		erry(L, v, "'%s' must be an integer", k->name);
	else if (*x < k->min)
		erry(L, v, "'%s' must be at least %lld", k->name, k->min);
	else if (*x > max)
		erry(L, v, "'%s' must be at most %lld", k->name, max);
	else
		return true;
	return false;
}

static void set_u32(struct ld *L, struct grpx_node *n, const struct ynode *v,
		    const struct keydef *k)
{
	uint32_t *f;
	long long x;

	if (get_int(L, v, k, UINT32_MAX, &x) && (f = FIELD(n, k, uint32_t)))
		*f = (uint32_t)x;
}

static void set_attempts(struct ld *L, struct grpx_node *n,
			 const struct ynode *v, const struct keydef *k)
{
	long long x;

	if (get_int(L, v, k, INT32_MAX, &x))
		n->attempts = (int32_t)x;
}

static void set_on_error(struct ld *L, struct grpx_node *n,
			 const struct ynode *v, const struct keydef *k)
{
	static const char *const names[] = { "cancel", "drain", "continue" };

	(void)k;
	for (int i = 0; i < 3; i++)
		if (text(v) && strcmp(v->s, names[i]) == 0) {
			n->on_error = (int8_t)i;
			return;
		}
	erry(L, v, "'on_error' must be cancel, drain or continue, not '%.64s'",
	     text(v) ? v->s : "");
}

static void set_stdin(struct ld *L, struct grpx_node *n, const struct ynode *v,
		      const struct keydef *k)
{
	(void)k;
	if (text(v) && strcmp(v->s, "inherit") == 0)
		n->stdin_inherit = true;
	else if (!is_null(v))
		erry(L, v, "'stdin' must be null or 'inherit'");
}

static void set_retry_on(struct ld *L, struct grpx_node *n,
			 const struct ynode *v, const struct keydef *k)
{
	struct node_opts *o;
	long long x;

	(void)k;
	if (v->type != Y_SEQ || v->n == 0) {
		erry(L, v, "'retry_on' must be a non-empty list of exit codes");
		return;
	}
	if (!(o = node_opts(n)) || !(o->retry_on = xcalloc(v->n, sizeof *o->retry_on))) {
		oom(L);
		return;
	}
	for (uint32_t i = 0; i < v->n; i++) {
		if (!as_int(v->kid[i], &x) || x < 0 || x > 255) {
			erry(L, v->kid[i], "exit code '%.64s' in 'retry_on' is "
			     "not an integer from 0 to 255",
			     text(v->kid[i]) ? v->kid[i]->s : "");
			continue;
		}
		o->retry_on[o->nretry_on++] = (int)x;
	}
}

static void set_factor(struct ld *L, struct grpx_node *n, const struct ynode *v,
		       const struct keydef *k)
{
	char *end;
	double f = 0, *fp;

	if (v->type == Y_SCALAR && v->plain && *v->s)
		f = strtod(v->s, &end);
	if (!(f >= 1 && isfinite(f) && !*end))
		erry(L, v, "'factor' must be a number of at least 1");
	else if ((fp = FIELD(n, k, double)))
		*fp = f;
}

static void set_jitter(struct ld *L, struct grpx_node *n, const struct ynode *v,
		       const struct keydef *k)
{
	bool *f;

	if (v->type == Y_SCALAR && v->plain && !strcmp(v->s, "true")) {
		if ((f = FIELD(n, k, bool)))
			*f = true;
	} else if (!(v->type == Y_SCALAR && v->plain && !strcmp(v->s, "false"))) {
		erry(L, v, "'jitter' must be true or false");
	}
}

static const struct keydef backoff_keys[] = {
	{ "initial", W_SUB, 0, set_dur, OPT_OFF(backoff.initial_ms), 0 },
	{ "max", W_SUB, 0, set_dur, OPT_OFF(backoff.max_ms), 0 },
	{ "factor", W_SUB, 0, set_factor, OPT_OFF(backoff.factor), 0 },
	{ "jitter", W_SUB, 0, set_jitter, OPT_OFF(backoff.jitter), 0 },
};

static void set_backoff(struct ld *L, struct grpx_node *n,
			const struct ynode *v, const struct keydef *k)
{
	struct ynode *const *seen[4] = { 0 };

	(void)k;
	if (v->type != Y_MAP) {
		erry(L, v, "'backoff' must be a mapping");
		return;
	}
	walk_map(L, n, v, backoff_keys, 4, W_SUB, "in 'backoff'", seen);
	if (!seen[0])
		erry(L, v, "missing 'initial' in 'backoff'");
	else if (seen[1] && n->opt->backoff.max_ms >= 0 &&
		 n->opt->backoff.max_ms < n->opt->backoff.initial_ms)
		erry(L, seen[1][1], "'max' is less than 'initial' in 'backoff'");
}

/* allocation: new, a job per task even inside an allocation (SPEC 9). */
static void set_allocation(struct ld *L, struct grpx_node *n, const struct ynode *v,
			   const struct keydef *k)
{
	(void)k;
	if (text(v) && !strcmp(v->s, "new"))
		n->runner = RUN_SLURM_JOB;
	else
		erry(L, v, "'allocation' must be 'new', not '%.64s'", text(v) ? v->s : "");
}

static const struct keydef slurm_keys[] = {
	{ "args", W_SUB, 0, set_strv, OPT_OFF(slurm_args), 0 },
	{ "allocation", W_SUB, 0, set_allocation, NO_FIELD },
};

static void set_slurm(struct ld *L, struct grpx_node *n, const struct ynode *v,
		      const struct keydef *k)
{
	struct ynode *const *seen[2] = { 0 };

	(void)k;
	n->runner = RUN_SLURM;
	if (v->type == Y_MAP)
		walk_map(L, n, v, slurm_keys, 2, W_SUB, "in 'slurm'", seen);
	else if (!is_null(v))
		erry(L, v, "'slurm' must be a mapping");
}

static void set_i32(struct ld *L, struct grpx_node *n, const struct ynode *v,
		    const struct keydef *k)
{
	int32_t *f;
	long long x;

	if (get_int(L, v, k, INT32_MAX, &x) && (f = FIELD(n, k, int32_t)))
		*f = (int32_t)x;
}

/* mem: srun's --mem as written, a positive number of megabytes or of K,
 * M, G or T: `512`, `"4G"`.  Fifteen digits are more than any node has. */
static void set_mem(struct ld *L, struct grpx_node *n, const struct ynode *v,
		    const struct keydef *k)
{
	const char *s = text(v);
	size_t d = s ? strspn(s, "0123456789") : 0;
	char **f;

	if (!s || d == 0 || d > 15 || s[0] == '0' ||
	    (s[d] && (!strchr("KMGTkmgt", s[d]) || s[d + 1])))
		erry(L, v, "'mem' must be a positive size in megabytes, or with K, M, G or T "
		     "(512, 4G), not '%.64s'", s ? s : "");
	else if ((f = FIELD(n, k, char *)))
		*f = ld_subst(L, v, s, SUB_NONE);
}

static const struct keydef resource_keys[] = {
	{ "cpus", W_SUB, 0, set_i32, OPT_OFF(res.cpus), 1 },
	{ "mem", W_SUB, 0, set_mem, OPT_OFF(res.mem), 0 },
	{ "gpus", W_SUB, 0, set_i32, OPT_OFF(res.gpus), 0 },
};

/* resources: what each Slurm task below asks for (SPEC 9). */
static void set_resources(struct ld *L, struct grpx_node *n, const struct ynode *v,
			  const struct keydef *k)
{
	struct ynode *const *seen[3] = { 0 };

	(void)k;
	if (v->type == Y_MAP)
		walk_map(L, n, v, resource_keys, 3, W_SUB, "in 'resources'", seen);
	else
		erry(L, v, "'resources' must be a mapping of cpus, mem and gpus");
}

static const struct keydef runner_keys[] = {
	{ "slurm", W_SUB, 0, set_slurm, NO_FIELD },
};

static void set_runner(struct ld *L, struct grpx_node *n, const struct ynode *v,
		       const struct keydef *k)
{
	struct ynode *const *seen[1] = { 0 };

	(void)k;
	if (text(v) && !strcmp(v->s, "local"))
		n->runner = RUN_LOCAL;
	else if (text(v) && !strcmp(v->s, "slurm"))
		n->runner = RUN_SLURM;
	else if (v->type == Y_MAP && v->n > 0)
		walk_map(L, n, v, runner_keys, 1, W_SUB, "in 'runner'", seen);
	else
		erry(L, v, "'runner' must be 'local' or {slurm: {args: [...]}}");
}

const struct keydef node_keys[NKEYS] = {
	[K_VERSION] = { "version", W_TOP, 0, set_version, NO_FIELD },
	[K_NAME] = { "name", W_NODE, 0, NULL, NO_FIELD },
	[K_MODE] = { "mode", W_GROUP, 0, set_mode, NO_FIELD },
	[K_RUN] = { "run", W_TASK, 0, set_str, NODE_OFF(run), 0 },
	[K_ARGV] = { "argv", W_TASK, 0, set_strv, NODE_OFF(argv), 1 },
	[K_SHELL] = { "shell", W_ANY, 0, set_shell, OPT_OFF(shell), 1 },
	[K_ENV] = { "env", W_ANY, 0, set_env, NO_FIELD },
	[K_CWD] = { "cwd", W_ANY, 0, set_str, OPT_OFF(cwd), 0 },
	[K_RUNNER] = { "runner", W_ANY, 0, set_runner, NO_FIELD },
	[K_TIMEOUT] = { "timeout", W_ANY, 0, set_dur, NODE_OFF(timeout_ms), 0 },
	[K_GRACE] = { "grace", W_ANY, 0, set_dur, OPT_OFF(grace_ms), 0 },
	[K_LIMIT] = { "limit", W_GROUP, MK_LIMIT, set_u32, GROUP_OFF(limit), 1 },
	[K_COUNT] = { "count", W_GROUP, MK_COUNT, set_u32, GROUP_OFF(count), 1 },
	[K_ON_ERROR] = { "on_error", W_GROUP, MK_ON_ERROR, set_on_error, NO_FIELD },
	[K_STAGGER] = { "stagger", W_GROUP, MK_STAGGER, set_dur, OPT_OFF(stagger_ms), 0 },
	[K_DELAY] = { "delay", W_NODE, 0, set_dur, OPT_OFF(delay_ms), 0 },
	[K_AT] = { "at", W_NODE, 0, set_at, OPT_OFF(at), 0 },
	[K_ATTEMPTS] = { "attempts", W_NODE, 0, set_attempts, NO_FIELD },
	[K_BACKOFF] = { "backoff", W_NODE, 0, set_backoff, NO_FIELD },
	[K_RETRY_ON] = { "retry_on", W_NODE, 0, set_retry_on, NO_FIELD },
	[K_STDIN] = { "stdin", W_TASK, 0, set_stdin, NO_FIELD },
	[K_TASKS] = { "tasks", W_GROUP, 0, NULL, NO_FIELD },
	[K_MATRIX] = { "matrix", W_GROUP, 0, NULL, NO_FIELD },
	[K_TEMPLATE] = { "template", W_GROUP, 0, NULL, NO_FIELD },
	[K_GROUPS] = { "groups", W_TOP, 0, NULL, NO_FIELD },
	[K_RESOURCES] = { "resources", W_ANY, 0, set_resources, NO_FIELD },
};

void walk_map(struct ld *L, struct grpx_node *n, const struct ynode *y,
	      const struct keydef *t, size_t nt, unsigned where,
	      const char *ctx, struct ynode *const **seen)
{
	for (uint32_t i = 0; i < y->n; i += 2) {
		const struct ynode *key = y->kid[i];
		const char *cand[NKEYS];
		size_t j, nc = 0;
		char hint[64];

		if (key->type != Y_SCALAR)
			continue; /* reported by pass 1 */
		for (j = 0; j < nt && strcmp(t[j].name, key->s) != 0; j++)
			;
		if (j < nt && (t[j].where & where)) {
			if (!seen[j]) /* a duplicate was reported by pass 1 */
				seen[j] = &y->kid[i];
			continue;
		}
		if (j < nt) {
			erry(L, key, "key '%s' is not allowed %s", t[j].name, ctx);
			continue;
		}
		for (j = 0; j < nt; j++)
			if (t[j].where & where)
				cand[nc++] = t[j].name;
		suggest(hint, sizeof hint, key->s, cand, nc);
		erry(L, key, "unknown key '%.64s' %s%s", key->s, ctx, hint);
	}
	for (size_t j = 0; j < nt && !L->fatal; j++)
		if (seen[j] && t[j].set)
			t[j].set(L, n, seen[j][1], &t[j]);
}
