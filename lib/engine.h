/*
 * engine.h - the run: its event loop state, shared by engine.c, spawn.c
 * and the report writer.
 */
#ifndef GRPX_ENGINE_H
#define GRPX_ENGINE_H

#include <signal.h>
#include <stdio.h>

#include "internal.h"

/* A task's life.  Groups use only T_IDLE and T_DONE. */
enum task_state {
	T_IDLE,   /* not started (a schedule child may have its time armed) */
	T_QUEUED, /* started by its group, waiting for a --jobs slot */
	T_WAIT,   /* between two attempts, backoff armed */
	T_RUN,    /* main process running, timeout armed */
	T_STOP,   /* SIGTERM sent to its group, grace armed */
	T_KILL,   /* SIGKILL sent, waiting for the reap */
	T_DRAIN,  /* main reaped; group members or pipe writers remain, grace armed */
	T_DONE
};

/* The queues a task can wait in. */
enum queue_id { Q_NONE, Q_JOBS, Q_TTY };

/* What happens to a task; see task_table in engine.c. */
enum task_event { E_CANCEL, E_DEADLINE, E_WAKE, E_EXIT, E_DRAINED, E_N };

struct run {
	struct grpx_job *job;
	const struct grpx_opts *o;
	int64_t t0;                 /* monotonic ms when the run started */
	double t0f;
	struct timespec wall0;      /* realtime at start, for started_at */
	int ep;                     /* epoll */
	int sigfd;
	int devnull;
	struct heap heap;
	struct pidmap { pid_t *k; struct grpx_node **v; size_t cap, n; } pids;
	long tasks_running;         /* against o->jobs */
	uint32_t ncpu;              /* the default limit of sized groups */
	struct queue q[3];          /* by enum queue_id: tasks waiting for a
				       --jobs slot (Q_JOBS), or for the terminal */
	struct grpx_node *tty_holder; /* the running task with `stdin: inherit` */
	struct grpx_node *drain;    /* tasks in T_DRAIN */
	struct grpx_node *done_head, *done_tail; /* ended, to hand to their groups */
	uint64_t err_stamp;
	int signal;                 /* the first signal that interrupted us */
	bool no_grace;              /* second SIGINT: kill at once */
	bool finished;              /* the root has ended */
	int outcome;                /* enum grpx_outcome */
	struct grpx_node **errs;    /* the run's causes, in arrival order */
	size_t nerrs;
	char **errmsg;              /* parallel to errs, owned */
	struct grpx_node **saved_kids; /* the root's own kids during a PATH run */
	uint32_t saved_nkids;
	int *late;                  /* fds to close once the loop has started what is due */
	size_t nlate, caplate;
	struct grpx_node **batch;   /* dispatch(): ended nodes of one wake-up */
	size_t batch_cap;
	int sig_pending, sig_pending2; /* read by grpx_output_wait(), not yet acted on */
	bool chld_pending;
	int64_t next_tick;          /* run_now() of the next o->tick() */
	bool out_broken;            /* our stdout is gone (EPIPE): emit nothing more */
	struct rec {                /* o->record_attempts: every task attempt */
		const struct grpx_node *n;
		struct attempt a;
		uint32_t attempt;       /* GRPX_ATTEMPT it ran with */
	} *recs;
	size_t nrecs, caprecs;
	int capfd;                  /* capture file for --junit, or -1 */
	int64_t capend;
	char buf[65536];            /* pipe reads */
};

struct spawn {
	char **argv, **envp, *cwd, *jobname;
	char *vars[4];
	bool path_lookup;
};

int spool_open(bool big);
int64_t spool_copy(int in, off_t off, int64_t len, int out, off_t *outoff);
void event(struct run *r, struct grpx_event e);
int spool_reopen(int fd);
int spawn_process(char *const argv[], char *const envp[], const int fds[3], const char *cwd,
		  bool path_lookup, const sigset_t *mask, pid_t *pid);
int spawn_task(struct grpx_node *t, int fd0, int fd1, int fd2);
void spawn_free(struct spawn *sp);
char *node_error_message(const struct grpx_node *n);
/* report.c */
void json_str(FILE *f, const char *s);
/* Open a temp file beside `path`; commit_file() renames it there. */
FILE *atomic_open(const char *path, char *tmp, size_t tmplen);
int atomic_commit(FILE *f, const char *tmp, const char *path);

#endif
