/*
 * diag.c - collect the problems of a load as FILE:LINE:COL messages
 * (struct grpx_diags), and sort them into file order.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "load_int.h"

int vdiag(struct grpx_diags *d, const char *file, int line, int col,
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

void errl(struct ld *L, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (L->d)
		vdiag(L->d, L->file, line, col, fmt, ap);
	va_end(ap);
	L->nerr++;
}

void oom(struct ld *L)
{
	if (!L->fatal)
		errl(L, 0, 0, "out of memory");
	L->fatal = true;
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

void diags_sort(struct grpx_diags *d, size_t from)
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
