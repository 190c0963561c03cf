/*
 * render.h - how the grpx command shows a run: task output in the chosen
 * output mode, the live progress line, the summary, the error line.
 */
#ifndef GRPX_RENDER_H
#define GRPX_RENDER_H

#include <stdio.h>

#include "grpx.h"

struct render {
	enum grpx_output mode;
	int tag;             /* --tag: grouped output tagged like prefix */
	int color_out;       /* colour the tags of lines on stdout */
	int color_err;       /* ... on stderr */
	int progress;        /* draw the progress line on stderr */
	FILE *events;        /* --events, or NULL; owned */
	/* prefix mode: the partial last line of each live stream */
	struct line {
		const struct grpx_node *n;
		int stream;
		int cont;    /* the last piece was cut: the next one continues it */
		size_t len;
		char *buf;
	} *lines;
	size_t nlines;
	/* progress */
	unsigned total, running, done, failed;
	double t_ms;         /* of the last event */
	int drawn;           /* the progress line is on the screen */
	int dirty;
};

/* Fill r for output mode `mode`; color and progress are 0, 1, or -1 (auto). */
void render_init(struct render *r, const struct grpx_job *job, enum grpx_output mode, int tag,
		 int color, int progress);
void render_free(struct render *r);
/* Callbacks for struct grpx_opts (ctx is the struct render). */
int render_emit(void *ctx, const struct grpx_node *n, int stream, int fd, off_t len);
int render_chunk(void *ctx, const struct grpx_node *n, int stream, const char *buf, size_t len);
void render_event(void *ctx, const struct grpx_event *e);
void render_tick(void *ctx);
/* errno of the first output write that failed (EPIPE: reader gone), or 0. */
int render_write_error(void);
/* After the run: clear the progress line, print the summary and errors. */
void render_end(struct render *r, const struct grpx_job *job, const struct grpx_run *run,
		int verbose);

#endif
