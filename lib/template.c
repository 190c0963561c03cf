/*
 * template.c - GNU parallel's replacement strings (see template.h).
 *
 * The path modifiers are GNU parallel's own definitions, which are Perl:
 *   {.}   s:\.[^/.]*$::          the last ".x" whose x has no '/'
 *   {/}   s:.*\/::               '.' stops at a newline: in the first
 *                                line that has a '/', up to its last '/'
 *   {//}  File::Basename::dirname
 *   {/.}  {/}, then {.}
 * so that a name with dots in its directories, no extension, a leading
 * dot, a trailing '/' or a newline gives the bytes GNU parallel gives
 * (tests/e2e/t_matrix.sh compares the two).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "template.h"

struct buf {
	char *p;
	size_t n, cap;
	size_t max;   /* the most bytes it may hold; 0: no limit */
	bool bad;     /* out of memory, or past max: stop writing */
	bool toolong; /* past max */
};

static void put(struct buf *b, const char *s, size_t len)
{
	if (b->bad)
		return;
	if (b->max && len > b->max - b->n) {
		b->bad = b->toolong = true;
		return;
	}
	if (b->n + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *p;
		while (cap < b->n + len + 1)
			cap *= 2;
		if (!(p = realloc(b->p, cap))) {
			b->bad = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

enum mod { MOD_NONE, MOD_EXT, MOD_BASE, MOD_DIR, MOD_BASE_EXT };

/* The modifier spelled s[0..len), or -1. */
static int mod_of(const char *s, size_t len)
{
	static const char *const names[] = { "", ".", "/", "//", "/." };

	for (int i = 0; i < 5; i++)
		if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
			return i;
	return -1;
}

/* {.}: s[0..len) without its last ".x" when x has no '/'. */
static size_t ext_cut(const char *s, size_t len)
{
	for (size_t i = len; i-- > 0;) {
		if (s[i] == '/')
			return len;
		if (s[i] == '.')
			return i;
	}
	return len;
}

/* {/}: Perl's s:.*\/:: on s, into b. */
static void put_base(struct buf *b, const char *s)
{
	const char *line = s, *nl, *slash;
	size_t len;

	for (;;) {
		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		if ((slash = memrchr(line, '/', len))) {
			put(b, s, (size_t)(line - s));
			puts_(b, slash + 1);
			return;
		}
		if (!nl) {
			puts_(b, s);
			return;
		}
		line = nl + 1;
	}
}

/* File::Basename's _strip_trailing_sep: the trailing slashes go, but
 * never the first character ("/" stays "/"). */
static size_t strip_slashes(const char *s, size_t len)
{
	while (len > 1 && s[len - 1] == '/')
		len--;
	return len;
}

/* {//}: Perl's File::Basename::dirname on Unix. */
static void put_dir(struct buf *b, const char *s)
{
	size_t len = strlen(s);
	const char *slash = memrchr(s, '/', len);
	size_t dlen;

	/* fileparse: the directory part with its '/', or "./" */
	if (!slash) {
		puts_(b, ".");
		return;
	}
	dlen = strip_slashes(s, (size_t)(slash - s) + 1);
	if (slash[1] == '\0') { /* no basename: the same again, one level up */
		slash = memrchr(s, '/', dlen);
		if (!slash) {
			puts_(b, ".");
			return;
		}
		dlen = strip_slashes(s, (size_t)(slash - s) + 1);
	}
	put(b, s, dlen);
}

/* A value modified by mod into b: shell-quoted when `quote`. */
static void put_value(struct buf *b, const char *v, int mod, bool quote)
{
	struct buf t = { 0 };
	const char *s = v;
	size_t len;

	switch (mod) {
	case MOD_NONE:
		len = strlen(v);
		break;
	case MOD_EXT:
		len = ext_cut(v, strlen(v));
		break;
	default:
		puts_(&t, "");
		if (mod == MOD_DIR)
			put_dir(&t, v);
		else
			put_base(&t, v);
		if (t.bad) {
			free(t.p);
			b->bad = true;
			return;
		}
		s = t.p;
		len = mod == MOD_BASE_EXT ? ext_cut(t.p, t.n) : t.n;
	}
	if (!quote) {
		put(b, s, len);
	} else if (len == 0) {
		puts_(b, "''");
	} else if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			  "0123456789_.+/-") >= len) {
		put(b, s, len);
	} else {
		/* GNU parallel's style: '...' with each ' as '"'"', then the
		 * '' this leaves at either end dropped */
		size_t start = b->n;
		puts_(b, "'");
		for (size_t i = 0; i < len; i++)
			if (s[i] == '\'')
				puts_(b, "'\"'\"'");
			else
				put(b, &s[i], 1);
		puts_(b, "'");
		if (!b->bad && b->n - start >= 2 && !memcmp(b->p + start, "''", 2)) {
			memmove(b->p + start, b->p + start + 2, b->n - start - 1);
			b->n -= 2;
		}
		if (!b->bad && b->n - start >= 2 && !memcmp(b->p + b->n - 2, "''", 2))
			b->p[b->n -= 2] = '\0';
	}
	free(t.p);
}

/* A variable name: [A-Za-z_][A-Za-z0-9_]*, its length in s, or 0. */
static size_t var_len(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0 || !(s[0] == '_' || (s[0] >= 'A' && s[0] <= 'Z') ||
			  (s[0] >= 'a' && s[0] <= 'z')))
		return 0;
	while (i < len && (s[i] == '_' || (s[i] >= 'A' && s[i] <= 'Z') ||
			   (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9')))
		i++;
	return i;
}

/* What a {...} stands for. */
struct rs {
	enum { RS_ALL, RS_ONE, RS_SEQ, RS_SLOT } what;
	int mod;
	const char *val; /* RS_ONE: the value, NULL: past the last source */
};

/* Parse the replacement string s[0..len) (between the braces) for in;
 * false when it is none. */
static bool parse_rs(const char *s, size_t len, const struct tpl_input *in,
		     struct rs *rs)
{
	size_t k;

	if (len == 1 && (s[0] == '#' || s[0] == '%')) {
		*rs = (struct rs){ s[0] == '#' ? RS_SEQ : RS_SLOT, MOD_NONE, NULL };
		return true;
	}
	if ((rs->mod = mod_of(s, len)) >= 0) { /* {} and its modifiers */
		rs->what = RS_ALL;
		return !in->var || in->n == 1;
	}
	if (!in->var) { /* {N...}: a source by number */
		unsigned long long n = 0;
		for (k = 0; k < len && s[k] >= '0' && s[k] <= '9'; k++)
			n = n < 1000000000 ? n * 10 + (unsigned)(s[k] - '0') : n;
		if (k == 0 || n == 0 || (rs->mod = mod_of(s + k, len - k)) < 0)
			return false;
		rs->what = RS_ONE;
		rs->val = n <= in->n ? in->val[n - 1] : NULL;
		return true;
	}
	if (!(k = var_len(s, len)) || (rs->mod = mod_of(s + k, len - k)) < 0)
		return false;
	for (const struct tpl_input *sc = in; sc; sc = sc->up)
		for (size_t i = 0; i < sc->n; i++)
			if (strlen(sc->var[i]) == k && !memcmp(sc->var[i], s, k)) {
				rs->what = RS_ONE;
				rs->val = sc->val[i];
				return true;
			}
	return false;
}

static void put_rs(struct buf *b, const struct rs *rs, const struct tpl_input *in,
		   bool quote, const char *text, size_t len)
{
	char num[32];

	switch (rs->what) {
	case RS_SEQ:
		snprintf(num, sizeof num, "%llu", (unsigned long long)in->seq);
		puts_(b, num);
		break;
	case RS_SLOT:
		if (in->slot) {
			snprintf(num, sizeof num, "%u", in->slot);
			puts_(b, num);
		} else {
			put(b, text, len); /* filled in when the task starts */
		}
		break;
	case RS_ONE:
		if (rs->val)
			put_value(b, rs->val, rs->mod, quote);
		break;
	case RS_ALL:
		for (size_t i = 0; i < in->n; i++) {
			if (i)
				puts_(b, " ");
			put_value(b, in->val[i], rs->mod, quote);
		}
		break;
	}
}

/* Expand tpl into b; the number of replacement strings it held. */
static size_t expand(struct buf *b, const char *tpl, const struct tpl_input *in,
		     bool quote)
{
	size_t found = 0;
	const char *p = tpl, *open, *close;
	struct rs rs;

	while ((open = strchr(p, '{'))) {
		put(b, p, (size_t)(open - p));
		close = strchr(open + 1, '}');
		if (close && !memchr(open + 1, '{', (size_t)(close - open - 1)) &&
		    parse_rs(open + 1, (size_t)(close - open - 1), in, &rs)) {
			if (!b->bad)
				put_rs(b, &rs, in, quote, open, (size_t)(close - open + 1));
			found++;
			p = close + 1;
		} else {
			put(b, "{", 1);
			p = open + 1;
		}
	}
	puts_(b, p);
	return found;
}

int tpl_expand(const char *tpl, const struct tpl_input *in, unsigned flags,
	       size_t max, char **out)
{
	struct buf b = { .max = max };

	puts_(&b, ""); /* an empty template gives "", not NULL */
	if (expand(&b, tpl, in, flags & TPL_QUOTE) == 0 && (flags & TPL_APPEND))
		expand(&b, " {}", in, flags & TPL_QUOTE);
	if (b.bad) {
		free(b.p);
		*out = NULL;
		errno = b.toolong ? E2BIG : ENOMEM;
		return -1;
	}
	*out = b.p;
	return 0;
}

bool tpl_has_rs(const char *tpl, const struct tpl_input *in)
{
	struct buf b = { .bad = true }; /* counts only */

	return expand(&b, tpl, in, false) > 0;
}

char *tpl_quote(const char *s)
{
	struct buf b = { 0 };

	put_value(&b, s, MOD_NONE, true);
	if (b.bad) {
		free(b.p);
		return NULL;
	}
	return b.p;
}
