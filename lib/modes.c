/*
 * modes.c - the table of modes: every fact about a mode in one row, and its
 * policy (mode_*.c, rules.c) beside it.
 */
#include <string.h>

#include "mode.h"

#define ALL_KEYS (MK_LIMIT | MK_COUNT | MK_ON_ERROR | MK_STAGGER)

static const struct mode_info infos[GRPX_NMODES + 1] = {
	[GRPX_ERRGROUP] = { "errgroup", MK_LIMIT | MK_ON_ERROR, GRPX_ON_CANCEL, 1, M_STREAMS },
	[GRPX_SIZED] = { "sized", MK_LIMIT | MK_ON_ERROR, GRPX_ON_CONTINUE, 1, M_NCPU | M_STREAMS },
	[GRPX_ALL] = { "all", MK_LIMIT | MK_ON_ERROR, GRPX_ON_CONTINUE, 1,
		       M_SELECTS | M_ORDERED | M_STREAMS },
	[GRPX_RACE] = { "race", MK_LIMIT | MK_STAGGER, -1, 1, M_SELECTS | M_NEEDS_KIDS },
	[GRPX_TAKE] = { "take", MK_LIMIT | MK_COUNT | MK_ON_ERROR | MK_STAGGER, GRPX_ON_CONTINUE, 1,
			M_SELECTS | M_COUNT | M_NEEDS_KIDS },
	[GRPX_LAST] = { "last", MK_LIMIT | MK_COUNT | MK_ON_ERROR, GRPX_ON_CONTINUE, 1,
			M_SELECTS | M_COUNT | M_NEEDS_KIDS },
	[GRPX_RETRY] = { "retry", 0, -1, 3, M_SELECTS | M_ONE_CHILD | M_NEEDS_KIDS },
	[GRPX_WATERFALL] = { "waterfall", 0, -1, 1, M_SELECTS | M_STAGES | M_NEEDS_KIDS },
	[GRPX_SCHEDULE] = { "schedule", MK_LIMIT | MK_ON_ERROR, GRPX_ON_CONTINUE, 1, M_TIMED },
	[GRPX_NMODES] = { "?", ALL_KEYS, -1, 1, 0 },
};

static const struct mode_ops *const opses[GRPX_NMODES] = {
	[GRPX_ERRGROUP] = &mode_streaming, [GRPX_SIZED] = &mode_streaming,
	[GRPX_ALL] = &mode_all,            [GRPX_RACE] = &mode_race,
	[GRPX_TAKE] = &mode_take,          [GRPX_LAST] = &mode_last,
	[GRPX_RETRY] = &mode_retry,        [GRPX_WATERFALL] = &mode_waterfall,
	[GRPX_SCHEDULE] = &mode_schedule,
};

const struct mode_info *mode_info_of(int mode)
{
	return &infos[mode >= 0 && mode < GRPX_NMODES ? mode : GRPX_NMODES];
}

const struct mode_ops *mode_ops_of(int mode)
{
	return opses[mode];
}

bool mode_has(int mode, enum mode_flag f)
{
	return (mode_info_of(mode)->flags & f) != 0;
}

const char *mode_name(int mode)
{
	return mode_info_of(mode)->name;
}

const char *grpx_mode_name(enum grpx_mode m)
{
	return mode_name((int)m);
}

int grpx_mode_parse(const char *s)
{
	for (int i = 0; i < GRPX_NMODES; i++)
		if (strcmp(s, infos[i].name) == 0)
			return i;
	return -1;
}
