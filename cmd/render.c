/*
 * render.c - the words and colours of the grpx command: tags, the progress
 * line, the summary table and the error line.  Pure formatting: the
 * library decides when they are written, and writes them without blocking.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "render.h"

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Tasks under n; *more: a group under it makes more from input. */
static unsigned count_tasks(const struct grpx_node *n, bool *more)
{
	struct grpx_node_info i;
	unsigned c = 0;

	grpx_node_info(n, &i);
	if (i.is_task)
		return 1;
	*more |= i.fed != 0;
	for (size_t k = 0; k < i.nkids; k++)
		c += count_tasks(grpx_node_kid(n, k), more);
	return c;
}

void render_init(struct render *r, const struct grpx_job *job, enum grpx_output mode, int color,
		 int progress, int verbose)
{
	int no_color = getenv("NO_COLOR") && *getenv("NO_COLOR");

	*r = (struct render){ .job = job, .verbose = verbose };
	r->color_out = color == 1 || (color < 0 && !no_color && isatty(STDOUT_FILENO));
	r->color_err = color == 1 || (color < 0 && !no_color && isatty(STDERR_FILENO));
	/* under raw, tasks own the terminal: a progress line would glue
	 * itself to their lines and erase their prompts */
	r->progress = mode != GRPX_OUT_RAW &&
		      (progress == 1 || (progress < 0 && isatty(STDERR_FILENO) &&
					 !(getenv("TERM") && !strcmp(getenv("TERM"), "dumb"))));
	r->start_ms = now_ms();
}

/* --- tags --- */

static int color_of(const struct grpx_node *n)
{
	unsigned h = 5381;

	for (const char *p = grpx_node_path(n); *p; p++)
		h = h * 33 + (unsigned char)*p;
	return 31 + (int)(h % 6);
}

size_t render_tag(void *ctx, const struct grpx_node *n, int stream, int cont, char *buf,
		  size_t len)
{
	struct render *r = ctx;
	int color = stream == GRPX_STDOUT ? r->color_out : r->color_err;
	int k = color ? snprintf(buf, len, "\033[%dm[%s]%s\033[0m ", color_of(n), grpx_node_path(n),
				 cont ? "+" : "")
		      : snprintf(buf, len, "[%s]%s ", grpx_node_path(n), cont ? "+" : "");

	return k < 0 ? 0 : (size_t)k;
}

/* --- progress --- */

void render_event(void *ctx, const struct grpx_event *e)
{
	struct render *r = ctx;
	struct grpx_node_info i;

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
}

static void fmt_secs(double ms, char *buf, size_t len)
{
	if (ms < 60000)
		snprintf(buf, len, "%.1fs", ms / 1e3);
	else
		snprintf(buf, len, "%dm%02ds", (int)(ms / 60000), (int)(ms / 1000) % 60);
}

/* The terminal's width, or 80. */
static size_t columns(void)
{
	struct winsize ws;

	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

size_t render_status(void *ctx, char *buf, size_t len)
{
	struct render *r = ctx;
	char el[32], eta[48] = "";
	double elapsed = now_ms() - r->start_ms;

	/* an ad-hoc group makes its tasks from input as the run goes: count
	 * again, and say when more may come (then no ETA) */
	bool more = false;
	r->total = count_tasks(grpx_job_root(r->job), &more);
	fmt_secs(elapsed, el, sizeof el);
	if (r->done > 0 && r->done < r->total && !more) {
		char e[32];
		fmt_secs(elapsed / r->done * (r->total - r->done), e, sizeof e);
		snprintf(eta, sizeof eta, "  ETA %s", e);
	}
	int n = snprintf(buf, len, "grpx: %u running, %u/%u%s done, %u failed  %s%s", r->running,
			 r->done, r->total, more ? "+" : "", r->failed, el, eta);
	size_t k = n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
	/* never as wide as the terminal: a wrapped line leaves a copy behind */
	size_t cols = columns();
	return k < cols ? k : cols - 1;
}

/* --- the end --- */

static void fmt_ms(double ms, char *buf, size_t len)
{
	if (ms < 1000)
		snprintf(buf, len, "%.0fms", ms);
	else
		fmt_secs(ms, buf, len);
}

static void summary_row(FILE *f, const struct grpx_node *n, int color)
{
	struct grpx_node_info i;
	char dur[32], why[8192], code[32] = "-";
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
	const char *reason = i.resumed ? "resumed" : grpx_node_reason(n, why, sizeof why);
	const char *on = color && i.status < sizeof paint / sizeof paint[0] && paint[i.status] ? paint[i.status] : "";
	fprintf(f, "  %-28s %s%-9s%s %-10s %5u %8s%s%s\n", i.path, on, grpx_status_name(i.status),
		*on ? "\033[0m" : "", code, i.attempts, dur, reason ? "  " : "", reason ? reason : "");
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
static void summary_rest(FILE *f, const struct grpx_run *run, const struct grpx_node *n, int color)
{
	struct grpx_node_info i;

	grpx_node_info(n, &i);
	if (i.is_task) {
		if (!is_cause(run, n))
			summary_row(f, n, color);
		return;
	}
	for (size_t k = 0; k < i.nkids; k++)
		summary_rest(f, run, grpx_node_kid(n, k), color);
}

/* The task at path, searched from n (the causes are few). */
static const struct grpx_node *find(const struct grpx_node *n, const char *path)
{
	struct grpx_node_info i;

	grpx_node_info(n, &i);
	if (!strcmp(i.path, path))
		return n;
	for (size_t k = 0; k < i.nkids; k++) {
		const struct grpx_node *m = find(grpx_node_kid(n, k), path);
		if (m)
			return m;
	}
	return NULL;
}

void render_signal(FILE *f, int sig)
{
	fprintf(f, "grpx: interrupted by SIG%s\n", grpx_signal_name(sig) ? grpx_signal_name(sig) : "?");
}

void render_finish(void *ctx, struct grpx_run *run)
{
	struct render *r = ctx;
	size_t nerr = grpx_run_nerrors(run), len = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	if (r->verbose || isatty(STDERR_FILENO)) {
		fprintf(f, "  %-28s %-9s %-10s %5s %8s\n", "TASK", "STATUS", "EXIT", "TRIES", "TIME");
		for (size_t i = 0; i < nerr; i++) { /* root causes first */
			const char *msg;
			const struct grpx_node *n = find(grpx_job_root(r->job), grpx_run_error(run, i, &msg));
			struct grpx_node_info info;
			if (n && (grpx_node_info(n, &info), info.is_task))
				summary_row(f, n, r->color_err);
		}
		summary_rest(f, run, grpx_job_root(r->job), r->color_err);
	}
	if (grpx_run_outcome(run) != GRPX_RUN_OK && nerr) {
		fprintf(f, "grpx: %zu error%s: ", nerr, nerr == 1 ? "" : "s");
		for (size_t i = 0; i < nerr; i++) {
			const char *msg, *path = grpx_run_error(run, i, &msg);
			fprintf(f, "%s%s%s%s", i ? "; " : "", path, *path ? ": " : "", msg);
		}
		fputc('\n', f);
	}
	int sig = grpx_run_signal(run);
	if (sig && sig != SIGPIPE) {
		render_signal(f, sig);
		r->said_signal = sig;
	}
	if (fclose(f) == 0)
		grpx_run_write(run, GRPX_STDERR, buf, len);
	free(buf);
}
