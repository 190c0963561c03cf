/*
 * feed.c - an ad-hoc group's children, made from input as the run goes
 * (SPEC section 7.1): commands read one a line from stdin, or a template
 * expanded once per combination of its sources (`:::` values, `::::`
 * files, stdin), the first source varying slowest.
 *
 * A child is made only when the group asks for one (group.c, when it has
 * room under its limits), so a source read from stdin is read only as far
 * as the limits need: the first task starts as soon as its line is read,
 * and `tail -f log | grpx sized 'handle {}'` works.  The stdin source must
 * be the first for that; a later one is read to its end first, since every
 * one of its values is combined with each value before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"
#include "template.h"

#define MAX_COMMAND (128 * 1024) /* an expanded command, as execve's ARG_MAX would refuse */

struct vals {
	char **v;
	size_t n, cap;
	size_t base;   /* the streamed source: records before it are freed */
};

struct feed {
	struct grpx_adhoc a;      /* the tasks' settings; a.retry_on points to retry_on */
	int *retry_on;            /* owned copy */
	char *tpl;                /* owned; NULL: every record is a command */
	bool slotted;             /* tpl holds {%}: expanded again when a task starts */
	struct vals *src;         /* owned: the values of every source */
	size_t nsrc;
	int stream;               /* the source read from fd, -1 */
	size_t *odo;              /* owned: the combination made next, a position per source */
	bool begun;               /* odo holds the last combination made */
	bool done;                /* nothing more will be made */
	/* the streamed source */
	struct watch w;           /* its fd in the run's poll set (w.fd -1: not added) */
	int fd;
	bool eof;                 /* fd is at its end (or there is no fd) */
	bool file;                /* a regular file: read without the poll set */
	char sep;
	char *buf;                /* read, not yet a whole record */
	size_t blen, bcap;
	uint64_t made;            /* children made */
	size_t kcap;              /* room in the group's kids array */
	uint32_t *slots;          /* {%}: slots in use, a bit each */
	size_t nslots;
	char *error;              /* owned: why the input cannot be run (usage) */
	struct grpx_node *g;      /* the group it feeds, while the run goes */
};

static int vals_put(struct vals *x, char *s)
{
	if (!s)
		return -1;
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		char **v = realloc(x->v, cap * sizeof *v);
		if (!v) {
			free(s);
			return -1;
		}
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n++] = s;
	return 0;
}

struct feed *feed_new(const struct grpx_adhoc *a, size_t nkids)
{
	struct feed *f = calloc(1, sizeof *f);

	if (!f)
		return NULL;
	f->a = *a;
	f->stream = a->read_input ? (a->tpl ? a->stream : 0) : -1;
	f->fd = a->read_input ? a->in_fd : -1;
	f->eof = !a->read_input;
	struct stat st;
	/* a file (or /dev/null) never makes a read wait, and epoll refuses it */
	f->file = f->fd >= 0 && fstat(f->fd, &st) == 0 &&
		  (S_ISREG(st.st_mode) || (S_ISCHR(st.st_mode) && !isatty(f->fd)));
	f->sep = a->nul ? '\0' : '\n';
	f->w.fd = -1;
	f->kcap = nkids;
	f->nsrc = a->tpl ? a->nsrc : 1;
	if (a->nretry_on && !(f->retry_on = calloc(a->nretry_on, sizeof *f->retry_on)))
		goto oom;
	if (a->nretry_on)
		memcpy(f->retry_on, a->retry_on, a->nretry_on * sizeof *f->retry_on);
	f->a.retry_on = f->retry_on;
	f->a.tpl = NULL;
	f->a.src = NULL;
	if (a->tpl) {
		if (!(f->tpl = strdup(a->tpl)))
			goto oom;
		f->slotted = strstr(a->tpl, "{%}") != NULL;
	}
	if (!(f->src = calloc(f->nsrc ? f->nsrc : 1, sizeof *f->src)) ||
	    !(f->odo = calloc(f->nsrc ? f->nsrc : 1, sizeof *f->odo)))
		goto oom;
	for (size_t i = 0; a->tpl && i < a->nsrc; i++)
		for (char *const *v = a->src[i]; (int)i != f->stream && v && *v; v++)
			if (vals_put(&f->src[i], strdup(*v)) < 0)
				goto oom;
	return f;
oom:
	feed_free(f);
	return NULL;
}

void feed_free(struct feed *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nsrc; i++) {
		for (size_t k = f->src[i].base; k < f->src[i].n; k++)
			free(f->src[i].v[k]);
		free(f->src[i].v);
	}
	free(f->src);
	free(f->odo);
	free(f->tpl);
	free(f->retry_on);
	free(f->buf);
	free(f->slots);
	free(f->error);
	free(f);
}

/* --- reading the streamed source --- */

/* Cut whole records out of the buffer into the streamed source; at EOF a
 * last record without its separator counts too. */
static int cut_records(struct feed *f)
{
	struct vals *x = &f->src[f->stream];
	size_t off = 0;

	for (;;) {
		char *end = memchr(f->buf + off, f->sep, f->blen - off);
		size_t len = end ? (size_t)(end - (f->buf + off)) : f->blen - off;
		size_t next = end ? (size_t)(end - f->buf) + 1 : f->blen;
		if (!end && !(f->eof && len))
			break;
		char *rec = malloc(len + 1);
		if (!rec)
			return -1;
		memcpy(rec, f->buf + off, len);
		rec[len] = '\0';
		off = next;
		if (!f->tpl) { /* a command: without the line's CR; blank lines are none */
			while (len && rec[len - 1] == '\r')
				rec[--len] = '\0';
			if (len == 0) {
				free(rec);
				continue;
			}
		}
		if (vals_put(x, rec) < 0)
			return -1;
	}
	memmove(f->buf, f->buf + off, f->blen - off);
	f->blen -= off;
	return 0;
}

bool feed_read(struct grpx_run *r, struct feed *f)
{
	(void)r;
	if (f->eof)
		return false;
	if (f->bcap - f->blen < 65536) {
		size_t cap = f->bcap ? f->bcap * 2 : 65536;
		while (cap - f->blen < 65536)
			cap *= 2;
		char *b = realloc(f->buf, cap);
		if (!b) {
			f->eof = true;
			return false;
		}
		f->buf = b;
		f->bcap = cap;
	}
	/* one read: the fd said it has something (or it is a file), so this
	 * never waits, and stdin needs no O_NONBLOCK shared with our parent */
	ssize_t k = read(f->fd, f->buf + f->blen, 65536);
	if (k < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (k <= 0)
		f->eof = true;
	else
		f->blen += (size_t)k;
	if (cut_records(f) < 0)
		f->eof = true;
	return true;
}

int feed_watch(struct grpx_run *r, struct feed *f, struct grpx_node *g,
	       void (*cb)(struct grpx_run *, struct watch *, uint32_t), bool want)
{
	f->g = g;
	if (f->eof || f->file)
		return 0;
	if (f->w.fd < 0) {
		int err = watch_add(r, &f->w, f->fd, 0, cb);
		if (err == EPERM) { /* not pollable after all: read it as a file */
			f->file = true;
			return EAGAIN;
		}
		if (err)
			return err;
	}
	watch_mod(r, &f->w, want ? EPOLLIN : 0);
	return 0;
}

void feed_stop(struct grpx_run *r, struct feed *f)
{
	if (f->w.fd >= 0)
		watch_del(r, &f->w);
	f->eof = true;
	f->done = true;
}

struct feed *feed_of_watch(struct watch *w)
{
	return container_of(w, struct feed, w);
}

struct grpx_node *feed_group(const struct feed *f)
{
	return f->g;
}

/* --- making children --- */

/*
 * Advance to the next combination.  Returns 1 (odo holds it), 0 (it needs
 * a record not read yet), -1 (there is none: done).
 */
static int next_combination(struct feed *f)
{
	size_t m = f->nsrc;

	for (size_t i = 0; i < m; i++) /* a source with no value: no combination at all */
		if ((int)i != f->stream && f->src[i].n == 0)
			return -1;
	if (!f->begun) {
		if (f->stream >= 0 && f->src[f->stream].n <= f->src[f->stream].base)
			return f->eof ? -1 : 0;
		for (size_t i = 0; i < m; i++)
			f->odo[i] = f->src[i].base;
		f->begun = true;
		return 1;
	}
	for (size_t i = m; i-- > 0;) { /* the last varies fastest */
		if (f->odo[i] + 1 < f->src[i].n) {
			f->odo[i]++;
			for (size_t k = i + 1; k < m; k++)
				f->odo[k] = f->src[k].base;
			return 1;
		}
		if (i == 0 && (int)i == f->stream && !f->eof) {
			/* the first source is stdin: wait for its next record */
			return 0;
		}
	}
	return -1;
}

/* The streamed first source's records before odo[0] will not be used again. */
static void forget_records(struct feed *f)
{
	if (f->stream != 0)
		return;
	struct vals *x = &f->src[0];
	while (x->base < f->odo[0]) {
		free(x->v[x->base]);
		x->v[x->base++] = NULL;
	}
}

static char **inputs(struct feed *f)
{
	char **in = calloc(f->nsrc + 1, sizeof *in);

	for (size_t i = 0; in && i < f->nsrc; i++)
		if (!(in[i] = strdup(f->src[i].v[f->odo[i]]))) {
			for (size_t k = 0; k < i; k++)
				free(in[k]);
			free(in);
			return NULL;
		}
	return in;
}

int feed_command(const struct feed *f, const struct grpx_node *t, uint32_t slot, char **out)
{
	size_t n = 0;

	while (t->input && t->input[n])
		n++;
	struct tpl_input in = { .val = (const char *const *)t->input, .n = n,
				.seq = (uint64_t)t->index + 1, .slot = slot };
	return tpl_expand(f->tpl, &in, TPL_QUOTE | TPL_APPEND, MAX_COMMAND, out);
}

int feed_pull(struct grpx_run *r, struct grpx_node *g)
{
	struct feed *f = g->grp->feed;
	char *run = NULL, **in = NULL;
	bool too_long = false;
	int k;

	if (f->done)
		return -1;
	if (f->stream > 0 && !f->eof)
		return 0; /* a later source from stdin: all of it first */
	while ((k = next_combination(f)) == 0 && f->file && !f->eof)
		feed_read(r, f); /* a file never waits: read on */
	if (k < 0) {
		f->done = true;
		return -1;
	}
	if (k == 0)
		return 0;
	if (!f->tpl) {
		run = strdup(f->src[0].v[f->odo[0]]);
	} else if ((in = inputs(f))) {
		struct grpx_node probe = { .input = in, .index = g->nkids };
		/* too long to exec: the task still is, and fails to start
		 * ("Argument list too long"), with the template as its `run` */
		if (feed_command(f, &probe, 0, &run) < 0 && (too_long = errno == E2BIG))
			run = strdup(f->tpl);
	}
	forget_records(f);
	size_t need = 2 * ((size_t)r->job->nnodes + 1); /* two timers a node, as at the start */
	struct grpx_node *t = NULL;
	if (!run || (f->tpl && !in) ||
	    (need > r->loop.heap.cap && heap_reserve(&r->loop.heap, 2 * need) < 0) ||
	    !(t = adhoc_task(r->job, g, run, in, &f->a, &f->kcap))) {
		free(run);
		if (in)
			for (char **p = in; *p; p++)
				free(*p);
		free(in);
		f->done = true; /* out of memory: make nothing more */
		return -1;
	}
	t->too_long = too_long;
	node_init(t, g);
	f->made++;
	return 1;
}

bool feed_waits_all(const struct feed *f, int mode)
{
	/* modes that choose among their children see them all first */
	return !f->done && !mode_has(mode, M_STREAMS);
}

bool feed_done(const struct feed *f)
{
	return f->done;
}

uint64_t feed_made(const struct feed *f)
{
	return f->made;
}

bool feed_slotted(const struct feed *f)
{
	return f->slotted;
}

uint32_t feed_slot_take(struct feed *f)
{
	for (size_t i = 0;; i++) {
		if (i == f->nslots) {
			uint32_t *v = realloc(f->slots, (f->nslots + 4) * sizeof *v);
			if (!v)
				return 0;
			memset(v + f->nslots, 0, 4 * sizeof *v);
			f->slots = v;
			f->nslots += 4;
		}
		if (f->slots[i] != UINT32_MAX) {
			int b = __builtin_ctz(~f->slots[i]);
			f->slots[i] |= 1u << b;
			return (uint32_t)(i * 32 + (size_t)b + 1);
		}
	}
}

void feed_slot_give(struct feed *f, uint32_t slot)
{
	if (slot && (slot - 1) / 32 < f->nslots)
		f->slots[(slot - 1) / 32] &= ~(1u << ((slot - 1) % 32));
}

const char *feed_error(const struct feed *f)
{
	return f->error;
}

/*
 * All of the input is in: check what the job-file rules say about the
 * commands a group got, as grpx_job_adhoc() does for commands given on
 * the command line.  Sets f->error (a usage error) and returns -1.
 */
int feed_check(struct feed *f, const struct grpx_node *g)
{
	const struct mode_info *mi = mode_info_of(g->mode);
	size_t n = g->nkids;
	char *e = NULL;
	int rc = 0;

	if (n == 0 && (mi->flags & M_NEEDS_KIDS))
		rc = asprintf(&e, "mode '%s' needs %s", mi->name, f->tpl ? "an input" : "a command");
	else if ((mi->flags & M_COUNT) && g->grp->count > n)
		rc = asprintf(&e, "--count is %u but there %s %zu %s%s", g->grp->count,
			      n == 1 ? "is" : "are", n, f->tpl ? "input" : "command", n == 1 ? "" : "s");
	else if ((mi->flags & M_ONE_CHILD) && n > 1)
		rc = asprintf(&e, "%s takes exactly one %s", mi->name, f->tpl ? "input" : "command");
	else
		return 0;
	free(f->error);
	f->error = rc < 0 ? NULL : e;
	return -1;
}
