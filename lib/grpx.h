/*
 * grpx.h - run shell commands as groups under Go-style concurrency policies.
 *
 * The only header cmd/ includes.  The library loads a job file into a tree of
 * nodes, runs it with one event loop, and reports.  It never prints on its own
 * and never exits: task output goes to the fds named in struct grpx_opts
 * through queues that never block, errors come back as values.
 */
#ifndef GRPX_H
#define GRPX_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <signal.h>
#include <sys/types.h>

#include "grpx_version.h" /* GRPX_VERSION, from CMakeLists.txt */

struct grpx_job;  /* a loaded, validated job file */
struct grpx_node; /* a task or a group of a job */
struct grpx_run;  /* one execution of a job */
struct grpx_resume; /* what a journal or a report says ended ok (--resume) */

enum grpx_mode {
	GRPX_ERRGROUP,
	GRPX_SIZED,
	GRPX_ALL,
	GRPX_RACE,
	GRPX_TAKE,
	GRPX_LAST,
	GRPX_RETRY,
	GRPX_WATERFALL,
	GRPX_SCHEDULE,
	GRPX_NMODES
};

/* The end state of a node; GRPX_PENDING and GRPX_RUNNING only while it runs. */
enum grpx_status {
	GRPX_PENDING,
	GRPX_RUNNING,
	GRPX_OK,
	GRPX_FAILED,
	GRPX_TIMEOUT,
	GRPX_CANCELED,
	GRPX_SKIPPED,
	GRPX_ERROR
};

/* How the whole run ended. */
enum grpx_outcome {
	GRPX_RUN_OK,
	GRPX_RUN_FAILED,
	GRPX_RUN_TIMEOUT,     /* the run's own timeout expired */
	GRPX_RUN_INTERRUPTED  /* a signal; see grpx_run_signal() */
};

/* Where task output goes (SPEC section 5). */
enum grpx_output {
	GRPX_OUT_GROUPED, /* spooled, emitted whole when a task ends */
	GRPX_OUT_PREFIX,  /* line by line as produced, each line tagged */
	GRPX_OUT_RAW,     /* tasks write to our fds 1 and 2 directly */
	GRPX_OUT_QUIET    /* spooled (sizes are still reported), never emitted */
};

/* One problem found in a job file; line and col count from 1. */
struct grpx_diag {
	char *file; /* owned */
	int line, col;
	char *msg;  /* owned */
};

/* Every problem of one load, in file order.  Free with grpx_diags_free(). */
struct grpx_diags {
	struct grpx_diag *v;
	size_t n, cap;
};

void grpx_diags_free(struct grpx_diags *d);

/*
 * Load and validate a job file.  Returns 0 and sets *jobp, or returns -1
 * with every problem appended to d (nothing is half-loaded).  grpx_load_mem()
 * parses a buffer and names it `name` in diagnostics.
 */
int grpx_load(const char *path, struct grpx_job **jobp, struct grpx_diags *d);
int grpx_load_mem(const char *name, const char *buf, size_t len,
		  struct grpx_job **jobp, struct grpx_diags *d);
void grpx_job_free(struct grpx_job *job);

/* Options of an ad-hoc group (`grpx MODE ...`); -1 / 0 mean "not given". */
struct grpx_adhoc {
	enum grpx_mode mode;
	long limit, count, attempts; /* -1: not given */
	int64_t initial_ms, max_ms;  /* backoff, -1: none */
	double factor;               /* 0: default */
	int *retry_on;               /* borrowed */
	size_t nretry_on;
	int on_error;                /* -1 or an enum value of grpx_on_error */
	int64_t stagger_ms, delay_ms; /* -1: not given */
	/* settings of every task: --task-timeout, --shell, --cwd, --env */
	int64_t task_timeout_ms;     /* -1: none */
	const char *shell, *cwd;     /* borrowed; NULL: not given */
	char *const *env;            /* borrowed "K=V" list, NULL-terminated; or NULL */
	/*
	 * SPEC section 7.1.  With `tpl`, every task is the template expanded
	 * with one combination of the sources (the first varying slowest);
	 * without it, every record read from in_fd is a command.  Sources are
	 * lists of values (`:::`, `::::`), except source `stream`, which is
	 * read from in_fd as the run goes: the first task starts as soon as
	 * its input is read.  Records end with a newline, or a NUL with `nul`.
	 */
	const char *tpl;             /* borrowed; NULL: no template */
	char *const *const *src;     /* borrowed; nsrc NULL-terminated lists (src[stream] unused) */
	size_t nsrc;
	int stream;                  /* with read_input: the source read from in_fd */
	int read_input;              /* 0: nothing is read as the run goes */
	int in_fd;                   /* with read_input: the fd (stdin is 0) */
	int nul;
	int stdin_stage;             /* waterfall: grpx's stdin is the first stage's */
};

enum grpx_on_error { GRPX_ON_CANCEL, GRPX_ON_DRAIN, GRPX_ON_CONTINUE };

/* Build a one-group job from commands (and the inputs of a->tpl or a->in_fd,
 * made into tasks as the run goes); the strings are copied. */
int grpx_job_adhoc(const struct grpx_adhoc *a, char *const *cmds, size_t n,
		   struct grpx_job **jobp, char *err, size_t errlen);

/* Does cmd hold one of GNU parallel's replacement strings for nsrc
 * positional sources ({}, {.}, {1}, {#}, ...)?  (Then `grpx MODE cmd`
 * is a template that reads its inputs from stdin.) */
int grpx_template_has_rs(const char *cmd, size_t nsrc);

/* The node at `path` ("" is the root), or NULL. */
struct grpx_node *grpx_job_find(struct grpx_job *job, const char *path);

/* Print the tree with modes, limits and timings (`grpx plan`). */
void grpx_job_plan(const struct grpx_job *job, FILE *f);
/* Print every node's path, one a line, in file order (`grpx plan --paths`):
 * what `grpx run FILE PATH...` accepts; shell completions read it. */
void grpx_job_paths(const struct grpx_job *job, FILE *f);

/* Read-only views of a node. */
const char *grpx_node_path(const struct grpx_node *n);
enum grpx_status grpx_node_status(const struct grpx_node *n);
const char *grpx_status_name(enum grpx_status s);
/* Everything the command shows of a node after a run. */
struct grpx_node_info {
	const char *path, *name;
	int is_task;
	enum grpx_status status;
	int exit_code;       /* -1: none */
	int signal;          /* 0: none */
	unsigned attempts;
	double start_ms, end_ms; /* -1: never */
	long long stdout_bytes, stderr_bytes;
	size_t nkids;
	int resumed;         /* ok without running: it ended ok before (--resume) */
	int fed;             /* a group still making children from input: nkids grows */
};
void grpx_node_info(const struct grpx_node *n, struct grpx_node_info *info);
const struct grpx_node *grpx_node_kid(const struct grpx_node *n, size_t i);
const struct grpx_node *grpx_job_root(const struct grpx_job *job);
/* Why a canceled or skipped node stopped ("checks/lint failed"), or NULL. */
const char *grpx_node_reason(const struct grpx_node *n, char *buf, size_t len);
const char *grpx_mode_name(enum grpx_mode m);
int grpx_mode_parse(const char *s); /* -1 when unknown */

#define GRPX_STDOUT 1
#define GRPX_STDERR 2

/* What happened to a node, live (--events, progress, trace). */
enum grpx_event_kind {
	GRPX_EV_START,  /* a task attempt or a group started */
	GRPX_EV_EXIT,   /* a task attempt ended */
	GRPX_EV_RETRY,  /* a node will try again after delay_ms */
	GRPX_EV_CANCEL, /* grpx began to cancel a running node */
	GRPX_EV_SELECT, /* a group chose a child's output */
	GRPX_EV_END     /* a node ended with its final status */
};

struct grpx_event {
	enum grpx_event_kind kind;
	const struct grpx_node *node;
	const struct grpx_node *group; /* SELECT: the group that chose */
	double t_ms;           /* since the run started */
	unsigned attempt;
	int pid;               /* START of a task */
	int exit_code;         /* EXIT: -1 when none */
	int signal;            /* EXIT: 0 when none */
	enum grpx_status status; /* EXIT, END */
	double delay_ms;       /* RETRY */
	const char *reason;    /* CANCEL, END of a canceled or skipped node */
};

/* A third output stream beside GRPX_STDOUT and GRPX_STDERR: --events. */
#define GRPX_EVENTS 3

struct grpx_opts {
	long jobs;            /* most tasks running at once in the run; 0: no cap */
	int64_t timeout_ms;   /* overrides the job's top-level timeout; -1: keep */
	int64_t grace_ms;     /* overrides the job's top-level grace; -1: keep */
	enum grpx_output output;
	const char *const *paths; /* run only these nodes (by path), in file order */
	size_t npaths;
	/*
	 * Where output goes: fds the caller owns and keeps open for the run;
	 * 0 means grpx's own 1 and 2.  events_fd: NDJSON events (--events), -1
	 * for none; it may equal stderr_fd, and then the events share its queue.
	 * The run never blocks on any of them: what a reader cannot take yet
	 * waits in a bounded queue, and past that the tasks are paused.
	 */
	int stdout_fd, stderr_fd, events_fd;
	/* Heap bytes queued per output stream before task pipes pause; 0: 1 MiB. */
	size_t out_buffer;
	void *ctx;            /* passed to the callbacks */
	/*
	 * tag: write the "[path] " put before a line of n's `stream` (cont: a
	 * continuation piece of a long line) into buf; return its length (the
	 * whole length even when it did not fit, as snprintf does).  Pure.  NULL:
	 * prefix and --tag lines get no tag.
	 */
	size_t (*tag)(void *ctx, const struct grpx_node *n, int stream, int cont, char *buf,
		      size_t len);
	/* tag_grouped: tag grouped output as prefix output (--tag). */
	int tag_grouped;
	/* event: called as things happen; pure bookkeeping (it must not write). */
	void (*event)(void *ctx, const struct grpx_event *e);
	/*
	 * status: the progress line to show now at the bottom of stderr, written
	 * into buf (no newline); return its length, 0 for none.  Called about
	 * every tick_ms while stderr's queue is idle; the line is erased before
	 * anything else is written to stderr, and at the end.
	 */
	size_t (*status)(void *ctx, char *buf, size_t len);
	int64_t tick_ms;
	/*
	 * finish: the root has ended and the outcome is known (grpx_run_*
	 * accessors answer): the last moment to add text to the output queues
	 * with grpx_run_write() (the summary).  The run then waits for the
	 * queues to drain before grpx_run() returns.
	 */
	void (*finish)(void *ctx, struct grpx_run *r);
	/* Keep up to this many bytes of each task's stdout and stderr for
	 * grpx_report_junit(); 0 keeps nothing. */
	int64_t capture_bytes;
	/* Remember every task attempt for grpx_report_trace(), also those
	 * a retry group re-runs; off, the trace shows each task's last. */
	int record_attempts;
	/* --journal: a descriptor from grpx_journal_open() that the caller
	 * owns; a line goes to it as each node ends.  0: no journal. */
	int journal_fd;
	/* --resume: nodes that ended ok there are not run.  NULL: none. */
	const struct grpx_resume *resume;
};

/*
 * The signals a run handles (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, ...,
 * SIGCHLD, SIGTSTP, SIGCONT), minus those ignored when the process started:
 * block them before loading a job so that one that comes meanwhile is acted
 * on when the run starts.
 */
void grpx_signals(sigset_t *set);

/*
 * Run a job.  Returns 0 with *runp set (whatever the outcome), or -1 with
 * errno set when the run could not be set up at all.
 *
 * What a run changes in the process, all of it restored before it returns:
 * the signals of grpx_signals() and SIGTTOU are blocked (taken through a
 * signalfd), SIGPIPE is ignored and SIGCHLD set to its default (an
 * inherited SIG_IGN would have the kernel reap the tasks), and the process
 * is a child subreaper.  It forks one helper, the keeper (it kills the
 * tasks if this process dies), and reaps it before returning.  It reaps
 * its own children only, and the end-of-run sweep never signals a child
 * the process had before the run.  It does not touch the caller's
 * descriptors (the caller makes its own close-on-exec, as cmd/grpx.c does:
 * the tasks inherit fds 0, 1 and 2 only when the caller's others are) nor
 * its resource limits: a task that cannot start for lack of descriptors
 * or processes waits until others free them.
 */
int grpx_run(struct grpx_job *job, const struct grpx_opts *o,
	     struct grpx_run **runp);
/* Queue text for GRPX_STDOUT, GRPX_STDERR or GRPX_EVENTS; never blocks.
 * Only from a callback (finish); returns 0, or -1 when that stream is gone. */
int grpx_run_write(struct grpx_run *r, int stream, const char *buf, size_t len);
enum grpx_outcome grpx_run_outcome(const struct grpx_run *r);
int grpx_run_signal(const struct grpx_run *r); /* 0 unless interrupted */
/* Why an ad-hoc group could not run with the input it read (a mode that
 * needs a command got none, --count above the commands, ...): a usage
 * error, nothing ran; NULL when there is none. */
const char *grpx_run_input_error(const struct grpx_run *r);
/* How many tasks an ad-hoc group's input (a->tpl, a->in_fd) made. */
uint64_t grpx_run_inputs(const struct grpx_run *r);
/* errno of the first failed write to GRPX_STDOUT, GRPX_STDERR or
 * GRPX_EVENTS (EPIPE: the reader went away), or 0. */
int grpx_run_stream_error(const struct grpx_run *r, int stream);
int grpx_run_exit_code(const struct grpx_run *r); /* as a shell shows it */
/* With -x: the one cause's own status, else grpx_run_exit_code(). */
int grpx_run_cause_code(const struct grpx_run *r);
/* The status the caller will exit with, when it is not grpx_run_exit_code()
 * (-x, a file that could not be written): the JSON report's exit_code. */
void grpx_run_set_exit_code(struct grpx_run *r, int code);
size_t grpx_run_nerrors(const struct grpx_run *r);
/* The i-th cause in arrival order; *msg is owned by the run. */
const char *grpx_run_error(const struct grpx_run *r, size_t i,
			   const char **msg);
/*
 * The run's files, each written whole when the run has ended: atomically
 * (temp file + rename) when `path` is a regular file or does not exist,
 * through grpx's own descriptor when it names its stdout or stderr, and in
 * place otherwise (a FIFO, a device; a symlink is followed).  0, or -1
 * with errno.  The JSON report (SPEC section 6):
 */
int grpx_report_json(const struct grpx_run *r, const char *path);
/* JUnit XML: a testsuite per group, a testcase per task. */
int grpx_report_junit(const struct grpx_run *r, const char *path);
/* Chrome Trace Event JSON: one complete event per task attempt. */
int grpx_report_trace(const struct grpx_run *r, const char *path);
void grpx_run_free(struct grpx_run *r);

/*
 * Journal and resume (SPEC section 8).  grpx_journal_open() opens FILE to
 * append to (created 0666 & ~umask, never truncated); anything but a
 * regular file is refused, since a write to it could block the run.
 * Returns the fd, or -1 with a message in err.  A journal write that
 * fails fails the run (grpx_run_journal_error(): its errno, else 0) but
 * stops nothing.
 */
int grpx_journal_open(const char *path, char *err, size_t errlen);
int grpx_run_journal_error(const struct grpx_run *r);
/*
 * Read FILE, a journal or a JSON report (told apart by their content):
 * which paths ended ok, with which key.  0, or -1 with a message in err
 * ("FILE:LINE: ...", or "cannot read 'FILE': ..." with errno set).
 */
int grpx_resume_load(const char *path, struct grpx_resume **rsp, char *err, size_t errlen);
void grpx_resume_free(struct grpx_resume *rs);
/* Mark the nodes of job a run would resume from rs (NULL: none), for
 * grpx_job_plan(); returns how many tasks it resumes.  grpx_run() does
 * the same from its own opts. */
size_t grpx_job_resume(struct grpx_job *job, const struct grpx_resume *rs);

/* The longest duration grpx takes anywhere, 1000000h (about 114 years):
 * the engine keeps its deadlines in microseconds, in an int64. */
#define GRPX_DURATION_MAX_MS (1000000LL * 3600 * 1000)

/* "INT" for SIGINT (sigabbrev_np() without glibc 2.32); NULL when unknown. */
const char *grpx_signal_name(int sig);

/* Durations: "250ms", "2s", "1.5m", "1h30m", or bare seconds. */
int grpx_parse_duration(const char *s, int64_t *ms);
/* "2s", "1.5s", "1m30s", "250ms": as people write them, exact (parses back). */
void grpx_format_duration(int64_t ms, char *buf, size_t len);

#endif
