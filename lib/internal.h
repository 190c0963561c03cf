/*
 * internal.h - what the files of lib/ share and nobody else sees.
 *
 * A job is a tree of struct grpx_node.  The loader fills the "job model"
 * part of each node and never touches it again; the engine owns the "run
 * state" part.  A node's own settings are stored as written: inherited
 * values (shell, env, cwd, grace, runner) are resolved by walking up the
 * parents when a task starts.
 */
#ifndef GRPX_INTERNAL_H
#define GRPX_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "grpx.h"

enum node_kind { NODE_TASK, NODE_GROUP };

enum at_kind { AT_NONE, AT_ABS, AT_CLOCK };

/* A node's `at:` moment. */
struct at_spec {
	uint8_t kind;  /* enum at_kind */
	int64_t value; /* AT_ABS: ms since the epoch; AT_CLOCK: ms after local midnight */
};

struct backoff {
	int64_t initial_ms; /* -1: no backoff (no wait between attempts) */
	int64_t max_ms;     /* -1: no cap */
	double factor;      /* >= 1; default 2 */
	bool jitter;
};

/* One attempt of a retrying node, for the report's attempt_log. */
struct attempt {
	int exit_code; /* -1: none (signalled, or never started) */
	int signal;    /* 0: none */
	uint8_t status;
	double start_ms, end_ms;
};

/* A deadline in the run's heap; embedded in its node. */
struct timer {
	int64_t at;   /* CLOCK_MONOTONIC, ms */
	int32_t slot; /* index in the heap, -1 when not armed */
};

/* Why a node was canceled or skipped. */
enum reason {
	WHY_NONE,
	WHY_FAILED,      /* `cause` failed */
	WHY_WON,         /* race won by `cause` */
	WHY_DONE,        /* `cause` (the group) had what it needed */
	WHY_INTERRUPTED, /* a signal, or our stdout went away */
	WHY_TIMEOUT      /* the run's own timeout */
};

struct grpx_node {
	/* --- job model: filled by the loader --- */
	struct grpx_node *parent;  /* NULL for the root */
	struct grpx_node **kids;   /* owned array of owned nodes */
	uint32_t nkids;
	uint32_t index;            /* position among its siblings, from 0 */
	uint32_t seq;              /* preorder number, root 0 */
	uint32_t depth;            /* root 0 */
	char *name;                /* owned; given, or the 1-based position */
	char *path;                /* owned; names joined by '/', "" for the root */
	uint8_t kind;              /* enum node_kind */
	uint8_t mode;              /* enum grpx_mode, groups only */
	int8_t on_error;           /* enum grpx_on_error, -1: the mode's default */
	bool stdin_inherit;        /* stdin: inherit */
	char *run;                 /* owned; a task's command, or NULL */
	char **argv;               /* owned, NULL-terminated; or NULL */
	char **shell;              /* owned own `shell:`, NULL-terminated; NULL: inherit */
	char **env;                /* owned own "KEY=VALUE" list, NULL-terminated; or NULL */
	char *cwd;                 /* owned own `cwd:` as written; NULL: inherit */
	char **slurm_args;         /* owned own runner args, NULL-terminated */
	int8_t runner;             /* -1: inherit, 0: local, 1: slurm */
	int64_t timeout_ms;        /* -1: none; never inherited */
	int64_t grace_ms;          /* -1: inherit */
	int64_t stagger_ms;        /* -1: none */
	int64_t delay_ms;          /* -1: none */
	struct at_spec at;
	uint32_t limit;            /* 0: none (sized: CPU count, resolved at run) */
	uint32_t count;            /* take/last; 0 elsewhere */
	int64_t attempts;          /* -1: not given (task: 1, retry group: 3); 0: unbounded */
	struct backoff backoff;
	int *retry_on;             /* owned; NULL: retry on any failure */
	uint32_t nretry_on;
	int line, col;             /* where it was declared, from 1 */

	/* --- run state: owned by the engine --- */
	uint8_t status;            /* enum grpx_status */
	uint8_t state;             /* enum task_state / group bookkeeping */
	uint8_t why;               /* enum reason */
	bool selected_skip;        /* excluded by grpx_opts.paths */
	bool retrying;             /* this node repeats: attempts != 1 or mode retry */
	bool held;                 /* stdout is held by a selecting ancestor */
	bool verdict;              /* a group has decided its status */
	bool draining;             /* on_error drain: start nothing new */
	bool queued;               /* waits for a --jobs slot */
	bool kill_sent;            /* SIGKILL already sent to its process group */
	bool reaped;               /* main process reaped */
	struct grpx_node *cause;   /* the node `why` names */
	pid_t pid;                 /* -1 once reaped or never started */
	pid_t pgid;                /* its process group while it may have members, else -1 */
	int out_fd, err_fd;        /* spool or pipe read ends we own, -1 */
	int in_fd;                 /* stdin handed in (waterfall), borrowed, -1 */
	int exit_code;             /* -1: none */
	int signal;                /* 0: none */
	uint32_t attempt;          /* 1-based, current or last attempt */
	double start_ms, end_ms;   /* since the run started; -1 if never */
	int64_t stdout_bytes, stderr_bytes;
	struct attempt *log;       /* owned; attempts of a retrying node */
	uint32_t nlog, caplog;
	struct timer tm[2];        /* 0: deadline (timeout, grace); 1: wake (delay, backoff, stagger) */
	uint64_t err_seq;          /* arrival stamp of its failure */
	/* group counters */
	uint32_t next;             /* next child to consider starting */
	uint32_t running;          /* children started and not ended */
	uint32_t ended;            /* children ended (skipped ones included) */
	uint32_t nok, nbad;        /* children ended ok / failed, timeout or error */
	uint32_t emitted;          /* all: children whose output went up */
	int64_t started_at;        /* monotonic ms of the group's start */
	/* intrusive lists, see engine.c */
	struct grpx_node *res_head, *res_tail, *res_next; /* stdout spools held */
	struct grpx_node *err_head, *err_tail, *err_next; /* causes of failure */
	struct grpx_node *q_next;  /* --jobs queue, draining list, ended list */
};

struct grpx_job {
	char *file;                /* owned; as given to grpx_load() */
	struct grpx_node *root;    /* owned; errgroup limit 1 of the top-level groups */
	uint32_t nnodes;           /* in the whole tree, root included */
};

/* load.c */
void node_free(struct grpx_node *n);
int diag_add(struct grpx_diags *d, const char *file, int line, int col,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* util.c */
void *xcalloc(size_t n, size_t size); /* NULL on failure, like calloc */
char *xstrdup(const char *s);
int64_t mono_ms(void);
double mono_ms_f(void);
const char *mode_name(int mode);

#endif
