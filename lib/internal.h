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

/* Why a node was canceled or skipped. */
enum reason {
	WHY_NONE,
	WHY_FAILED,      /* `cause` failed */
	WHY_WON,         /* race won by `cause` */
	WHY_DONE,        /* `cause` (the group) had what it needed */
	WHY_INTERRUPTED, /* a signal, or our stdout went away */
	WHY_TIMEOUT      /* the run's own timeout */
};

/* A FIFO of waiting tasks, linked through jq_prev/jq_next (engine.c). */
struct queue {
	struct grpx_node *head, *tail;
};

/*
 * Settings few nodes have, kept apart so that a task of a 100 000-task job
 * stays small: every node points at the shared opts_default until the
 * loader writes one of them (node_opts()).
 */
struct node_opts {
	char **shell;              /* owned, NULL-terminated; NULL: inherit */
	char **env;                /* owned "KEY=VALUE" list, NULL-terminated; or NULL */
	char *cwd;                 /* owned, as written; NULL: inherit */
	char **slurm_args;         /* owned runner args, NULL-terminated; or NULL */
	int64_t grace_ms;          /* -1: inherit */
	int64_t stagger_ms;        /* -1: none */
	int64_t delay_ms;          /* -1: none */
	struct at_spec at;
	struct backoff backoff;
	int *retry_on;             /* owned; NULL: retry on any failure */
	uint32_t nretry_on;
};

extern const struct node_opts opts_default;

/* What only a group has: its settings, and the engine's counters. */
struct group {
	uint32_t limit;            /* 0: none (sized: CPU count, resolved at run) */
	uint32_t count;            /* take/last; 0 elsewhere */
	uint32_t next;             /* next child to consider starting */
	uint32_t running;          /* children started and not ended */
	uint32_t ended;            /* children ended (skipped ones included) */
	uint32_t nok, nbad;        /* children ended ok / failed, timeout or error */
	uint32_t emitted;          /* all: children whose output went up */
	uint32_t npicked;          /* picks so far */
	int64_t started_at;        /* run_now() when the group started */
	struct grpx_node *rq_head, *rq_tail; /* schedule: children whose time came; picks */
};

struct grpx_node {
	/* --- job model: filled by the loader --- */
	struct grpx_node *parent;  /* NULL for the root */
	struct grpx_node **kids;   /* owned array of owned nodes */
	uint32_t nkids;
	uint32_t index;            /* position among its siblings, from 0 */
	uint32_t seq;              /* preorder number, root 0 */
	uint32_t depth;            /* root 0 */
	char *path;                /* owned; names joined by '/', "" for the root */
	const char *name;          /* not owned: the tail of path; given, or the 1-based position */
	char *run;                 /* owned; a task's command, or NULL */
	char **argv;               /* owned, NULL-terminated; or NULL */
	const struct node_opts *opt; /* owned unless &opts_default */
	struct group *grp;         /* owned; groups only, NULL for tasks */
	int64_t timeout_ms;        /* -1: none; never inherited */
	int32_t attempts;          /* -1: not given (task: 1, retry group: 3); 0: unbounded */
	int line, col;             /* where it was declared, from 1 */
	uint8_t kind;              /* enum node_kind */
	uint8_t mode;              /* enum grpx_mode, groups only */
	int8_t on_error;           /* enum grpx_on_error, -1: the mode's default */
	int8_t runner;             /* -1: inherit, 0: local, 1: slurm */
	bool stdin_inherit;        /* stdin: inherit */

	/* --- run state: owned by the engine --- */
	uint8_t status;            /* enum grpx_status */
	uint8_t state;             /* enum task_state / group bookkeeping */
	uint8_t why;               /* enum reason */
	uint8_t jq;                /* the run's queue it waits in (engine.h), or 0 */
	bool selected_skip;        /* excluded by grpx_opts.paths */
	bool retrying;             /* this node repeats: attempts != 1 or mode retry */
	bool held;                 /* stdout is held by a selecting ancestor */
	bool verdict;              /* a group has decided its status */
	bool draining;             /* on_error drain: start nothing new */
	bool kill_sent;            /* SIGKILL already sent to its process group */
	bool slurm_down;           /* this attempt's srun could not reach the controller */
	bool reaped;               /* main process reaped */
	bool counted;              /* counted in its group's `running` */
	bool out_pipe, err_pipe;   /* out_fd / err_fd are live pipes, not spools */
	uint32_t pick;             /* 1-based order in which its group selected it, 0: not */
	uint32_t attempt;          /* 1-based, current or last attempt */
	int errnum;                /* GRPX_ERROR: the errno that stopped it, or SLURM_ENOCTLD */
	pid_t pid;                 /* -1 once reaped or never started */
	pid_t pgid;                /* its process group while it may have members, else -1 */
	int out_fd, err_fd;        /* spool or pipe read ends we own, -1 */
	int in_fd;                 /* spool a waterfall handed it as stdin; owned, closed when it ends */
	int exit_code;             /* -1: none */
	int signal;                /* 0: none */
	uint64_t err_seq;          /* arrival stamp of its failure */
	struct grpx_node *cause;   /* the node `why` names */
	struct grpx_node *up;      /* the group that runs it (parent, or the root for PATH runs) */
	double start_ms, end_ms;   /* since the run started; -1 if never */
	int64_t stdout_bytes, stderr_bytes;
	int64_t cap_off;           /* --junit: where its output starts in the capture file */
	int32_t cap_out, cap_err;  /* and how many bytes of each were kept */
	struct attempt *log;       /* owned; attempts of a retrying node */
	uint32_t nlog, caplog;
	int32_t slot[2];           /* its timers' places in the run's heap, -1: not armed;
				      0: deadline (timeout, grace), 1: wake (delay, backoff, stagger) */
	/* intrusive lists, see engine.c */
	struct grpx_node *res_head, *res_tail, *res_next; /* stdout spools held */
	struct grpx_node *err_head, *err_tail, *err_next; /* causes of failure */
	struct grpx_node *q_next;  /* draining list, ended list, ready list, picks */
	struct grpx_node *jq_prev, *jq_next; /* a waiting queue of the run */
};

struct grpx_job {
	char *file;                /* owned; as given to grpx_load() */
	struct grpx_node *root;    /* owned; errgroup limit 1 of the top-level groups */
	uint32_t nnodes;           /* in the whole tree, root included */
};

/* --- engine.c and the modes --- */

struct run;

/*
 * A mode is a policy over the engine: which child starts next, and what a
 * child's end means for the group.  The engine owns processes, timers,
 * limits and cancellation; a mode only calls the group_* helpers below.
 */
struct mode_ops {
	bool selects; /* holds its children's stdout until it selects */
	/* the group starts: arm what it needs (schedule times, stagger) */
	void (*begin)(struct run *r, struct grpx_node *g);
	/* the child to start now, or NULL; only called under the limit */
	struct grpx_node *(*next)(struct run *r, struct grpx_node *g);
	/* child c ended; its status is final */
	void (*ended)(struct run *r, struct grpx_node *g, struct grpx_node *c);
	/* g's wake timer fired (c NULL), or child c's own wake time came */
	void (*wake)(struct run *r, struct grpx_node *g, struct grpx_node *c);
};

extern const struct mode_ops mode_errgroup, mode_sized, mode_all, mode_race,
	mode_take, mode_last, mode_retry, mode_waterfall, mode_schedule;
const struct mode_ops *mode_ops_of(const struct grpx_node *g);
/* Pick c's output as one of g's results, in this order (take, last). */
void group_pick(struct run *r, struct grpx_node *g, struct grpx_node *c);
/* Release g's picked children's output in pick order. */
void group_offer_picks(struct run *r, struct grpx_node *g);
/* race, take: start-time hedging with `stagger` */
void stagger_begin(struct run *r, struct grpx_node *g);
struct grpx_node *stagger_next(struct run *r, struct grpx_node *g);
void stagger_wake(struct run *r, struct grpx_node *g, struct grpx_node *c);
void stagger_failed(struct run *r, struct grpx_node *g);

bool status_bad(int status); /* failed, timeout or error */
/* The next child in input order, or NULL. */
struct grpx_node *group_next_in_order(struct run *r, struct grpx_node *g);
/* Decide g's status: cancel its running children, skip the rest. */
void group_decide(struct run *r, struct grpx_node *g, int status, int why,
		  struct grpx_node *cause);
/* Count bad child c as one of g's errors (before the verdict only). */
void group_note_error(struct grpx_node *g, struct grpx_node *c);
/* Apply g's on_error to bad child c; `def` is the mode's default. */
void group_on_error(struct run *r, struct grpx_node *g, struct grpx_node *c,
		    int def);
/* Children that may still end ok: all not ended, or only the running ones
 * once on_error: drain has stopped new starts. */
uint32_t group_remaining(const struct grpx_node *g);
/* The rule of modes that need every child ok, once all have ended. */
void group_settle_all_ok(struct run *r, struct grpx_node *g);
/* Release c's held stdout from g: upward, or out of grpx at the top. */
void group_offer(struct run *r, struct grpx_node *g, struct grpx_node *c);
/* Drop c's held stdout (a loser's); to stderr when `show`. */
void group_discard(struct run *r, struct grpx_node *c, bool show);
/* Make the subtree of n new again, for another attempt. */
void node_reset(struct run *r, struct grpx_node *n);
/* mode_retry.c: log child c's attempt in retry group g. */
void retry_log(struct grpx_node *g, const struct grpx_node *c);
/* Append to n's attempt_log. */
int node_log(struct grpx_node *n, struct attempt a);
/* The wait before the attempt after `attempt`, from n's backoff. */
int64_t backoff_ms(const struct grpx_node *n, uint32_t attempt);
/* Does n try again after an attempt that ended so? */
bool may_retry(const struct grpx_node *n, int status, int exit_code, uint32_t attempt);
/* Announce another attempt of n and wake it in `ms`. */
void retry_after(struct run *r, struct grpx_node *n, int64_t ms);
void timer_arm(struct run *r, struct grpx_node *n, int which, int64_t at);
void timer_disarm(struct run *r, struct grpx_node *n, int which);
/* The run's clock: CLOCK_MONOTONIC in microseconds, as timers use. */
int64_t run_now(struct run *r);
/* now + ms, in the run's microseconds, saturating instead of wrapping. */
int64_t deadline_after(int64_t now, int64_t ms);
/* Arm n's timer `which` to fire `ms` milliseconds from now. */
void timer_after(struct run *r, struct grpx_node *n, int which, int64_t ms);

/* heap.c: one min-heap of every armed timer of the run, by (at, seq). */
struct heap {
	struct heap_ent { int64_t at; struct grpx_node *n; int which; } *v;
	size_t n, cap;
};
/* Room for n entries: pushes up to n cannot fail.  Pages not yet used
 * cost no memory. */
int heap_reserve(struct heap *h, size_t n);
int heap_push(struct heap *h, struct grpx_node *n, int which, int64_t at);
void heap_remove(struct heap *h, struct grpx_node *n, int which);
/* The earliest entry, or NULL. */
const struct heap_ent *heap_top(const struct heap *h);
void heap_free(struct heap *h);

/* slurm.c: tasks under `runner: {slurm: ...}` are Slurm job steps */
#define SLURM_ENOCTLD (-1) /* errnum: srun could not reach the controller */
/* Whether t runs under the slurm runner (the nearest `runner:` up). */
bool node_slurm(const struct grpx_node *t);
/* The job name of t's step in this run, "grpx-HOST-PID-SEQ"; -1: too long. */
int slurm_job_name(const struct grpx_node *t, char *buf, size_t len);
/* Whether "KEY=VALUE" of grpx's environment stays out of a step's. */
bool slurm_env_drop(const char *kv);
/* Have scancel signal t's step (SIGTERM), or kill it and its job
 * (SIGKILL); no wait.  Returns 0 or an errno value. */
int slurm_stop(const struct grpx_node *t, int sig);
/* A chunk of t's stderr pipe, and the end of an attempt: an srun that
 * could not reach the controller makes the attempt GRPX_ERROR. */
void slurm_scan(struct grpx_node *t, const char *buf, size_t len);
void slurm_check(struct grpx_node *t);
/* strerror(), which also knows SLURM_ENOCTLD. */
const char *slurm_strerror(int errnum);

/* job.c: make, find and free the nodes of a job */
void node_free(struct grpx_node *n);
/* A node with every field at its "not given" / idle value; NULL: no memory. */
struct grpx_node *node_new(struct grpx_node *parent, uint32_t index);
/* Set name and path (the parent's path + "/" + name); -1: no memory. */
int node_set_name(struct grpx_node *n, const char *name);
/* Make n a group (its struct group zeroed); -1: no memory. */
int node_make_group(struct grpx_node *n);
/* n's own opts, to write: copied from opts_default first; NULL: no memory. */
struct node_opts *node_opts(struct grpx_node *n);
/* n's working directory: the `cwd`s from the nearest absolute one down to
 * n, joined by '/' (malloc'ed), or NULL when none is set.  -1: no memory. */
int node_cwd(const struct grpx_node *n, char **cwd);

/* diag.c: add a problem to d (nothing when d is NULL); -1: no memory. */
int diag_add(struct grpx_diags *d, const char *file, int line, int col,
	     const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* at.c */
/* Read an `at:` value (RFC 3339, or HH:MM[:SS] local time); -1: malformed. */
int at_parse(const char *s, struct at_spec *at);
/* Milliseconds from now until at's next moment; 0 when it is past. */
int64_t at_wait_ms(const struct at_spec *at);
/* at as the job file may say it (UTC for RFC 3339); -1 for AT_NONE. */
int at_format(const struct at_spec *at, char *buf, size_t len);

/* modes.c (the rest of the mode table is in mode.h) */
const char *mode_name(int mode);

/* util.c */
void *xcalloc(size_t n, size_t size); /* NULL on failure, like calloc */
char *xstrdup(const char *s);
int64_t mono_ms(void);
int64_t mono_us(void);
double mono_ms_f(void);

#endif
