/*
 * mode.h - the facts about each mode (SPEC section 3), in one table, so
 * that the loader, the ad-hoc builder, the plan and the engine ask the same
 * question the same way instead of each listing modes by name.
 */
#ifndef GRPX_MODE_H
#define GRPX_MODE_H

#include <stdint.h>

/* Group keys that only some modes take; every other key applies to all. */
enum mode_key {
	MK_LIMIT = 1 << 0,    /* `limit` / --limit */
	MK_COUNT = 1 << 1,    /* `count` / --count */
	MK_ON_ERROR = 1 << 2, /* `on_error` / --on-error */
	MK_STAGGER = 1 << 3,  /* `stagger` / --stagger */
};

enum mode_flag {
	M_SELECTS = 1 << 0,   /* holds its children's stdout until it selects */
	M_ORDERED = 1 << 1,   /* releases held stdout in input order (all) */
	M_STAGES = 1 << 2,    /* child i's stdout is child i+1's stdin (waterfall) */
	M_ONE_CHILD = 1 << 3, /* exactly one child, run again and again (retry) */
	M_COUNT = 1 << 4,     /* needs `count` (take, last) */
	M_KEEP_LAST = 1 << 5, /* its picks are the last `count` to end ok (last) */
	M_NEEDS_KIDS = 1 << 6, /* fails with no child: an ad-hoc group needs a
				  command, an empty matrix fails */
	M_NCPU = 1 << 7,      /* default limit: the number of CPUs (sized) */
	M_TIMED = 1 << 8,     /* its children take `delay` and `at` (schedule) */
};

struct mode_info {
	const char *name;
	uint8_t keys;     /* enum mode_key: the mode-specific keys it takes */
	int8_t on_error;  /* enum grpx_on_error by default; -1: takes none */
	int32_t attempts; /* default attempts of a group of this mode */
	uint16_t flags;   /* enum mode_flag */
};

/* The facts of `mode`; for a number that is no mode, a row named "?" that
 * takes every key and has no flag. */
const struct mode_info *mode_info_of(int mode);

#endif
