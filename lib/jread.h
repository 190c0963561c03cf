/*
 * jread.h - a small JSON reader (RFC 8259) for what grpx reads back: its
 * own journal lines and reports (--resume).  The text is parsed in place:
 * strings are decoded over their own bytes and NUL-terminated there, so a
 * value costs one struct jval and no string is copied.
 */
#ifndef GRPX_JREAD_H
#define GRPX_JREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum jtype { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

/* A value; arrays and objects list their members through kid/next. */
struct jval {
	uint8_t type;     /* enum jtype */
	uint32_t kid;     /* J_ARR, J_OBJ: the first member's index; 0: none */
	uint32_t next;    /* the next member of its array or object; 0: none */
	const char *name; /* a member of an object: its name (decoded) */
	const char *s;    /* J_STR: the decoded string, NUL-terminated */
	size_t len;       /* J_STR: its length (it may hold NULs) */
};

/* The values of one parse; index 0 is never a value. */
struct jdoc {
	struct jval *v;   /* owned */
	uint32_t n, cap;
	const char *err;  /* why the last parse failed (static text) */
	const char *at;   /* where in the text */
};

/*
 * Parse one JSON value at text[0, len), which is modified; leading and
 * trailing white space is skipped.  Returns its index and sets *used to the
 * bytes read, or 0 with d->err and d->at set.  Values of earlier parses
 * stay until jdoc_clear().  Nesting deeper than JREAD_MAX_DEPTH is an error:
 * enough for the report of the deepest job the loader takes (its nesting
 * limit, MAX_DEPTH in load_int.h, two JSON levels a group), and a bound on
 * the recursion.
 */
#define JREAD_MAX_DEPTH 2304
uint32_t jparse(struct jdoc *d, char *text, size_t len, size_t *used);
void jdoc_clear(struct jdoc *d);
void jdoc_free(struct jdoc *d);
/* The value of member `name` of object o, or NULL. */
const struct jval *jget(const struct jdoc *d, uint32_t o, const char *name);
/* Index of v in d (for jget on a member that is an object). */
uint32_t jindex(const struct jdoc *d, const struct jval *v);

#endif
