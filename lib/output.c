/*
 * output.c - where a task's stdout and stderr go, and what groups release.
 *
 * Every stream of a task is a pipe that grpx reads (only under -o raw does a
 * task write to grpx's own fds), so a task cannot truncate or overwrite what
 * grpx already holds of its output (`echo x > /dev/stdout`).  A stream is
 * routed once per attempt (enum route): tagged line by line into the output
 * queue as it comes (prefix), spliced into a spool file (held results,
 * grouped output, waterfall stages), or counted and dropped (quiet).  A live
 * stream whose queue is full is not read (backpressure, as in a shell
 * pipeline), unless its task has exited: then it is read on into a spool, so
 * that a slow reader never gets a finished task killed.
 *
 * Held stdout travels up as lists of spools (res_head): a group's mode
 * decides what it passes on, and what reaches the top goes to the queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "run.h"

#define LIST_APPEND(head, tail, h2, t2, link)                                                    \
	do {                                                                                     \
		if (h2) {                                                                        \
			if (*(tail))                                                             \
				(*(tail))->link = (h2);                                          \
			else                                                                     \
				*(head) = (h2);                                                  \
			*(tail) = (t2);                                                          \
		}                                                                                \
	} while (0)

static int out_fd(const struct grpx_run *r, int stream)
{
	int fd = stream == GRPX_STDOUT ? r->o->stdout_fd : r->o->stderr_fd;
	return fd > 0 ? fd : stream;
}

/* Is t's stdout handed on to a later stage of a waterfall? */
static bool feeds_stage(const struct grpx_node *t)
{
	for (const struct grpx_node *n = t; n->up; n = n->up)
		if (mode_has(n->up->mode, M_STAGES) && n->index + 1 < n->up->nkids)
			return true;
	return false;
}

static enum route route_of(const struct grpx_run *r, const struct grpx_node *t, int stream)
{
	if (stream == GRPX_STDOUT && feeds_stage(t))
		return R_SPOOL;
	switch (r->o->output) {
	case GRPX_OUT_RAW:
		return R_INHERIT;
	case GRPX_OUT_QUIET:
		return R_DROP;
	case GRPX_OUT_PREFIX:
		return stream == GRPX_STDOUT && t->held ? R_SPOOL : R_LIVE;
	default:
		return R_SPOOL;
	}
}

/* The caller's tags for n's lines on `stream`; 0 or ENOMEM. */
static int tags_make(const struct grpx_run *r, const struct grpx_node *n, int stream,
		     struct tags *tg)
{
	size_t (*f)(void *, const struct grpx_node *, int, int, char *, size_t) = r->o->tag;
	size_t len = f ? f(r->o->ctx, n, stream, 0, NULL, 0) : 0;
	size_t clen = f ? f(r->o->ctx, n, stream, 1, NULL, 0) : 0;

	*tg = (struct tags){ malloc(len + 1), malloc(clen + 1), len, clen };
	if (!tg->tag || !tg->ctag) {
		tags_free(tg);
		return ENOMEM;
	}
	tg->tag[0] = tg->ctag[0] = '\0';
	if (f) {
		f(r->o->ctx, n, stream, 0, tg->tag, len + 1);
		f(r->o->ctx, n, stream, 1, tg->ctag, clen + 1);
	}
	return 0;
}

static bool tagged(const struct grpx_run *r)
{
	return r->o->output == GRPX_OUT_PREFIX ||
	       (r->o->output == GRPX_OUT_GROUPED && r->o->tag_grouped);
}

void output_emit(struct grpx_run *r, const struct grpx_node *n, int stream, int fd)
{
	struct tags tg;
	off_t len = (off_t)fd_size(fd);

	if (fd < 0)
		return;
	if (r->o->output == GRPX_OUT_QUIET || len == 0) {
		close_late(r, &fd);
		return;
	}
	if (!tagged(r)) {
		outq_spool(r, &r->out[stream], fd, len, NULL, NULL);
	} else if (tags_make(r, n, stream, &tg) == 0) {
		outq_spool(r, &r->out[stream], fd, len, &tg, NULL);
	} else {
		close_late(r, &fd);
		outq_drop(r, &r->out[stream]);
	}
}

/* --- capture for --junit: the head of each stream, in t's own region --- */

static off_t cap_base(const struct grpx_run *r, const struct grpx_node *t, int which)
{
	return ((off_t)t->seq * 2 + (which == GRPX_STDERR)) * (off_t)r->o->capture_bytes;
}

static int32_t *cap_len(struct grpx_node *t, int which)
{
	return which == GRPX_STDOUT ? &t->cap_out : &t->cap_err;
}

static void capture_bytes(struct grpx_run *r, struct stream *s, const char *p, size_t len)
{
	int32_t *c = cap_len(s->t, s->which);

	if (r->capfd < 0 || *c >= r->o->capture_bytes)
		return;
	if (len > (size_t)(r->o->capture_bytes - *c))
		len = (size_t)(r->o->capture_bytes - *c);
	if (pwrite(r->capfd, p, len, cap_base(r, s->t, s->which) + *c) == (ssize_t)len)
		*c += (int32_t)len;
}

static void capture_spool(struct grpx_run *r, struct stream *s)
{
	int32_t *c = cap_len(s->t, s->which);

	if (r->capfd < 0 || s->spool < 0 || *c >= r->o->capture_bytes)
		return;
	int64_t want = r->o->capture_bytes - *c;
	off_t out = cap_base(r, s->t, s->which) + *c;
	*c += (int32_t)spool_copy(s->spool, 0, want < s->spooled ? want : s->spooled, r->capfd, &out);
}

/* --- reading --- */

static void stream_read(struct grpx_run *r, struct stream *s, int rounds);

static void unpause(struct grpx_run *r, struct stream *s);

static void on_readable(struct grpx_run *r, struct watch *w, uint32_t revents)
{
	struct stream *s = container_of(w, struct stream, w);

	if (s->paused) {
		/* epoll reports a hang-up even to an idle watch: no writer is
		 * left, so what the pipe holds is all there will be */
		if (!(revents & (EPOLLHUP | EPOLLERR)))
			return;
		unpause(r, s);
		s->spill = true;
	}
	stream_read(r, s, 4);
}

static void unpause(struct grpx_run *r, struct stream *s)
{
	struct outq *q = outq_of(&r->out[s->which]);

	if (!s->paused)
		return;
	for (struct stream **pp = &q->paused; *pp; pp = &(*pp)->pnext)
		if (*pp == s) {
			*pp = s->pnext;
			break;
		}
	s->pnext = NULL;
	s->paused = false;
	if (s->w.fd >= 0)
		watch_mod(r, &s->w, EPOLLIN);
}

/* The queue cannot take more: stop reading, so that the task waits. */
static void pause_stream(struct grpx_run *r, struct stream *s)
{
	struct outq *q = outq_of(&r->out[s->which]);

	if (s->t->pid < 0) { /* its main process is gone: never hold it up */
		s->spill = true;
		return;
	}
	if (s->paused)
		return;
	s->paused = true;
	watch_mod(r, &s->w, 0);
	s->pnext = q->paused;
	q->paused = s;
}

static void stream_eof(struct grpx_run *r, struct stream *s)
{
	struct outq *q = &r->out[s->which];

	unpause(r, s);
	watch_del(r, &s->w);
	if (s->route == R_LIVE && s->spill && s->spool >= 0) {
		capture_spool(r, s);
		outq_spool(r, q, s->spool, s->spooled, &s->tg, &s->line);
		s->spool = -1;
		s->spooled = 0;
	} else if (s->route == R_LIVE && s->line.len) {
		struct bbuf *b = &r->tagbuf;
		b->len = 0;
		if (lines_flush(&s->line, s->tg.tag, s->tg.taglen, s->tg.ctag, s->tg.ctaglen, b) == 0)
			outq_bytes(r, q, b->p, b->len);
	}
}

/* Splice what the pipe holds into the stream's spool: no byte through
 * grpx's memory.  Returns as read(2) does. */
static ssize_t splice_in(struct grpx_run *r, struct stream *s, int fd)
{
	ssize_t k;

	(void)r;
	if (s->spool < 0 && !s->err && (s->spool = spool_new()) < 0)
		s->err = errno;
	if (s->err) /* the output cannot be kept: read it away, count it */
		return read(fd, r->buf, sizeof r->buf);
	k = splice(fd, NULL, s->spool, &s->spooled, 1 << 20, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (k < 0 && errno != EAGAIN && errno != EINTR) {
		s->err = errno; /* ENOSPC, EFBIG, EIO: say so when the attempt ends */
		return read(fd, r->buf, sizeof r->buf);
	}
	if (k > 0)
		spool_grow(&s->spool, s->spooled);
	return k;
}

static void stream_read(struct grpx_run *r, struct stream *s, int rounds)
{
	struct outq *q = &r->out[s->which];

	for (int i = 0; i < rounds && s->w.fd >= 0; i++) {
		int fd = s->w.fd;
		ssize_t k;
		if (s->route == R_SPOOL || s->spill) {
			k = splice_in(r, s, fd);
		} else {
			if (s->route == R_LIVE && outq_full(q) && !outq_of(q)->broken) {
				pause_stream(r, s);
				if (!s->spill)
					return;
				continue;
			}
			k = read(fd, r->buf, sizeof r->buf);
			if (k > 0) {
				capture_bytes(r, s, r->buf, (size_t)k);
				if (s->which == GRPX_STDERR && s->bytes < 65536)
					slurm_scan(s->t, r->buf, (size_t)k);
			}
			if (k > 0 && s->route == R_LIVE) {
				struct bbuf *b = &r->tagbuf;
				b->len = 0;
				if (lines_tag(&s->line, s->tg.tag, s->tg.taglen, s->tg.ctag,
					      s->tg.ctaglen, r->buf, (size_t)k, b) == 0)
					outq_bytes(r, q, b->p, b->len);
				else
					outq_drop(r, q);
			}
		}
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return;
		if (k <= 0) {
			fd = s->w.fd;
			stream_eof(r, s);
			close(fd);
			return;
		}
		s->bytes += k;
		if (s->route != R_SPOOL && !s->spill && (size_t)k < sizeof r->buf)
			return; /* the pipe is empty now */
	}
}

/* --- an attempt's streams --- */

int streams_open(struct grpx_run *r, struct grpx_node *t, int fds[3])
{
	struct tio *io = calloc(1, sizeof *io);
	int err = 0;

	if (!io)
		return ENOMEM;
	t->cap_out = t->cap_err = 0;
	for (int i = 0; i < 2; i++) { /* both set before either can fail */
		io->s[i] = (struct stream){ .w.fd = -1, .t = t, .which = (uint8_t)(i + 1), .spool = -1 };
		io->s[i].route = (uint8_t)route_of(r, t, i + 1);
		io->wr[i] = -1;
	}
	for (int i = 0; i < 2; i++) {
		struct stream *s = &io->s[i];
		int p[2];
		if (s->route == R_INHERIT) {
			fds[i + 1] = out_fd(r, i + 1);
			continue;
		}
		if (pipe2(p, O_CLOEXEC) < 0) {
			err = errno;
			break;
		}
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		if ((err = watch_add(r, &s->w, p[0], EPOLLIN, on_readable)) != 0) {
			close(p[0]);
			close(p[1]);
			break;
		}
		io->wr[i] = fds[i + 1] = p[1];
		if (s->route == R_LIVE && (err = tags_make(r, t, i + 1, &s->tg)) != 0)
			break;
	}
	t->io = io;
	if (err) {
		streams_started(t);
		streams_finish(r, t);
		streams_end(r, t, false);
	}
	return err;
}

void streams_started(struct grpx_node *t)
{
	for (int i = 0; t->io && i < 2; i++)
		close_fd(&t->io->wr[i]);
}

bool streams_open_pipes(const struct grpx_node *t)
{
	return t->io && (t->io->s[0].w.fd >= 0 || t->io->s[1].w.fd >= 0);
}

void streams_exited(struct grpx_run *r, struct grpx_node *t)
{
	for (int i = 0; t->io && i < 2; i++) {
		struct stream *s = &t->io->s[i];
		if (s->paused) {
			unpause(r, s);
			s->spill = true;
		}
	}
}

void streams_close_pipes(struct grpx_run *r, struct grpx_node *t)
{
	for (int i = 0; t->io && i < 2; i++) {
		struct stream *s = &t->io->s[i];
		if (s->w.fd < 0)
			continue;
		unpause(r, s);
		if (s->route == R_LIVE && outq_full(&r->out[s->which]))
			s->spill = true;
		stream_read(r, s, 64); /* what was written before: never lost */
		if (s->w.fd >= 0) {
			int fd = s->w.fd;
			stream_eof(r, s);
			close(fd);
		}
	}
}

void streams_finish(struct grpx_run *r, struct grpx_node *t)
{
	struct tio *io = t->io;

	if (!io)
		return;
	streams_close_pipes(r, t);
	struct stream *so = &io->s[0], *se = &io->s[1];
	t->stdout_bytes = so->bytes;
	t->stderr_bytes = se->bytes;
	if (so->route == R_SPOOL)
		capture_spool(r, so);
	if (se->route == R_SPOOL)
		capture_spool(r, se);
	slurm_check(t, se->spool);
	if ((so->err || se->err) && t->status != GRPX_ERROR) {
		/* the output is not whole: the attempt failed */
		t->errnum = so->err ? so->err : se->err;
		t->errwhat = EW_OUTPUT;
		if (t->status == GRPX_OK)
			t->status = GRPX_FAILED;
	}
}

void streams_end(struct grpx_run *r, struct grpx_node *t, bool retry)
{
	struct tio *io = t->io;

	if (!io)
		return;
	struct stream *so = &io->s[0], *se = &io->s[1];
	output_emit(r, t, GRPX_STDERR, se->spool);
	se->spool = -1;
	if (so->route == R_SPOOL && so->spool >= 0) {
		if (retry)
			output_emit(r, t, GRPX_STDERR, so->spool);
		else
			t->out_fd = so->spool;
		so->spool = -1;
	}
	for (int i = 0; i < 2; i++) {
		close_late(r, &io->s[i].spool);
		tags_free(&io->s[i].tg);
		line_free(&io->s[i].line);
	}
	streams_started(t);
	io->dead = r->dead_io;
	r->dead_io = io;
	t->io = NULL;
}

void streams_reap(struct grpx_run *r)
{
	while (r->dead_io) {
		struct tio *io = r->dead_io;
		r->dead_io = io->dead;
		free(io);
	}
}

int stdin_of(struct grpx_run *r, const struct grpx_node *t, int *fd, bool *own)
{
	*own = false;
	*fd = r->devnull;
	if (t->stdin_inherit) {
		*fd = STDIN_FILENO;
		return 0;
	}
	for (const struct grpx_node *n = t; n; n = n->up) {
		if (n->in_fd >= 0) {
			if ((*fd = spool_reopen(n->in_fd)) < 0)
				return errno;
			*own = true;
			return 0;
		}
		if (n->up && mode_has(n->up->mode, M_STAGES) && n->index > 0)
			break;
	}
	return 0;
}

/* --- results: held stdout, going up --- */

void results_offer(struct grpx_run *r, struct grpx_node *g, struct grpx_node *c)
{
	struct grpx_node *n = g, *h = c->res_head, *t = c->res_tail;

	c->res_head = c->res_tail = NULL;
	if (mode_has(g->mode, M_SELECTS)) {
		if (!c->pick)
			c->pick = ++g->grp->npicked;
		run_event(r, (struct grpx_event){ .kind = GRPX_EV_SELECT, .node = c, .group = g });
	}
	/* Held at the first node whose own retry, or whose group, decides on it. */
	while (!n->retries && n->up && !mode_has(n->up->mode, M_SELECTS))
		n = n->up;
	if (n->retries || n->up) {
		LIST_APPEND(&n->res_head, &n->res_tail, h, t, res_next);
		return;
	}
	while (h) {
		struct grpx_node *next = h->res_next;
		h->res_next = NULL;
		output_emit(r, h, GRPX_STDOUT, h->out_fd);
		h->out_fd = -1;
		h = next;
	}
}

void results_discard(struct grpx_run *r, struct grpx_node *n, bool show)
{
	struct grpx_node *h = n->res_head;

	n->res_head = n->res_tail = NULL;
	while (h) {
		struct grpx_node *next = h->res_next;
		h->res_next = NULL;
		if (show)
			output_emit(r, h, GRPX_STDERR, h->out_fd);
		else
			close_late(r, &h->out_fd);
		h->out_fd = -1;
		h = next;
	}
}

void results_pick(struct grpx_run *r, struct grpx_node *g, struct grpx_node *c, bool keep_last)
{
	struct group *gr = g->grp;

	c->pick = ++gr->npicked;
	c->pick_next = NULL;
	LIST_APPEND(&gr->pick_head, &gr->pick_tail, c, c, pick_next);
	if (!keep_last || gr->npicked - gr->pick_head->pick < gr->count)
		return;
	struct grpx_node *old = gr->pick_head; /* keep only the last `count` */
	gr->pick_head = old->pick_next;
	old->pick_next = NULL;
	old->pick = 0;
	results_discard(r, old, false);
}

void results_release_picks(struct grpx_run *r, struct grpx_node *g)
{
	struct grpx_node *c = g->grp->pick_head;

	g->grp->pick_head = g->grp->pick_tail = NULL;
	while (c) {
		struct grpx_node *next = c->pick_next;
		c->pick_next = NULL;
		results_offer(r, g, c);
		c = next;
	}
}

int results_handoff(struct grpx_run *r, struct grpx_node *c)
{
	struct grpx_node *h = c->res_head;
	int fd;

	if (!h)
		return -1; /* it wrote nothing: the next stage reads /dev/null */
	if (!h->res_next) { /* a task stage's own spool, as it is */
		fd = h->out_fd;
		h->out_fd = -1;
		c->res_head = c->res_tail = NULL;
		return fd;
	}
	/* A group stage selected several: join them, in the kernel. */
	if ((fd = spool_new()) < 0)
		return -2;
	off_t end = 0;
	for (; h; h = h->res_next) {
		int64_t len = fd_size(h->out_fd);
		if (spool_copy(h->out_fd, 0, len, fd, &end) != len) {
			int err = errno ? errno : EIO;
			close(fd);
			errno = err;
			return -2;
		}
		spool_grow(&fd, end);
	}
	results_discard(r, c, false);
	return fd;
}
