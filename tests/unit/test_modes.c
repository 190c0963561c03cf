/*
 * Every mode's policy on hand-built nodes: no process, no clock, no sleep.
 * A test sets the group's counters and children's statuses as the engine
 * would, asks the mode, and checks the decision.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "mode.h"

static const struct node_opts opts_none = {
	.grace_ms = -1, .stagger_ms = -1, .delay_ms = -1, .backoff = { -1, -1, 2.0, false },
};

/* A group of `mode` with n task children, everything at its start. */
static struct grpx_node *group(int mode, uint32_t n, uint32_t count)
{
	struct grpx_node *g = calloc(1, sizeof *g);

	assert_non_null(g);
	g->kind = NODE_GROUP;
	g->mode = (uint8_t)mode;
	g->opt = &opts_none;
	g->attempts = -1;
	g->on_error = -1;
	g->grp = calloc(1, sizeof *g->grp);
	g->grp->count = count;
	g->kids = calloc(n, sizeof *g->kids);
	g->nkids = n;
	for (uint32_t i = 0; i < n; i++) {
		struct grpx_node *c = calloc(1, sizeof *c);
		c->parent = c->up = g;
		c->index = i;
		c->opt = &opts_none;
		c->exit_code = -1;
		g->kids[i] = c;
	}
	return g;
}

static void free_group(struct grpx_node *g)
{
	for (uint32_t i = 0; i < g->nkids; i++) {
		if (g->kids[i]->opt != &opts_none)
			free((void *)g->kids[i]->opt);
		free(g->kids[i]);
	}
	if (g->opt != &opts_none)
		free((void *)g->opt);
	free(g->kids);
	free(g->grp);
	free(g);
}

/* What the engine does before it asks: count the child that ended. */
static struct decision end(struct grpx_node *g, uint32_t i, int status)
{
	struct grpx_node *c = g->kids[i];

	c->status = (uint8_t)status;
	if (g->grp->running)
		g->grp->running--;
	g->grp->ended++;
	if (status == GRPX_OK)
		g->grp->nok++;
	else if (status_bad(status))
		g->grp->nbad++;
	return mode_ops_of(g->mode)->ended(g, c);
}

/* Start every child the mode gives now (the engine, under no limit). */
static uint32_t start_all(struct grpx_node *g, int64_t now_us)
{
	struct mode_now now = { now_us, 0 };
	uint32_t n = 0;

	for (uint32_t i; (i = mode_ops_of(g->mode)->next(g, &now)) != M_NONE; n++)
		g->grp->running++;
	return n;
}

static void table_facts(void **state)
{
	(void)state;
	assert_string_equal(mode_info_of(GRPX_ERRGROUP)->name, "errgroup");
	assert_int_equal(mode_info_of(GRPX_ERRGROUP)->on_error, GRPX_ON_CANCEL);
	assert_int_equal(mode_info_of(GRPX_SIZED)->on_error, GRPX_ON_CONTINUE);
	assert_true(mode_has(GRPX_SIZED, M_NCPU));
	assert_int_equal(mode_info_of(GRPX_RACE)->on_error, -1);
	assert_int_equal(mode_info_of(GRPX_RETRY)->attempts, 3);
	for (int m = 0; m < GRPX_NMODES; m++) {
		bool sel = m == GRPX_ALL || m == GRPX_RACE || m == GRPX_TAKE || m == GRPX_LAST ||
			   m == GRPX_RETRY || m == GRPX_WATERFALL;
		assert_int_equal(mode_has(m, M_SELECTS), sel);
		assert_int_equal(mode_has(m, M_COUNT), m == GRPX_TAKE || m == GRPX_LAST);
		assert_non_null(mode_ops_of(m)->next);
		assert_non_null(mode_ops_of(m)->ended);
	}
}

static void errgroup_and_sized_need_all_ok(void **state)
{
	(void)state;
	for (int m = GRPX_ERRGROUP; m <= GRPX_SIZED; m++) {
		struct grpx_node *g = group(m, 3, 0);
		assert_int_equal(start_all(g, 0), 3);
		struct decision d = end(g, 1, GRPX_OK);
		assert_int_equal(d.out, OUT_PASS);
		assert_int_equal(d.verdict, V_GO_ON);
		d = end(g, 0, GRPX_FAILED);
		assert_int_equal(d.verdict, V_GO_ON); /* on_error is the engine's */
		g->err_head = g->kids[0];
		d = end(g, 2, GRPX_OK);
		assert_int_equal(d.verdict, V_FAIL);
		assert_ptr_equal(d.cause, g->kids[0]);
		free_group(g);
	}
	/* a drained group decides once nothing runs, all ok or not */
	struct grpx_node *g = group(GRPX_SIZED, 4, 0);
	start_all(g, 0);
	g->draining = true;
	g->grp->running = 1;
	assert_int_equal(end(g, 0, GRPX_OK).verdict, V_OK); /* none bad, none running */
	free_group(g);
}

static void all_holds_for_input_order(void **state)
{
	(void)state;
	struct grpx_node *g = group(GRPX_ALL, 2, 0);
	start_all(g, 0);
	assert_int_equal(end(g, 1, GRPX_OK).out, OUT_HOLD);
	struct decision d = end(g, 0, GRPX_OK);
	assert_int_equal(d.out, OUT_HOLD);
	assert_int_equal(d.verdict, V_OK);
	free_group(g);
}

static void race_first_ok_wins_last_error_loses(void **state)
{
	(void)state;
	struct grpx_node *g = group(GRPX_RACE, 3, 0);
	mode_ops_of(GRPX_RACE)->begin(g, &(struct mode_now){ 0, 0 });
	assert_int_equal(start_all(g, 0), 3);
	struct decision d = end(g, 2, GRPX_FAILED);
	assert_int_equal(d.out, OUT_DROP);
	assert_int_equal(d.verdict, V_GO_ON);
	d = end(g, 0, GRPX_OK);
	assert_int_equal(d.out, OUT_PICK);
	assert_int_equal(d.verdict, V_OK);
	assert_int_equal(d.why, WHY_WON);
	assert_ptr_equal(d.cause, g->kids[0]);
	free_group(g);

	g = group(GRPX_RACE, 2, 0);
	mode_ops_of(GRPX_RACE)->begin(g, &(struct mode_now){ 0, 0 });
	start_all(g, 0);
	end(g, 0, GRPX_FAILED);
	d = end(g, 1, GRPX_TIMEOUT);
	assert_int_equal(d.verdict, V_FAIL);
	assert_ptr_equal(d.cause, g->kids[1]); /* the last error to arrive */
	free_group(g);
}

static void race_stagger_hedges(void **state)
{
	(void)state;
	struct grpx_node *g = group(GRPX_RACE, 3, 0);
	struct node_opts *o = malloc(sizeof *o);
	*o = opts_none;
	o->stagger_ms = 1000;
	g->opt = o;
	g->grp->started_at = 5000000;
	mode_ops_of(GRPX_RACE)->begin(g, &(struct mode_now){ 5000000, 0 });
	const struct mode_ops *ops = mode_ops_of(GRPX_RACE);
	assert_int_equal(start_all(g, 5000000), 1);                 /* only the first at once */
	assert_int_equal(ops->due(g, NULL), 6000000);               /* the second at +1 s */
	assert_int_equal(start_all(g, 5999999), 0);                 /* not a microsecond early */
	/* the first fails before its time: the second starts at once */
	end(g, 0, GRPX_FAILED);
	assert_int_equal(start_all(g, 5500000), 1);
	assert_int_equal(ops->due(g, NULL), 7000000);               /* the third keeps its time */
	assert_int_equal(start_all(g, 7000000), 1);
	assert_int_equal(ops->due(g, NULL), INT64_MAX);
	free_group(g);
}

static void take_count_and_impossible(void **state)
{
	(void)state;
	struct grpx_node *g = group(GRPX_TAKE, 4, 2);
	mode_ops_of(GRPX_TAKE)->begin(g, &(struct mode_now){ 0, 0 });
	start_all(g, 0);
	struct decision d = end(g, 3, GRPX_OK);
	assert_int_equal(d.out, OUT_PICK);
	assert_int_equal(d.verdict, V_GO_ON);
	d = end(g, 1, GRPX_OK);
	assert_int_equal(d.verdict, V_OK);
	assert_int_equal(d.why, WHY_DONE);
	assert_ptr_equal(d.cause, g);
	free_group(g);

	g = group(GRPX_TAKE, 3, 2);
	mode_ops_of(GRPX_TAKE)->begin(g, &(struct mode_now){ 0, 0 });
	start_all(g, 0);
	assert_int_equal(end(g, 0, GRPX_FAILED).verdict, V_GO_ON); /* 2 of 2 still possible */
	g->err_head = g->kids[0];
	d = end(g, 1, GRPX_FAILED);
	assert_int_equal(d.verdict, V_FAIL);                         /* 1 left, 2 needed */
	assert_ptr_equal(d.cause, g->kids[0]);
	free_group(g);
}

static void last_keeps_the_last(void **state)
{
	(void)state;
	struct grpx_node *g = group(GRPX_LAST, 3, 1);
	start_all(g, 0);
	assert_int_equal(end(g, 0, GRPX_OK).out, OUT_KEEP_LAST);
	assert_int_equal(end(g, 2, GRPX_FAILED).out, OUT_DROP);
	struct decision d = end(g, 1, GRPX_OK);
	assert_int_equal(d.out, OUT_KEEP_LAST);
	assert_int_equal(d.verdict, V_OK); /* all ended: the last ok is the result */
	free_group(g);

	g = group(GRPX_LAST, 2, 2);
	start_all(g, 0);
	assert_int_equal(end(g, 0, GRPX_FAILED).verdict, V_FAIL); /* 2 needed, 1 left */
	free_group(g);
}

static void retry_until_ok_or_out_of_attempts(void **state)
{
	(void)state;
	struct grpx_node *g = group(GRPX_RETRY, 1, 0);
	g->attempt = 1;
	assert_int_equal(start_all(g, 0), 1);
	assert_int_equal(start_all(g, 0), 0); /* one child, once an attempt */
	struct decision d = end(g, 0, GRPX_FAILED);
	assert_int_equal(d.out, OUT_STDERR);
	assert_int_equal(d.verdict, V_RETRY);
	g->attempt = 3; /* the third and last of the default 3 */
	d = end(g, 0, GRPX_FAILED);
	assert_int_equal(d.out, OUT_DROP);
	assert_int_equal(d.verdict, V_FAIL);
	assert_false(d.canceled);
	d = end(g, 0, GRPX_CANCELED);
	assert_int_equal(d.verdict, V_FAIL);
	assert_true(d.canceled);
	d = end(g, 0, GRPX_OK);
	assert_int_equal(d.out, OUT_PICK);
	assert_int_equal(d.verdict, V_OK);
	free_group(g);

	/* retry_on: only these exit codes try again */
	g = group(GRPX_RETRY, 1, 0);
	struct node_opts *o = malloc(sizeof *o);
	static int codes[] = { 75 };
	*o = opts_none;
	o->retry_on = codes;
	o->nretry_on = 1;
	g->opt = o;
	g->attempt = 1;
	g->kids[0]->exit_code = 75;
	assert_int_equal(end(g, 0, GRPX_FAILED).verdict, V_RETRY);
	g->kids[0]->exit_code = 2;
	assert_int_equal(end(g, 0, GRPX_FAILED).verdict, V_FAIL);
	g->kids[0]->status = GRPX_TIMEOUT;
	assert_int_equal(end(g, 0, GRPX_TIMEOUT).verdict, V_FAIL);
	free_group(g);
}

static void waterfall_stages(void **state)
{
	(void)state;
	struct grpx_node *g = group(GRPX_WATERFALL, 3, 0);
	assert_int_equal(start_all(g, 0), 1);     /* one stage at a time */
	struct decision d = end(g, 0, GRPX_OK);
	assert_int_equal(d.out, OUT_HANDOFF);
	assert_int_equal(d.verdict, V_GO_ON);
	assert_int_equal(start_all(g, 0), 1);
	d = end(g, 1, GRPX_FAILED);
	assert_int_equal(d.verdict, V_FAIL);
	assert_ptr_equal(d.cause, g->kids[1]);
	assert_int_equal(start_all(g, 0), 0);     /* nothing after a failed stage */
	free_group(g);

	g = group(GRPX_WATERFALL, 2, 0);
	start_all(g, 0);
	end(g, 0, GRPX_OK);
	start_all(g, 0);
	d = end(g, 1, GRPX_OK);
	assert_int_equal(d.out, OUT_PICK);        /* the last stage is the result */
	assert_int_equal(d.verdict, V_OK);
	free_group(g);
}

static void schedule_by_due_time(void **state)
{
	(void)state;
	struct grpx_node *g = group(GRPX_SCHEDULE, 4, 0);
	const struct mode_ops *ops = mode_ops_of(GRPX_SCHEDULE);
	int64_t delays[4] = { 300, -1, 100, 100 };
	for (int i = 0; i < 4; i++) {
		struct node_opts *o = malloc(sizeof *o);
		*o = opts_none;
		o->delay_ms = delays[i];
		g->kids[i]->opt = o;
	}
	g->grp->started_at = 1000000;
	assert_int_equal(ops->begin(g, &(struct mode_now){ 1000000, 0 }), 0);
	struct mode_now now = { 1000000, 0 };
	assert_int_equal(ops->next(g, &now), 1);        /* no delay: at once */
	assert_int_equal(ops->next(g, &now), M_NONE);
	assert_int_equal(ops->due(g, &now), 1100000);
	now.run_us = 1100000;
	assert_int_equal(ops->next(g, &now), 2);        /* equal times: input order */
	assert_int_equal(ops->next(g, &now), 3);
	assert_int_equal(ops->due(g, &now), 1300000);
	now.run_us = 2000000;
	assert_int_equal(ops->next(g, &now), 0);
	assert_int_equal(ops->due(g, &now), INT64_MAX);
	ops->end(g);
	free_group(g);
}

static void schedule_at_is_wall_clock(void **state)
{
	(void)state;
	struct grpx_node *g = group(GRPX_SCHEDULE, 2, 0);
	const struct mode_ops *ops = mode_ops_of(GRPX_SCHEDULE);
	struct node_opts *o = malloc(sizeof *o);
	*o = opts_none;
	o->at = (struct at_spec){ AT_ABS, 1000000000000 + 5000 }; /* wall +5 s */
	g->kids[0]->opt = o;
	g->grp->started_at = 0;
	struct mode_now now = { 0, 1000000000000LL * 1000 };
	assert_int_equal(ops->begin(g, &now), 0);
	assert_int_equal(ops->next(g, &now), 1);
	assert_int_equal(ops->due(g, &now), 5000000);
	/* grpx was stopped 60 s (the run clock did not move), the wall clock
	 * did: the `at` child is due now, at its hour */
	now.wall_us += 60000000;
	now.run_us = 10;
	assert_int_equal(ops->next(g, &now), 0);
	ops->end(g);
	free_group(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_facts),
		cmocka_unit_test(errgroup_and_sized_need_all_ok),
		cmocka_unit_test(all_holds_for_input_order),
		cmocka_unit_test(race_first_ok_wins_last_error_loses),
		cmocka_unit_test(race_stagger_hedges),
		cmocka_unit_test(take_count_and_impossible),
		cmocka_unit_test(last_keeps_the_last),
		cmocka_unit_test(retry_until_ok_or_out_of_attempts),
		cmocka_unit_test(waterfall_stages),
		cmocka_unit_test(schedule_by_due_time),
		cmocka_unit_test(schedule_at_is_wall_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
