/*
 * matrix.c - `matrix:` + `template:` (SPEC section 7.2): the values of a
 * group's matrix variables, their combinations in cartesian order (the
 * first variable varies slowest) minus `exclude`, and the scope that puts
 * one combination's values into the template's strings while build.c
 * builds that child.
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load_int.h"
#include "template.h"

struct mvar {
	const char *name;  /* the key, in the YAML tree */
	const char **val;  /* owned array; the strings are in the YAML tree,
			      in gl or in buf */
	uint32_t n;
	bool globbed;      /* gl is ours to free */
	glob_t gl;
	char *buf;         /* a `lines:` file's text, owned */
};

/* One `exclude` entry: variable vi must have value s. */
struct pin {
	uint32_t vi;
	const char *s;
};

struct matrix {
	struct mvar *v;
	const char **names; /* v[i].name, as template.c wants them */
	uint32_t nv;
	uint32_t *keep;     /* the combinations left, by cartesian number */
	uint32_t n;
};

struct scope {
	struct tpl_input in;
	const char *val[];  /* in.val points here */
};

bool ld_charge(struct ld *L, const struct ynode *y, uint64_t bytes)
{
	if ((L->genbytes += bytes) <= MAX_GEN_BYTES)
		return true;
	if (!L->fatal)
		erry(L, y, "matrices generate more than %u MiB of tasks and groups",
		     MAX_GEN_BYTES >> 20);
	L->fatal = true;
	return false;
}

char *ld_subst(struct ld *L, const struct ynode *y, const char *s, int how)
{
	char *out = NULL;

	if (!L->scope || how == SUB_NONE || !strchr(s, '{')) {
		out = strdup(s);
	} else if (tpl_expand(s, &L->scope->in, how == SUB_SHELL ? TPL_QUOTE : 0,
			      MAX_SCALAR, &out) != 0 && errno == E2BIG) {
		erry(L, y, "'%.64s' is longer than 1 MiB for matrix child %u", s,
		     (uint32_t)L->scope->in.seq);
		return NULL;
	}
	if (!out) {
		oom(L);
		return NULL;
	}
	if (L->scope && !ld_charge(L, y, strlen(out) + 1)) {
		free(out);
		return NULL;
	}
	return out;
}

/* What building a node from y may cost at most: its YAML nodes (a node
 * and its arrays) and its text, which the node copies. */
uint64_t ld_cost(const struct ynode *y)
{
	uint64_t c = 128;

	if (y->type == Y_SCALAR)
		return c + strlen(y->s);
	for (uint32_t i = 0; i < y->n; i++)
		c += ld_cost(y->kid[i]);
	return c;
}

uint32_t ld_scope_seq(const struct ld *L)
{
	return L->scope ? (uint32_t)L->scope->in.seq : 0;
}

/* A variable name: [A-Za-z_][A-Za-z0-9_]*, as template.c reads them. */
static bool var_name_ok(const char *s)
{
	if (!(*s == '_' || (*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
		return false;
	return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789_") == strlen(s);
}

/* path as seen from cwd (NULL: grpx's own); malloc'ed.  `glob` escapes
 * cwd's pattern characters, so that only `path` is a pattern.  *skip: the
 * length of what is put in front of path, unescaped. */
static char *in_cwd(const char *cwd, const char *path, bool glob, size_t *skip)
{
	size_t clen, len;
	char *s, *p;

	*skip = 0;
	if (!cwd || path[0] == '/')
		return strdup(path);
	clen = strlen(cwd);
	while (clen > 1 && cwd[clen - 1] == '/')
		clen--;
	len = 2 * clen + strlen(path) + 2;
	if (!(p = s = malloc(len)))
		return NULL;
	for (size_t i = 0; i < clen; i++) {
		if (glob && strchr("*?[\\", cwd[i]))
			*p++ = '\\';
		*p++ = cwd[i];
	}
	*skip = clen;
	if (!(clen == 1 && cwd[0] == '/')) {
		*p++ = '/';
		++*skip;
	}
	strcpy(p, path);
	return s;
}

static int by_bytes(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* {glob: PATTERN}: the matching paths, sorted, as relative as PATTERN. */
static void values_glob(struct ld *L, struct mvar *v, const struct ynode *y,
			const char *cwd)
{
	char *pat;
	size_t skip;
	int rc;

	if (!text(y) || !*y->s) {
		erry(L, y, "'glob' of '%s' in 'matrix' must be a pattern", v->name);
		return;
	}
	if (!(pat = in_cwd(cwd, y->s, true, &skip)))
		return oom(L);
	rc = glob(pat, GLOB_NOSORT, NULL, &v->gl);
	free(pat);
	v->globbed = true;
	if (rc == GLOB_NOSPACE)
		return oom(L);
	if (rc != 0 && rc != GLOB_NOMATCH) {
		erry(L, y, "cannot read the directories of glob '%.64s' for '%s' "
		     "in 'matrix'", y->s, v->name);
		return;
	}
	if (rc != 0)
		return; /* no match: no value */
	if (v->gl.gl_pathc > MAX_GENERATED) {
		erry(L, y, "glob '%.64s' matches more than %u paths", y->s,
		     MAX_GENERATED);
		return;
	}
	if (!(v->val = xcalloc(v->gl.gl_pathc, sizeof *v->val)))
		return oom(L);
	for (size_t i = 0; i < v->gl.gl_pathc; i++) {
		const char *p = v->gl.gl_pathv[i];
		/* each match starts with cwd and its '/', unescaped */
		v->val[v->n++] = strlen(p) > skip ? p + skip : p;
	}
	qsort(v->val, v->n, sizeof *v->val, by_bytes);
}

/* {lines: FILE}: one value a line; a final newline ends the last one. */
static void values_lines(struct ld *L, struct mvar *v, const struct ynode *y,
			 const char *cwd)
{
	size_t len = 0, cap = 0, n = 0;
	char *path, *p, *nb;
	ssize_t r = 0;
	size_t skip;
	int fd;

	if (!text(y) || !*y->s) {
		erry(L, y, "'lines' of '%s' in 'matrix' must be a file name", v->name);
		return;
	}
	if (!(path = in_cwd(cwd, y->s, false, &skip)))
		return oom(L);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		goto fail;
	do {
		len += (size_t)r;
		if (len + 1 >= cap) {
			if (cap >= MAX_FILE) {
				close(fd);
				erry(L, y, "lines file '%.64s' is larger than %u MiB",
				     y->s, MAX_FILE >> 20);
				return;
			}
			cap = cap ? cap * 2 : 4096;
			if (!(nb = realloc(v->buf, cap))) {
				close(fd);
				return oom(L);
			}
			v->buf = nb;
		}
	} while ((r = read(fd, v->buf + len, cap - len - 1)) > 0 ||
		 (r < 0 && errno == EINTR && (r = 0) == 0));
	if (r < 0) {
		int e = errno;
		close(fd);
		errno = e;
		goto fail;
	}
	close(fd);
	if (memchr(v->buf, '\0', len)) {
		erry(L, y, "lines file '%.64s' has a NUL byte", y->s);
		return;
	}
	v->buf[len] = '\0';
	for (size_t i = 0; i < len; i++)
		n += v->buf[i] == '\n';
	n += len > 0 && v->buf[len - 1] != '\n';
	if (n > MAX_GENERATED) {
		erry(L, y, "lines file '%.64s' has more than %u lines", y->s,
		     MAX_GENERATED);
		return;
	}
	if (!(v->val = xcalloc(n, sizeof *v->val)))
		return oom(L);
	for (p = v->buf; v->n < n; p++) {
		v->val[v->n++] = p;
		p += strcspn(p, "\n");
		*p = '\0';
	}
	return;
fail:
	erry(L, y, "cannot read lines file '%.64s' for '%s' in 'matrix': %s",
	     y->s, v->name, strerror(errno));
}

/* A variable's values from y: a list of scalars, {glob:} or {lines:}. */
static void values(struct ld *L, struct mvar *v, const struct ynode *y,
		   const char *cwd)
{
	const char *key = y->type == Y_MAP && y->n == 2 &&
			  y->kid[0]->type == Y_SCALAR ? y->kid[0]->s : "";

	if (!strcmp(key, "glob"))
		return values_glob(L, v, y->kid[1], cwd);
	if (!strcmp(key, "lines"))
		return values_lines(L, v, y->kid[1], cwd);
	if (y->type != Y_SEQ) {
		erry(L, y, "'%s' in 'matrix' must be a list of scalars, "
		     "{glob: PATTERN} or {lines: FILE}", v->name);
		return;
	}
	if (!(v->val = xcalloc(y->n, sizeof *v->val)))
		return oom(L);
	for (uint32_t i = 0; i < y->n; i++) {
		if (y->kid[i]->type != Y_SCALAR) {
			erry(L, y->kid[i], "values of '%s' in 'matrix' must be "
			     "scalars", v->name);
			return;
		}
		v->val[v->n++] = is_null(y->kid[i]) ? "" : y->kid[i]->s;
	}
}

/* The variable named s, or m->nv. */
static uint32_t var_index(const struct matrix *m, const char *s)
{
	uint32_t i = 0;

	while (i < m->nv && strcmp(m->v[i].name, s) != 0)
		i++;
	return i;
}

/* The value index of variable vi in cartesian combination k. */
static uint32_t digit(const struct matrix *m, uint64_t k, uint32_t vi)
{
	for (uint32_t j = m->nv; --j > vi;)
		k /= m->v[j].n;
	return (uint32_t)(k % m->v[vi].n);
}

/* Read `exclude` (y) into pins, each entry ended by a pin of vi nv; then
 * keep the combinations that match no entry. */
static void combine(struct ld *L, struct matrix *m, const struct ynode *y,
		    uint64_t total)
{
	struct pin *pin = NULL;
	size_t np = 0, nerr = L->nerr;

	if (y && y->type != Y_SEQ) {
		erry(L, y, "'exclude' must be a list of mappings");
		return;
	}
	for (uint32_t e = 0; y && e < y->n; e++) {
		const struct ynode *x = y->kid[e];
		struct pin *more;
		if (x->type != Y_MAP || x->n == 0) {
			erry(L, x, "an 'exclude' entry must be a mapping of "
			     "variables to values");
			continue;
		}
		if (!(more = realloc(pin, (np + x->n / 2 + 1) * sizeof *pin))) {
			free(pin);
			return oom(L);
		}
		pin = more;
		for (uint32_t i = 0; i < x->n; i += 2) {
			const struct ynode *k = x->kid[i], *val = x->kid[i + 1];
			uint32_t vi;
			if (k->type != Y_SCALAR)
				continue; /* reported by pass 1 */
			if ((vi = var_index(m, k->s)) == m->nv)
				erry(L, k, "unknown variable '%.64s' in 'exclude'", k->s);
			else if (val->type != Y_SCALAR)
				erry(L, val, "value of '%s' in 'exclude' must be a "
				     "scalar", k->s);
			else
				pin[np++] = (struct pin){ vi, is_null(val) ? "" : val->s };
		}
		pin[np++] = (struct pin){ m->nv, NULL };
	}
	if (L->nerr == nerr && !(m->keep = xcalloc(total, sizeof *m->keep)))
		oom(L);
	for (uint64_t k = 0; m->keep && k < total; k++) {
		bool out = false, match = true;
		for (size_t i = 0; i < np && !out; i++) {
			if (pin[i].vi == m->nv) { /* the end of an entry */
				out = match;
				match = true;
			} else if (match) {
				const struct mvar *v = &m->v[pin[i].vi];
				match = !strcmp(v->val[digit(m, k, pin[i].vi)], pin[i].s);
			}
		}
		if (!out)
			m->keep[m->n++] = (uint32_t)k;
	}
	free(pin);
}

struct matrix *matrix_read(struct ld *L, const struct grpx_node *g,
			   const struct ynode *y)
{
	const struct ynode *exclude = NULL;
	struct matrix *m;
	size_t nerr = L->nerr;
	uint64_t total = 1;
	char *cwd = NULL;

	if (y->type != Y_MAP || y->n == 0) {
		erry(L, y, "'matrix' must be a mapping of variables to values");
		return NULL;
	}
	if (!(m = calloc(1, sizeof *m)) ||
	    !(m->v = xcalloc(y->n / 2, sizeof *m->v)) ||
	    !(m->names = xcalloc(y->n / 2, sizeof *m->names)) ||
	    node_cwd(g, &cwd) != 0) {
		oom(L);
		matrix_free(m);
		return NULL;
	}
	for (uint32_t i = 0; i < y->n && !L->fatal; i += 2) {
		const struct ynode *k = y->kid[i];
		struct mvar *v = &m->v[m->nv];
		if (k->type != Y_SCALAR)
			continue; /* reported by pass 1 */
		if (!strcmp(k->s, "exclude")) {
			exclude = y->kid[i + 1];
			continue;
		}
		if (!var_name_ok(k->s)) {
			erry(L, k, "invalid variable name '%.64s' in 'matrix' "
			     "(allowed: a letter or '_', then letters, digits "
			     "and '_')", k->s);
			continue;
		}
		v->name = m->names[m->nv++] = k->s;
		values(L, v, y->kid[i + 1], cwd);
		total = total * v->n > MAX_GENERATED ? MAX_GENERATED + 1ull
							: total * v->n;
	}
	free(cwd);
	if (m->nv == 0 && L->nerr == nerr)
		erry(L, y, "'matrix' has no variables");
	else if (total > MAX_GENERATED && L->nerr == nerr)
		erry(L, y, "'matrix' has more than %u combinations", MAX_GENERATED);
	if (L->nerr == nerr && !L->fatal)
		combine(L, m, exclude, total);
	if (L->nerr > nerr || L->fatal) {
		matrix_free(m);
		return NULL;
	}
	return m;
}

uint32_t matrix_size(const struct matrix *m)
{
	return m->n;
}

struct scope *matrix_scope(const struct matrix *m, uint32_t i,
			   const struct scope *up)
{
	struct scope *sc = malloc(sizeof *sc + (m->nv ? m->nv : 1) * sizeof *sc->val);

	if (!sc)
		return NULL;
	for (uint32_t j = 0; j < m->nv; j++)
		sc->val[j] = i == UINT32_MAX ? m->v[j].name
			   : m->v[j].val[digit(m, m->keep[i], j)];
	sc->in = (struct tpl_input){ sc->val, m->names, m->nv,
				     i == UINT32_MAX ? 1 : (uint64_t)i + 1, 0,
				     up ? &up->in : NULL };
	return sc;
}

void matrix_free(struct matrix *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->nv; i++) {
		free(m->v[i].val);
		free(m->v[i].buf);
		if (m->v[i].globbed)
			globfree(&m->v[i].gl);
	}
	free(m->v);
	free(m->names);
	free(m->keep);
	free(m);
}
