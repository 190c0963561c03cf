/*
 * ytree.c - pass 1 of the loader: libyaml's events into a small tree of
 * struct ynode that keeps every position.
 *
 * It refuses hostile input while it reads: nesting past MAX_DEPTH, huge
 * scalars, too many nodes, aliases that expand too far.  Aliases are
 * shared, never copied, and an alias can only name a node that is
 * complete, so the tree has no cycles.
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <yaml.h>

#include "load_int.h"

_Static_assert(sizeof(struct ynode) <= 24, "struct ynode grew");

/*
 * An anchored node, and what each alias of it adds:
 * - weight: the nodes it stands for, aliases inside followed.  A ynode is
 *   placed once where it is written; every other placement is an alias
 *   use, and those add at most MAX_ALIAS_NODES all together
 *   (yread.alias_nodes), so a weight is at most MAX_YNODES + MAX_ALIAS_NODES;
 * - height: its collection levels, itself included.
 * Only pass 1 needs these, and only for anchors: ynodes do not keep them.
 */
struct anchor {
	struct ynode *y;
	uint32_t weight;
	uint16_t height;
};
_Static_assert(MAX_YNODES + MAX_ALIAS_NODES <= UINT32_MAX, "weight overflows");

/* Pass 1 makes many small pieces and frees them all at once, so they come
 * from blocks of BLOCK bytes, with no malloc header or rounding each. */
#define BLOCK (64u << 10)
struct block {
	struct block *next;
	max_align_t v[];
};

/* An open collection while pass 1 reads its children. */
struct frame {
	struct ynode *y;
	size_t base;      /* its first child in yread.stk */
	char *anchor;     /* its anchor's name, added once it is complete */
	uint32_t weight;  /* 1 + its children's weights so far */
	uint16_t height;  /* its tallest child's height so far */
};

/* Pass 1's state: the arena, the anchors, the open collections. */
struct yread {
	struct ld *L;
	struct block *blocks;     /* owns every ynode, text, kid array, anchor */
	char *top;                /* the free space of the current block */
	size_t left;              /* its bytes */
	size_t nynodes;
	struct ynode *root;
	struct smap anchors;      /* names -> struct anchor */
	struct ynode **stk;       /* children of the open collections */
	size_t nstk, capstk;
	struct frame open[MAX_DEPTH];
	size_t nopen;
	uint64_t alias_nodes;
};

/* Report each string of `it` seen before, as a duplicate `what`. */
struct item {
	const char *s;
	int line, col;
};

static void report_dups(struct ld *L, const struct item *it, size_t n,
			const char *what)
{
	struct smap m = { 0 };

	for (size_t i = 0; i < n && n > 1; i++) {
		struct sment *e;
		if (!it[i].s)
			continue;
		if (!(e = smap_slot(&m, it[i].s))) {
			oom(L);
			break;
		}
		if (e->k) {
			const struct item *first = e->v;
			errl(L, it[i].line, it[i].col,
			     "duplicate %s '%.64s' (first at %d:%d)", what,
			     it[i].s, first->line, first->col);
		} else {
			*e = (struct sment){ it[i].s, &it[i] };
			m.n++;
		}
	}
	free(m.e);
}

/* ---- pass 1: YAML events to ynodes ---- */

/*
 * size (> 0) bytes aligned to align (a power of 2), kept until ytree_free;
 * NULL when out of memory.  Text (align 1) comes from the end of the free
 * space and the rest from its start, so no text pads the ynode after it.
 */
static void *ld_alloc(struct yread *Y, size_t size, size_t align)
{
	size_t pad = -(uintptr_t)Y->top & (align - 1);
	struct block *b;
	char *p;

	if (pad + size > Y->left) {
		/* A big piece gets a block of its own: the current one goes on. */
		bool big = size > BLOCK / 4;
		if (!(b = malloc(sizeof *b + (big ? size : BLOCK))))
			return NULL;
		b->next = Y->blocks;
		Y->blocks = b;
		if (big)
			return b->v;
		Y->top = (char *)b->v;
		Y->left = BLOCK;
		pad = 0;
	}
	Y->left -= pad + size;
	if (align == 1)
		return Y->top + Y->left;
	p = Y->top + pad;
	Y->top = p + size;
	return p;
}

static struct ynode *ynew(struct yread *Y, int type, yaml_mark_t m)
{
	struct ynode *y;

	if (Y->nynodes >= MAX_YNODES) {
		errl(Y->L, (int)m.line + 1, (int)m.column + 1,
		     "more than %u YAML nodes", MAX_YNODES);
		Y->L->fatal = true;
		return NULL;
	}
	if (!(y = ld_alloc(Y, sizeof *y, alignof(struct ynode)))) {
		oom(Y->L);
		return NULL;
	}
	Y->nynodes++;
	*y = (struct ynode){ .type = (uint8_t)type, .line = (int)m.line + 1,
			     .col = (int)m.column + 1 };
	return y;
}

/* A copy of s that lives until ytree_free; NULL when out of memory. */
static char *ld_strdup(struct yread *Y, const char *s)
{
	size_t len = strlen(s) + 1;
	char *p = ld_alloc(Y, len, 1);

	return p ? memcpy(p, s, len) : NULL;
}

/* y is complete, of weight w and height h (see struct anchor): make it the
 * document, or the next child of the innermost open collection. */
static void place(struct yread *Y, struct ynode *y, uint32_t w, uint16_t h)
{
	struct frame *f;

	if (Y->nopen == 0) {
		Y->root = y;
		return;
	}
	f = &Y->open[Y->nopen - 1];
	f->weight += w;
	if (h > f->height)
		f->height = h;
	if (Y->nstk == Y->capstk) {
		size_t cap = Y->capstk ? Y->capstk * 2 : 256;
		struct ynode **v = realloc(Y->stk, cap * sizeof *v);
		if (!v) {
			oom(Y->L);
			return;
		}
		Y->stk = v;
		Y->capstk = cap;
	}
	Y->stk[Y->nstk++] = y;
}

/* From now on `name` (from ld_strdup) stands for y, of weight w and
 * height h; a later anchor of the same name wins. */
static void add_anchor(struct yread *Y, const char *name, struct ynode *y,
		       uint32_t w, uint16_t h)
{
	struct anchor *a = ld_alloc(Y, sizeof *a, alignof(struct anchor));
	struct sment *e = name && a ? smap_slot(&Y->anchors, name) : NULL;

	if (!e) {
		oom(Y->L);
		return;
	}
	if (!e->k)
		Y->anchors.n++;
	*a = (struct anchor){ y, w, h };
	*e = (struct sment){ name, a };
}

static void on_scalar(struct yread *Y, const yaml_event_t *ev)
{
	size_t len = ev->data.scalar.length;
	struct ynode *y;

	if (len > MAX_SCALAR) {
		errl(Y->L, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
		     "scalar longer than 1 MiB");
		Y->L->fatal = true;
		return;
	}
	if (!(y = ynew(Y, Y_SCALAR, ev->start_mark)))
		return;
	if (!(y->s = ld_alloc(Y, len + 1, 1))) {
		oom(Y->L);
		return;
	}
	memcpy(y->s, ev->data.scalar.value, len);
	y->s[len] = '\0';
	y->plain = ev->data.scalar.plain_implicit;
	if (memchr(y->s, '\0', len))
		erry(Y->L, y, "scalar contains a NUL byte");
	if (ev->data.scalar.anchor)
		add_anchor(Y, ld_strdup(Y, (const char *)ev->data.scalar.anchor),
			   y, 1, 0);
	place(Y, y, 1, 0);
}

static void on_open(struct yread *Y, int type, const yaml_event_t *ev,
		    const yaml_char_t *anchor)
{
	struct ynode *y;
	struct frame *f;

	if (Y->nopen == MAX_DEPTH) {
		errl(Y->L, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
		     "nesting deeper than %d levels", MAX_DEPTH);
		Y->L->fatal = true;
		return;
	}
	if (!(y = ynew(Y, type, ev->start_mark)))
		return;
	f = &Y->open[Y->nopen++];
	*f = (struct frame){ y, Y->nstk, NULL, 1, 0 };
	if (anchor && !(f->anchor = ld_strdup(Y, (const char *)anchor)))
		oom(Y->L);
}

/* A map is complete: its keys must be distinct scalars. */
static void check_keys(struct yread *Y, const struct ynode *y)
{
	struct item *it = xcalloc(y->n / 2, sizeof *it);

	if (!it) {
		oom(Y->L);
		return;
	}
	for (uint32_t i = 0; i < y->n; i += 2) {
		const struct ynode *k = y->kid[i];
		if (k->type != Y_SCALAR)
			erry(Y->L, k, "a mapping key must be a scalar");
		else
			it[i / 2] = (struct item){ k->s, k->line, k->col };
	}
	report_dups(Y->L, it, y->n / 2, "key");
	free(it);
}

static void on_close(struct yread *Y)
{
	struct frame *f = &Y->open[--Y->nopen];
	struct ynode *y = f->y;
	size_t n = Y->nstk - f->base;
	uint16_t h = (uint16_t)(f->height + 1);

	if (n > 0 && !(y->kid = ld_alloc(Y, n * sizeof *y->kid,
					 alignof(struct ynode *)))) {
		oom(Y->L);
	} else {
		y->n = (uint32_t)n;
		for (size_t i = 0; i < n; i++)
			y->kid[i] = Y->stk[f->base + i];
		if (y->type == Y_MAP)
			check_keys(Y, y);
		if (f->anchor)
			add_anchor(Y, f->anchor, y, f->weight, h);
	}
	Y->nstk = f->base;
	place(Y, y, f->weight, h);
}

static void on_alias(struct yread *Y, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct sment *e = smap_slot(&Y->anchors, name);
	int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
	const struct anchor *a;

	if (!e) {
		oom(Y->L);
		return;
	}
	if (!e->k) {
		errl(Y->L, line, col, "undefined alias '%.64s'", name);
		Y->L->fatal = true;
		return;
	}
	a = e->v;
	Y->alias_nodes += a->weight;
	if (Y->alias_nodes > MAX_ALIAS_NODES) {
		errl(Y->L, line, col, "aliases expand past the limit (%u nodes)",
		     MAX_ALIAS_NODES);
		Y->L->fatal = true;
	} else if (Y->nopen + a->height > MAX_DEPTH) {
		errl(Y->L, line, col, "nesting deeper than %d levels", MAX_DEPTH);
		Y->L->fatal = true;
	} else {
		place(Y, a->y, a->weight, a->height);
	}
}

static void yaml_problem(struct yread *Y, const yaml_parser_t *p,
			 const char *buf, size_t len)
{
	int line = (int)p->problem_mark.line + 1;
	int col = (int)p->problem_mark.column + 1;

	if (p->error == YAML_MEMORY_ERROR) {
		oom(Y->L);
		return;
	}
	if (p->error == YAML_READER_ERROR) { /* only a byte offset */
		line = col = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++, col++)
			if (buf[i] == '\n')
				line++, col = 0;
	}
	if (p->context)
		errl(Y->L, line, col, "syntax error: %s (%s at %d:%d)", p->problem,
		     p->context, (int)p->context_mark.line + 1,
		     (int)p->context_mark.column + 1);
	else
		errl(Y->L, line, col, "syntax error: %s",
		     p->problem ? p->problem : "unknown");
	Y->L->fatal = true;
}

/* Read the first document of buf into Y->root (NULL when empty). */
static void read_yaml(struct yread *Y, const char *buf, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int ndocs = 0;

	if (!yaml_parser_initialize(&p)) {
		oom(Y->L);
		return;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	for (bool done = false; !done && !Y->L->fatal;) {
		if (!yaml_parser_parse(&p, &ev)) {
			yaml_problem(Y, &p, buf, len);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1) {
				errl(Y->L, (int)ev.start_mark.line + 1,
				     (int)ev.start_mark.column + 1,
				     "more than one YAML document");
				Y->L->fatal = true;
			}
			break;
		case YAML_SCALAR_EVENT:
			on_scalar(Y, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			on_open(Y, Y_SEQ, &ev, ev.data.sequence_start.anchor);
			break;
		case YAML_MAPPING_START_EVENT:
			on_open(Y, Y_MAP, &ev, ev.data.mapping_start.anchor);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			on_close(Y);
			break;
		case YAML_ALIAS_EVENT:
			on_alias(Y, &ev);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
}

void ytree_read(struct ld *L, const char *buf, size_t len, struct ytree *t)
{
	struct yread *Y = calloc(1, sizeof *Y);

	*t = (struct ytree){ 0 };
	if (!Y) {
		oom(L);
		return;
	}
	Y->L = L;
	read_yaml(Y, buf, len);
	/* Pass 2 needs only the tree: the rest goes now. */
	free(Y->anchors.e);
	free(Y->stk);
	*t = (struct ytree){ Y->root, Y->blocks };
	free(Y);
}

void ytree_free(struct ytree *t)
{
	for (struct block *b = t->blocks, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	*t = (struct ytree){ 0 };
}

/* ---- scalars ---- */

bool is_null(const struct ynode *y)
{
	return y->type == Y_SCALAR && y->plain &&
	       (!*y->s || !strcmp(y->s, "~") || !strcmp(y->s, "null") ||
		!strcmp(y->s, "Null") || !strcmp(y->s, "NULL"));
}

const char *text(const struct ynode *y)
{
	return y->type == Y_SCALAR && !is_null(y) ? y->s : NULL;
}

bool as_int(const struct ynode *y, long long *v)
{
	const char *s = y->s;
	char *end;

	if (y->type != Y_SCALAR || !y->plain)
		return false;
	if (!((s[0] >= '0' && s[0] <= '9') ||
	      (s[0] == '-' && s[1] >= '0' && s[1] <= '9')))
		return false;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return *end == '\0';
}

const struct ynode *map_get(const struct ynode *y, const char *key)
{
	for (uint32_t i = 0; i < y->n; i += 2)
		if (y->kid[i]->type == Y_SCALAR && !strcmp(y->kid[i]->s, key))
			return y->kid[i + 1];
	return NULL;
}
