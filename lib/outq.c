/*
 * outq.c - output waiting for one of grpx's fds, in the order it must
 * appear, written when the fd can take it.
 *
 * A segment is bytes (whole tagged lines only), or a range of a spool file
 * sent by offset with splice or sendfile, or a spool to tag line by line as
 * it goes.  Nothing here ever blocks: a pipe or a terminal is written
 * through a private non-blocking description of it (reopened through
 * /proc/self/fd, as libuv does for ttys), EPOLLOUT is armed only while the
 * queue holds data, and a regular file is written inline a bounded amount
 * per turn.  Past `high` heap bytes, further bytes go to an overflow spool
 * and the producing tasks' pipes are paused (output.c) until `low`.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "run.h"

#define SEG_BYTES 65536        /* a byte segment's usual capacity */
#define FILE_TURN (4 << 20)    /* bytes written inline to a file per turn */

struct oseg {
	struct oseg *next;
	int fd;                    /* a spool, owned; -1: bytes */
	bool grow;                 /* an overflow spool: bytes are appended to it */
	bool tagged;               /* a spool to tag as it is sent */
	struct tags tg;
	struct line line;          /* tagging: the tail across chunks */
	off_t off, end;            /* spool: [off, end) still to send */
	size_t sent, len, cap;     /* bytes: buf[sent, len) still to write */
	char buf[];
};

static const char erase[] = "\r\033[K";

struct outq *outq_of(struct outq *q)
{
	return q->alias ? q->alias : q;
}

static void seg_free(struct grpx_run *r, struct outq *q, struct oseg *s)
{
	if (s->fd < 0)
		q->held -= s->len - s->sent;
	close_late(r, &s->fd);
	tags_free(&s->tg);
	line_free(&s->line);
	free(s);
}

static void seg_push(struct outq *q, struct oseg *s)
{
	s->next = NULL;
	if (q->tail)
		q->tail->next = s;
	else
		q->head = s;
	q->tail = s;
}

static void pop_head(struct grpx_run *r, struct outq *q)
{
	struct oseg *s = q->head;

	q->head = s->next;
	if (!q->head)
		q->tail = NULL;
	seg_free(r, q, s);
}

static void fail(struct grpx_run *r, struct outq *q, int err)
{
	if (!q->err)
		q->err = err;
	outq_drop(r, q);
}

/* Give paused producers their pipes back once the queue has room. */
static void resume(struct grpx_run *r, struct outq *q)
{
	while (q->paused && (q->broken || (q->held <= q->low && !(q->tail && q->tail->grow)))) {
		struct stream *s = q->paused;
		q->paused = s->pnext;
		s->pnext = NULL;
		s->paused = false;
		if (s->w.fd >= 0)
			watch_mod(r, &s->w, EPOLLIN);
	}
}

/* Nothing went out now: wait for the fd (or for the next turn, a file). */
static void wait_writable(struct grpx_run *r, struct outq *q)
{
	if (q->kind == OQ_FILE)
		r->loop.ready = true;
	else if (q->w.fd >= 0)
		watch_mod(r, &q->w, EPOLLOUT);
}

/*
 * A write that returned k < 0: go on (EINTR: true), or stop for now (the fd
 * is full: EPOLLOUT armed; or it failed: the queue is broken).
 */
static bool retry_write(struct grpx_run *r, struct outq *q)
{
	if (errno == EINTR)
		return true;
	if (errno == EAGAIN)
		wait_writable(r, q);
	else
		fail(r, q, errno);
	return false;
}

/* Write the byte segments at the head; false: stop for now. */
static bool flush_bytes(struct grpx_run *r, struct outq *q, size_t *budget)
{
	struct iovec iov[64];
	int n = 0;

	for (struct oseg *s = q->head; s && s->fd < 0 && n < 64; s = s->next) {
		iov[n].iov_base = s->buf + s->sent;
		iov[n++].iov_len = s->len - s->sent;
	}
	if (q->kind == OQ_SHARED) { /* a blocking description: never more than it takes */
		struct pollfd p = { .fd = q->fd, .events = POLLOUT };
		if (poll(&p, 1, 0) <= 0) {
			wait_writable(r, q);
			return false;
		}
		n = 1;
		if (iov[0].iov_len > PIPE_BUF)
			iov[0].iov_len = PIPE_BUF;
	}
	ssize_t k;
	if (q->kind == OQ_SOCK) {
		struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		k = sendmsg(q->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
	} else {
		k = writev(q->fd, iov, n);
	}
	if (k < 0)
		return retry_write(r, q);
	*budget = (size_t)k > *budget ? 0 : *budget - (size_t)k;
	q->held -= (size_t)k;
	while (k > 0) {
		struct oseg *s = q->head;
		size_t left = s->len - s->sent;
		size_t d = (size_t)k < left ? (size_t)k : left;
		s->sent += d;
		k -= (ssize_t)d;
		if (s->sent == s->len)
			pop_head(r, q);
	}
	return true;
}

/* Send part of the spool range at the head; false: stop for now. */
static bool flush_spool(struct grpx_run *r, struct outq *q, struct oseg *s, size_t *budget)
{
	size_t len = (size_t)(s->end - s->off);
	ssize_t k = -1;

	if (len > (1 << 20))
		len = 1 << 20;
	if (q->kind == OQ_FILE && len > *budget)
		len = *budget;
	switch (q->kind) {
	case OQ_PIPE:
		k = splice(s->fd, &s->off, q->fd, NULL, len, SPLICE_F_NONBLOCK);
		break;
	case OQ_FILE:
		k = sendfile(q->fd, s->fd, &s->off, len);
		break;
	default:
		errno = EINVAL; /* sockets, ttys, shared fds: through a buffer */
		break;
	}
	if (k < 0 && (errno == EINVAL || errno == ENOSYS)) {
		if (q->kind == OQ_SHARED) {
			struct pollfd p = { .fd = q->fd, .events = POLLOUT };
			if (poll(&p, 1, 0) <= 0) {
				wait_writable(r, q);
				return false;
			}
			if (len > PIPE_BUF)
				len = PIPE_BUF;
		}
		if (len > sizeof r->buf)
			len = sizeof r->buf;
		ssize_t got = pread(s->fd, r->buf, len, s->off);
		if (got <= 0) { /* the spool is shorter than said: nothing more to send */
			s->end = s->off;
			pop_head(r, q);
			return true;
		}
		k = q->kind == OQ_SOCK ? send(q->fd, r->buf, (size_t)got, MSG_DONTWAIT | MSG_NOSIGNAL)
				       : write(q->fd, r->buf, (size_t)got);
		if (k > 0)
			s->off += k;
	}
	if (k < 0)
		return retry_write(r, q);
	if (k == 0) /* the spool ended early */
		s->end = s->off;
	*budget = (size_t)k > *budget ? 0 : *budget - (size_t)k;
	if (s->off >= s->end) /* an overflow spool too: later bytes go after it anyway */
		pop_head(r, q);
	return true;
}

/* The head is a spool to tag: turn its next chunk into a byte segment
 * before it.  -1: no memory. */
static int expand(struct grpx_run *r, struct outq *q, struct oseg *s)
{
	struct bbuf *b = &r->tagbuf;
	size_t len = (size_t)(s->end - s->off);
	ssize_t k = 0;

	b->len = 0;
	if (len > 0) {
		k = pread(s->fd, r->buf, len < sizeof r->buf ? len : sizeof r->buf, s->off);
		if (k < 0 && errno == EINTR)
			return 0;
		if (k <= 0) /* shorter than said: end it here */
			s->end = s->off;
		else
			s->off += k;
	}
	const struct tags *g = &s->tg;
	if (k > 0 && lines_tag(&s->line, g->tag, g->taglen, g->ctag, g->ctaglen, r->buf, (size_t)k, b) < 0)
		return -1;
	if (s->off >= s->end && lines_flush(&s->line, g->tag, g->taglen, g->ctag, g->ctaglen, b) < 0)
		return -1;
	struct oseg *t = NULL;
	if (b->len) {
		if (!(t = malloc(sizeof *t + b->len)))
			return -1;
		*t = (struct oseg){ .fd = -1, .len = b->len, .cap = b->len };
		memcpy(t->buf, b->p, b->len);
		q->held += b->len;
	}
	if (s->off >= s->end) { /* the chunk replaces the spool */
		q->head = s->next;
		if (q->tail == s)
			q->tail = NULL;
		seg_free(r, q, s);
	}
	if (t) { /* in front of what is left */
		t->next = q->head;
		q->head = t;
		if (!q->tail)
			q->tail = t;
	} else if (!q->head) {
		q->tail = NULL;
	}
	return 0;
}

void outq_flush(struct grpx_run *r, struct outq *q)
{
	size_t budget = FILE_TURN;

	q = outq_of(q);
	while (q->head && !q->broken) {
		struct oseg *s = q->head;
		if (q->kind == OQ_FILE && budget == 0) {
			r->loop.ready = true;
			break;
		}
		if (s->fd < 0) {
			if (!flush_bytes(r, q, &budget))
				break;
		} else if (s->tagged) {
			if (expand(r, q, s) < 0) {
				fail(r, q, ENOMEM);
				break;
			}
		} else if (!flush_spool(r, q, s, &budget)) {
			break;
		}
	}
	if (!q->head && q->w.fd >= 0)
		watch_mod(r, &q->w, 0);
	resume(r, q);
}

static void on_writable(struct grpx_run *r, struct watch *w, uint32_t revents)
{
	struct outq *q = container_of(w, struct outq, w);

	(void)revents;
	outq_flush(r, q);
}

/* Append bytes at the tail: heap while under `high`, else an overflow spool. */
static int put(struct outq *q, const char *p, size_t len)
{
	struct oseg *t = q->tail;

	if (t && t->grow) { /* keep order: after what already overflowed */
		ssize_t k = pwrite(t->fd, p, len, t->end);
		if (k == (ssize_t)len) {
			t->end += k;
			spool_grow(&t->fd, t->end);
			return 0;
		}
		return -1;
	}
	if (q->held + len > q->high && q->kind != OQ_FILE) {
		int fd = spool_new();
		if (fd >= 0) {
			struct oseg *s = calloc(1, sizeof *s);
			if (s && pwrite(fd, p, len, 0) == (ssize_t)len) {
				s->fd = fd;
				s->grow = true;
				s->end = (off_t)len;
				seg_push(q, s);
				return 0;
			}
			free(s);
			close(fd);
		}
		/* no spool: the heap takes it */
	}
	if (t && t->fd < 0 && t->cap - t->len >= len) {
		memcpy(t->buf + t->len, p, len);
		t->len += len;
		q->held += len;
		return 0;
	}
	size_t cap = len > SEG_BYTES ? len : SEG_BYTES;
	struct oseg *s = malloc(sizeof *s + cap);
	if (!s)
		return -1;
	*s = (struct oseg){ .fd = -1, .len = len, .cap = cap };
	memcpy(s->buf, p, len);
	q->held += len;
	seg_push(q, s);
	return 0;
}

/* Take the progress line off the screen before anything else goes out. */
static int unstatus(struct outq *q)
{
	if (!q->status_drawn)
		return 0;
	q->status_drawn = false;
	return put(q, erase, sizeof erase - 1);
}

/*
 * Nothing waits: write straight from the caller's buffer, and keep only
 * what the fd did not take.  Returns the bytes written, or -1 (broken).
 */
static ssize_t write_through(struct grpx_run *r, struct outq *q, const char *p, size_t len)
{
	size_t done = 0;

	if (q->head || q->kind == OQ_SHARED)
		return 0;
	while (done < len) {
		ssize_t k = q->kind == OQ_SOCK
				    ? send(q->fd, p + done, len - done, MSG_DONTWAIT | MSG_NOSIGNAL)
				    : write(q->fd, p + done, len - done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			break;
		if (k < 0) {
			fail(r, q, errno);
			return -1;
		}
		done += (size_t)k;
	}
	return (ssize_t)done;
}

int outq_bytes(struct grpx_run *r, struct outq *q, const char *p, size_t len)
{
	q = outq_of(q);
	if (q->broken)
		return -1;
	if (len == 0)
		return 0;
	if (!q->status_drawn) {
		ssize_t k = write_through(r, q, p, len);
		if (k < 0)
			return -1;
		p += k;
		len -= (size_t)k;
		if (len == 0)
			return 0;
	}
	if (unstatus(q) < 0 || put(q, p, len) < 0) {
		fail(r, q, ENOMEM);
		return -1;
	}
	outq_flush(r, q);
	return 0;
}

int outq_spool(struct grpx_run *r, struct outq *q, int fd, off_t end, struct tags *tg,
	       struct line *carry)
{
	struct oseg *s;

	q = outq_of(q);
	if (q->broken || fd < 0 || (end <= 0 && !(tg && carry && carry->len))) {
		close_late(r, &fd);
		tags_free(tg);
		line_free(carry);
		return q->broken ? -1 : 0;
	}
	if (!(s = calloc(1, sizeof *s))) {
		close_late(r, &fd);
		tags_free(tg);
		line_free(carry);
		fail(r, q, ENOMEM);
		return -1;
	}
	s->fd = fd;
	s->end = end;
	if (tg) {
		s->tagged = true;
		s->tg = *tg;
		*tg = (struct tags){ 0 };
	}
	if (carry) {
		s->line = *carry;
		*carry = (struct line){ 0 };
	}
	if (unstatus(q) < 0) {
		seg_free(r, q, s);
		fail(r, q, ENOMEM);
		return -1;
	}
	seg_push(q, s);
	outq_flush(r, q);
	return 0;
}

void outq_status(struct grpx_run *r, struct outq *q, const char *text, size_t len)
{
	q = outq_of(q);
	if (q->broken || (len && q->head))
		return; /* never redraw behind a stalled reader */
	if (unstatus(q) < 0)
		return;
	if (len && put(q, erase, sizeof erase - 1) == 0 && put(q, text, len) == 0)
		q->status_drawn = true;
	outq_flush(r, q);
}

bool outq_full(const struct outq *q)
{
	q = q->alias ? q->alias : q;
	return q->held >= q->high || (q->tail && q->tail->grow);
}

bool outq_idle(const struct outq *q)
{
	q = q->alias ? q->alias : q;
	return !q->head || q->broken;
}

void outq_drop(struct grpx_run *r, struct outq *q)
{
	q = outq_of(q);
	q->broken = true;
	while (q->head)
		pop_head(r, q);
	if (q->w.fd >= 0)
		watch_mod(r, &q->w, 0);
	resume(r, q);
}

/*
 * A private non-blocking description of a pipe or terminal: O_NONBLOCK on
 * the shared one would leak to the shell and to tasks writing to it raw.
 */
static int reopen(int fd)
{
	char path[64];

	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	return open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
}

int outq_open(struct grpx_run *r, struct outq *q, int fd, size_t high, struct outq *alias)
{
	struct stat st, ast;

	*q = (struct outq){ .w.fd = -1, .fd = fd, .high = high, .low = high / 4 };
	if (fstat(fd, &st) < 0)
		return errno;
	if (alias && fstat(alias->fd, &ast) == 0 && ast.st_dev == st.st_dev &&
	    ast.st_ino == st.st_ino && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) ||
					 S_ISSOCK(st.st_mode) || S_ISREG(st.st_mode))) {
		q->alias = outq_of(alias); /* `2>&1`: one queue, so lines never interleave */
		return 0;
	}
	if (S_ISSOCK(st.st_mode)) {
		q->kind = OQ_SOCK;
	} else if (S_ISFIFO(st.st_mode) || (S_ISCHR(st.st_mode) && isatty(fd))) {
		int nfd = reopen(fd);
		if (nfd >= 0) {
			q->fd = nfd;
			q->reopened = true;
			q->kind = S_ISFIFO(st.st_mode) ? OQ_PIPE : OQ_TTY;
		} else if (fcntl(fd, F_GETFL) & O_NONBLOCK) {
			q->kind = S_ISFIFO(st.st_mode) ? OQ_PIPE : OQ_TTY; /* ours to write as it is */
		} else {
			q->kind = OQ_SHARED;
		}
	} else {
		return 0; /* a file or a device that does not wait: written inline */
	}
	int err = watch_add(r, &q->w, q->fd, 0, on_writable);
	if (err) {
		if (q->reopened)
			close(q->fd);
		return err;
	}
	return 0;
}

void outq_close(struct grpx_run *r, struct outq *q)
{
	if (q->alias) {
		q->alias = NULL;
		return;
	}
	outq_drop(r, q);
	if (q->w.fd >= 0)
		watch_del(r, &q->w);
	if (q->reopened)
		close(q->fd);
	q->fd = -1;
}
