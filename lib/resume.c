/*
 * resume.c - --resume FILE: read what ended ok in a journal or a report,
 * and mark the nodes of a job that a run need not run again.
 *
 * FILE is read whole.  A report is one JSON object with a "root"; anything
 * else is read as a journal, one JSON object a line, the latest line of a
 * path counting.  A line grpx was killed while writing is ignored: the
 * last line when it has no newline, or a line right before a "run" line
 * (the grpx that appended next ended it with a newline first).  Any other
 * line that is not a journal line is an error with its line number.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "jread.h"
#include "mode.h"

/* What FILE says of one path: its latest key and whether it ended ok. */
struct rent {
	const char *path;         /* into rs->text; NULL: a free slot */
	uint64_t key;
	bool ok;
};

struct grpx_resume {
	char *text;               /* owned: FILE, its strings decoded in place */
	struct rent *v;           /* owned; open addressing, cap a power of 2 */
	size_t cap, n;
};

static const char *const status_names[] = { "pending", "running", "ok", "failed", "timeout",
					    "canceled", "skipped", "error" };

static struct rent *slot(const struct grpx_resume *rs, const char *path)
{
	size_t i = (size_t)fnv1a(FNV_OFFSET, path, strlen(path)) & (rs->cap - 1);

	while (rs->v[i].path && strcmp(rs->v[i].path, path) != 0)
		i = (i + 1) & (rs->cap - 1);
	return &rs->v[i];
}

static int put(struct grpx_resume *rs, const char *path, uint64_t key, bool ok)
{
	if (2 * (rs->n + 1) > rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 1024;
		struct rent *old = rs->v;
		size_t ocap = rs->cap;
		if (!(rs->v = calloc(cap, sizeof *rs->v))) {
			rs->v = old;
			return -1;
		}
		rs->cap = cap;
		for (size_t i = 0; i < ocap; i++)
			if (old[i].path)
				*slot(rs, old[i].path) = old[i];
		free(old);
	}
	struct rent *e = slot(rs, path);
	if (!e->path)
		rs->n++;
	*e = (struct rent){ path, key, ok };
	return 0;
}

/* 16 lowercase hex digits, as key_format() writes them. */
static int parse_key(const struct jval *v, uint64_t *key)
{
	if (!v || v->type != J_STR || v->len != 16)
		return -1;
	*key = 0;
	for (size_t i = 0; i < 16; i++) {
		char c = v->s[i];
		if (c >= '0' && c <= '9')
			*key = *key << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			*key = *key << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -1;
	}
	return 0;
}

static int status_of(const struct jval *v)
{
	if (!v || v->type != J_STR)
		return -1;
	for (int i = GRPX_OK; i <= GRPX_ERROR; i++)
		if (!strcmp(v->s, status_names[i]))
			return i;
	return -1;
}

/* A node of a journal line or of a report: path, key, status; NULL or a
 * message saying what is wrong. */
static const char *take_node(struct grpx_resume *rs, const struct jdoc *d, uint32_t o)
{
	const struct jval *path = jget(d, o, "path");
	uint64_t key;
	int st;

	if (!path || path->type != J_STR)
		return "no \"path\" string";
	if (parse_key(jget(d, o, "key"), &key) < 0)
		return "no \"key\" of 16 hex digits";
	if ((st = status_of(jget(d, o, "status"))) < 0)
		return "no \"status\" of a node that ended";
	if (put(rs, path->s, key, st == GRPX_OK) < 0)
		return "out of memory";
	return NULL;
}

static const char *event_of(const struct jdoc *d, uint32_t o)
{
	const struct jval *e = jget(d, o, "event");

	return e && e->type == J_STR ? e->s : NULL;
}

static unsigned line_of(const char *text, const char *at)
{
	unsigned line = 1;

	for (const char *p = text; p < at; p++)
		line += *p == '\n';
	return line;
}

/* Every node of a report, depth first. */
static const char *take_tree(struct grpx_resume *rs, const struct jdoc *d, uint32_t o, int depth)
{
	const struct jval *kids = jget(d, o, "children");
	const char *why;

	if (depth > JREAD_MAX_DEPTH)
		return "nested too deep";
	if ((why = take_node(rs, d, o)))
		return why;
	if (!kids)
		return NULL;
	if (kids->type != J_ARR)
		return "\"children\" is not an array";
	for (uint32_t k = kids->kid; k; k = d->v[k].next) {
		if (d->v[k].type != J_OBJ)
			return "a child is not an object";
		if ((why = take_tree(rs, d, k, depth + 1)))
			return why;
	}
	return NULL;
}

/* Is the line that starts at p a journal's "run" line? */
static bool run_line(struct jdoc *d, char *p, char *end)
{
	char *nl = memchr(p, '\n', (size_t)(end - p));
	size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p), used;
	char *copy = malloc(len + 1);
	bool yes = false;

	if (!copy)
		return false;
	memcpy(copy, p, len);
	jdoc_clear(d);
	uint32_t o = jparse(d, copy, len, &used);
	if (o && used == len && d->v[o].type == J_OBJ) {
		const char *ev = event_of(d, o);
		yes = ev && !strcmp(ev, "run");
	}
	free(copy);
	return yes;
}

static int journal(struct grpx_resume *rs, struct jdoc *d, size_t size, const char *path,
		   char *err, size_t errlen)
{
	char *p = rs->text, *end = rs->text + size, *next;
	unsigned line = 0;

	for (; p < end; p = next) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p), used;
		const char *why = NULL;
		next = nl ? nl + 1 : end;
		line++;
		if (nl)
			*nl = '\0';
		if (strspn(p, " \t\r") == len)
			continue; /* a blank line */
		jdoc_clear(d);
		uint32_t o = jparse(d, p, len, &used);
		if (!o) {
			why = d->err;
			/* cut by a kill (what it holds is no whole value): the
			 * end of the file, or the end of a run that the next
			 * grpx ended with a newline */
			if (!nl || (next < end && run_line(d, next, end)))
				continue;
		} else if (used != len) {
			why = "text after the JSON object";
		} else if (d->v[o].type != J_OBJ) {
			why = "not a JSON object";
		} else {
			const char *ev = event_of(d, o);
			if (!ev)
				why = "no \"event\" (not a grpx journal line)";
			else if (!strcmp(ev, "end"))
				why = take_node(rs, d, o);
			else if (strcmp(ev, "run") != 0)
				why = "unknown \"event\" (not a grpx journal line)";
		}
		if (why) {
			snprintf(err, errlen, "%s:%u: %s", path, line, why);
			return -1;
		}
	}
	return 0;
}

/* Does text hold one JSON object with a "root" (parsed on a copy)? */
static bool is_report(struct jdoc *d, const char *text, size_t len, bool *whole)
{
	char *copy = malloc(len + 1);
	size_t used;
	bool yes;

	*whole = false;
	if (!copy)
		return false;
	memcpy(copy, text, len);
	copy[len] = '\0';
	jdoc_clear(d);
	uint32_t o = jparse(d, copy, len, &used);
	*whole = o && used == len;
	yes = *whole && d->v[o].type == J_OBJ && jget(d, o, "root");
	free(copy);
	return yes;
}

static int read_all(const char *path, char **text, size_t *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	size_t cap, n = 0;
	char *buf;

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 65536;
	if (!(buf = malloc(cap))) {
		close(fd);
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		if (n + 1 >= cap) {
			char *b = realloc(buf, cap * 2);
			if (!b) {
				free(buf);
				close(fd);
				errno = ENOMEM;
				return -1;
			}
			buf = b;
			cap *= 2;
		}
		ssize_t k = read(fd, buf + n, cap - 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return -1;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	close(fd);
	buf[n] = '\0';
	*text = buf;
	*size = n;
	return 0;
}

int grpx_resume_load(const char *path, struct grpx_resume **rsp, char *err, size_t errlen)
{
	struct grpx_resume *rs = calloc(1, sizeof *rs);
	struct jdoc d = { 0 };
	size_t size, used;
	int rc = 0;

	*rsp = NULL;
	if (!rs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (read_all(path, &rs->text, &size) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(e));
		free(rs);
		errno = e;
		return -1;
	}
	/* A report is one object with a root, on one line as grpx writes
	 * it, or over many (pretty-printed); a journal's first line is an
	 * object without one. */
	char *head = rs->text + strspn(rs->text, " \t\r\n");
	size_t hlen = size - (size_t)(head - rs->text);
	char *nl = memchr(head, '\n', hlen);
	bool whole, report = is_report(&d, head, nl ? (size_t)(nl - head) : hlen, &whole);
	if (!report && !whole && nl)
		report = is_report(&d, head, hlen, &whole);
	if (report) {
		jdoc_clear(&d);
		uint32_t o = jparse(&d, head, hlen, &used);
		const struct jval *root = jget(&d, o, "root");
		const char *why = root->type == J_OBJ ? take_tree(rs, &d, jindex(&d, root), 0)
						      : "\"root\" is not an object";
		if (why) {
			snprintf(err, errlen, "%s:%u: %s", path, line_of(rs->text, head), why);
			rc = -1;
		}
		goto out;
	}
	rc = journal(rs, &d, size, path, err, errlen);
out:
	jdoc_free(&d);
	if (rc < 0) {
		grpx_resume_free(rs);
		errno = EINVAL;
		return -1;
	}
	*rsp = rs;
	return 0;
}

void grpx_resume_free(struct grpx_resume *rs)
{
	if (!rs)
		return;
	free(rs->text);
	free(rs->v);
	free(rs);
}

static bool ended_ok(const struct grpx_resume *rs, const struct grpx_node *n)
{
	if (!rs || !rs->cap)
		return false;
	const struct rent *e = slot(rs, n->path);
	return e->path && e->ok && e->key == n->key;
}

/*
 * Groups whose children are resumed one by one: nobody consumes their
 * children's output.  A race, take or last selects among its children,
 * a waterfall pipes each into the next: below those nothing is resumed on
 * its own.  A retry is resumed or run as a whole too, but it only repeats
 * its child: a group inside it still resumes its own children (they stay
 * resumed on every attempt).
 */
static bool passes(int mode)
{
	return mode == GRPX_ERRGROUP || mode == GRPX_SIZED || mode == GRPX_ALL ||
	       mode == GRPX_SCHEDULE;
}

static bool consumes(int mode)
{
	return mode == GRPX_RACE || mode == GRPX_TAKE || mode == GRPX_LAST ||
	       mode == GRPX_WATERFALL;
}

/*
 * n and the nodes below it.  `may`: n may be resumed by itself (its group
 * passes, and no group above consumes); `clean`: no group above consumes;
 * `inside`: a group above was resumed whole.  Returns the tasks resumed.
 */
static size_t mark(struct grpx_node *n, const struct grpx_resume *rs, bool may, bool clean,
		   bool inside)
{
	size_t k = 0;

	if (inside)
		n->resume = ended_ok(rs, n) ? RM_OK : RM_SKIP;
	else if (may && ended_ok(rs, n))
		n->resume = RM_OK;
	else
		n->resume = RM_NONE;
	bool whole = n->resume != RM_NONE;
	bool kclean = clean && !(n->kind == NODE_GROUP && consumes(n->mode));
	bool kmay = kclean && n->kind == NODE_GROUP && passes(n->mode);
	for (uint32_t i = 0; i < n->nkids; i++)
		k += mark(n->kids[i], rs, kmay, kclean, whole);
	return k + (n->kind == NODE_TASK && n->resume == RM_OK);
}

size_t resume_mark(struct grpx_node *root, const struct grpx_resume *rs)
{
	size_t k = 0;

	/* the root runs (it resumes nothing of its own); its children are
	 * the top-level groups */
	root->resume = RM_NONE;
	for (uint32_t i = 0; i < root->nkids; i++)
		k += mark(root->kids[i], rs, true, true, false);
	return k;
}

size_t grpx_job_resume(struct grpx_job *job, const struct grpx_resume *rs)
{
	if (rs && job_keys(job->root) < 0)
		rs = NULL; /* no memory for the keys: resume nothing */
	return resume_mark(job->root, rs);
}
