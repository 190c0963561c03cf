/*
 * build.c - pass 2b of the loader: the job's nodes from the checked YAML
 * tree, with the rules that span keys (modes, counts, schedule times,
 * run/argv, tasks/matrix) and the nodes' names and paths.
 *
 * A `matrix:` group's children are built here too, once per combination,
 * from its `template:` with that combination's values in scope (L->scope,
 * which the setters ask through ld_subst()).  Every generated child is an
 * ordinary node: `grpx plan` shows it, the limits count it, and a problem
 * in it is reported at the template's line and column.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load_int.h"
#include "mode.h"

static const char *kind_name(const struct grpx_node *n)
{
	return n->kind == NODE_GROUP ? "group" : "task";
}

static void build_kids(struct ld *L, struct grpx_node *n, const struct ynode *v,
		       const char *key);
static void build_matrix(struct ld *L, struct grpx_node *g, const struct ynode *my,
			 const struct ynode *ty);

/* The rules that span keys: modes, counts, schedule times, run/argv. */
static void check_node(struct ld *L, const struct grpx_node *n,
		       const struct ynode *y, struct ynode *const **seen)
{
	const struct grpx_node *p = n->parent;
	bool known = n->kind == NODE_GROUP && n->mode < GRPX_NMODES;
	const struct mode_info *mi = mode_info_of(n->mode);
	const char *mode = mi->name;

	for (size_t j = 0; j < NKEYS && known; j++)
		if (seen[j] && node_keys[j].mk && !(mi->keys & node_keys[j].mk))
			erry(L, seen[j][0], "'%s' does not apply to mode '%s'",
			     node_keys[j].name, mode);
	if (known && (mi->flags & M_COUNT)) {
		if (!seen[K_COUNT])
			erry(L, seen[K_MODE][1], "group '%s' of mode '%s' needs "
			     "'count'", n->path, mode);
		else if (n->grp->count > n->nkids && n->nkids > 0)
			erry(L, seen[K_COUNT][1], "'count' is %u but group '%s' "
			     "has %u tasks", n->grp->count, n->path, n->nkids);
	}
	if (known && (mi->flags & M_ONE_CHILD) && n->nkids > 1)
		erry(L, (seen[K_TASKS] ? seen[K_TASKS] : seen[K_MATRIX])[0],
		     "%s group '%s' must have exactly one task, not %u", mode,
		     n->path, n->nkids);
	if (n->kind == NODE_GROUP) {
		if (!seen[K_MODE])
			erry(L, y, "missing 'mode' in group '%s'", n->path);
		if (seen[K_MATRIX] && seen[K_TASKS])
			erry(L, seen[K_MATRIX][0], "group '%s' has both 'tasks' "
			     "and 'matrix'", n->path);
		else if (seen[K_MATRIX] && !seen[K_TEMPLATE])
			erry(L, seen[K_MATRIX][0], "'matrix' without 'template' "
			     "in group '%s'", n->path);
		else if (seen[K_TEMPLATE] && !seen[K_MATRIX])
			erry(L, seen[K_TEMPLATE][0], "'template' without 'matrix' "
			     "in group '%s'", n->path);
		else if (!seen[K_TASKS] && !seen[K_MATRIX])
			erry(L, y, "missing 'tasks' in group '%s'", n->path);
	} else if (seen[K_RUN] && seen[K_ARGV]) {
		erry(L, seen[K_ARGV][0], "task '%s' has both 'run' and 'argv'",
		     n->path);
	} else if (!seen[K_RUN] && !seen[K_ARGV]) {
		erry(L, y, "missing 'run' or 'argv' in task '%s'", n->path);
	}
	/* Under a group of unknown mode, say nothing about delay and at. */
	if (p->mode < GRPX_NMODES && !(mode_info_of(p->mode)->flags & M_TIMED))
		for (size_t j = K_DELAY; j <= K_AT; j++)
			if (seen[j])
				erry(L, seen[j][0], "'%s' only applies inside a "
				     "schedule group", node_keys[j].name);
	if (seen[K_DELAY] && seen[K_AT])
		erry(L, seen[K_AT][0], "%s '%s' has both 'delay' and 'at'",
		     kind_name(n), n->path);
}

/* A child's name for the check that siblings' names differ. */
struct kidname {
	const char *s;  /* NULL: not checked (its name was already reported) */
	int line, col;  /* of its `name`, or of the child when unnamed */
	bool given;     /* written in the file, not its position */
	const struct grpx_node *n;
	uint32_t gen;   /* a matrix child: its 1-based number; else 0 */
};

/*
 * Names are unique among siblings, and an unnamed child is named by its
 * position: `name: "1"` beside an unnamed first child would make two paths
 * g/1, and the second could never be selected.  Each clash is reported at
 * the `name` that makes it.
 */
static void check_names(struct ld *L, const struct kidname *k, uint32_t n)
{
	struct smap m = { 0 };
	bool digits = false;

	/* Positions never clash with each other: only a given name of digits
	 * can clash with one.  Without such a name the unnamed children stay
	 * out of the table (100 000 unnamed tasks: 8 MB less at load). */
	for (uint32_t i = 0; i < n && !digits; i++)
		digits = k[i].given && k[i].s &&
			 strspn(k[i].s, "0123456789") == strlen(k[i].s);
	for (uint32_t i = 0; i < n && n > 1; i++) {
		const struct kidname *first, *named, *pos;
		struct sment *e;
		if (!k[i].s || (!k[i].given && !digits))
			continue;
		if (!(e = smap_slot(&m, k[i].s))) {
			oom(L);
			break;
		}
		if (!e->k) {
			*e = (struct sment){ k[i].s, &k[i] };
			m.n++;
			continue;
		}
		first = e->v;
		if (first->gen && k[i].gen) {
			errl(L, k[i].line, k[i].col, "matrix children %u and %u "
			     "are both named '%.64s'", first->gen, k[i].gen, k[i].s);
			continue;
		}
		if (first->given && k[i].given) {
			errl(L, k[i].line, k[i].col, "duplicate name '%.64s' "
			     "(first at %d:%d)", k[i].s, first->line, first->col);
			continue;
		}
		named = k[i].given ? &k[i] : first;
		pos = k[i].given ? first : &k[i];
		errl(L, named->line, named->col, "duplicate name '%.64s': the "
		     "unnamed %s at %d:%d is named by its position", named->s,
		     kind_name(pos->n), pos->line, pos->col);
	}
	free(m.e);
}

/* Whether name s (from `name` y, matrix values put in) is valid; reported
 * at y when not. */
static bool name_ok(struct ld *L, const struct ynode *y, const char *s)
{
	uint32_t seq = ld_scope_seq(L);

	if (*s && strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789._-") == strlen(s))
		return true;
	if (!seq || !text(y) || !strcmp(s, y->s))
		erry(L, y, "invalid name '%.64s' (allowed: letters, digits, "
		     "'.', '_' and '-')", s);
	else if (!*s)
		erry(L, y, "name '%.64s' is empty for matrix child %u", y->s, seq);
	else if (strchr(s, '/'))
		erry(L, y, "name '%.64s' gives '%.64s' for matrix child %u: a "
		     "name cannot contain '/'", y->s, s, seq);
	else
		erry(L, y, "name '%.64s' gives '%.64s' for matrix child %u "
		     "(allowed: letters, digits, '.', '_' and '-')", y->s, s, seq);
	return false;
}

/* Build the index-th child of p from y; names it in *it for check_names(). */
static struct grpx_node *build_node(struct ld *L, struct grpx_node *p,
				    uint32_t index, const struct ynode *y,
				    struct kidname *it)
{
	struct ynode *const *seen[NKEYS] = { 0 };
	const struct ynode *name;
	struct grpx_node *n;
	char pos[16], ctx[128], *given = NULL;

	if (L->nnodes >= MAX_NODES) {
		erry(L, y, "more than %u tasks and groups", MAX_NODES);
		L->fatal = true;
		return NULL;
	}
	if (L->scope && L->ngen++ >= MAX_GENERATED) {
		erry(L, y, "matrices generate more than %u tasks and groups",
		     MAX_GENERATED);
		L->fatal = true;
		return NULL;
	}
	if (!(n = node_new(p, index)))
		return oom(L), NULL;
	n->seq = L->nnodes++;
	n->line = y->line;
	n->col = y->col;
	n->mode = GRPX_NMODES; /* unknown until `mode` says */
	*it = (struct kidname){ NULL, y->line, y->col, false, n, 0 };
	name = y->type == Y_MAP ? map_get(y, "name") : NULL;
	snprintf(pos, sizeof pos, "%u", index + 1);
	if (name && text(name)) {
		if (!(given = ld_subst(L, name, name->s, SUB_RAW)))
			return n;
		if (name_ok(L, name, given))
			*it = (struct kidname){ given, name->line, name->col, true, n, 0 };
	} else if (name) {
		name_ok(L, name, "");
	}
	if (node_set_name(n, it->s ? it->s : pos) != 0) {
		free(given);
		return oom(L), n;
	}
	free(given);
	it->s = it->s ? n->name : NULL;
	if (y->type != Y_MAP) {
		erry(L, y, "task or group '%s' must be a mapping", n->path);
		return n;
	}
	if (!name)
		it->s = n->name;
	if ((map_get(y, "mode") || map_get(y, "tasks") || map_get(y, "matrix") ||
	     map_get(y, "template")) && node_make_group(n) != 0)
		return oom(L), n;
	snprintf(ctx, sizeof ctx, "in %s '%.64s'", kind_name(n), n->path);
	walk_map(L, n, y, node_keys, NKEYS,
		 n->kind == NODE_GROUP ? W_GROUP : W_TASK, ctx, seen);
	if (seen[K_TASKS] && !L->fatal)
		build_kids(L, n, seen[K_TASKS][1], "tasks");
	else if (seen[K_MATRIX] && seen[K_TEMPLATE] && !L->fatal)
		build_matrix(L, n, seen[K_MATRIX][1], seen[K_TEMPLATE][1]);
	if (!L->fatal)
		check_node(L, n, y, seen);
	return n;
}

static void build_kids(struct ld *L, struct grpx_node *n, const struct ynode *v,
		       const char *key)
{
	struct kidname *it;

	if (v->type != Y_SEQ) {
		erry(L, v, "'%s' must be a list", key);
		return;
	}
	if (v->n == 0) {
		if (n->parent)
			erry(L, v, "group '%s' has no tasks", n->path);
		else
			erry(L, v, "'groups' is empty");
		return;
	}
	if (!(n->kids = xcalloc(v->n, sizeof *n->kids)) ||
	    !(it = xcalloc(v->n, sizeof *it))) {
		oom(L);
		return;
	}
	for (uint32_t i = 0; i < v->n && !L->fatal; i++) {
		n->kids[i] = build_node(L, n, i, v->kid[i], &it[i]);
		if (n->kids[i])
			n->nkids = i + 1;
	}
	if (!L->fatal)
		check_names(L, it, n->nkids);
	free(it);
}

/*
 * g's children from template ty, one per combination of matrix my, in
 * cartesian order.  The first combination that shows a problem ends the
 * expansion: the others would only repeat it.  With no combination the
 * template is still built once, with stand-in values, to be checked, and
 * thrown away: a glob that matches nothing today must not hide a typo.
 */
static void build_matrix(struct ld *L, struct grpx_node *g, const struct ynode *my,
			 const struct ynode *ty)
{
	const struct scope *up = L->scope;
	struct matrix *m = matrix_read(L, g, my);
	struct kidname *it = NULL, dry;
	uint64_t cost = ld_cost(ty);
	struct scope *sc;
	uint32_t n;

	if (!m)
		return;
	n = matrix_size(m);
	if (n == 0) {
		uint32_t nnodes = L->nnodes, ngen = L->ngen;
		uint64_t genbytes = L->genbytes;
		if (!(sc = matrix_scope(m, UINT32_MAX, up))) {
			oom(L);
		} else {
			L->scope = sc;
			node_free(build_node(L, g, 0, ty, &dry));
			L->scope = up;
			L->nnodes = nnodes;
			L->ngen = ngen;
			L->genbytes = genbytes;
			free(sc);
		}
	} else if (!(g->kids = xcalloc(n, sizeof *g->kids)) ||
		   !(it = xcalloc(n, sizeof *it))) {
		oom(L);
	}
	for (uint32_t i = 0; it && i < n && !L->fatal; i++) {
		size_t nerr = L->nerr;
		if (!ld_charge(L, ty, cost))
			break;
		if (!(sc = matrix_scope(m, i, up))) {
			oom(L);
			break;
		}
		L->scope = sc;
		g->kids[i] = build_node(L, g, i, ty, &it[i]);
		L->scope = up;
		free(sc);
		if (g->kids[i])
			g->nkids = i + 1;
		it[i].gen = i + 1;
		if (L->nerr > nerr)
			break;
	}
	if (it && !L->fatal)
		check_names(L, it, g->nkids);
	free(it);
	matrix_free(m);
}

struct grpx_node *build_root(struct ld *L, const struct ynode *y)
{
	struct ynode *const *seen[NKEYS] = { 0 };
	struct grpx_node *r = node_new(NULL, 0);

	if (!r || node_set_name(r, "") != 0 || node_make_group(r) != 0) {
		node_free(r);
		return oom(L), NULL;
	}
	r->mode = GRPX_ERRGROUP;
	r->grp->limit = 1;
	r->line = r->col = 1;
	L->nnodes = 1;
	if (!y || (y->type == Y_SCALAR && is_null(y))) {
		errl(L, 1, 1, "missing 'groups' at the top level");
		return r;
	}
	if (y->type != Y_MAP) {
		erry(L, y, "the top level must be a mapping");
		return r;
	}
	walk_map(L, r, y, node_keys, NKEYS, W_TOP, "at the top level", seen);
	if (!seen[K_GROUPS])
		erry(L, y, "missing 'groups' at the top level");
	else if (!L->fatal)
		build_kids(L, r, seen[K_GROUPS][1], "groups");
	return r;
}
