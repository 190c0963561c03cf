/*
 * mode.h - all a mode sees.
 *
 * A mode is a policy: which child starts next, and what a child's end means
 * for its group.  It returns decisions and the engine acts on them; a mode
 * calls no engine function, opens no file and sends no signal.  It reads
 * the group and its children (their statuses, the group's counters) and
 * writes only its own state, g->grp->m.  The facts about a mode (keys,
 * defaults, flags) are one row of the table in modes.c.
 */
#ifndef GRPX_MODE_H
#define GRPX_MODE_H

#include "internal.h"

/* Group keys that only some modes take; every other key applies to all. */
enum mode_key {
	MK_LIMIT = 1 << 0,    /* `limit` / --limit */
	MK_COUNT = 1 << 1,    /* `count` / --count */
	MK_ON_ERROR = 1 << 2, /* `on_error` / --on-error */
	MK_STAGGER = 1 << 3,  /* `stagger` / --stagger */
};

enum mode_flag {
	M_SELECTS = 1 << 0,    /* holds its children's stdout until it selects */
	M_ORDERED = 1 << 1,    /* releases held stdout in input order (all) */
	M_STAGES = 1 << 2,     /* child i's stdout is child i+1's stdin (waterfall) */
	M_ONE_CHILD = 1 << 3,  /* exactly one child, run again and again (retry) */
	M_COUNT = 1 << 4,      /* needs `count` (take, last) */
	M_NEEDS_KIDS = 1 << 5, /* fails with no child: an ad-hoc group needs a
				  command, an empty matrix fails */
	M_NCPU = 1 << 6,       /* default limit: the number of CPUs (sized) */
	M_TIMED = 1 << 7,      /* its children take `delay` and `at` (schedule) */
	M_STREAMS = 1 << 8,    /* may start children before all are known (ad hoc input) */
};

struct mode_info {
	const char *name;
	uint8_t keys;      /* enum mode_key: the mode-specific keys it takes */
	int8_t on_error;   /* default enum grpx_on_error; -1: takes none */
	int32_t attempts;  /* default attempts of a group of this mode */
	uint16_t flags;    /* enum mode_flag */
};

/* What happens to the stdout a child just ended with. */
enum out_fate {
	OUT_PASS,      /* it is the group's result as it comes (streaming modes) */
	OUT_HOLD,      /* keep it; the engine releases it in input order (M_ORDERED) */
	OUT_PICK,      /* one of the results, released in pick order on V_OK */
	OUT_KEEP_LAST, /* as OUT_PICK, but only the last `count` picks are kept */
	OUT_DROP,      /* not a result: dropped */
	OUT_STDERR,    /* not a result, but shown: to stderr (a failed attempt) */
	OUT_HANDOFF    /* the next child's stdin (a waterfall stage) */
};

/* What the group does now. */
enum verdict {
	V_GO_ON,  /* nothing yet */
	V_OK,     /* it succeeded: release the picks, cancel the rest */
	V_FAIL,   /* it failed (canceled, if the child that ended was canceled) */
	V_RETRY   /* run the (one) child again after the backoff */
};

struct decision {
	uint8_t out;              /* enum out_fate, for the child that ended */
	uint8_t verdict;          /* enum verdict */
	uint8_t why;              /* enum reason, for the children it stops */
	bool canceled;            /* V_FAIL: the group ends canceled, not failed */
	struct grpx_node *cause;  /* the node `why` names */
};

/* The clocks a mode may look at: the run clock (us, stopped time not
 * counted) and the wall clock (us since the epoch), read once per turn. */
struct mode_now {
	int64_t run_us, wall_us;
};

#define M_NONE UINT32_MAX /* next(): no child to start now */

struct mode_ops {
	/* An attempt of g starts: set g->grp->m up; -1: no memory.  NULL: zeroed. */
	int (*begin)(struct grpx_node *g, const struct mode_now *now);
	/* The index of the child to start now, or M_NONE.  Called only while g
	 * is under its limit, nothing decided and not draining. */
	uint32_t (*next)(struct grpx_node *g, const struct mode_now *now);
	/*
	 * Child c ended, its status final; the engine has counted it and, in
	 * modes with on_error, applied on_error (g->draining) without deciding.
	 * c NULL (M_STREAMS modes only): no child ended, but every child is
	 * now known (g->grp->open went false): decide if you can.
	 */
	struct decision (*ended)(struct grpx_node *g, struct grpx_node *c);
	/* When next() may next give a child (run clock), or INT64_MAX.  NULL: never. */
	int64_t (*due)(const struct grpx_node *g, const struct mode_now *now);
	/* The attempt is over: free what begin() allocated.  NULL: nothing. */
	void (*end)(struct grpx_node *g);
};

/* modes.c: the table.  For a number that is no mode, a row named "?" that
 * takes every key and has no flag. */
const struct mode_info *mode_info_of(int mode);
const struct mode_ops *mode_ops_of(int mode);
bool mode_has(int mode, enum mode_flag f);

/* rules.c: the rules several modes share. */
bool status_bad(int status); /* failed, timeout or error */
/* Children that may still end ok: all not ended, or only the running ones
 * once on_error: drain stopped new starts. */
uint32_t group_remaining(const struct grpx_node *g);
/* The next child in input order (the seq cursor), or M_NONE. */
uint32_t next_in_order(struct grpx_node *g, const struct mode_now *now);
/* The rule of modes that need every child ok, once all have ended. */
struct decision all_ok(const struct grpx_node *g, enum out_fate out);
/* The root cause to name in a reason: c's first error, or c. */
struct grpx_node *first_cause(struct grpx_node *c);

/* stagger.c: hedged starts (race, take) over g->grp->m.seq. */
int stagger_begin(struct grpx_node *g, const struct mode_now *now);
uint32_t stagger_next(struct grpx_node *g, const struct mode_now *now);
int64_t stagger_due(const struct grpx_node *g, const struct mode_now *now);
/* A child failed: when every started one has, the next starts at once. */
void stagger_failed(struct grpx_node *g);

/* retry.c: pure rules a mode may ask. */
/* Does n try again after an attempt that ended so? */
bool may_retry(const struct grpx_node *n, int status, int exit_code, uint32_t attempt);
/* The exit code retry_on looks at: c's first cause's. */
int retry_exit_code(const struct grpx_node *c);

extern const struct mode_ops mode_streaming, mode_all, mode_race, mode_take, mode_last,
	mode_retry, mode_waterfall, mode_schedule;

#endif
