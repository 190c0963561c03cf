/*
 * The output queue on a real pipe2 pair: nothing blocks however full the
 * pipe is, EPOLLOUT is armed only while data waits, producers pause at the
 * high mark and resume at the low mark, spool ranges arrive byte-exact
 * across partial splices, and a reader that goes away breaks the queue.
 * Also lines.c, the pure tagger.
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>
#include <cmocka.h>

#include "run.h"

struct fix {
	struct grpx_run r;
	struct grpx_opts o;
	struct outq q;
	int p[2];
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof *f);

	assert_non_null(f);
	f->r.o = &f->o;
	sigemptyset(&f->r.loop.caught);
	assert_int_equal(loop_open(&f->r), 0);
	assert_int_equal(pipe2(f->p, O_CLOEXEC), 0);
	fcntl(f->p[0], F_SETFL, O_NONBLOCK);
	assert_int_equal(outq_open(&f->r, &f->q, f->p[1], 64 * 1024, NULL), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	outq_close(&f->r, &f->q);
	while (f->r.nlate)
		close(f->r.late[--f->r.nlate]);
	free(f->r.late);
	free(f->r.tagbuf.p);
	loop_close(&f->r);
	close(f->p[0]);
	close(f->p[1]);
	free(f);
	return 0;
}

/* Read what the pipe holds now into buf (at most len); returns the count. */
static size_t drain(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t k = read(fd, buf + got, len - got > 4096 ? 4096 : len - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	return got;
}

static void reopened_pipe_is_private_and_nonblocking(void **state)
{
	struct fix *f = *state;

	assert_int_equal(f->q.kind, OQ_PIPE);
	assert_true(f->q.reopened);
	assert_true(fcntl(f->q.fd, F_GETFL) & O_NONBLOCK);
	/* the caller's description is untouched */
	assert_false(fcntl(f->p[1], F_GETFL) & O_NONBLOCK);
}

static void full_pipe_never_blocks(void **state)
{
	struct fix *f = *state;
	static char chunk[65536];
	struct outq *q = &f->q;

	memset(chunk, 'x', sizeof chunk);
	/* 8 MiB into a pipe that holds 64 KiB and is never read: every call
	 * returns at once (a blocking write would hang the test) */
	for (int i = 0; i < 128; i++)
		assert_int_equal(outq_bytes(&f->r, q, chunk, sizeof chunk), 0);
	assert_false(outq_idle(q));
	assert_true(outq_full(q));
	assert_true(q->w.events == EPOLLOUT); /* armed while data waits */
	assert_true(q->held <= q->high + sizeof chunk); /* the rest overflowed to a spool */

	/* drain it all through the queue's own callback */
	size_t total = 0;
	static char buf[65536];
	while (!outq_idle(q)) {
		total += drain(f->p[0], buf, sizeof buf);
		outq_flush(&f->r, q);
	}
	total += drain(f->p[0], buf, sizeof buf);
	assert_int_equal(total, 128 * sizeof chunk);
	assert_int_equal(q->held, 0);
	assert_int_equal(q->w.events, 0); /* idle: EPOLLOUT no longer armed */
}

static void producers_pause_and_resume(void **state)
{
	struct fix *f = *state;
	struct outq *q = &f->q;
	static char chunk[16384];
	struct stream s = { .w.fd = -1 };
	int pp[2];

	assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
	assert_int_equal(watch_add(&f->r, &s.w, pp[0], 0, NULL), 0);
	memset(chunk, 'y', sizeof chunk);
	while (!outq_full(q))
		assert_int_equal(outq_bytes(&f->r, q, chunk, sizeof chunk), 0);
	/* output.c pauses a producer like this */
	s.paused = true;
	s.pnext = q->paused;
	q->paused = &s;
	/* still above the low mark after a little reading: still paused */
	static char buf[8192];
	drain(f->p[0], buf, sizeof buf);
	outq_flush(&f->r, q);
	if (q->held > q->low)
		assert_true(s.paused);
	/* read everything: below the low mark it gets its pipe back */
	while (!outq_idle(q)) {
		static char big[65536];
		drain(f->p[0], big, sizeof big);
		outq_flush(&f->r, q);
	}
	assert_false(s.paused);
	assert_null(q->paused);
	assert_int_equal(s.w.events, EPOLLIN);
	watch_del(&f->r, &s.w);
	close(pp[0]);
	close(pp[1]);
}

static void spool_range_byte_exact(void **state)
{
	struct fix *f = *state;
	struct outq *q = &f->q;
	size_t len = 3 * 1024 * 1024 + 17;
	char *data = malloc(len), *got = malloc(len + 1);
	uint32_t x = 12345;

	assert_non_null(data);
	assert_non_null(got);
	for (size_t i = 0; i < len; i++) {
		x = x * 1103515245 + 12345;
		data[i] = (char)(x >> 16);
	}
	int fd = spool_new();
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, data, len, 0), (ssize_t)len);
	assert_int_equal(outq_bytes(&f->r, q, "head\n", 5), 0);
	assert_int_equal(outq_spool(&f->r, q, fd, (off_t)len, NULL, NULL), 0);
	assert_int_equal(outq_bytes(&f->r, q, "tail\n", 5), 0);
	/* partial reads of odd sizes: every flush sends what fits */
	size_t n = 0, step = 1;
	char *all = malloc(len + 16);
	assert_non_null(all);
	while (!outq_idle(q) || n < len + 10) {
		size_t k = drain(f->p[0], all + n, step % 7000 + 1);
		n += k;
		step = step * 31 + 7;
		outq_flush(&f->r, q);
		if (k == 0 && outq_idle(q))
			break;
	}
	assert_int_equal(n, len + 10);
	assert_memory_equal(all, "head\n", 5);
	assert_memory_equal(all + 5, data, len);
	assert_memory_equal(all + 5 + len, "tail\n", 5);
	free(all);
	free(data);
	free(got);
}

static void tagged_spool(void **state)
{
	struct fix *f = *state;
	struct tags tg = { strdup("[t] "), strdup("[t]+ "), 4, 5 };
	static const char text[] = "one\ntwo\nthree-no-newline";
	char buf[256];
	int fd = spool_new();

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, text, sizeof text - 1, 0), (ssize_t)(sizeof text - 1));
	assert_int_equal(outq_spool(&f->r, &f->q, fd, sizeof text - 1, &tg, NULL), 0);
	size_t n = drain(f->p[0], buf, sizeof buf);
	buf[n] = '\0';
	assert_string_equal(buf, "[t] one\n[t] two\n[t] three-no-newline\n");
}

static void reader_gone_breaks_queue(void **state)
{
	struct fix *f = *state;

	close(f->p[0]);
	f->p[0] = open("/dev/null", O_RDONLY | O_CLOEXEC); /* for teardown */
	outq_bytes(&f->r, &f->q, "x\n", 2);
	assert_true(f->q.broken);
	assert_int_equal(f->q.err, EPIPE);
	assert_int_equal(outq_bytes(&f->r, &f->q, "y\n", 2), -1);
}

static void status_line_erased_before_output(void **state)
{
	struct fix *f = *state;
	char buf[256];

	outq_status(&f->r, &f->q, "3 running", 9);
	assert_true(f->q.status_drawn);
	assert_int_equal(outq_bytes(&f->r, &f->q, "line\n", 5), 0);
	size_t n = drain(f->p[0], buf, sizeof buf);
	buf[n] = '\0';
	assert_string_equal(buf, "\r\033[K3 running\r\033[Kline\n");
	assert_false(f->q.status_drawn);
}

/* --- lines.c --- */

static const char *run_lines(struct line *l, const char *in, bool eof)
{
	static struct bbuf out;

	out.len = 0;
	assert_int_equal(lines_tag(l, "[a] ", 4, "[a]+ ", 5, in, strlen(in), &out), 0);
	if (eof)
		assert_int_equal(lines_flush(l, "[a] ", 4, "[a]+ ", 5, &out), 0);
	assert_int_equal(bbuf_put(&out, "", 1), 0);
	return out.p;
}

static void lines_whole_and_across_chunks(void **state)
{
	struct line l = { 0 };

	(void)state;
	assert_string_equal(run_lines(&l, "x\ny\n", false), "[a] x\n[a] y\n");
	assert_string_equal(run_lines(&l, "par", false), "");
	assert_string_equal(run_lines(&l, "tial\nnext", false), "[a] partial\n");
	assert_string_equal(run_lines(&l, "", true), "[a] next\n"); /* EOF adds the newline */
	line_free(&l);
}

static void lines_long_line_in_pieces(void **state)
{
	struct line l = { 0 };
	char *in = malloc(LINE_MAX_BYTES * 2 + 10);

	(void)state;
	memset(in, 'z', LINE_MAX_BYTES * 2 + 8);
	in[LINE_MAX_BYTES * 2 + 8] = '\n';
	in[LINE_MAX_BYTES * 2 + 9] = '\0';
	const char *out = run_lines(&l, in, true);
	/* two full pieces, then the rest, each on its own tagged line */
	assert_memory_equal(out, "[a] ", 4);
	assert_int_equal(out[4 + LINE_MAX_BYTES], '\n');
	assert_memory_equal(out + 5 + LINE_MAX_BYTES, "[a]+ ", 5);
	const char *third = out + 5 + LINE_MAX_BYTES + 5 + LINE_MAX_BYTES + 1;
	assert_string_equal(third, "[a]+ zzzzzzzz\n");
	line_free(&l);
	free(in);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* as grpx_run() does: EPIPE, not a signal */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(reopened_pipe_is_private_and_nonblocking, setup, teardown),
		cmocka_unit_test_setup_teardown(full_pipe_never_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(producers_pause_and_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(spool_range_byte_exact, setup, teardown),
		cmocka_unit_test_setup_teardown(tagged_spool, setup, teardown),
		cmocka_unit_test_setup_teardown(reader_gone_breaks_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(status_line_erased_before_output, setup, teardown),
		cmocka_unit_test(lines_whole_and_across_chunks),
		cmocka_unit_test(lines_long_line_in_pieces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
