/*
 * render.h - how the grpx command shows a run: the tags of prefix lines,
 * the live progress line, the summary and the error line.  Formatting
 * only: the library queues and writes everything, and never blocks.
 */
#ifndef GRPX_RENDER_H
#define GRPX_RENDER_H

#include "grpx.h"

struct render {
	const struct grpx_job *job;
	int color_out;       /* colour the tags of lines on stdout */
	int color_err;       /* ... on stderr */
	int progress;        /* draw the progress line on stderr */
	int verbose;         /* -v: the per-task summary even off a terminal */
	unsigned total, running, done, failed;
	int said_signal;     /* the summary said "interrupted by" this signal */
	double start_ms;
};

/* Fill r; color and progress are 0, 1, or -1 (auto). */
void render_init(struct render *r, const struct grpx_job *job, enum grpx_output mode, int color,
		 int progress, int verbose);
/* Callbacks for struct grpx_opts (ctx is the struct render). */
size_t render_tag(void *ctx, const struct grpx_node *n, int stream, int cont, char *buf,
		  size_t len);
void render_event(void *ctx, const struct grpx_event *e);
size_t render_status(void *ctx, char *buf, size_t len);
/* "grpx: interrupted by SIGNAME" on f. */
void render_signal(FILE *f, int sig);
/* The summary and the error line, queued on stderr when the run ends. */
void render_finish(void *ctx, struct grpx_run *run);

#endif
