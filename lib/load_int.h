/*
 * load_int.h - what the files of the job-file loader share, and nobody
 * else sees: load.c (the entry points), diag.c, smap.c, ytree.c (pass 1),
 * schema.c (pass 2a), build.c (pass 2b) and matrix.c.
 *
 * Pass 1 (ytree.c) turns libyaml's events into a small tree of struct ynode
 * that keeps every position.  Pass 2 checks that tree against the key
 * tables of schema.c and builds the job (build.c), expanding `matrix:`
 * groups (matrix.c) as it goes.  Every problem is reported through errl()
 * as FILE:LINE:COL; one is enough for the load to fail.
 */
#ifndef GRPX_LOAD_INT_H
#define GRPX_LOAD_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* YAML collections inside each other: a group takes two (its mapping and
 * its tasks list), so 1024 allows 500-level nested groups. */
#define MAX_DEPTH 1024
#define MAX_SCALAR (1u << 20)    /* bytes in one scalar */
#define MAX_YNODES 8000000u      /* YAML nodes in a file */
#define MAX_NODES 2000000u       /* tasks and groups in a job, generated ones included */
#define MAX_ALIAS_NODES 10000u   /* nodes that alias uses add, all together */
/* Tasks and groups that matrices generate, all together: a few lines of
 * YAML must not ask for gigabytes (a node costs about 0.5 KiB). */
#define MAX_GENERATED 100000u
#define MAX_GEN_BYTES (256u << 20) /* and the memory they may take */
#define MAX_FILE (256u << 20)    /* bytes in a job file, or in a `lines:` file */

/* ---- diag.c ---- */

int vdiag(struct grpx_diags *d, const char *file, int line, int col,
	  const char *fmt, va_list ap);
/* Sort the diags from `from` on by position, keeping the order of ties. */
void diags_sort(struct grpx_diags *d, size_t from);

/* ---- smap.c: a string-keyed hash table (open addressing) ---- */

struct smap {
	struct sment {
		const char *k; /* NULL: empty slot; not owned */
		const void *v;
	} *e;
	size_t cap, n;
};

/* The entry of k, or the empty slot where it goes (the caller fills it in
 * and counts it); NULL when out of memory.  Free with free(m->e). */
struct sment *smap_slot(struct smap *m, const char *k);

/* ---- the loader's state, shared by both passes ---- */

struct scope; /* matrix.c: the values of the matrix child being built */

struct ld {
	const char *file;
	struct grpx_diags *d;     /* NULL: count problems only */
	size_t nerr;
	bool fatal;               /* the tree is incomplete, or no memory: stop */
	uint32_t nnodes;          /* pass 2: nodes built, generated ones included */
	const struct scope *scope; /* the innermost matrix child being built, or NULL */
	uint32_t ngen;            /* nodes built with a scope: generated */
	uint64_t genbytes;        /* what building them may have cost */
};

/* Report a problem at line:col of L's file. */
void errl(struct ld *L, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
#define erry(L, y, ...) errl(L, (y)->line, (y)->col, __VA_ARGS__)
/* Report "out of memory" once, and stop. */
void oom(struct ld *L);

/* ---- ytree.c: pass 1 ---- */

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

struct block;

/* The document, and the memory every ynode of it lives in. */
struct ytree {
	struct ynode *root;   /* NULL when the document is empty */
	struct block *blocks; /* owned */
};

/* Read the first document of buf into t; problems go to L (L->fatal when
 * the tree is not whole).  Free t with ytree_free() in any case. */
void ytree_read(struct ld *L, const char *buf, size_t len, struct ytree *t);
void ytree_free(struct ytree *t);

bool is_null(const struct ynode *y);
/* A scalar's text, or NULL for a collection or a null. */
const char *text(const struct ynode *y);
/* A plain decimal integer, saturated on overflow. */
bool as_int(const struct ynode *y, long long *v);
/* The value of `key` in map y, or NULL. */
const struct ynode *map_get(const struct ynode *y, const char *key);

/* ---- schema.c: pass 2a, what each key accepts ---- */

/* Where a key may appear. */
enum { W_TOP = 1, W_GROUP = 2, W_TASK = 4, W_SUB = 8 };

/* Every key of a job file; indexes node_keys[]. */
enum key {
	K_VERSION, K_NAME, K_MODE, K_RUN, K_ARGV, K_SHELL, K_ENV, K_CWD,
	K_RUNNER, K_TIMEOUT, K_GRACE, K_LIMIT, K_COUNT, K_ON_ERROR, K_STAGGER,
	K_DELAY, K_AT, K_ATTEMPTS, K_BACKOFF, K_RETRY_ON, K_STDIN, K_TASKS,
	K_MATRIX, K_TEMPLATE, K_GROUPS, K_RESOURCES, NKEYS
};

struct keydef;
typedef void setter(struct ld *L, struct grpx_node *n, const struct ynode *v,
		    const struct keydef *k);

struct keydef {
	const char *name;
	uint8_t where;
	uint8_t mk;     /* enum mode_key: taken only by modes with this key; 0: every mode */
	setter *set;    /* NULL: handled by the caller */
	uint8_t in;     /* the setter fills a field of the node, its opts or its group */
	size_t off;     /* that field's offset */
	long long min;  /* integers: the least value; lists: the least length */
};

extern const struct keydef node_keys[NKEYS];

/*
 * Check each key of map y against table t (keys allowed `where`; ctx names
 * the map in messages), note where each was found in seen[] (the key, its
 * value follows), then call the setters in table order.
 */
void walk_map(struct ld *L, struct grpx_node *n, const struct ynode *y,
	      const struct keydef *t, size_t nt, unsigned where,
	      const char *ctx, struct ynode *const **seen);

/* ---- build.c: pass 2b ---- */

/* The root: an errgroup with limit 1 over the top-level `groups`. */
struct grpx_node *build_root(struct ld *L, const struct ynode *y);

/* ---- matrix.c: `matrix:` + `template:` (SPEC section 7.2) ---- */

/* Where matrix values may go: nowhere, as they are, or shell-quoted (run). */
enum subst_how { SUB_NONE, SUB_RAW, SUB_SHELL };

/* s (the text of y) with the matrix values in scope substituted (how),
 * or a copy of s outside a template: malloc'ed; NULL when it cannot be
 * (reported at y: too long, out of memory, past MAX_GEN_BYTES). */
char *ld_subst(struct ld *L, const struct ynode *y, const char *s, int how);
/* Count `bytes` more against MAX_GEN_BYTES; false (reported at y, fatal)
 * past it. */
bool ld_charge(struct ld *L, const struct ynode *y, uint64_t bytes);
/* What building nodes from y may cost at most, for ld_charge(). */
uint64_t ld_cost(const struct ynode *y);
/* The 1-based number of the matrix child being built, 0 outside. */
uint32_t ld_scope_seq(const struct ld *L);

struct matrix; /* the combinations of one group's matrix */

/* Read group g's `matrix:` value y; NULL (reported) when it is malformed.
 * `glob:` and `lines:` are found relative to g's cwd. */
struct matrix *matrix_read(struct ld *L, const struct grpx_node *g,
			   const struct ynode *y);
/* Its combinations, `exclude` left out. */
uint32_t matrix_size(const struct matrix *m);
/* The scope of combination i (from 0) inside `up` (or NULL), for
 * L->scope while its child is built; free() it after.  i == UINT32_MAX
 * gives each variable its own name as its value: a stand-in to check the
 * template of a matrix with no combination.  NULL: no memory. */
struct scope *matrix_scope(const struct matrix *m, uint32_t i,
			   const struct scope *up);
void matrix_free(struct matrix *m);

#endif
