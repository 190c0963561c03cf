/*
 * load.c - read a job file (SPEC section 4) into a tree of struct grpx_node.
 *
 * Two passes.  The first turns libyaml's events into a small tree of struct
 * ynode that keeps every position, and refuses hostile input while it reads:
 * nesting past MAX_DEPTH, huge scalars, too many nodes, aliases that expand
 * too far.  Aliases are shared, never copied, and an alias can only name a
 * node that is complete, so the tree has no cycles.  The second pass checks
 * that tree against tables of key descriptors and builds the job, reporting
 * every problem it finds.  One problem is enough for -1, and then nothing
 * built survives.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <fcntl.h>
#include <yaml.h>

#include "internal.h"

/* YAML collections inside each other: a group takes two (its mapping and
 * its tasks list), so 1024 allows 500-level nested groups. */
#define MAX_DEPTH 1024
#define MAX_SCALAR (1u << 20)    /* bytes in one scalar */
#define MAX_YNODES 8000000u      /* YAML nodes in a file */
#define MAX_NODES 2000000u       /* tasks and groups in a job */
#define MAX_ALIAS_NODES 10000u   /* nodes that alias uses add, all together */
#define MAX_FILE (256u << 20)    /* bytes in a job file */
/* Durations are kept in ms but the engine's deadlines are in us: past this
 * (about 114 years) a deadline would overflow int64. */
#define MAX_DURATION_MS (1000000LL * 3600 * 1000)

/* ---- diagnostics ---- */

static int vdiag(struct grpx_diags *d, const char *file, int line, int col,
		 const char *fmt, va_list ap)
{
	va_list aq;
	char *msg;
	int len;

	va_copy(aq, ap);
	len = vsnprintf(NULL, 0, fmt, aq);
	va_end(aq);
	if (len < 0 || !(msg = malloc((size_t)len + 1)))
		return -1;
	vsnprintf(msg, (size_t)len + 1, fmt, ap);
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 8;
		struct grpx_diag *v = realloc(d->v, cap * sizeof *v);
		if (!v) {
			free(msg);
			return -1;
		}
		d->v = v;
		d->cap = cap;
	}
	d->v[d->n] = (struct grpx_diag){ xstrdup(file), line, col, msg };
	if (file && !d->v[d->n].file) {
		free(msg);
		return -1;
	}
	d->n++;
	return 0;
}

int diag_add(struct grpx_diags *d, const char *file, int line, int col,
	     const char *fmt, ...)
{
	va_list ap;
	int r;

	if (!d)
		return 0;
	va_start(ap, fmt);
	r = vdiag(d, file, line, col, fmt, ap);
	va_end(ap);
	return r;
}

void grpx_diags_free(struct grpx_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	*d = (struct grpx_diags){ 0 };
}

struct diag_ent {
	struct grpx_diag g;
	size_t i;
};

static int diag_cmp(const void *pa, const void *pb)
{
	const struct diag_ent *a = pa, *b = pb;

	if (a->g.line != b->g.line)
		return a->g.line < b->g.line ? -1 : 1;
	if (a->g.col != b->g.col)
		return a->g.col < b->g.col ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

/* Sort the diags from `from` on by position, keeping the order of ties. */
static void diags_sort(struct grpx_diags *d, size_t from)
{
	struct diag_ent *v;
	size_t n = d->n - from;

	if (n < 2 || !(v = malloc(n * sizeof *v)))
		return;
	for (size_t i = 0; i < n; i++)
		v[i] = (struct diag_ent){ d->v[from + i], i };
	qsort(v, n, sizeof *v, diag_cmp);
	for (size_t i = 0; i < n; i++)
		d->v[from + i] = v[i].g;
	free(v);
}

/* ---- a string-keyed hash table (open addressing) ---- */

struct smap {
	struct sment {
		const char *k; /* NULL: empty slot */
		const void *v;
	} *e;
	size_t cap, n;
};

static size_t str_hash(const char *s)
{
	size_t h = 14695981039346656037u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211u;
	return h;
}

/* The entry of k, or the empty slot where it goes (the caller fills it in
 * and counts it); NULL when out of memory. */
static struct sment *smap_slot(struct smap *m, const char *k)
{
	size_t j;

	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct sment *e = calloc(cap, sizeof *e);
		if (!e)
			return NULL;
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->e[i].k)
				continue;
			for (j = str_hash(m->e[i].k) & (cap - 1); e[j].k;)
				j = (j + 1) & (cap - 1);
			e[j] = m->e[i];
		}
		free(m->e);
		m->e = e;
		m->cap = cap;
	}
	for (j = str_hash(k) & (m->cap - 1); m->e[j].k; j = (j + 1) & (m->cap - 1))
		if (strcmp(m->e[j].k, k) == 0)
			break;
	return &m->e[j];
}

/* ---- loader state ---- */

enum ytype { Y_SCALAR, Y_SEQ, Y_MAP };

/* A YAML node: what the schema pass reads.  24 bytes: a big file has
 * millions. */
struct ynode {
	union {
		char *s;            /* text of a scalar */
		struct ynode **kid; /* a list's items, or a map's key, value,
				     * ...; NULL while n is 0 */
	};
	uint32_t n;         /* entries in kid; 0 for a scalar */
	uint8_t type;       /* enum ytype: says which of s and kid is set */
	bool plain;         /* untagged plain scalar: may be null, int or bool */
	int line, col;      /* from 1 */
};
_Static_assert(sizeof(struct ynode) <= 24, "struct ynode grew");

/*
 * An anchored node, and what each alias of it adds:
 * - weight: the nodes it stands for, aliases inside followed.  A ynode is
 *   placed once where it is written; every other placement is an alias
 *   use, and those add at most MAX_ALIAS_NODES all together
 *   (ld.alias_nodes), so a weight is at most MAX_YNODES + MAX_ALIAS_NODES;
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
	size_t base;      /* its first child in ld.stk */
	char *anchor;     /* its anchor's name, added once it is complete */
	uint32_t weight;  /* 1 + its children's weights so far */
	uint16_t height;  /* its tallest child's height so far */
};

struct ld {
	const char *file;
	struct grpx_diags *d;
	size_t nerr;
	bool fatal;               /* the tree is incomplete: stop */
	/* pass 1 */
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
	/* pass 2 */
	uint32_t nnodes;
};

__attribute__((format(printf, 4, 5)))
static void errl(struct ld *L, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (L->d)
		vdiag(L->d, L->file, line, col, fmt, ap);
	va_end(ap);
	L->nerr++;
}

#define erry(L, y, ...) errl(L, (y)->line, (y)->col, __VA_ARGS__)

static void oom(struct ld *L)
{
	if (!L->fatal)
		errl(L, 0, 0, "out of memory");
	L->fatal = true;
}

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
 * size (> 0) bytes aligned to align (a power of 2), kept until ld_free;
 * NULL when out of memory.  Text (align 1) comes from the end of the free
 * space and the rest from its start, so no text pads the ynode after it.
 */
static void *ld_alloc(struct ld *L, size_t size, size_t align)
{
	size_t pad = -(uintptr_t)L->top & (align - 1);
	struct block *b;
	char *p;

	if (pad + size > L->left) {
		/* A big piece gets a block of its own: the current one goes on. */
		bool big = size > BLOCK / 4;
		if (!(b = malloc(sizeof *b + (big ? size : BLOCK))))
			return NULL;
		b->next = L->blocks;
		L->blocks = b;
		if (big)
			return b->v;
		L->top = (char *)b->v;
		L->left = BLOCK;
		pad = 0;
	}
	L->left -= pad + size;
	if (align == 1)
		return L->top + L->left;
	p = L->top + pad;
	L->top = p + size;
	return p;
}

static struct ynode *ynew(struct ld *L, int type, yaml_mark_t m)
{
	struct ynode *y;

	if (L->nynodes >= MAX_YNODES) {
		errl(L, (int)m.line + 1, (int)m.column + 1,
		     "more than %u YAML nodes", MAX_YNODES);
		L->fatal = true;
		return NULL;
	}
	if (!(y = ld_alloc(L, sizeof *y, alignof(struct ynode)))) {
		oom(L);
		return NULL;
	}
	L->nynodes++;
	*y = (struct ynode){ .type = (uint8_t)type, .line = (int)m.line + 1,
			     .col = (int)m.column + 1 };
	return y;
}

/* A copy of s that lives until ld_free; NULL when out of memory. */
static char *ld_strdup(struct ld *L, const char *s)
{
	size_t len = strlen(s) + 1;
	char *p = ld_alloc(L, len, 1);

	return p ? memcpy(p, s, len) : NULL;
}

/* y is complete, of weight w and height h (see struct anchor): make it the
 * document, or the next child of the innermost open collection. */
static void place(struct ld *L, struct ynode *y, uint32_t w, uint16_t h)
{
	struct frame *f;

	if (L->nopen == 0) {
		L->root = y;
		return;
	}
	f = &L->open[L->nopen - 1];
	f->weight += w;
	if (h > f->height)
		f->height = h;
	if (L->nstk == L->capstk) {
		size_t cap = L->capstk ? L->capstk * 2 : 256;
		struct ynode **v = realloc(L->stk, cap * sizeof *v);
		if (!v) {
			oom(L);
			return;
		}
		L->stk = v;
		L->capstk = cap;
	}
	L->stk[L->nstk++] = y;
}

/* From now on `name` (from ld_strdup) stands for y, of weight w and
 * height h; a later anchor of the same name wins. */
static void add_anchor(struct ld *L, const char *name, struct ynode *y,
		       uint32_t w, uint16_t h)
{
	struct anchor *a = ld_alloc(L, sizeof *a, alignof(struct anchor));
	struct sment *e = name && a ? smap_slot(&L->anchors, name) : NULL;

	if (!e) {
		oom(L);
		return;
	}
	if (!e->k)
		L->anchors.n++;
	*a = (struct anchor){ y, w, h };
	*e = (struct sment){ name, a };
}

static void on_scalar(struct ld *L, const yaml_event_t *ev)
{
	size_t len = ev->data.scalar.length;
	struct ynode *y;

	if (len > MAX_SCALAR) {
		errl(L, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
		     "scalar longer than 1 MiB");
		L->fatal = true;
		return;
	}
	if (!(y = ynew(L, Y_SCALAR, ev->start_mark)))
		return;
	if (!(y->s = ld_alloc(L, len + 1, 1))) {
		oom(L);
		return;
	}
	memcpy(y->s, ev->data.scalar.value, len);
	y->s[len] = '\0';
	y->plain = ev->data.scalar.plain_implicit;
	if (memchr(y->s, '\0', len))
		erry(L, y, "scalar contains a NUL byte");
	if (ev->data.scalar.anchor)
		add_anchor(L, ld_strdup(L, (const char *)ev->data.scalar.anchor),
			   y, 1, 0);
	place(L, y, 1, 0);
}

static void on_open(struct ld *L, int type, const yaml_event_t *ev,
		    const yaml_char_t *anchor)
{
	struct ynode *y;
	struct frame *f;

	if (L->nopen == MAX_DEPTH) {
		errl(L, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
		     "nesting deeper than %d levels", MAX_DEPTH);
		L->fatal = true;
		return;
	}
	if (!(y = ynew(L, type, ev->start_mark)))
		return;
	f = &L->open[L->nopen++];
	*f = (struct frame){ y, L->nstk, NULL, 1, 0 };
	if (anchor && !(f->anchor = ld_strdup(L, (const char *)anchor)))
		oom(L);
}

/* A map is complete: its keys must be distinct scalars. */
static void check_keys(struct ld *L, const struct ynode *y)
{
	struct item *it = xcalloc(y->n / 2, sizeof *it);

	if (!it) {
		oom(L);
		return;
	}
	for (uint32_t i = 0; i < y->n; i += 2) {
		const struct ynode *k = y->kid[i];
		if (k->type != Y_SCALAR)
			erry(L, k, "a mapping key must be a scalar");
		else
			it[i / 2] = (struct item){ k->s, k->line, k->col };
	}
	report_dups(L, it, y->n / 2, "key");
	free(it);
}

static void on_close(struct ld *L)
{
	struct frame *f = &L->open[--L->nopen];
	struct ynode *y = f->y;
	size_t n = L->nstk - f->base;
	uint16_t h = (uint16_t)(f->height + 1);

	if (n > 0 && !(y->kid = ld_alloc(L, n * sizeof *y->kid,
					 alignof(struct ynode *)))) {
		oom(L);
	} else {
		y->n = (uint32_t)n;
		for (size_t i = 0; i < n; i++)
			y->kid[i] = L->stk[f->base + i];
		if (y->type == Y_MAP)
			check_keys(L, y);
		if (f->anchor)
			add_anchor(L, f->anchor, y, f->weight, h);
	}
	L->nstk = f->base;
	place(L, y, f->weight, h);
}

static void on_alias(struct ld *L, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct sment *e = smap_slot(&L->anchors, name);
	int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
	const struct anchor *a;

	if (!e) {
		oom(L);
		return;
	}
	if (!e->k) {
		errl(L, line, col, "undefined alias '%.64s'", name);
		L->fatal = true;
		return;
	}
	a = e->v;
	L->alias_nodes += a->weight;
	if (L->alias_nodes > MAX_ALIAS_NODES) {
		errl(L, line, col, "aliases expand past the limit (%u nodes)",
		     MAX_ALIAS_NODES);
		L->fatal = true;
	} else if (L->nopen + a->height > MAX_DEPTH) {
		errl(L, line, col, "nesting deeper than %d levels", MAX_DEPTH);
		L->fatal = true;
	} else {
		place(L, a->y, a->weight, a->height);
	}
}

static void yaml_problem(struct ld *L, const yaml_parser_t *p,
			 const char *buf, size_t len)
{
	int line = (int)p->problem_mark.line + 1;
	int col = (int)p->problem_mark.column + 1;

	if (p->error == YAML_MEMORY_ERROR) {
		oom(L);
		return;
	}
	if (p->error == YAML_READER_ERROR) { /* only a byte offset */
		line = col = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++, col++)
			if (buf[i] == '\n')
				line++, col = 0;
	}
	if (p->context)
		errl(L, line, col, "syntax error: %s (%s at %d:%d)", p->problem,
		     p->context, (int)p->context_mark.line + 1,
		     (int)p->context_mark.column + 1);
	else
		errl(L, line, col, "syntax error: %s",
		     p->problem ? p->problem : "unknown");
	L->fatal = true;
}

/* Read the first document of buf into L->root (NULL when empty). */
static void read_yaml(struct ld *L, const char *buf, size_t len)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int ndocs = 0;

	if (!yaml_parser_initialize(&p)) {
		oom(L);
		return;
	}
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	for (bool done = false; !done && !L->fatal;) {
		if (!yaml_parser_parse(&p, &ev)) {
			yaml_problem(L, &p, buf, len);
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++ndocs > 1) {
				errl(L, (int)ev.start_mark.line + 1,
				     (int)ev.start_mark.column + 1,
				     "more than one YAML document");
				L->fatal = true;
			}
			break;
		case YAML_SCALAR_EVENT:
			on_scalar(L, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			on_open(L, Y_SEQ, &ev, ev.data.sequence_start.anchor);
			break;
		case YAML_MAPPING_START_EVENT:
			on_open(L, Y_MAP, &ev, ev.data.mapping_start.anchor);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			on_close(L);
			break;
		case YAML_ALIAS_EVENT:
			on_alias(L, &ev);
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&p);
}

/* Pass 1 is done: free all of it but the tree, before pass 2 builds on it. */
static void pass1_free(struct ld *L)
{
	free(L->anchors.e);
	L->anchors = (struct smap){ 0 };
	free(L->stk);
	L->stk = NULL;
	L->nstk = L->capstk = 0;
}

static void ld_free(struct ld *L)
{
	for (struct block *b = L->blocks, *next; b; b = next) {
		next = b->next;
		free(b);
	}
}

/* ---- scalars ---- */

static bool is_null(const struct ynode *y)
{
	return y->type == Y_SCALAR && y->plain &&
	       (!*y->s || !strcmp(y->s, "~") || !strcmp(y->s, "null") ||
		!strcmp(y->s, "Null") || !strcmp(y->s, "NULL"));
}

/* A scalar's text, or NULL for a collection or a null. */
static const char *text(const struct ynode *y)
{
	return y->type == Y_SCALAR && !is_null(y) ? y->s : NULL;
}

/* A plain decimal integer, saturated on overflow. */
static bool as_int(const struct ynode *y, long long *v)
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

/* ---- pass 2: the schema ---- */

/* Where a key may appear. */
enum { W_TOP = 1, W_GROUP = 2, W_TASK = 4, W_SUB = 8 };
#define W_NODE (W_GROUP | W_TASK)
#define W_ANY (W_TOP | W_NODE)
#define M(x) (1u << GRPX_##x)

struct keydef;
typedef void setter(struct ld *L, struct grpx_node *n, const struct ynode *v,
		    const struct keydef *k);

struct keydef {
	const char *name;
	uint8_t where;
	uint16_t modes; /* a group's modes it applies to; 0: every mode */
	setter *set;    /* NULL: handled by the caller */
	uint8_t in;     /* the setter fills a field of the node, its opts or its group */
	size_t off;     /* that field's offset */
	long long min;  /* integers: the least value; lists: the least length */
};

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

static void walk_map(struct ld *L, struct grpx_node *n, const struct ynode *y,
		     const struct keydef *t, size_t nt, unsigned where,
		     const char *ctx, struct ynode *const **seen);

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
	else if ((f = FIELD(n, k, char *)) && !(*f = strdup(v->s)))
		oom(L);
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
		if (!(a[i] = strdup(v->kid[i]->s))) {
			oom(L);
			return;
		}
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

/* env: a map of names to scalars, stored as "NAME=VALUE"; a null is "". */
static void set_env(struct ld *L, struct grpx_node *n, const struct ynode *v,
		    const struct keydef *k)
{
	struct node_opts *o;
	size_t m = 0;

	(void)k;
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
		const char *vs = is_null(val) ? "" : val->s;
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
		size_t len = strlen(key->s) + strlen(vs) + 2;
		if (!(o->env[m] = malloc(len))) {
			oom(L);
			return;
		}
		snprintf(o->env[m++], len, "%s=%s", key->s, vs);
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
	else if (ms > MAX_DURATION_MS)
		erry(L, v, "duration '%.64s' for '%s' is too large (at most "
		     "1000000h)", v->s, k->name);
	else if ((f = FIELD(n, k, int64_t)))
		*f = ms;
}

/* Exactly `n` digits at *s, advancing it. */
static bool digits(const char **s, int n, int *v)
{
	for (*v = 0; n-- > 0; (*s)++) {
		if (**s < '0' || **s > '9')
			return false;
		*v = *v * 10 + (**s - '0');
	}
	return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian, H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "HH:MM[:SS]" (also "H:MM") after midnight, or "YYYY-MM-DDTHH:MM[:SS[.F]]"
 * followed by "Z" or an offset "+HH:MM" / "-HH:MM". */
static bool parse_at(const char *s, struct at_spec *at)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y = 1970, mo = 1, d = 1, h, mi, sec = 0, ms = 0, oh, om;
	bool abs = strlen(s) > 8; /* longer than "HH:MM:SS" */
	int64_t off = 0;

	if (abs && (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) ||
		    *s++ != '-' || !digits(&s, 2, &d) || !*s ||
		    !strchr("Tt ", *s++)))
		return false;
	if (!digits(&s, !abs && s[0] && s[1] == ':' ? 1 : 2, &h) ||
	    *s++ != ':' || !digits(&s, 2, &mi))
		return false;
	if (*s == ':' && (s++, !digits(&s, 2, &sec)))
		return false;
	if (abs && *s == '.') {
		int scale = 100;
		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			ms += (*s - '0') * scale;
		if (scale == 100)
			return false;
	}
	if (h > 23 || mi > 59 || sec > 59 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))))
		return false;
	int64_t day_ms = ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + ms;
	if (!abs) {
		*at = (struct at_spec){ AT_CLOCK, day_ms };
		return *s == '\0';
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1;
		if (!digits(&s, 2, &oh) || *s++ != ':' || !digits(&s, 2, &om) ||
		    oh > 23 || om > 59)
			return false;
		off = sign * ((int64_t)oh * 60 + om) * 60000;
	} else {
		return false;
	}
	*at = (struct at_spec){ AT_ABS,
				days_from_civil(y, mo, d) * 86400000 + day_ms - off };
	return *s == '\0';
}

static void set_at(struct ld *L, struct grpx_node *n, const struct ynode *v,
		   const struct keydef *k)
{
	struct at_spec at, *f;

	if (!text(v) || !parse_at(v->s, &at))
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

static const struct keydef slurm_keys[] = {
	{ "args", W_SUB, 0, set_strv, OPT_OFF(slurm_args), 0 },
};

static void set_slurm(struct ld *L, struct grpx_node *n, const struct ynode *v,
		      const struct keydef *k)
{
	struct ynode *const *seen[1] = { 0 };

	(void)k;
	n->runner = 1;
	if (v->type == Y_MAP)
		walk_map(L, n, v, slurm_keys, 1, W_SUB, "in 'slurm'", seen);
	else if (!is_null(v))
		erry(L, v, "'slurm' must be a mapping");
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
		n->runner = 0;
	else if (text(v) && !strcmp(v->s, "slurm"))
		n->runner = 1;
	else if (v->type == Y_MAP && v->n > 0)
		walk_map(L, n, v, runner_keys, 1, W_SUB, "in 'runner'", seen);
	else
		erry(L, v, "'runner' must be 'local' or {slurm: {args: [...]}}");
}

/* Every key of a job file; indexes by enum key. */
enum key {
	K_VERSION, K_NAME, K_MODE, K_RUN, K_ARGV, K_SHELL, K_ENV, K_CWD,
	K_RUNNER, K_TIMEOUT, K_GRACE, K_LIMIT, K_COUNT, K_ON_ERROR, K_STAGGER,
	K_DELAY, K_AT, K_ATTEMPTS, K_BACKOFF, K_RETRY_ON, K_STDIN, K_TASKS,
	K_GROUPS, NKEYS
};

static const struct keydef node_keys[NKEYS] = {
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
	[K_LIMIT] = { "limit", W_GROUP, (uint16_t)~(M(WATERFALL) | M(RETRY)),
		      set_u32, GROUP_OFF(limit), 1 },
	[K_COUNT] = { "count", W_GROUP, M(TAKE) | M(LAST), set_u32,
		      GROUP_OFF(count), 1 },
	[K_ON_ERROR] = { "on_error", W_GROUP, M(ERRGROUP) | M(SIZED) | M(ALL) |
			 M(TAKE) | M(LAST) | M(SCHEDULE), set_on_error, NO_FIELD },
	[K_STAGGER] = { "stagger", W_GROUP, M(RACE) | M(TAKE), set_dur,
			OPT_OFF(stagger_ms), 0 },
	[K_DELAY] = { "delay", W_NODE, 0, set_dur, OPT_OFF(delay_ms), 0 },
	[K_AT] = { "at", W_NODE, 0, set_at, OPT_OFF(at), 0 },
	[K_ATTEMPTS] = { "attempts", W_NODE, 0, set_attempts, NO_FIELD },
	[K_BACKOFF] = { "backoff", W_NODE, 0, set_backoff, NO_FIELD },
	[K_RETRY_ON] = { "retry_on", W_NODE, 0, set_retry_on, NO_FIELD },
	[K_STDIN] = { "stdin", W_TASK, 0, set_stdin, NO_FIELD },
	[K_TASKS] = { "tasks", W_GROUP, 0, NULL, NO_FIELD },
	[K_GROUPS] = { "groups", W_TOP, 0, NULL, NO_FIELD },
};

bool key_applies(const char *key, int mode)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(node_keys[i].name, key) == 0)
			return !node_keys[i].modes ||
			       (node_keys[i].modes & (1u << mode));
	return false;
}

/*
 * Check each key of map y against table t (keys allowed `where`; ctx names
 * the map in messages), note where each was found in seen[] (the key, its
 * value follows), then call the setters in table order.
 */
static void walk_map(struct ld *L, struct grpx_node *n, const struct ynode *y,
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

/* ---- the job tree ---- */

const struct node_opts opts_default = {
	.grace_ms = -1,
	.stagger_ms = -1,
	.delay_ms = -1,
	.backoff = { -1, -1, 2.0, false },
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
	if (n->opt != &opts_default) {
		strv_free(n->opt->shell);
		strv_free(n->opt->env);
		free(n->opt->cwd);
		strv_free(n->opt->slurm_args);
		free(n->opt->retry_on);
		free((struct node_opts *)n->opt);
	}
	free(n->grp);
	free(n->log);
	free(n);
}

/* The value of `key` in map y, or NULL. */
static const struct ynode *map_get(const struct ynode *y, const char *key)
{
	for (uint32_t i = 0; i < y->n; i += 2)
		if (y->kid[i]->type == Y_SCALAR && !strcmp(y->kid[i]->s, key))
			return y->kid[i + 1];
	return NULL;
}

static const char *kind_name(const struct grpx_node *n)
{
	return n->kind == NODE_GROUP ? "group" : "task";
}

static void build_kids(struct ld *L, struct grpx_node *n, const struct ynode *v,
		       const char *key);

/* The rules that span keys: modes, counts, schedule times, run/argv. */
static void check_node(struct ld *L, const struct grpx_node *n,
		       const struct ynode *y, struct ynode *const **seen)
{
	const struct grpx_node *p = n->parent;
	bool known = n->kind == NODE_GROUP && n->mode < GRPX_NMODES;
	const char *mode = mode_name(n->mode);

	for (size_t j = 0; j < NKEYS && known; j++)
		if (seen[j] && node_keys[j].modes &&
		    !(node_keys[j].modes & (1u << n->mode)))
			erry(L, seen[j][0], "'%s' does not apply to mode '%s'",
			     node_keys[j].name, mode);
	if (known && (n->mode == GRPX_TAKE || n->mode == GRPX_LAST)) {
		if (!seen[K_COUNT])
			erry(L, seen[K_MODE][1], "group '%s' of mode '%s' needs "
			     "'count'", n->path, mode);
		else if (n->grp->count > n->nkids && n->nkids > 0)
			erry(L, seen[K_COUNT][1], "'count' is %u but group '%s' "
			     "has %u tasks", n->grp->count, n->path, n->nkids);
	}
	if (known && n->mode == GRPX_RETRY && n->nkids > 1)
		erry(L, seen[K_TASKS][0], "retry group '%s' must have exactly "
		     "one task, not %u", n->path, n->nkids);
	if (n->kind == NODE_GROUP) {
		if (!seen[K_MODE])
			erry(L, y, "missing 'mode' in group '%s'", n->path);
		if (!seen[K_TASKS])
			erry(L, y, "missing 'tasks' in group '%s'", n->path);
	} else if (seen[K_RUN] && seen[K_ARGV]) {
		erry(L, seen[K_ARGV][0], "task '%s' has both 'run' and 'argv'",
		     n->path);
	} else if (!seen[K_RUN] && !seen[K_ARGV]) {
		erry(L, y, "missing 'run' or 'argv' in task '%s'", n->path);
	}
	/* Under a group of unknown mode, say nothing about delay and at. */
	if (p->mode < GRPX_NMODES && p->mode != GRPX_SCHEDULE)
		for (size_t j = K_DELAY; j <= K_AT; j++)
			if (seen[j])
				erry(L, seen[j][0], "'%s' only applies inside a "
				     "schedule group", node_keys[j].name);
	if (seen[K_DELAY] && seen[K_AT])
		erry(L, seen[K_AT][0], "%s '%s' has both 'delay' and 'at'",
		     kind_name(n), n->path);
}

/* Build the index-th child of p from y; names it in *it for the dup check. */
static struct grpx_node *build_node(struct ld *L, struct grpx_node *p,
				    uint32_t index, const struct ynode *y,
				    struct item *it)
{
	struct ynode *const *seen[NKEYS] = { 0 };
	const struct ynode *name;
	struct grpx_node *n;
	char pos[16], ctx[128];

	if (L->nnodes >= MAX_NODES) {
		erry(L, y, "more than %u tasks and groups", MAX_NODES);
		L->fatal = true;
		return NULL;
	}
	if (!(n = node_new(p, index)))
		return oom(L), NULL;
	n->seq = L->nnodes++;
	n->line = y->line;
	n->col = y->col;
	n->mode = GRPX_NMODES; /* unknown until `mode` says */
	*it = (struct item){ NULL, y->line, y->col };
	name = y->type == Y_MAP ? map_get(y, "name") : NULL;
	snprintf(pos, sizeof pos, "%u", index + 1);
	if (name && text(name) && *name->s && strspn(name->s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"abcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(name->s)) {
		*it = (struct item){ name->s, name->line, name->col };
	} else if (name) {
		erry(L, name, "invalid name '%.64s' (allowed: letters, digits, "
		     "'.', '_' and '-')", text(name) ? name->s : "");
	}
	if (node_set_name(n, it->s ? it->s : pos) != 0)
		return oom(L), n;
	if (y->type != Y_MAP) {
		erry(L, y, "task or group '%s' must be a mapping", n->path);
		return n;
	}
	if ((map_get(y, "mode") || map_get(y, "tasks")) && node_make_group(n) != 0)
		return oom(L), n;
	snprintf(ctx, sizeof ctx, "in %s '%.64s'", kind_name(n), n->path);
	walk_map(L, n, y, node_keys, NKEYS,
		 n->kind == NODE_GROUP ? W_GROUP : W_TASK, ctx, seen);
	if (seen[K_TASKS] && !L->fatal)
		build_kids(L, n, seen[K_TASKS][1], "tasks");
	if (!L->fatal)
		check_node(L, n, y, seen);
	return n;
}

static void build_kids(struct ld *L, struct grpx_node *n, const struct ynode *v,
		       const char *key)
{
	struct item *it;

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
	    !(it = xcalloc(v->n, sizeof *it)))
		{
		oom(L);
		return;
	}
	for (uint32_t i = 0; i < v->n && !L->fatal; i++) {
		n->kids[i] = build_node(L, n, i, v->kid[i], &it[i]);
		if (n->kids[i])
			n->nkids = i + 1;
	}
	if (!L->fatal)
		report_dups(L, it, n->nkids, "name");
	free(it);
}

/* The root: an errgroup with limit 1 over the top-level `groups`. */
static struct grpx_node *build_root(struct ld *L, const struct ynode *y)
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

/* ---- the public face ---- */

/* grpx_load_mem() that also frees `own` (buf or NULL) once pass 1 is done
 * with buf: the file need not stay while pass 2 builds the job. */
static int load(const char *name, const char *buf, size_t len, char *own,
		struct grpx_job **jobp, struct grpx_diags *d)
{
	struct ld L = { .file = name, .d = d };
	size_t first = d ? d->n : 0;
	struct grpx_job *job = calloc(1, sizeof *job);

	*jobp = NULL;
	if (!job || !(job->file = xstrdup(name))) {
		free(job);
		free(own);
		diag_add(d, name, 0, 0, "out of memory");
		return -1;
	}
	read_yaml(&L, buf, len);
	free(own);
	pass1_free(&L);
	if (!L.fatal)
		job->root = build_root(&L, L.root);
	job->nnodes = L.nnodes;
	ld_free(&L);
	if (d)
		diags_sort(d, first);
	if (L.nerr > 0) {
		grpx_job_free(job);
		return -1;
	}
	*jobp = job;
	return 0;
}

int grpx_load_mem(const char *name, const char *buf, size_t len,
		  struct grpx_job **jobp, struct grpx_diags *d)
{
	return load(name, buf, len, NULL, jobp, d);
}

int grpx_load(const char *path, struct grpx_job **jobp, struct grpx_diags *d)
{
	char *buf = NULL, *nb;
	size_t len = 0, cap = 0;
	ssize_t r = 0;
	int fd;

	*jobp = NULL;
	/* Read to EOF, whatever the size says: a pipe or /dev/stdin works too. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		goto fail;
	do {
		if (r > 0)
			len += (size_t)r;
		if (len == cap) {
			if (cap >= MAX_FILE) {
				close(fd);
				free(buf);
				diag_add(d, path, 0, 0, "job file is larger "
					 "than %u MiB", MAX_FILE >> 20);
				return -1;
			}
			cap = cap ? cap * 2 : 65536;
			if (!(nb = realloc(buf, cap)))
				goto fail;
			buf = nb;
		}
	} while ((r = read(fd, buf + len, cap - len)) > 0 ||
		 (r < 0 && errno == EINTR && (r = 0) == 0));
	if (r < 0)
		goto fail;
	close(fd);
	return load(path, buf, len, buf, jobp, d);
fail:
	diag_add(d, path, 0, 0, "cannot read job file: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	free(buf);
	return -1;
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
