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

/* `runner:` local, slurm, or slurm with `allocation: new` (a job per task
 * even inside an allocation). */
enum runner { RUN_LOCAL, RUN_SLURM, RUN_SLURM_JOB };

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

/* What a task's errnum is about, for its message. */
enum err_what {
	EW_SPAWN,   /* starting it (vfork and exec, pipes, memory) */
	EW_CWD,     /* its cwd */
	EW_SHELL,   /* its shell */
	EW_PROGRAM, /* argv[0] */
	EW_OUTPUT,  /* its output could not be kept (a spool write failed) */
	EW_INPUT    /* its stdin, the stage before's output, could not be kept */
};

/* Why a node was canceled or skipped. */
enum reason {
	WHY_NONE,
	WHY_FAILED,      /* `cause` failed */
	WHY_WON,         /* race won by `cause` */
	WHY_DONE,        /* `cause` (the group) had what it needed */
	WHY_INTERRUPTED, /* a signal, or our stdout went away */
	WHY_TIMEOUT,     /* the run's own timeout */
	WHY_RESUMED,     /* `cause`, a group it is in, was resumed whole (--resume) */
	WHY_ALLOC        /* a Slurm task in the last minute of the allocation */
};

/* What --resume makes of a node (resume.c sets it before a run). */
enum resume_mark {
	RM_NONE, /* it runs */
	RM_OK,   /* it ended ok with this key before: ok at once, nothing runs */
	RM_SKIP  /* in a group resumed whole, but it did not end ok: skipped */
};

/* What a task asks of Slurm (`resources:`), each key inherited alone. */
struct resources {
	int32_t cpus;              /* --cpus-per-task; -1: inherit */
	int32_t gpus;              /* --gpus; -1: inherit (0 asks for none) */
	char *mem;                 /* owned --mem value as written (512, 4G); NULL: inherit */
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
	struct resources res;
	int64_t grace_ms;          /* -1: inherit */
	int64_t stagger_ms;        /* -1: none */
	int64_t delay_ms;          /* -1: none */
	struct at_spec at;
	struct backoff backoff;
	int *retry_on;             /* owned; NULL: retry on any failure */
	uint32_t nretry_on;
};

extern const struct node_opts opts_default;

/* What only a group has: its settings, and its run state. */
struct group {
	uint32_t limit;            /* 0: none (sized: CPU count, resolved at run) */
	uint32_t count;            /* take/last; 0 elsewhere */
	struct feed *feed;         /* owned; ad hoc: children made from input as the run goes */
	/* --- run state (group.c); reset at every attempt --- */
	bool open;                 /* its feed may still bring children */
	uint32_t running;          /* children started and not ended */
	uint32_t ended;            /* children ended (skipped ones included) */
	uint32_t nok, nbad;        /* children ended ok / failed, timeout or error */
	uint32_t released;         /* OUT_HOLD: children whose output went up, in order */
	uint32_t npicked;          /* picks so far (the `pick` numbers handed out) */
	int64_t started_at;        /* run clock (us) when this attempt started */
	struct grpx_node *pick_head, *pick_tail; /* picked children, in pick order */
	struct grpx_node *drain_cause; /* the failure that began on_error: drain */
	union {                    /* the mode's own state (mode_*.c) */
		struct { uint32_t next, released; } seq; /* next child; stagger */
		struct sched *sched;   /* schedule: children by due time, owned */
	} m;
};

struct tio;
struct feed;

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
	char **input;              /* owned, NULL-terminated: an ad-hoc template's inputs; or NULL */
	const struct node_opts *opt; /* owned unless &opts_default */
	struct group *grp;         /* owned; groups only, NULL for tasks */
	int64_t timeout_ms;        /* -1: none; never inherited */
	int32_t attempts;          /* -1: not given (task: 1, retry group: 3); 0: unbounded */
	int line, col;             /* where it was declared, from 1 */
	uint8_t kind;              /* enum node_kind */
	uint8_t mode;              /* enum grpx_mode, groups only */
	int8_t on_error;           /* enum grpx_on_error, -1: the mode's default */
	int8_t runner;             /* enum runner; -1: inherit */
	bool stdin_inherit;        /* stdin: inherit */
	bool too_long;             /* an ad-hoc input made its command longer than exec takes */
	uint64_t key;              /* key.c: hash of its definition (job_keys()) */
	uint8_t resume;            /* enum resume_mark, from resume_mark(); kept by node_init */

	/* --- run state: owned by the engine (run.h), set by node_init() --- */
	uint8_t status;            /* enum grpx_status */
	uint8_t state;             /* enum task_state or enum group_state */
	uint8_t why;               /* enum reason, with `cause` */
	uint8_t jq;                /* the run's queue it waits in (enum queue_id) */
	bool retries;              /* it is itself run again after a failed attempt */
	bool counts;               /* GRPX_ATTEMPT counts its attempts (retries, or mode retry) */
	bool held;                 /* its stdout waits for a decision above it (or its retry) */
	bool verdict;              /* a group has decided this attempt's status */
	bool draining;             /* on_error drain: start nothing new */
	bool kill_sent;            /* SIGKILL already sent to its process group */
	bool slurm_scan_off;       /* its stderr is past srun's own first lines */
	bool slurm_refused;        /* srun said it could not start the task */
	bool slurm_killing;        /* srun got SIGTERM after the grace: it kills the step */
	bool counted;              /* counted in its group's `running` */
	bool resumed;              /* ended ok without running (--resume) */
	uint32_t pick;             /* 1-based order in which its group selected it, 0: not */
	uint32_t attempt;          /* 1-based, current or last attempt */
	uint32_t jslot;            /* ad hoc {%}: the job slot its running attempt holds, 0 */
	int errnum;                /* the errno that stopped it, or SLURM_E*; 0 */
	char *errtext;             /* SLURM_ESRUN: srun's own words, owned; NULL */
	uint8_t errwhat;           /* enum err_what: what errnum is about */
	pid_t pid;                 /* -1 once reaped or never started */
	pid_t pgid;                /* its process group while it may have members, else -1 */
	int out_fd;                /* its stdout spool (a result), owned; -1 */
	int in_fd;                 /* spool a waterfall handed it as stdin; owned; -1 */
	int exit_code;             /* -1: none */
	int signal;                /* 0: none */
	uint64_t err_seq;          /* arrival stamp of its failure */
	struct grpx_node *cause;   /* the node `why` names */
	struct grpx_node *up;      /* the group that runs it (parent, or the root for PATH runs) */
	struct tio *io;            /* the streams of the running task attempt; owned; NULL */
	double start_ms, end_ms;   /* since the run started; -1 if never */
	int64_t stdout_bytes, stderr_bytes;
	int32_t cap_out, cap_err;  /* --junit: bytes of each stream kept */
	struct attempt *log;       /* owned; attempts of a node that counts them */
	uint32_t nlog, caplog;
	int32_t slot[2];           /* its timers' places in the run's heap (enum timer), -1 */
	/* intrusive lists (run.h says which file owns which) */
	struct grpx_node *res_head, *res_tail, *res_next; /* stdout spools held here */
	struct grpx_node *err_head, *err_tail, *err_next; /* causes of failure */
	struct grpx_node *q_next;  /* the run's ended list, or its drain list */
	struct grpx_node *pick_next; /* its group's pick list */
	struct grpx_node *jq_prev, *jq_next; /* a waiting queue of the run */
};

struct grpx_job {
	char *file;                /* owned; as given to grpx_load() */
	struct grpx_node *root;    /* owned; errgroup limit 1 of the top-level groups */
	uint32_t nnodes;           /* in the whole tree, root included */
};

/* slurm.c: tasks under `runner: slurm` run with srun */
#define SLURM_ENOCTLD (-1) /* errnum: srun could not reach the controller */
#define SLURM_ESRUN (-2)   /* errnum: srun refused to start it; errtext says why */
#define SLURM_END_MARGIN_MS 60000 /* no Slurm task starts in the allocation's last minute */
#define SLURM_KILL_WAIT_MS 5000   /* how long srun may take to kill its step */
#define SLURM_ARGV_MAX 9          /* the srun words slurm_argv() gives at most */
/* The runner of t: the nearest `runner:` up (enum runner), RUN_LOCAL. */
int node_runner(const struct grpx_node *t);
bool node_slurm(const struct grpx_node *t);
/* How t runs: RUN_LOCAL; RUN_SLURM, a step of the allocation grpx runs
 * in (SLURM_JOB_ID set); RUN_SLURM_JOB, a job of its own. */
int slurm_how(const struct grpx_node *t);
/* The job name of t's step in this run, "grpx-HOST-PID-SEQ"; -1: too long. */
int slurm_job_name(const struct grpx_node *t, char *buf, size_t len);
/* t's `resources:`, each key from the nearest node that sets it. */
void node_resources(const struct grpx_node *t, struct resources *res);
/* The srun words before t's own args ("srun", "-Q", ..., "--job-name=...")
 * into v (room for SLURM_ARGV_MAX), their text in buf; how: slurm_how(t).
 * Returns how many, or -1 when buf is too small. */
int slurm_argv(const struct grpx_node *t, int how, char **v, char *buf, size_t len);
/* Whether "KEY=VALUE" of grpx's environment stays out of srun's. */
bool slurm_env_drop(const char *kv, int how);
/* Have scancel signal t's step (SIGTERM), or kill it and cancel its job
 * (SIGKILL); no wait.  Returns 0 or an errno value. */
int slurm_stop(const struct grpx_node *t, int sig);
/* A chunk of t's stderr pipe, and the end of an attempt: an srun that
 * could not start the task makes the attempt GRPX_ERROR (errtext). */
void slurm_scan(struct grpx_node *t, const char *buf, size_t len);
void slurm_check(struct grpx_node *t, int err_spool);
/* strerror(), which also knows SLURM_ENOCTLD and SLURM_ESRUN. */
const char *slurm_strerror(int errnum);
/* What stopped n (its errnum, or srun's words). */
const char *node_strerror(const struct grpx_node *n);
/* The CPUs of the allocation grpx runs in (SLURM_NTASKS, else
 * SLURM_CPUS_ON_NODE x SLURM_JOB_NUM_NODES, else SLURM_JOB_CPUS_PER_NODE);
 * 0 outside one.  slurm_cpus_of(): the same from given values. */
uint32_t slurm_alloc_cpus(void);
uint32_t slurm_cpus_of(const char *ntasks, const char *cpus_on_node, const char *nnodes,
		       const char *cpus_per_node);
/* When the allocation grpx runs in ends (ms since the epoch), if the job
 * below root has a Slurm task: SLURM_JOB_END_TIME, or squeue asked once;
 * -1: outside an allocation, no limit, or unknown. */
int64_t slurm_alloc_end_ms(const struct grpx_node *root);
/* squeue's %e ("2026-12-05T10:02:00", local time) in ms; -1: none. */
int64_t slurm_parse_end(const char *s);
/* Would Slurm task t start in the last minute of an allocation ending at
 * end_ms (-1: never)? */
bool slurm_late(int64_t end_ms, const struct grpx_node *t);

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
/* The wall-clock ms of at's moment seen at `wall` (ms since the epoch):
 * itself, or the next such time of day. */
int64_t at_next_ms(const struct at_spec *at, int64_t wall);
/* at as the job file may say it (UTC for RFC 3339); -1 for AT_NONE. */
int at_format(const struct at_spec *at, char *buf, size_t len);

/* modes.c (the rest of the mode table is in mode.h) */
const char *mode_name(int mode);

/* feed.c: an ad-hoc group's children made from input (run.h has the rest). */
/* A feed with the settings of `a` (its lists copied), for a group that
 * already has nkids children; NULL: no memory. */
struct feed *feed_new(const struct grpx_adhoc *a, size_t nkids);
void feed_free(struct feed *f);
/* Nothing more will be made from its input. */
bool feed_done(const struct feed *f);

/* adhoc_task.c: the `index`-th child of p (NULL: the root), named `name`;
 * NULL: no memory. */
struct grpx_node *adhoc_add(struct grpx_job *job, struct grpx_node *p, uint32_t index,
			    const char *name);
/* attempts, backoff and retry_on of `a` on n (the retry group, else each
 * task); -1: no memory. */
int adhoc_set_retry(struct grpx_node *n, const struct grpx_adhoc *a);
/* Append a task to ad-hoc group g (its kids array has room for
 * *cap; grown as needed), running `run` with inputs `input` (both taken,
 * freed on failure too), set up as `a` says; NULL: no memory. */
struct grpx_node *adhoc_task(struct grpx_job *job, struct grpx_node *g, char *run, char **input,
			     const struct grpx_adhoc *a, size_t *cap);

/* key.c: a node's key, a hash of what it computes (grpx(1), RESUME) */
/* Set the key of every node of the tree under n, n included; -1: no
 * memory (a key may then be wrong: do not use them). */
int job_keys(struct grpx_node *n);
#define KEY_HEX 17 /* 16 lowercase hex digits and a NUL */
void key_format(uint64_t key, char buf[KEY_HEX]);
/* 64-bit FNV-1a of len bytes, continuing from h (start: FNV_OFFSET). */
#define FNV_OFFSET 0xcbf29ce484222325ULL
uint64_t fnv1a(uint64_t h, const void *p, size_t len);

/* resume.c */
/* Mark what a run of the tree under root resumes from rs (NULL: nothing). */
size_t resume_mark(struct grpx_node *root, const struct grpx_resume *rs);

/* util.c */
void *xcalloc(size_t n, size_t size); /* NULL on failure, like calloc */
char *xstrdup(const char *s);
int64_t mono_ms(void);
int64_t mono_us(void);
double mono_ms_f(void);

#endif
