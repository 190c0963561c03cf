/*
 * lines.c - prefix lines (SPEC section 5): every line whole and tagged.
 *
 * A line goes out as "TAG text\n".  A line longer than LINE_MAX_BYTES is
 * not buffered without bound: it goes out in pieces of at most that many
 * bytes, the first tagged TAG, every continuation CTAG ("[path]+ ").  The
 * last line of a stream gets a newline if it had none.  Pure: bytes in,
 * bytes out; the caller owns where they go.
 */
#include <stdlib.h>
#include <string.h>

#include "run.h"

int bbuf_put(struct bbuf *b, const char *p, size_t len)
{
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np)
			return -1;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	return 0;
}

static int put_line(const char *tag, size_t taglen, const char *s, size_t len,
		    struct bbuf *out)
{
	if (bbuf_put(out, tag, taglen) < 0 || bbuf_put(out, s, len) < 0)
		return -1;
	return len && s[len - 1] == '\n' ? 0 : bbuf_put(out, "\n", 1);
}

int lines_tag(struct line *l, const char *tag, size_t taglen, const char *ctag, size_t ctaglen,
	      const char *in, size_t len, struct bbuf *out)
{
	while (len > 0) {
		const char *nl = memchr(in, '\n', len);
		size_t take = nl ? (size_t)(nl - in) + 1 : len;
		const char *t = l->cont ? ctag : tag;
		size_t tl = l->cont ? ctaglen : taglen;

		if (l->len == 0 && nl && take <= LINE_MAX_BYTES + 1) {
			/* a whole line, no tail before it: straight through */
			if (put_line(t, tl, in, take, out) < 0)
				return -1;
			l->cont = false;
			in += take;
			len -= take;
			continue;
		}
		/* the newline always fits: a piece is at most LINE_MAX_BYTES of text */
		bool cut = l->len + take > LINE_MAX_BYTES + (nl ? 1 : 0);
		if (cut)
			take = LINE_MAX_BYTES - l->len;
		if (!l->buf && !(l->buf = malloc(LINE_MAX_BYTES + 1)))
			return -1;
		memcpy(l->buf + l->len, in, take);
		l->len += take;
		in += take;
		len -= take;
		if (cut || (nl && l->buf[l->len - 1] == '\n')) {
			if (put_line(t, tl, l->buf, l->len, out) < 0)
				return -1;
			l->cont = cut;
			l->len = 0;
		}
	}
	return 0;
}

int lines_flush(struct line *l, const char *tag, size_t taglen, const char *ctag,
		size_t ctaglen, struct bbuf *out)
{
	int rc = 0;

	if (l->len)
		rc = put_line(l->cont ? ctag : tag, l->cont ? ctaglen : taglen, l->buf, l->len, out);
	l->len = 0;
	l->cont = false;
	return rc;
}

void line_free(struct line *l)
{
	free(l->buf);
	*l = (struct line){ 0 };
}

void tags_free(struct tags *tg)
{
	if (!tg)
		return;
	free(tg->tag);
	free(tg->ctag);
	*tg = (struct tags){ 0 };
}
