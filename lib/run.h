/*
 * run.h - the engine's private header: struct grpx_run, and what the files
 * of the engine share, sectioned by file.
 *
 * Layering (each arrow: "may call"; no two files call each other):
 *   run.c -> signals.c -> group.c -> task.c -> output.c -> outq.c -> loop.c;  run.c -> sweep.c
 *   group.c -> feed.c, retry.c, the modes;  task.c -> command.c -> spawn.c
 *   any of them -> event.c, node.c, fd.c (which call nothing above them)
 * Upward the task layer talks only through node_ended() (event.c): ended
 * nodes go on the run's ended list, and run.c hands them to their group,
 * once per turn, in position order.
 */
#ifndef GRPX_RUN_H
#define GRPX_RUN_H

#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "heap.h"
#include "internal.h"
#include "mode.h"

struct grpx_run;

/* --- loop.c: epoll, watches, signals, the clock, timers --- */

/* A descriptor in the poll set.  epoll's data.ptr is the watch itself; the
 * owner finds itself with container_of. */
struct watch {
	int fd;            /* not owned by the watch; -1: not in the set */
	uint32_t events;   /* registered interest; 0: registered, idle */
	void (*cb)(struct grpx_run *r, struct watch *w, uint32_t revents);
};

#define container_of(p, type, member) ((type *)(void *)((char *)(p) - offsetof(type, member)))

/* Add fd to the poll set with these events; returns 0 or an errno value. */
int watch_add(struct grpx_run *r, struct watch *w, int fd, uint32_t events,
	      void (*cb)(struct grpx_run *, struct watch *, uint32_t));
void watch_mod(struct grpx_run *r, struct watch *w, uint32_t events); /* no-op if equal */
void watch_del(struct grpx_run *r, struct watch *w);                  /* fd stays open */

enum timer { TM_DEADLINE, TM_WAKE }; /* a node's two heap slots */

struct loop {
	int ep;                   /* epoll */
	int sigfd;                /* signalfd of `caught` */
	struct watch sigw;
	sigset_t caught;          /* what the run takes through sigfd */
	sigset_t old_mask;        /* the caller's, restored at the end */
	struct heap heap;         /* every armed timer of the run */
	int64_t stopped_us;       /* time grpx spent stopped (SIGTSTP): not counted */
	int64_t t0_us;            /* monotonic us when the run started */
	struct timespec wall0;    /* realtime at start, for started_at */
	bool ready;               /* some work waits without an fd (a file queue): do not sleep */
};

int loop_open(struct grpx_run *r);
void loop_close(struct grpx_run *r);
/* Wait for fds until the run clock reaches due_us (INT64_MAX: no limit);
 * calls the watches' callbacks.  Never waits when l->ready. */
void loop_wait(struct grpx_run *r, int64_t due_us);
/* The run clock: CLOCK_MONOTONIC in us, minus the time spent stopped. */
int64_t run_now(const struct grpx_run *r);
/* Milliseconds since the run started (reports, events). */
double rel_ms(const struct grpx_run *r);
/* now + ms in us, saturating instead of wrapping. */
int64_t deadline_after(int64_t now_us, int64_t ms);
void timer_arm(struct grpx_run *r, struct grpx_node *n, enum timer which, int64_t at_us);
void timer_after(struct grpx_run *r, struct grpx_node *n, enum timer which, int64_t ms);
void timer_disarm(struct grpx_run *r, struct grpx_node *n, enum timer which);

/* --- outq.c: what waits for one of grpx's output fds --- */

struct oseg;
struct line;

enum oq_kind { OQ_FILE, OQ_PIPE, OQ_SOCK, OQ_TTY, OQ_SHARED };

struct outq {
	struct watch w;           /* w.fd: our own description of the fd when reopened */
	int fd;                   /* what we write to: w.fd or the caller's fd */
	uint8_t kind;             /* enum oq_kind */
	bool reopened;            /* fd is ours: close it in outq_close() */
	bool broken;              /* gone (EPIPE) or failed: everything is dropped */
	bool status_drawn;        /* the progress line is on the screen (stderr) */
	int err;                  /* errno of the first failure */
	size_t held;              /* bytes in byte segments (spool ranges cost no heap) */
	size_t high, low;         /* pause producers at high, resume at low */
	struct oseg *head, *tail;
	struct stream *paused;    /* producers not read while held >= high */
	struct outq *alias;       /* same object as another queue: write there */
};

/* Set q up for the caller's `fd`; alias: a queue already open that may be
 * the same object.  Returns 0 or an errno value. */
int outq_open(struct grpx_run *r, struct outq *q, int fd, size_t high, struct outq *alias);
void outq_close(struct grpx_run *r, struct outq *q);
/* The queue that really writes (an alias's target). */
struct outq *outq_of(struct outq *q);
/* Queue a copy of bytes; never blocks.  -1: the queue is broken. */
int outq_bytes(struct grpx_run *r, struct outq *q, const char *p, size_t len);
/* The tags of a stream's lines: before a line, before a continuation. */
struct tags {
	char *tag, *ctag;         /* owned */
	size_t taglen, ctaglen;
};

/* Queue spool range [0, end) of `fd` (taken: closed once sent).  With `tg`
 * (taken), tagged line by line while it is sent, continuing the line in
 * `carry` (taken; NULL: a fresh line). */
int outq_spool(struct grpx_run *r, struct outq *q, int fd, off_t end, struct tags *tg,
	       struct line *carry);
/* Write what the fd takes now; also the watch callback. */
void outq_flush(struct grpx_run *r, struct outq *q);
bool outq_full(const struct outq *q);
bool outq_idle(const struct outq *q);
/* Close every spool, free every segment, mark the queue broken. */
void outq_drop(struct grpx_run *r, struct outq *q);
/* stderr's progress line: draw text (erasing the last one), or erase. */
void outq_status(struct grpx_run *r, struct outq *q, const char *text, size_t len);

/* --- lines.c: prefix lines, whole and tagged (SPEC section 5); pure --- */

#define LINE_MAX_BYTES 8192

/* The unterminated tail of a stream being tagged. */
struct line {
	char *buf;                /* owned, LINE_MAX_BYTES + 1, allocated on first need */
	size_t len;
	bool cont;                /* the last piece was cut: the next continues it */
};

/* A growing byte buffer the tagger writes into. */
struct bbuf {
	char *p;
	size_t len, cap;
};
int bbuf_put(struct bbuf *b, const char *p, size_t len);

/* Tag every whole line of in[0, len) into out ("tag" before a line,
 * "ctag" before a continuation); keep the unterminated tail in l. */
int lines_tag(struct line *l, const char *tag, size_t taglen, const char *ctag, size_t ctaglen,
	      const char *in, size_t len, struct bbuf *out);
/* End of stream: the tail as a last line, with its newline. */
int lines_flush(struct line *l, const char *tag, size_t taglen, const char *ctag,
		size_t ctaglen, struct bbuf *out);
void line_free(struct line *l);
void tags_free(struct tags *tg);

/* --- output.c: where task streams go, and what groups release --- */

enum route {
	R_INHERIT, /* the task writes to grpx's own fd (raw) */
	R_LIVE,    /* a pipe we read, tag and queue as it comes (prefix) */
	R_SPOOL,   /* a pipe we splice into a spool (held, grouped, a stage) */
	R_DROP     /* a pipe we read and count (quiet) */
};

/* One output stream of a running task attempt. */
struct stream {
	struct watch w;           /* w.fd: the pipe's read end, owned; -1 at EOF */
	struct grpx_node *t;
	uint8_t which;            /* GRPX_STDOUT or GRPX_STDERR */
	uint8_t route;            /* enum route */
	bool paused;              /* not read: its queue is full */
	bool spill;               /* paused, but its task ended: read into a spool */
	int spool;                /* R_SPOOL (or spill): the spool it fills, owned; -1 */
	off_t spooled;            /* bytes in it */
	int64_t bytes;            /* what the task wrote on this stream */
	int err;                  /* errno of a failed spool write: output lost */
	struct line line;         /* R_LIVE: the unterminated tail */
	struct tags tg;           /* R_LIVE: its tags */
	struct stream *pnext;     /* its queue's paused list */
};

/* The streams of a running task attempt (node->io). */
struct tio {
	struct stream s[2];       /* [0] stdout, [1] stderr */
	int wr[2];                /* the write ends for the child, until it started */
	struct tio *dead;         /* the run's list of tio to free after the turn */
};

/* Set up t's stdout and stderr for an attempt (t->io): fds[1], fds[2] are
 * what the child gets.  Returns 0 or an errno value. */
int streams_open(struct grpx_run *r, struct grpx_node *t, int fds[3]);
/* The child has its fds (or never will): close our copies of the write ends. */
void streams_started(struct grpx_node *t);
/* Does a pipe of t's attempt still wait for EOF? */
bool streams_open_pipes(const struct grpx_node *t);
/* t's main process exited: a stream paused for our reader is read on into
 * a spool, so that nothing waits for the reader to end the task. */
void streams_exited(struct grpx_run *r, struct grpx_node *t);
/* Take what the pipes hold now and close them (a SIGKILLed task: they may
 * never see EOF); nothing already written is lost. */
void streams_close_pipes(struct grpx_run *r, struct grpx_node *t);
/* The attempt is over: close the pipes, count the bytes, keep the --junit
 * head; a lost spool write or an unreachable Slurm controller changes
 * t->status. */
void streams_finish(struct grpx_run *r, struct grpx_node *t);
/* Then: stderr goes out; stdout becomes t->out_fd, or goes to stderr when
 * `retry` (a failed attempt).  Frees t->io after the turn. */
void streams_end(struct grpx_run *r, struct grpx_node *t, bool retry);
/* Free the tio of ended attempts (after the loop's callbacks ran). */
void streams_reap(struct grpx_run *r);
/* The stdin of t: /dev/null, grpx's own, or a waterfall's spool (fresh
 * description).  *own: the caller closes it after the spawn. */
int stdin_of(struct grpx_run *r, const struct grpx_node *t, int *fd, bool *own);

/* c's held stdout is accepted by g: held further up, or emitted at the top. */
void results_offer(struct grpx_run *r, struct grpx_node *g, struct grpx_node *c);
/* Drop n's held stdout; to stderr when `show`. */
void results_discard(struct grpx_run *r, struct grpx_node *n, bool show);
/* Add c to g's picks (OUT_PICK); with keep_last only the last `count` stay. */
void results_pick(struct grpx_run *r, struct grpx_node *g, struct grpx_node *c, bool keep_last);
/* Release g's picks in pick order. */
void results_release_picks(struct grpx_run *r, struct grpx_node *g);
/* The one spool that stage c hands to the next stage; -1: it wrote
 * nothing; -2 with errno: it could not be made (the group must fail). */
int results_handoff(struct grpx_run *r, struct grpx_node *c);
/* A spool of n's output to emit: at the top, on `stream`. */
void output_emit(struct grpx_run *r, const struct grpx_node *n, int stream, int fd);

/* --- spool.c: anonymous files for output that waits --- */

/* A new empty spool: a memfd while memory use is small, else a file in
 * $TMPDIR; -1 with errno. */
int spool_new(void);
/* Move spool *fd to a file in $TMPDIR once it passes the memory threshold;
 * `len`: its size.  Keeps *fd on failure. */
void spool_grow(int *fd, off_t len);
/* Copy len bytes of `in` from off to `out` at *outoff; returns the bytes copied. */
int64_t spool_copy(int in, off_t off, int64_t len, int out, off_t *outoff);
/* A fresh read-only description of spool `fd`, at offset 0; -1 with errno. */
int spool_reopen(int fd);
int64_t fd_size(int fd);

/* --- pidmap.c: pid -> task --- */

struct pidmap {
	pid_t *k;
	struct grpx_node **v;
	size_t cap, n;
};
int pid_put(struct pidmap *m, pid_t pid, struct grpx_node *t); /* -1: no memory */
struct grpx_node *pid_take(struct pidmap *m, pid_t pid);       /* NULL: not ours */
struct grpx_node *pid_get(const struct pidmap *m, pid_t pid);  /* and keep it */
void pidmap_free(struct pidmap *m);

/* --- spawn.c, command.c: starting a task --- */

/* The one spawn primitive: argv in a new process group that it leads
 * (prog: the file to exec; NULL: argv[0] looked up in grpx's PATH), the
 * signals grpx handles back at their defaults, `mask` as its signal mask,
 * fds[i] as its fd i (-1: /dev/null), in `cwd` unless NULL.  When `tell`
 * is not -1 (the keeper's pipe) the child writes its pid there before it
 * execs.  Returns 0 and sets *pid, or an errno value. */
int spawn_process(const char *prog, char *const argv[], char *const envp[], const int fds[3],
		  const char *cwd, const sigset_t *mask, int tell, pid_t *pid);
/* Start task t with fds as its 0, 1, 2, telling the keeper's pipe `tell`
 * (or -1) its process group before it runs.  Returns 0 and sets t->pid
 * and t->pgid, or an errno value with t->errwhat saying what failed. */
int spawn_task(struct grpx_node *t, const int fds[3], int tell);
/* For messages: the program t execs (its shell, argv[0] or srun). */
const char *task_program(const struct grpx_node *t);

/* --- task.c: a task attempt's life --- */

/* A task's life; the cells of task_table. */
enum task_state {
	T_IDLE,   /* not started */
	T_QUEUED, /* started by its group, waiting for a --jobs slot or the terminal */
	T_WAIT,   /* between two attempts, backoff armed */
	T_RUN,    /* main process running, timeout armed */
	T_STOP,   /* SIGTERM sent to its group, grace armed */
	T_KILL,   /* SIGKILL sent, waiting for the reap */
	T_DRAIN,  /* main reaped; group members or pipe writers remain, grace armed */
	T_DONE
};

enum task_event { E_CANCEL, E_DEADLINE, E_WAKE, E_EXIT, E_DRAINED, E_N };

/* The queues a task can wait in: a --jobs slot, the terminal, descriptors
 * or processes. */
enum queue_id { Q_NONE, Q_JOBS, Q_TTY, Q_RES };

struct queue {
	struct grpx_node *head, *tail;
};

/* Start t now, or queue it behind --jobs or the terminal. */
void task_launch(struct grpx_run *r, struct grpx_node *t);
void task_on(struct grpx_run *r, struct grpx_node *t, enum task_event ev);
bool task_can(const struct grpx_node *t, enum task_event ev);
/* Start what waits for a --jobs slot or the terminal. */
void task_pump(struct grpx_run *r);
/* Reap every child that exited. */
void task_reap(struct grpx_run *r);
/* Tasks in T_DRAIN whose group emptied and pipes closed are over. */
void task_drain_scan(struct grpx_run *r);
/* The terminal: hand it to t's process group (t reads it), or take it
 * back; both only when grpx is the terminal's foreground. */
void task_tty_give(struct grpx_run *r, struct grpx_node *t);
void task_tty_take(struct grpx_run *r);
/* Second SIGINT: SIGKILL every running task now. */
void task_kill_now(struct grpx_run *r, struct grpx_node *t);
void queue_remove(struct grpx_run *r, struct grpx_node *t);

/* --- group.c: a group's life --- */

/* A group's life; the cells of group_table. */
enum group_state {
	G_IDLE = T_IDLE, /* not started */
	G_RUN = T_RUN,   /* running children under its mode */
	G_STOP = T_STOP, /* decided: its running children are being stopped */
	G_WAIT = T_WAIT, /* between two attempts: backoff armed */
	G_DONE = T_DONE
};

void group_start(struct grpx_run *r, struct grpx_node *g);
/* Hand ended child c to its group. */
void group_deliver(struct grpx_run *r, struct grpx_node *c);
void group_decide(struct grpx_run *r, struct grpx_node *g, int status, int why,
		  struct grpx_node *cause);
/* Stop n (a task or a group) because its group no longer needs it. */
void node_cancel(struct grpx_run *r, struct grpx_node *n, int why, struct grpx_node *cause);
/* A group's timer fired. */
void group_fire(struct grpx_run *r, struct grpx_node *g, enum timer which);
/* Start what g's mode wants now. */
void group_fill(struct grpx_run *r, struct grpx_node *g);

/* Make the subtree of n new again, for another attempt above it. */
void node_reset(struct grpx_run *r, struct grpx_node *n);

/* --- feed.c: an ad-hoc group's children, made from input as the run goes --- */

/* Make g's next child if its input has one: 1 made, 0 not yet (its record
 * is not read yet), -1 no more (the input ended, or no memory). */
int feed_pull(struct grpx_run *r, struct grpx_node *g);
/* One read(2) of the input (the poll set said it has something). */
bool feed_read(struct grpx_run *r, struct feed *f);
/* Put the input in the poll set for g, read (want) or not; 0 or an errno. */
int feed_watch(struct grpx_run *r, struct feed *f, struct grpx_node *g,
	       void (*cb)(struct grpx_run *, struct watch *, uint32_t), bool want);
/* Read no more: what is left of the input stays unread. */
void feed_stop(struct grpx_run *r, struct feed *f);
struct feed *feed_of_watch(struct watch *w);
struct grpx_node *feed_group(const struct feed *f);
/* Does the group wait for all its input before it starts a child? */
bool feed_waits_all(const struct feed *f, int mode);
uint64_t feed_made(const struct feed *f);
/* The job-file rules on what the input brought (a command, --count, one
 * child); -1 with feed_error() set: a usage error. */
int feed_check(struct feed *f, const struct grpx_node *g);
const char *feed_error(const struct feed *f);
/* {%}: does the template hold it; a free slot (1-based) and back; t's
 * command with its slot (malloc'd into *out; -1 with errno). */
bool feed_slotted(const struct feed *f);
uint32_t feed_slot_take(struct feed *f);
void feed_slot_give(struct feed *f, uint32_t slot);
int feed_command(const struct feed *f, const struct grpx_node *t, uint32_t slot, char **out);

/* --- keeper.c: a process that kills what grpx started if grpx dies --- */

struct keeper {
	int fd;                       /* the pipe to it, non-blocking; -1 */
	pid_t pid;                    /* -1 */
	int32_t *q;                   /* messages the pipe did not take yet */
	size_t nq, capq;
};
/* Fork the keeper; 0 or an errno value (then the run goes on without). */
int keeper_start(struct grpx_run *r);
/* A process group grpx started / knows is gone. */
void keeper_add(struct grpx_run *r, pid_t pgid);
void keeper_del(struct grpx_run *r, pid_t pgid);
/* Send what waits. */
void keeper_flush(struct grpx_run *r);
/* The run is over: the keeper exits, killing nothing; reaped. */
void keeper_stop(struct grpx_run *r);

/* --- retry.c: attempts --- */

/* The wait before the attempt after `attempt`, from n's backoff (the
 * jitter from the run's own generator). */
int64_t backoff_ms(struct grpx_run *r, const struct grpx_node *n, uint32_t attempt);
/* Append to n's attempt_log; -1: no memory (the attempt is then not counted). */
int attempt_log(struct grpx_node *n, struct attempt a);
/* Announce another attempt of n and wake it in `ms`. */
void retry_after(struct grpx_run *r, struct grpx_node *n, int64_t ms);
/* --trace: keep this attempt of task t, however its node is reset later. */
void trace_record(struct grpx_run *r, struct grpx_node *t);
/* The node whose attempts GRPX_ATTEMPT counts for t (t included), or NULL. */
const struct grpx_node *attempt_counter(const struct grpx_node *t);

/* --- describe.c: words about a node --- */

/* "exit status 2", "timed out after 10m", ...; malloc'd, NULL: no memory. */
char *node_error_message(const struct grpx_node *n);

/* --- run.c: the run --- */

/* A --trace record: every task attempt. */
struct rec {
	const struct grpx_node *n;
	struct attempt a;
	uint32_t attempt;             /* GRPX_ATTEMPT it ran with */
};

struct grpx_run {
	struct grpx_job *job;
	const struct grpx_opts *o;
	struct loop loop;
	/* tasks (task.c) */
	struct pidmap pids;
	long tasks_running;           /* against o->jobs */
	uint32_t ncpu;                /* the default limit of sized groups */
	int64_t alloc_end_ms;         /* wall ms when the Slurm allocation ends; -1: never */
	struct queue q[4];            /* by enum queue_id */
	uint64_t freed, freed_seen;   /* descriptors or processes freed (task ends, closes) */
	rlim_t fd_limit;              /* RLIMIT_NOFILE's soft limit, 0: unknown */
	struct grpx_node *tty_holder; /* the running task with `stdin: inherit` */
	bool tty_given;               /* the terminal is its foreground group now */
	struct grpx_node *drain;      /* tasks in T_DRAIN (through q_next) */
	int devnull;
	/* output (output.c, outq.c) */
	struct outq out[4];           /* [GRPX_STDOUT], [GRPX_STDERR], [GRPX_EVENTS] */
	struct bbuf tagbuf;           /* lines_tag's output, reused */
	char buf[65536];              /* pipe reads */
	int capfd;                    /* --junit: the capture file, or -1 */
	FILE *evf;                    /* events formatted here (open_memstream) */
	char *evbuf;
	size_t evlen;
	int *late;                    /* fds to close once the turn has started what is due */
	size_t nlate, caplate;
	/* ended nodes, handed to their groups once per turn (run.c) */
	struct grpx_node *done_head, *done_tail;
	struct grpx_node **batch;
	size_t batch_cap;
	/* the outcome */
	uint64_t err_stamp;
	int signal;                   /* the first signal that interrupted the run */
	int sig_pending, sig_pending2; /* taken from the signalfd, not yet acted on */
	bool chld_pending;
	bool stop_pending;            /* SIGTSTP: stop the tasks, then ourselves */
	bool out_seen;                /* a broken stdout was acted on */
	int64_t out_deadline;         /* run clock: past it, output still queued is dropped */
	int64_t sweep_at;             /* run clock: escapees get SIGKILL from then on */
	const char *input_error;      /* an ad-hoc input unfit to run (feed.c owns it) */
	struct keeper keeper;
	pid_t *inherit;               /* children we had before the run: not ours */
	size_t ninherit;
	bool no_grace;                /* a second SIGINT: kill at once */
	bool finished;                /* the root has ended */
	int outcome;                  /* enum grpx_outcome */
	struct grpx_node **errs;      /* the run's causes, in arrival order */
	size_t nerrs;
	char **errmsg;                /* parallel to errs, owned */
	struct grpx_node **saved_kids; /* the root's own kids during a PATH run */
	uint32_t saved_nkids;
	int64_t next_tick;
	uint64_t rand_state;          /* backoff jitter */
	struct tio *dead_io;          /* streams_end(): freed after the turn */
	struct rec *recs;             /* o->record_attempts */
	size_t nrecs, caprecs;
	bool exit_set;                /* grpx_run_set_exit_code() was called */
	int exit_final;               /* ...with this: the report's exit_code */
	/* --journal (journal.c) */
	FILE *jf;                     /* a line is formatted here (open_memstream) */
	char *jbuf;
	size_t jlen;
	int journal_err;              /* errno of the first failed write; then no more */
};

/* run.c: a turn's pieces other files share */
/* Position order (seq) of two nodes, for qsort. */
int by_seq(const void *a, const void *b);

/* --- event.c: what is told as the run goes --- */

/* Emit a live event (and its --events line). */
void run_event(struct grpx_run *r, struct grpx_event e);
void run_end_event(struct grpx_run *r, struct grpx_node *n);
void run_cancel_event(struct grpx_run *r, struct grpx_node *n);
/* n ended (this attempt is its last): queue it for its group. */
void node_ended(struct grpx_run *r, struct grpx_node *n);

/* --- node.c: a node's run state and inherited settings --- */

/* Run state of n's subtree, as before any run; `up` is the runner group. */
void node_init(struct grpx_node *n, struct grpx_node *up);
/* The grace of n: its own, or inherited, or --grace, or 2 s. */
int64_t grace_of(const struct grpx_run *r, const struct grpx_node *n);

/* --- fd.c: descriptors closed at the right moment --- */

/* Close *fd once the turn has started what is due (a spool's last close
 * frees its pages, which a next stage should not wait for). */
void close_late(struct grpx_run *r, int *fd);
/* Close what close_late() put off: the turn has started what is due. */
void close_pending(struct grpx_run *r);
void close_fd(int *fd);

/* --- signals.c: what the signalfd brings --- */

/* Read the signalfd: note children to reap and signals to act on. */
void take_signals(struct grpx_run *r);
/* The signalfd's watch callback. */
void on_signal(struct grpx_run *r, struct watch *w, uint32_t revents);
/* Act on what take_signals() noted, in the order it came, and reap. */
void act_on_signals(struct grpx_run *r);
/* Stop the whole run: a signal, or our stdout went away. */
void run_interrupt(struct grpx_run *r, int sig);

/* --- sweep.c: nothing started outlives the run --- */

/* The children this process had before the run: not ours to sweep. */
void note_inherited(struct grpx_run *r);
/* Signal what escaped (TERM, then KILL once the grace is out); true while
 * some remain. */
bool sweep(struct grpx_run *r);

/* journal.c: the run's --journal (o->journal_fd) */
/* The "run" line; returns 0 or an errno value (no memory). */
int journal_start(struct grpx_run *r);
/* n's line, as it ends (every END event). */
void journal_end(struct grpx_run *r, const struct grpx_node *n);
void journal_close(struct grpx_run *r);
/* report.c */
/* Length of the valid UTF-8 sequence at s (at most n bytes): 1 to 4, or 0
 * (a stray byte, an overlong form, a surrogate, past U+10FFFF). */
size_t utf8_len(const unsigned char *s, size_t n);
/* A JSON string, always valid UTF-8 (what is not becomes U+FFFD). */
void json_str(FILE *f, const char *s);
/* When the run started, ISO-8601 UTC with milliseconds ("...T10:00:00.123Z"). */
void started_at(const struct grpx_run *r, char *buf, size_t len);
void event_write(FILE *f, const struct grpx_event *e);
/* outfile.c: write a whole file at `path` with fill(f, arg): atomically
 * (temp file + rename) when it is a regular file or nothing, through our
 * own descriptor when it is our stdout/stderr, else in place (a FIFO, a
 * device).  0, or -1 with errno (also when a write failed). */
int outfile_write(const char *path, void (*fill)(FILE *f, const void *arg), const void *arg);

#endif
