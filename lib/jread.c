/*
 * jread.c - a small JSON reader that parses in place (jread.h).
 *
 * Recursive descent over the grammar of RFC 8259, strict: no comments,
 * no trailing commas, no control characters in strings, no lone
 * surrogates.  A string is decoded over its own bytes (an escape is never
 * shorter than what it stands for), so the write pointer trails the read
 * pointer and the closing quote's byte takes the NUL.
 */
#include <stdlib.h>
#include <string.h>

#include "jread.h"

struct jp {
	struct jdoc *d;
	char *p, *end;
	int depth;
};

static uint32_t fail(struct jp *j, const char *msg)
{
	if (!j->d->err) {
		j->d->err = msg;
		j->d->at = j->p;
	}
	return 0;
}

static void ws(struct jp *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
		j->p++;
}

static uint32_t new_val(struct jp *j, enum jtype t)
{
	struct jdoc *d = j->d;

	if (d->n == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 64;
		struct jval *v = realloc(d->v, cap * sizeof *v);
		if (!v)
			return fail(j, "out of memory");
		d->v = v;
		d->cap = cap;
	}
	if (d->n == 0)
		d->n = 1; /* index 0 means none */
	d->v[d->n] = (struct jval){ .type = (uint8_t)t };
	return d->n++;
}

static int hex4(const char *p, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		*v <<= 4;
		if (c >= '0' && c <= '9')
			*v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			*v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	return 0;
}

static char *put_utf8(char *w, unsigned cp)
{
	if (cp < 0x80) {
		*w++ = (char)cp;
	} else if (cp < 0x800) {
		*w++ = (char)(0xc0 | cp >> 6);
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*w++ = (char)(0xe0 | cp >> 12);
		*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*w++ = (char)(0xf0 | cp >> 18);
		*w++ = (char)(0x80 | (cp >> 12 & 0x3f));
		*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
		*w++ = (char)(0x80 | (cp & 0x3f));
	}
	return w;
}

/* A string at j->p (its opening quote): decoded in place. */
static int string(struct jp *j, const char **s, size_t *len)
{
	char *w = ++j->p, *start = w;

	for (;;) {
		if (j->p >= j->end)
			return fail(j, "unterminated string"), -1;
		unsigned char c = (unsigned char)*j->p;
		if (c == '"')
			break;
		if (c < 0x20)
			return fail(j, "control character in a string"), -1;
		if (c != '\\') {
			*w++ = *j->p++;
			continue;
		}
		if (j->end - j->p < 2)
			return fail(j, "unterminated string"), -1;
		char e = j->p[1];
		j->p += 2;
		switch (e) {
		case '"': case '\\': case '/': *w++ = e; break;
		case 'b': *w++ = '\b'; break;
		case 'f': *w++ = '\f'; break;
		case 'n': *w++ = '\n'; break;
		case 'r': *w++ = '\r'; break;
		case 't': *w++ = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (j->end - j->p < 4 || hex4(j->p, &cp) < 0)
				return fail(j, "bad \\u escape"), -1;
			j->p += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return fail(j, "lone surrogate in \\u escape"), -1;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u' ||
				    hex4(j->p + 2, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
					return fail(j, "lone surrogate in \\u escape"), -1;
				j->p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			w = put_utf8(w, cp);
			break;
		}
		default:
			j->p -= 2;
			return fail(j, "bad escape in a string"), -1;
		}
	}
	*len = (size_t)(w - start);
	*w = '\0'; /* at or before the closing quote */
	j->p++;
	*s = start;
	return 0;
}

static int digits(struct jp *j)
{
	const char *s = j->p;

	while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
		j->p++;
	return j->p > s ? 0 : -1;
}

static uint32_t number(struct jp *j)
{
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0')
		j->p++;
	else if (digits(j) < 0)
		return fail(j, "bad number");
	if (j->p < j->end && *j->p == '.') {
		j->p++;
		if (digits(j) < 0)
			return fail(j, "bad number");
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (digits(j) < 0)
			return fail(j, "bad number");
	}
	return new_val(j, J_NUM);
}

static uint32_t value(struct jp *j);

/* The members of an array or object, after its opening bracket. */
static uint32_t members(struct jp *j, enum jtype t)
{
	char close = t == J_OBJ ? '}' : ']';
	uint32_t v = new_val(j, t), last = 0;

	if (!v)
		return 0;
	if (++j->depth > JREAD_MAX_DEPTH)
		return fail(j, "nested too deep");
	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		j->depth--;
		return v;
	}
	for (;;) {
		const char *name = NULL;
		size_t nlen;
		ws(j);
		if (t == J_OBJ) {
			if (j->p >= j->end || *j->p != '"')
				return fail(j, "expected a member name");
			if (string(j, &name, &nlen) < 0)
				return 0;
			ws(j);
			if (j->p >= j->end || *j->p != ':')
				return fail(j, "expected ':'");
			j->p++;
		}
		uint32_t m = value(j);
		if (!m)
			return 0;
		j->d->v[m].name = name;
		if (last)
			j->d->v[last].next = m;
		else
			j->d->v[v].kid = m;
		last = m;
		ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == close) {
			j->p++;
			j->depth--;
			return v;
		}
		return fail(j, t == J_OBJ ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static uint32_t word(struct jp *j, const char *w, enum jtype t)
{
	size_t n = strlen(w);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0)
		return fail(j, "invalid value");
	j->p += n;
	return new_val(j, t);
}

static uint32_t value(struct jp *j)
{
	ws(j);
	if (j->p >= j->end)
		return fail(j, "unexpected end");
	switch (*j->p) {
	case '{':
		return members(j, J_OBJ);
	case '[':
		return members(j, J_ARR);
	case '"': {
		const char *s;
		size_t len;
		if (string(j, &s, &len) < 0)
			return 0;
		uint32_t v = new_val(j, J_STR);
		if (v) {
			j->d->v[v].s = s;
			j->d->v[v].len = len;
		}
		return v;
	}
	case 't':
		return word(j, "true", J_TRUE);
	case 'f':
		return word(j, "false", J_FALSE);
	case 'n':
		return word(j, "null", J_NULL);
	default:
		if (*j->p == '-' || (*j->p >= '0' && *j->p <= '9'))
			return number(j);
		return fail(j, "invalid value");
	}
}

uint32_t jparse(struct jdoc *d, char *text, size_t len, size_t *used)
{
	struct jp j = { d, text, text + len, 0 };
	uint32_t v;

	d->err = NULL;
	d->at = NULL;
	v = value(&j);
	ws(&j);
	*used = (size_t)(j.p - text);
	return v;
}

void jdoc_clear(struct jdoc *d)
{
	d->n = 0;
	d->err = NULL;
	d->at = NULL;
}

void jdoc_free(struct jdoc *d)
{
	free(d->v);
	*d = (struct jdoc){ 0 };
}

const struct jval *jget(const struct jdoc *d, uint32_t o, const char *name)
{
	if (!o || d->v[o].type != J_OBJ)
		return NULL;
	const struct jval *hit = NULL;
	for (uint32_t m = d->v[o].kid; m; m = d->v[m].next)
		if (!strcmp(d->v[m].name, name))
			hit = &d->v[m]; /* the last of a repeated name, as most readers */
	return hit;
}

uint32_t jindex(const struct jdoc *d, const struct jval *v)
{
	return (uint32_t)(v - d->v);
}
