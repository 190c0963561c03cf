/*
 * render.c - task output, progress line and summary of the grpx command.
 *
 * Lines are never split or interleaved: a prefixed line is written whole
 * with one write(2) sequence from a per-stream buffer; a line longer than
 * LINE_MAX_BYTES goes out in pieces, each continuation tagged "[path]+".
 * The progress line lives on stderr and is erased before anything else is
 * written, then redrawn by the next tick.
 */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "render.h"

#define LINE_MAX_BYTES 8192

static double start_ms;
static int write_error; /* errno of the first failed write of output */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Can writes to fd stall on a reader (a pipe or socket)?  Asked once. */
static int may_stall(int fd)
{
	static int known[3], stalls[3];
	struct stat st;

	if (fd < 0 || fd > 2)
		return 0;
	if (!known[fd]) {
		known[fd] = 1;
		stalls[fd] = fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode));
	}
	return stalls[fd];
}

/*
 * Write all of buf to fd.  Returns 0; -1 when the reader is gone (EPIPE) or
 * fd broke; -2 when the run needed grpx back while the reader stalled
 * (then the rest is dropped).  Where a reader may stall, write only what
 * the pipe is known to take, so that grpx never blocks in write(2).
 */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		size_t chunk = len;
		if (may_stall(fd)) {
			if (grpx_output_wait(fd) < 0)
				return -2;
			if (chunk > PIPE_BUF)
				chunk = PIPE_BUF;
		}
		ssize_t n = write(fd, buf, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, -1);
			continue;
		}
		if (n < 0) {
			if (!write_error)
				write_error = errno;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* --- progress --- */

static void progress_clear(struct render *r)
{
	if (r->drawn) {
		write_all(STDERR_FILENO, "\r\033[K", 4);
		r->drawn = 0;
	}
	r->dirty = 1;
}

static void fmt_secs(double ms, char *buf, size_t len)
{
	if (ms < 60000)
		snprintf(buf, len, "%.1fs", ms / 1e3);
	else
		snprintf(buf, len, "%dm%02ds", (int)(ms / 60000), (int)(ms / 1000) % 60);
}

static void progress_draw(struct render *r)
{
	char line[256], el[32], eta[48] = "";
	double elapsed = now_ms() - start_ms;

	fmt_secs(elapsed, el, sizeof el);
	if (r->done > 0 && r->done < r->total) {
		char e[32];
		fmt_secs(elapsed / r->done * (r->total - r->done), e, sizeof e);
		snprintf(eta, sizeof eta, "  ETA %s", e);
	}
	int n = snprintf(line, sizeof line,
			 "\r\033[Kgrpx: %u running, %u/%u done, %u failed  %s%s", r->running,
			 r->done, r->total, r->failed, el, eta);
	if (n > 0 && write_all(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) == 0)
		r->drawn = 1;
	r->dirty = 0;
}

int render_write_error(void)
{
	return write_error;
}

void render_tick(void *ctx)
{
	struct render *r = ctx;

	if (r->progress)
		progress_draw(r);
}

void render_event(void *ctx, const struct grpx_event *e)
{
	struct render *r = ctx;
	struct grpx_node_info i;

	if (r->events) {
		if (r->events == stderr)
			progress_clear(r);
		grpx_event_write(r->events, e);
	}
	grpx_node_info(e->node, &i);
	if (!i.is_task)
		return;
	switch (e->kind) {
	case GRPX_EV_START:
		r->running++;
		break;
	case GRPX_EV_EXIT:
		if (r->running)
			r->running--;
		break;
	case GRPX_EV_END:
		r->done++;
		if (e->status == GRPX_FAILED || e->status == GRPX_TIMEOUT || e->status == GRPX_ERROR)
			r->failed++;
		break;
	default:
		break;
	}
	r->dirty = 1;
}

/* --- task output --- */

static int color_of(const struct grpx_node *n)
{
	unsigned h = 5381;

	for (const char *p = grpx_node_path(n); *p; p++)
		h = h * 33 + (unsigned char)*p;
	return 31 + (int)(h % 6);
}

static int put_tagged(struct render *r, const struct grpx_node *n, int fd, const char *s,
		      size_t len, int cont)
{
	char tag[600];
	int color = fd == STDOUT_FILENO ? r->color_out : r->color_err;
	int t = color ? snprintf(tag, sizeof tag, "\033[%dm[%s]%s\033[0m ", color_of(n),
				 grpx_node_path(n), cont ? "+" : "")
		      : snprintf(tag, sizeof tag, "[%s]%s ", grpx_node_path(n), cont ? "+" : "");

	if (t < 0 || (size_t)t >= sizeof tag)
		t = 0;
	progress_clear(r);
	int rc = write_all(fd, tag, (size_t)t);
	if (rc == 0)
		rc = write_all(fd, s, len);
	if (rc == 0 && !(len && s[len - 1] == '\n'))
		rc = write_all(fd, "\n", 1);
	return rc;
}

/* Tag every whole line of buf; keep the unterminated tail in l. */
static int tag_lines(struct render *r, struct line *l, int fd, const char *buf, size_t len)
{
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t take = nl ? (size_t)(nl - buf) + 1 : len;
		/* the newline always fits: a piece is at most LINE_MAX_BYTES of text */
		int cut = l->len + take > LINE_MAX_BYTES + (nl ? 1 : 0);
		if (cut)
			take = LINE_MAX_BYTES - l->len;
		memcpy(l->buf + l->len, buf, take);
		l->len += take;
		buf += take;
		len -= take;
		if (cut || (nl && l->len && l->buf[l->len - 1] == '\n')) {
			int rc = put_tagged(r, l->n, fd, l->buf, l->len, l->cont);
			if (rc < 0)
				return rc;
			l->cont = cut;
			l->len = 0;
		}
	}
	return 0;
}

static int flush_line(struct render *r, struct line *l, int fd)
{
	int rc = l->len ? put_tagged(r, l->n, fd, l->buf, l->len, l->cont) : 0;

	l->len = 0;
	l->cont = 0;
	return rc;
}

static struct line *line_of(struct render *r, const struct grpx_node *n, int stream)
{
	for (size_t i = 0; i < r->nlines; i++)
		if (r->lines[i].n == n && r->lines[i].stream == stream)
			return &r->lines[i];
	for (size_t i = 0; i < r->nlines; i++)
		if (!r->lines[i].n) {
			r->lines[i] = (struct line){ n, stream, 0, 0, r->lines[i].buf };
			return &r->lines[i];
		}
	struct line *v = realloc(r->lines, (r->nlines + 1) * sizeof *v);
	if (!v)
		return NULL;
	r->lines = v;
	char *buf = malloc(LINE_MAX_BYTES + 1);
	if (!buf)
		return NULL;
	r->lines[r->nlines] = (struct line){ n, stream, 0, 0, buf };
	return &r->lines[r->nlines++];
}

int render_chunk(void *ctx, const struct grpx_node *n, int stream, const char *buf, size_t len)
{
	struct render *r = ctx;
	int fd = stream == GRPX_STDOUT ? STDOUT_FILENO : STDERR_FILENO;
	struct line *l;

	if (r->mode == GRPX_OUT_QUIET || !(l = line_of(r, n, stream)))
		return 0;
	if (len)
		return tag_lines(r, l, fd, buf, len);
	int rc = flush_line(r, l, fd); /* EOF: a last unterminated line gets its newline */
	l->n = NULL;
	return rc;
}

int render_emit(void *ctx, const struct grpx_node *n, int stream, int fd, off_t len)
{
	struct render *r = ctx;
	int out = stream == GRPX_STDOUT ? STDOUT_FILENO : STDERR_FILENO;
	off_t off = 0;
	char buf[65536];

	if (r->mode == GRPX_OUT_QUIET)
		return 0;
	progress_clear(r);
	if (r->mode == GRPX_OUT_PREFIX || r->tag) {
		struct line l = { n, stream, 0, 0, malloc(LINE_MAX_BYTES + 1) };
		int rc = 0;
		if (!l.buf)
			return 0;
		while (off < len && rc == 0) {
			ssize_t k = pread(fd, buf, sizeof buf, off);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;
			off += k;
			rc = tag_lines(r, &l, out, buf, (size_t)k);
		}
		if (rc == 0)
			rc = flush_line(r, &l, out);
		free(l.buf);
		return rc;
	}
	while (off < len) { /* byte-exact, in the kernel where it can */
		ssize_t k;
		if (may_stall(out)) { /* never block on a stalled reader */
			k = splice(fd, &off, out, NULL, (size_t)(len - off), SPLICE_F_NONBLOCK);
			if (k < 0 && errno == EAGAIN) {
				if (grpx_output_wait(out) < 0)
					return -2;
				continue;
			}
			if (k < 0 && (errno == EINVAL || errno == ENOSYS))
				k = 0; /* no splice for this pair: copy below */
		} else {
			k = sendfile(out, fd, &off, (size_t)(len - off));
		}
		if (k > 0 || (k < 0 && errno == EINTR))
			continue;
		if (k < 0 && errno == EPIPE) {
			if (!write_error)
				write_error = EPIPE;
			return -1;
		}
		if (k < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = out, .events = POLLOUT };
			poll(&p, 1, -1);
			continue;
		}
		k = pread(fd, buf, sizeof buf, off); /* sendfile cannot serve this pair */
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		int rc = write_all(out, buf, (size_t)k);
		if (rc < 0)
			return rc;
		off += k;
	}
	return 0;
}

/* --- setup and the end --- */

static unsigned count_tasks(const struct grpx_node *n)
{
	struct grpx_node_info i;
	unsigned c = 0;

	grpx_node_info(n, &i);
	if (i.is_task)
		return 1;
	for (size_t k = 0; k < i.nkids; k++)
		c += count_tasks(grpx_node_kid(n, k));
	return c;
}

void render_init(struct render *r, const struct grpx_job *job, enum grpx_output mode, int tag,
		 int color, int progress)
{
	int no_color = getenv("NO_COLOR") && *getenv("NO_COLOR");

	r->mode = mode;
	r->tag = tag;
	r->color_out = color == 1 || (color < 0 && !no_color && isatty(STDOUT_FILENO));
	r->color_err = color == 1 || (color < 0 && !no_color && isatty(STDERR_FILENO));
	r->progress = progress == 1 || (progress < 0 && isatty(STDERR_FILENO) &&
					!(getenv("TERM") && !strcmp(getenv("TERM"), "dumb")));
	r->total = count_tasks(grpx_job_root(job));
	start_ms = now_ms();
}

void render_free(struct render *r)
{
	for (size_t i = 0; i < r->nlines; i++)
		free(r->lines[i].buf);
	free(r->lines);
	if (r->events && r->events != stderr)
		fclose(r->events);
	r->lines = NULL;
	r->nlines = 0;
	r->events = NULL;
}

static void fmt_ms(double ms, char *buf, size_t len)
{
	if (ms < 1000)
		snprintf(buf, len, "%.0fms", ms);
	else
		fmt_secs(ms, buf, len);
}

static void summary_row(const struct grpx_node *n, int color)
{
	struct grpx_node_info i;
	char dur[32], why[512], code[32] = "-";
	static const char *const paint[] = {
		[GRPX_OK] = "\033[32m", [GRPX_FAILED] = "\033[31m", [GRPX_TIMEOUT] = "\033[31m",
		[GRPX_ERROR] = "\033[31m", [GRPX_CANCELED] = "\033[33m", [GRPX_SKIPPED] = "\033[2m",
	};

	grpx_node_info(n, &i);
	fmt_ms(i.start_ms >= 0 && i.end_ms >= i.start_ms ? i.end_ms - i.start_ms : 0, dur, sizeof dur);
	if (i.signal)
		snprintf(code, sizeof code, "signal %d", i.signal);
	else if (i.exit_code >= 0)
		snprintf(code, sizeof code, "exit %d", i.exit_code);
	const char *reason = grpx_node_reason(n, why, sizeof why);
	const char *on = color && i.status < sizeof paint / sizeof paint[0] && paint[i.status] ? paint[i.status] : "";
	fprintf(stderr, "  %-28s %s%-9s%s %-10s %5u %8s%s%s\n", i.path, on,
		grpx_status_name(i.status), *on ? "\033[0m" : "", code, i.attempts, dur,
		reason ? "  " : "", reason ? reason : "");
}

static int is_cause(const struct grpx_run *run, const struct grpx_node *n)
{
	for (size_t i = 0; i < grpx_run_nerrors(run); i++) {
		const char *msg;
		if (!strcmp(grpx_run_error(run, i, &msg), grpx_node_path(n)))
			return 1;
	}
	return 0;
}

/* Every task but the causes, in file order. */
static void summary_rest(const struct grpx_run *run, const struct grpx_node *n, int color)
{
	struct grpx_node_info i;

	grpx_node_info(n, &i);
	if (i.is_task) {
		if (!is_cause(run, n))
			summary_row(n, color);
		return;
	}
	for (size_t k = 0; k < i.nkids; k++)
		summary_rest(run, grpx_node_kid(n, k), color);
}

void render_end(struct render *r, const struct grpx_job *job, const struct grpx_run *run,
		int verbose)
{
	struct grpx_job *j = (struct grpx_job *)job;
	size_t nerr = grpx_run_nerrors(run);

	for (size_t i = 0; i < r->nlines; i++)
		if (r->lines[i].n)
			flush_line(r, &r->lines[i], r->lines[i].stream == GRPX_STDOUT ? 1 : 2);
	progress_clear(r);
	if (verbose || isatty(STDERR_FILENO)) {
		fprintf(stderr, "%s  %-28s %-9s %-10s %5s %8s\n", r->color_err ? "" : "",
			"TASK", "STATUS", "EXIT", "TRIES", "TIME");
		for (size_t i = 0; i < nerr; i++) { /* root causes first */
			const char *msg;
			struct grpx_node *n = grpx_job_find(j, grpx_run_error(run, i, &msg));
			struct grpx_node_info info;
			if (n && (grpx_node_info(n, &info), info.is_task))
				summary_row(n, r->color_err);
		}
		summary_rest(run, grpx_job_root(job), r->color_err);
	}
	if (grpx_run_outcome(run) != GRPX_RUN_OK && nerr) {
		fprintf(stderr, "grpx: %zu error%s: ", nerr, nerr == 1 ? "" : "s");
		for (size_t i = 0; i < nerr; i++) {
			const char *msg, *path = grpx_run_error(run, i, &msg);
			fprintf(stderr, "%s%s%s%s", i ? "; " : "", path, *path ? ": " : "", msg);
		}
		fputc('\n', stderr);
	}
}
