/* test_load.c - the job-file loader, ad-hoc jobs and the plan. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* tests/data, found from this file's own path. */
static const char *data(const char *name)
{
	static char buf[4096];
	const char *slash = strrchr(__FILE__, '/');
	int dir = slash ? (int)(slash - __FILE__) : 1;

	snprintf(buf, sizeof buf, "%.*s/../data/%s", dir, slash ? __FILE__ : ".",
		 name);
	return buf;
}

static struct grpx_job *load_ok(const char *yaml)
{
	struct grpx_diags d = { 0 };
	struct grpx_job *job = NULL;

	if (grpx_load_mem("t.yaml", yaml, strlen(yaml), &job, &d) != 0) {
		for (size_t i = 0; i < d.n; i++)
			print_error("%d:%d: %s\n", d.v[i].line, d.v[i].col,
				    d.v[i].msg);
		grpx_diags_free(&d);
		fail_msg("load failed");
	}
	assert_int_equal(d.n, 0);
	return job;
}

/* Load must fail with exactly one diag, at line:col, saying msg. */
static void load_bad(const char *yaml, int line, int col, const char *msg)
{
	struct grpx_diags d = { 0 };
	struct grpx_job *job = (struct grpx_job *)&d; /* must become NULL */

	assert_int_equal(grpx_load_mem("t.yaml", yaml, strlen(yaml), &job, &d), -1);
	assert_null(job);
	if (d.n != 1 || d.v[0].line != line || d.v[0].col != col ||
	    strcmp(d.v[0].msg, msg) != 0) {
		for (size_t i = 0; i < d.n; i++)
			print_error("got %d:%d: %s\n", d.v[i].line, d.v[i].col,
				    d.v[i].msg);
		fail_msg("want %d:%d: %s\nfor:\n%s", line, col, msg, yaml);
	}
	assert_string_equal(d.v[0].file, "t.yaml");
	grpx_diags_free(&d);
}

static void valid_tree(void **state)
{
	struct grpx_diags d = { 0 };
	struct grpx_job *job;
	struct grpx_node *r, *n;

	(void)state;
	assert_int_equal(grpx_load(data("valid.yaml"), &job, &d), 0);
	assert_int_equal(d.n, 0);
	r = job->root;
	assert_int_equal(job->nnodes, 22);
	assert_int_equal(r->kind, NODE_GROUP);
	assert_int_equal(r->mode, GRPX_ERRGROUP);
	assert_int_equal(r->grp->limit, 1);
	assert_string_equal(r->path, "");
	assert_string_equal(r->name, "");
	assert_null(r->parent);
	assert_int_equal(r->seq, 0);
	assert_int_equal(r->nkids, 6);
	assert_string_equal(r->opt->shell[0], "bash");
	assert_string_equal(r->opt->shell[3], "-c");
	assert_null(r->opt->shell[4]);
	assert_int_equal(r->opt->grace_ms, 2000);
	assert_int_equal(r->timeout_ms, 3600000);
	assert_string_equal(r->opt->env[0], "LANG=C");
	assert_string_equal(r->opt->env[1], "EMPTY=");
	assert_null(r->opt->env[2]);
	assert_string_equal(r->opt->cwd, "/tmp");

	n = grpx_job_find(job, "checks");
	assert_ptr_equal(n, r->kids[0]);
	assert_int_equal(n->mode, GRPX_SIZED);
	assert_int_equal(n->grp->limit, 4);
	assert_int_equal(n->on_error, GRPX_ON_CONTINUE);
	assert_int_equal(n->seq, 1);
	assert_int_equal(n->depth, 1);
	assert_int_equal(n->line, 9);
	assert_int_equal(n->col, 5);
	assert_null(n->opt->shell);      /* stored as written, not inherited */
	assert_int_equal(n->opt->grace_ms, -1);

	n = grpx_job_find(job, "checks/unit");
	assert_non_null(n);
	assert_int_equal(n->kind, NODE_TASK);
	assert_int_equal(n->seq, 3);
	assert_int_equal(n->index, 1);
	assert_int_equal(n->depth, 2);
	assert_string_equal(n->run, "make test");
	assert_int_equal(n->timeout_ms, 600000);
	assert_int_equal(n->attempts, 2);
	assert_int_equal(n->opt->backoff.initial_ms, 100);
	assert_int_equal(n->opt->backoff.max_ms, 10000);
	assert_true(n->opt->backoff.factor == 1.5);
	assert_true(n->opt->backoff.jitter);
	assert_int_equal(n->opt->nretry_on, 2);
	assert_int_equal(n->opt->retry_on[1], 75);
	assert_int_equal(n->on_error, -1);
	assert_int_equal(n->pid, -1);
	assert_int_equal(n->pgid, -1);
	assert_int_equal(n->out_fd, -1);
	assert_int_equal(n->in_fd, -1);
	assert_int_equal(n->exit_code, -1);
	assert_true(n->start_ms == -1 && n->end_ms == -1);
	assert_int_equal(n->slot[0], -1);
	assert_int_equal(n->slot[1], -1);
	assert_int_equal(n->status, GRPX_PENDING);
	n = grpx_job_find(job, "checks/lint");
	assert_int_equal(n->attempts, -1);
	assert_int_equal(n->opt->backoff.initial_ms, -1);
	assert_true(n->opt->backoff.factor == 2);
	assert_int_equal(n->timeout_ms, -1);
	assert_null(n->opt->retry_on);

	n = grpx_job_find(job, "fetch");
	assert_int_equal(n->opt->stagger_ms, 250);
	assert_string_equal(n->kids[0]->name, "1");
	assert_string_equal(n->kids[1]->path, "fetch/2");
	assert_null(n->kids[1]->run);
	assert_string_equal(n->kids[1]->argv[0], "curl");
	assert_string_equal(n->kids[1]->argv[2], "https://mirror-b.example/file");
	assert_null(n->kids[1]->argv[3]);

	n = grpx_job_find(job, "report/top/1");
	assert_non_null(n);
	assert_int_equal(n->depth, 3);
	assert_int_equal(n->parent->grp->count, 1);
	assert_int_equal(n->parent->mode, GRPX_TAKE);
	assert_string_equal(n->run, "head -n 5");

	n = grpx_job_find(job, "nightly");
	assert_int_equal(n->on_error, GRPX_ON_DRAIN);
	assert_int_equal(n->kids[0]->opt->delay_ms, 90000);
	assert_int_equal(n->kids[0]->opt->at.kind, AT_NONE);
	assert_int_equal(n->kids[1]->opt->at.kind, AT_ABS);
	assert_int_equal(n->kids[1]->opt->at.value, 1795773600000LL);
	assert_int_equal(n->kids[2]->opt->at.value, 1795773600000LL - 8 * 3600000);
	assert_int_equal(n->kids[3]->opt->at.kind, AT_CLOCK);
	assert_int_equal(n->kids[3]->opt->at.value, (7 * 60 + 30) * 60000);
	assert_int_equal(n->kids[3]->opt->delay_ms, -1);

	n = grpx_job_find(job, "flaky");
	assert_int_equal(n->mode, GRPX_RETRY);
	assert_int_equal(n->attempts, 0);
	assert_int_equal(n->opt->grace_ms, 500);
	n = grpx_job_find(job, "flaky/1");
	assert_int_equal(n->mode, GRPX_ALL);
	assert_int_equal(n->runner, 1);
	assert_string_equal(n->opt->slurm_args[1], "--time=5");
	assert_null(n->opt->slurm_args[2]);
	n = grpx_job_find(job, "flaky/1/1");
	assert_true(n->stdin_inherit);
	assert_string_equal(n->opt->shell[0], "/bin/zsh");
	assert_string_equal(n->opt->shell[1], "-c");
	assert_null(n->opt->shell[2]);
	assert_int_equal(n->runner, -1);
	n = grpx_job_find(job, "flaky/1/2");
	assert_false(n->stdin_inherit);
	assert_string_equal(n->opt->cwd, "sub");
	assert_int_equal(n->runner, 0);
	assert_int_equal(n->seq, 20);

	n = grpx_job_find(job, "solo");
	assert_int_equal(n->kind, NODE_TASK);
	assert_string_equal(n->path, "solo");
	assert_int_equal(n->seq, 21);

	assert_ptr_equal(grpx_job_find(job, ""), r);
	assert_null(grpx_job_find(job, "checks/"));
	assert_null(grpx_job_find(job, "/checks"));
	assert_null(grpx_job_find(job, "checks/nope"));
	assert_null(grpx_job_find(job, "check"));
	grpx_job_free(job);
}

/* Preorder seq, parents, indexes and depths agree everywhere. */
static uint32_t check_links(const struct grpx_node *n, uint32_t seq)
{
	assert_int_equal(n->seq, seq++);
	for (uint32_t i = 0; i < n->nkids; i++) {
		assert_ptr_equal(n->kids[i]->parent, n);
		assert_int_equal(n->kids[i]->index, i);
		assert_int_equal(n->kids[i]->depth, n->depth + 1);
		seq = check_links(n->kids[i], seq);
	}
	return seq;
}

static void seq_preorder(void **state)
{
	struct grpx_diags d = { 0 };
	struct grpx_job *job;

	(void)state;
	assert_int_equal(grpx_load(data("valid.yaml"), &job, &d), 0);
	assert_int_equal(check_links(job->root, 0), job->nnodes);
	grpx_job_free(job);
}

static void minimal(void **state)
{
	struct grpx_job *job = load_ok("groups: [{run: true}]");

	(void)state;
	assert_int_equal(job->nnodes, 2);
	assert_string_equal(job->root->kids[0]->path, "1");
	assert_string_equal(job->root->kids[0]->run, "true");
	grpx_job_free(job);
	/* aliases share definitions without copying the text */
	job = load_ok("groups: [{run: a, env: &e {A: b}}, {run: b, env: *e}]\n");
	assert_string_equal(job->root->kids[1]->opt->env[0], "A=b");
	grpx_job_free(job);
}

/* One problem of each class, at its exact place. */
static void error_classes(void **state)
{
	(void)state;
	load_bad("groups:\n  - run: a\n    tiemout: 1s\n", 3, 5,
		 "unknown key 'tiemout' in task '1' (did you mean 'timeout'?)");
	load_bad("groups:\n  - run: a\n    zzz: 1\n", 3, 5,
		 "unknown key 'zzz' in task '1'");
	load_bad("gropus: []\ngroups: [{run: a}]\n", 1, 1,
		 "unknown key 'gropus' at the top level (did you mean 'groups'?)");
	load_bad("version: 2\ngroups: [{run: a}]\n", 1, 10, "'version' must be 1");
	load_bad("groups: [{run: a, limit: 2}]\n", 1, 19,
		 "key 'limit' is not allowed in task '1'");
	load_bad("groups: [{mode: all, stdin: inherit, tasks: [{run: a}]}]\n",
		 1, 22, "key 'stdin' is not allowed in group '1'");
	load_bad("name: x\ngroups: [{run: a}]\n", 1, 1,
		 "key 'name' is not allowed at the top level");
	load_bad("groups:\n  - tasks: [{run: a}]\n", 2, 5,
		 "missing 'mode' in group '1'");
	load_bad("groups:\n  - name: g\n    mode: all\n", 2, 5,
		 "missing 'tasks' in group 'g'");
	load_bad("groups:\n  - name: t\n", 2, 5,
		 "missing 'run' or 'argv' in task 't'");
	load_bad("groups: [{run: a, argv: [a]}]\n", 1, 19,
		 "task '1' has both 'run' and 'argv'");
	load_bad("groups: [{mode: rase, tasks: [{run: a}]}]\n", 1, 17,
		 "unknown mode 'rase' (did you mean 'race'?)");
	load_bad("groups: [{mode: all, tasks: []}]\n", 1, 29,
		 "group '1' has no tasks");
	load_bad("groups: []\n", 1, 9, "'groups' is empty");
	load_bad("groups: {a: 1}\n", 1, 9, "'groups' must be a list");
	load_bad("groups: [{mode: all, tasks: {run: a}}]\n", 1, 29,
		 "'tasks' must be a list");
	load_bad("groups: [echo hi]\n", 1, 10,
		 "task or group '1' must be a mapping");
	load_bad("groups:\n- {name: a, run: x}\n- {name: a, run: y}\n", 3, 10,
		 "duplicate name 'a' (first at 2:10)");
	/* D15: a position is a name too, whichever comes first */
	load_bad("groups:\n- {name: g, mode: sized, tasks: [\n"
		 "   {run: x}, {name: '1', run: y}]}\n", 3, 21,
		 "duplicate name '1': the unnamed task at 3:4 is named by its "
		 "position");
	load_bad("groups:\n- {name: '2', mode: all, tasks: [{run: x}]}\n"
		 "- {mode: all, tasks: [{run: y}]}\n", 2, 10,
		 "duplicate name '2': the unnamed group at 3:3 is named by its "
		 "position");
	grpx_job_free(load_ok("groups:\n- {name: '2', run: x}\n- {name: '1', run: y}\n"));
	/* the position of an unnamed task after other names still counts */
	load_bad("groups:\n- {run: x}\n- {name: a, run: y}\n- {run: z}\n"
		 "- {name: '3', run: w}\n", 5, 10,
		 "duplicate name '3': the unnamed task at 4:3 is named by its "
		 "position");
	grpx_job_free(load_ok("groups:\n- {run: x}\n- {name: a, run: y}\n- {run: z}\n"));
	load_bad("groups: [{name: 'a b', run: x}]\n", 1, 17,
		 "invalid name 'a b' (allowed: letters, digits, '.', '_' and '-')");
	load_bad("groups: [{name: '', run: x}]\n", 1, 17,
		 "invalid name '' (allowed: letters, digits, '.', '_' and '-')");
	load_bad("groups: [{name: a/b, run: x}]\n", 1, 17,
		 "invalid name 'a/b' (allowed: letters, digits, '.', '_' and '-')");
	load_bad("groups: [{run: a, run: b}]\n", 1, 19,
		 "duplicate key 'run' (first at 1:11)");
	load_bad("groups: [{run: a, timeout: 5x}]\n", 1, 28,
		 "malformed duration '5x' for 'timeout'");
	load_bad("grace: -1s\ngroups: [{run: a}]\n", 1, 8,
		 "malformed duration '-1s' for 'grace'");
	load_bad("groups: [{run: a, timeout: 99999999999999999h}]\n", 1, 28,
		 "duration '99999999999999999h' for 'timeout' is too large");
	/* fuzz/overflow finding: the engine's deadlines are in us, so a
	 * duration that parses (INT64_MAX ms) must still be refused */
	load_bad("groups: [{run: a, timeout: 2562047788015h}]\n", 1, 28,
		 "duration '2562047788015h' for 'timeout' is too large (at most 1000000h)");
	load_bad("groups: [{mode: schedule, tasks: [{run: a, delay: 1000000h1ms}]}]\n",
		 1, 51, "duration '1000000h1ms' for 'delay' is too large (at most 1000000h)");
	load_bad("groups: [{run: a, attempts: 2, backoff: {initial: 9999999h}}]\n", 1, 51,
		 "duration '9999999h' for 'initial' is too large (at most 1000000h)");
	grpx_job_free(load_ok("grace: 1000000h\ngroups: [{run: a, timeout: 1000000h}]\n"));
	load_bad("groups: [{run: a, timeout: [1]}]\n", 1, 28,
		 "'timeout' must be a duration");
	load_bad("groups: [{mode: take, tasks: [{run: a}]}]\n", 1, 17,
		 "group '1' of mode 'take' needs 'count'");
	load_bad("groups: [{mode: last, count: 5, tasks: [{run: a}, {run: b}, "
		 "{run: c}]}]\n", 1, 30, "'count' is 5 but group '1' has 3 tasks");
	load_bad("groups: [{mode: take, count: 0, tasks: [{run: a}]}]\n", 1, 30,
		 "'count' must be at least 1");
	load_bad("groups: [{mode: all, count: 1, tasks: [{run: a}]}]\n", 1, 22,
		 "'count' does not apply to mode 'all'");
	load_bad("groups: [{mode: all, stagger: 1s, tasks: [{run: a}]}]\n", 1, 22,
		 "'stagger' does not apply to mode 'all'");
	load_bad("groups: [{mode: race, on_error: drain, tasks: [{run: a}]}]\n",
		 1, 23, "'on_error' does not apply to mode 'race'");
	load_bad("groups: [{mode: waterfall, limit: 2, tasks: [{run: a}]}]\n",
		 1, 28, "'limit' does not apply to mode 'waterfall'");
	load_bad("groups: [{mode: all, on_error: stop, tasks: [{run: a}]}]\n",
		 1, 32, "'on_error' must be cancel, drain or continue, not 'stop'");
	load_bad("groups: [{mode: all, limit: x, tasks: [{run: a}]}]\n", 1, 29,
		 "'limit' must be an integer");
	load_bad("groups: [{mode: all, limit: '4', tasks: [{run: a}]}]\n", 1, 29,
		 "'limit' must be an integer");
	load_bad("groups: [{mode: all, limit: 0, tasks: [{run: a}]}]\n", 1, 29,
		 "'limit' must be at least 1");
	load_bad("groups: [{mode: all, limit: 99999999999, tasks: [{run: a}]}]\n",
		 1, 29, "'limit' must be at most 4294967295");
	load_bad("groups: [{mode: retry, tasks: [{run: a}, {run: b}]}]\n", 1, 24,
		 "retry group '1' must have exactly one task, not 2");
	load_bad("groups: [{run: a, delay: 1s}]\n", 1, 19,
		 "'delay' only applies inside a schedule group");
	load_bad("groups: [{mode: all, tasks: [{run: a, at: '10:00'}]}]\n", 1, 39,
		 "'at' only applies inside a schedule group");
	load_bad("groups: [{mode: schedule, tasks: [{run: a, at: '10:00', "
		 "delay: 1s}]}]\n", 1, 44, "task '1/1' has both 'delay' and 'at'");
	load_bad("groups: [{mode: schedule, tasks: [{run: a, at: '24:00'}]}]\n",
		 1, 48, "malformed time '24:00' for 'at' (want RFC 3339 or HH:MM[:SS])");
	load_bad("groups: [{mode: schedule, tasks: [{run: a, at: "
		 "'2026-02-29T10:00:00Z'}]}]\n", 1, 48, "malformed time "
		 "'2026-02-29T10:00:00Z' for 'at' (want RFC 3339 or HH:MM[:SS])");
	load_bad("groups: [{mode: schedule, tasks: [{run: a, at: "
		 "'2026-02-20T10:00:00'}]}]\n", 1, 48, "malformed time "
		 "'2026-02-20T10:00:00' for 'at' (want RFC 3339 or HH:MM[:SS])");
	load_bad("groups: [{run: a, stdin: yes}]\n", 1, 26,
		 "'stdin' must be null or 'inherit'");
	load_bad("groups: [{run: a, shell: {a: b}}]\n", 1, 26,
		 "'shell' must be a string or a list of strings");
	load_bad("groups: [{run: a, shell: []}]\n", 1, 26,
		 "'shell' must not be empty");
	load_bad("groups: [{run: a, shell: [bash, [x]]}]\n", 1, 33,
		 "'shell' must be a list of strings");
	load_bad("groups: [{argv: []}]\n", 1, 17, "'argv' must not be empty");
	load_bad("groups: [{run: [a]}]\n", 1, 16, "'run' must be a string");
	load_bad("groups: [{run: a, env: [A]}]\n", 1, 24,
		 "'env' must be a mapping of names to values");
	load_bad("groups: [{run: a, env: {A: {b: c}}}]\n", 1, 28,
		 "value of 'A' in 'env' must be a scalar");
	load_bad("groups: [{run: a, env: {A=B: c}}]\n", 1, 25,
		 "invalid environment name 'A=B'");
	load_bad("groups: [{run: a, env: {A: 1, A: 2}}]\n", 1, 31,
		 "duplicate key 'A' (first at 1:25)");
	load_bad("groups: [{run: a, retry_on: [1, 256]}]\n", 1, 33,
		 "exit code '256' in 'retry_on' is not an integer from 0 to 255");
	load_bad("groups: [{run: a, retry_on: 1}]\n", 1, 29,
		 "'retry_on' must be a non-empty list of exit codes");
	load_bad("groups: [{run: a, attempts: -1}]\n", 1, 29,
		 "'attempts' must be at least 0");
	load_bad("groups: [{run: a, attempts: 1.5}]\n", 1, 29,
		 "'attempts' must be an integer");
	load_bad("groups: [{run: a, backoff: 1s}]\n", 1, 28,
		 "'backoff' must be a mapping");
	load_bad("groups: [{run: a, backoff: {max: 1s}}]\n", 1, 28,
		 "missing 'initial' in 'backoff'");
	load_bad("groups: [{run: a, backoff: {initial: 1s, factr: 2}}]\n", 1, 42,
		 "unknown key 'factr' in 'backoff' (did you mean 'factor'?)");
	load_bad("groups: [{run: a, backoff: {initial: 1s, factor: 0.5}}]\n", 1, 50,
		 "'factor' must be a number of at least 1");
	load_bad("groups: [{run: a, backoff: {initial: 1s, jitter: 1}}]\n", 1, 50,
		 "'jitter' must be true or false");
	load_bad("groups: [{run: a, backoff: {initial: 2s, max: 1s}}]\n", 1, 47,
		 "'max' is less than 'initial' in 'backoff'");
	load_bad("groups: [{run: a, runner: ssh}]\n", 1, 27,
		 "'runner' must be 'local' or {slurm: {args: [...]}}");
	load_bad("groups: [{run: a, runner: {slurm: {args: x}}}]\n", 1, 42,
		 "'args' must be a list of strings");
	load_bad("groups: [{run: a, runner: {slurn: {}}}]\n", 1, 28,
		 "unknown key 'slurn' in 'runner' (did you mean 'slurm'?)");
	load_bad("groups: [{run: a}]\n? [x]\n: y\n", 2, 3,
		 "a mapping key must be a scalar");
	load_bad("hello\n", 1, 1, "the top level must be a mapping");
	load_bad("", 1, 1, "missing 'groups' at the top level");
	load_bad("version: 1\n", 1, 1, "missing 'groups' at the top level");
}

static void yaml_errors(void **state)
{
	(void)state;
	load_bad("groups:\n  - name: a\n    run: x\n   bad: y\n", 4, 4,
		 "syntax error: did not find expected '-' indicator (while "
		 "parsing a block collection at 2:3)");
	load_bad("groups: [{run: a}\n", 2, 1, "syntax error: did not find "
		 "expected ',' or ']' (while parsing a flow sequence at 1:9)");
	load_bad("groups: [{run: \"\xff\"}]\n", 1, 17,
		 "syntax error: invalid leading UTF-8 octet");
	load_bad("groups: [{run: a}]\n---\ngroups: [{run: b}]\n", 2, 1,
		 "more than one YAML document");
	load_bad("groups: [{run: *nope}]\n", 1, 16, "undefined alias 'nope'");
	load_bad("groups: &g [{run: a}, *g]\n", 1, 23, "undefined alias 'g'");
	load_bad("groups: [{run: \"a\\0b\"}]\n", 1, 16,
		 "scalar contains a NUL byte");
}

static void three_errors(void **state)
{
	static const struct { int line, col; const char *msg; } want[] = {
		{ 7, 9, "unknown key 'tiemout' in task 'checks/lint' (did you "
			"mean 'timeout'?)" },
		{ 8, 15, "duplicate name 'lint' (first at 5:15)" },
		{ 12, 18, "malformed duration '10x' for 'timeout'" },
	};
	struct grpx_diags d = { 0 };
	struct grpx_job *job;

	(void)state;
	assert_int_equal(grpx_load(data("three_errors.yaml"), &job, &d), -1);
	assert_null(job);
	assert_int_equal(d.n, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(d.v[i].line, want[i].line);
		assert_int_equal(d.v[i].col, want[i].col);
		assert_string_equal(d.v[i].msg, want[i].msg);
		assert_string_equal(d.v[i].file, data("three_errors.yaml"));
	}
	/* diags accumulate: a second load appends */
	assert_int_equal(grpx_load(data("three_errors.yaml"), &job, &d), -1);
	assert_int_equal(d.n, 6);
	grpx_diags_free(&d);
	assert_int_equal(d.n, 0);
}

static void missing_file(void **state)
{
	struct grpx_diags d = { 0 };
	struct grpx_job *job;

	(void)state;
	assert_int_equal(grpx_load("/nonexistent/x.yaml", &job, &d), -1);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].line, 0);
	assert_string_equal(d.v[0].msg,
			    "cannot read job file: No such file or directory");
	grpx_diags_free(&d);
	/* no diags wanted: still fails cleanly */
	assert_int_equal(grpx_load(data("three_errors.yaml"), &job, NULL), -1);
}

static void alias_bomb(void **state)
{
	struct grpx_diags d = { 0 };
	struct grpx_job *job;
	double t0 = mono_ms_f();

	(void)state;
	assert_int_equal(grpx_load(data("bomb.yaml"), &job, &d), -1);
	assert_true(mono_ms_f() - t0 < 500);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.v[0].line, 5);
	assert_string_equal(d.v[0].msg, "aliases expand past the limit "
			    "(10000 nodes)");
	grpx_diags_free(&d);
}

/* Diags of a load that must fail, none of them saying `not`. */
static void load_fails_without(const char *yaml, const char *not)
{
	struct grpx_diags d = { 0 };
	struct grpx_job *job;

	assert_int_equal(grpx_load_mem("t.yaml", yaml, strlen(yaml), &job, &d), -1);
	for (size_t i = 0; i < d.n; i++)
		if (strstr(d.v[i].msg, not))
			fail_msg("%d:%d: %s", d.v[i].line, d.v[i].col, d.v[i].msg);
	grpx_diags_free(&d);
}

/* The alias limits hold to the node and to the level, aliases in aliases
 * counted. */
static void alias_limits(void **state)
{
	char *s = malloc(16384), *p;

	(void)state;
	/* *a adds 5 nodes, *b 11; 10 + 908 * 11 + 2 = 10000 */
	p = s + sprintf(s, "a: &a [x, x, x, x]\nb: &b [*a, *a]\nc: [");
	for (int i = 0; i < 908; i++)
		p += sprintf(p, "*b, ");
	p += sprintf(p, "&s x, *s, *s");
	strcpy(p, "]\n");
	load_fails_without(s, "aliases");
	strcpy(p, ", *s]\n");
	load_bad(s, 3, 4 + 908 * 4 + 15, "aliases expand past the limit "
		 "(10000 nodes)");
	/* *a is 4 levels: 1 + 1019 + 4 = 1024 */
	p = s + sprintf(s, "a: &a [[[[x]]]]\ngroups: ");
	memset(p, '[', 1019);
	strcpy(p + 1019, "*a");
	memset(p + 1021, ']', 1019);
	strcpy(p + 2040, "\n");
	load_fails_without(s, "nesting");
	memmove(p + 1, p, strlen(p) + 1);
	memcpy(p + 2041, "]\n", 3);
	load_bad(s, 2, 9 + 1020, "nesting deeper than 1024 levels");
	free(s);
}

static void too_deep(void **state)
{
	struct grpx_diags d = { 0 };
	struct grpx_job *job;
	size_t n = 100000, len;
	char *s = malloc(2 * n + 16);

	(void)state;
	assert_int_equal(grpx_load(data("deep.yaml"), &job, &d), -1);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].msg, "nesting deeper than 1024 levels");
	grpx_diags_free(&d);
	/* flow style, far deeper */
	memcpy(s, "groups: ", 8);
	memset(s + 8, '[', n);
	memset(s + 8 + n, ']', n);
	s[8 + 2 * n] = '\0';
	/* the top-level mapping is the first level */
	load_bad(s, 1, 8 + 1024, "nesting deeper than 1024 levels");
	free(s);
	/* an alias cannot smuggle depth in: 1 + 1018 + 10 levels */
	s = malloc(4096);
	strcpy(s, "a: &a [[[[[[[[[[x]]]]]]]]]]\ngroups: ");
	len = strlen(s);
	memset(s + len, '[', 1018);
	strcpy(s + len + 1018, "*a");
	memset(s + len + 1020, ']', 1018);
	strcpy(s + len + 2038, "\n");
	load_bad(s, 2, 8 + 1018 + 1, "nesting deeper than 1024 levels");
	/* "xx" instead of "*a": 1019 levels are fine for YAML (not as a job) */
	s[len + 1018] = s[len + 1019] = 'x';
	assert_int_equal(grpx_load_mem("t", s, strlen(s), &job, &d), -1);
	assert_int_equal(d.n, 2);
	assert_string_equal(d.v[1].msg, "task or group '1' must be a mapping");
	grpx_diags_free(&d);
	free(s);
}

static void huge_scalar(void **state)
{
	size_t n = 10u << 20;
	char *s = malloc(n + 64);
	struct grpx_job *job;

	(void)state;
	strcpy(s, "groups: [{run: ");
	memset(s + 15, 'x', n);
	strcpy(s + 15 + n, "}]\n");
	load_bad(s, 1, 16, "scalar longer than 1 MiB");
	/* 1 MiB is allowed, and kept whole next to the small scalars */
	n = 1u << 20;
	strcpy(s + 15 + n, "}, {run: y}]\n");
	job = load_ok(s);
	assert_int_equal(strlen(job->root->kids[0]->run), n);
	assert_int_equal(strspn(job->root->kids[0]->run, "x"), n);
	assert_string_equal(job->root->kids[1]->run, "y");
	grpx_job_free(job);
	free(s);
}

/* A job of one group of n named tasks, plus `tail`. */
static char *big_job(size_t n, const char *tail)
{
	char *s = malloc(n * 40 + strlen(tail) + 100);
	size_t len = (size_t)sprintf(s, "groups:\n- name: big\n  mode: sized\n"
				     "  tasks:\n");

	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(s + len, "  - {name: t%zu, run: echo %zu}\n",
				       i, i);
	strcpy(s + len, tail);
	return s;
}

static double load_ms(size_t n)
{
	char *s = big_job(n, "");
	double t0 = mono_ms_f(), t;
	struct grpx_job *job = load_ok(s);

	t = mono_ms_f() - t0;
	assert_int_equal(job->nnodes, n + 2);
	grpx_job_free(job);
	free(s);
	return t;
}

/* 10^5 tasks in one group load, in linear time (also under valgrind). */
static void many_tasks(void **state)
{
	double t1 = load_ms(20000), t5 = load_ms(100000);
	struct grpx_job *job;
	char *s;

	(void)state;
	print_message("     20000 tasks: %.0f ms, 100000 tasks: %.0f ms\n", t1, t5);
	assert_true(t5 < 12 * t1 + 200);
	s = big_job(100000, "");
	job = load_ok(s);
	assert_string_equal(grpx_job_find(job, "big/t99999")->run, "echo 99999");
	grpx_job_free(job);
	free(s);
	/* a duplicate is found among them, at its place */
	s = big_job(100000, "  - {name: t5, run: again}\n");
	load_bad(s, 100005, 12, "duplicate name 't5' (first at 10:12)");
	free(s);
}

/* ---- ad-hoc jobs ---- */

static struct grpx_adhoc adhoc_defaults(enum grpx_mode m)
{
	return (struct grpx_adhoc){ .mode = m, .limit = -1, .count = -1,
				    .attempts = -1, .initial_ms = -1,
				    .max_ms = -1, .on_error = -1,
				    .stagger_ms = -1, .delay_ms = -1 };
}

static void adhoc_build(void **state)
{
	char *cmds[] = { "echo a", "echo b", "echo c" };
	int codes[] = { 1, 2 };
	struct grpx_adhoc a = adhoc_defaults(GRPX_RACE);
	struct grpx_job *job;
	struct grpx_node *g;
	char err[256];

	(void)state;
	a.stagger_ms = 100;
	a.attempts = 2;
	a.retry_on = codes;
	a.nretry_on = 2;
	a.initial_ms = 10;
	assert_int_equal(grpx_job_adhoc(&a, cmds, 3, &job, err, sizeof err), 0);
	assert_int_equal(job->nnodes, 5);
	assert_int_equal(check_links(job->root, 0), 5);
	g = grpx_job_find(job, "race");
	assert_ptr_equal(g, job->root->kids[0]);
	assert_int_equal(job->root->grp->limit, 1);
	assert_int_equal(g->kind, NODE_GROUP);
	assert_int_equal(g->mode, GRPX_RACE);
	assert_int_equal(g->opt->stagger_ms, 100);
	assert_int_equal(g->attempts, -1);
	assert_string_equal(g->kids[2]->path, "race/3");
	assert_string_equal(g->kids[2]->run, "echo c");
	assert_int_equal(g->kids[2]->attempts, 2);
	assert_int_equal(g->kids[2]->opt->backoff.initial_ms, 10);
	assert_true(g->kids[2]->opt->backoff.factor == 2);
	assert_int_equal(g->kids[2]->opt->retry_on[1], 2);
	assert_int_equal(g->kids[2]->pid, -1);
	grpx_job_free(job);

	a = adhoc_defaults(GRPX_RETRY);
	a.attempts = 5;
	a.factor = 3;
	a.initial_ms = 1;
	assert_int_equal(grpx_job_adhoc(&a, cmds, 1, &job, err, sizeof err), 0);
	g = grpx_job_find(job, "retry");
	assert_int_equal(g->attempts, 5);
	assert_true(g->opt->backoff.factor == 3);
	assert_int_equal(g->kids[0]->attempts, -1);
	grpx_job_free(job);

	a = adhoc_defaults(GRPX_SCHEDULE);
	a.delay_ms = 1000;
	a.on_error = GRPX_ON_CANCEL;
	assert_int_equal(grpx_job_adhoc(&a, cmds, 3, &job, err, sizeof err), 0);
	g = grpx_job_find(job, "schedule");
	assert_int_equal(g->on_error, GRPX_ON_CANCEL);
	assert_int_equal(g->kids[0]->opt->delay_ms, 0);
	assert_int_equal(g->kids[2]->opt->delay_ms, 2000);
	grpx_job_free(job);
	/* delay x position saturates at the longest duration */
	a.delay_ms = 3000000000000; /* 833333h20m */
	assert_int_equal(grpx_job_adhoc(&a, cmds, 3, &job, err, sizeof err), 0);
	g = grpx_job_find(job, "schedule");
	assert_int_equal(g->kids[1]->opt->delay_ms, 3000000000000);
	assert_int_equal(g->kids[2]->opt->delay_ms, 3600000000000);
	grpx_job_free(job);

	a = adhoc_defaults(GRPX_SIZED);
	assert_int_equal(grpx_job_adhoc(&a, cmds, 0, &job, err, sizeof err), 0);
	assert_int_equal(job->nnodes, 2);
	grpx_job_free(job);
}

static void adhoc_errors(void **state)
{
	static const struct {
		enum grpx_mode m;
		long limit, count;
		int on_error;
		int64_t stagger, delay;
		size_t n;
		const char *msg;
	} c[] = {
		{ GRPX_TAKE, -1, -1, -1, -1, -1, 3, "mode 'take' needs --count" },
		{ GRPX_LAST, -1, 4, -1, -1, -1, 3, "--count is 4 but there are 3 commands" },
		{ GRPX_TAKE, -1, 0, -1, -1, -1, 3, "--count must be at least 1" },
		{ GRPX_ALL, -1, 1, -1, -1, -1, 3, "--count does not apply to mode 'all'" },
		{ GRPX_ALL, -1, -1, -1, 5, -1, 3, "--stagger does not apply to mode 'all'" },
		{ GRPX_RACE, -1, -1, 1, -1, -1, 3, "--on-error does not apply to mode 'race'" },
		{ GRPX_WATERFALL, 2, -1, -1, -1, -1, 3, "--limit does not apply to mode 'waterfall'" },
		{ GRPX_ALL, 0, -1, -1, -1, -1, 3, "--limit must be at least 1" },
		{ GRPX_ALL, -1, -1, -1, -1, 5, 3, "--delay does not apply to mode 'all'" },
		{ GRPX_RETRY, -1, -1, -1, -1, -1, 2, "retry takes exactly one command" },
		{ GRPX_RACE, -1, -1, -1, -1, -1, 0, "mode 'race' needs a command" },
		{ GRPX_SCHEDULE, -1, -1, -1, -1, INT64_MAX, 3, "durations must be at most 1000000h" },
		{ GRPX_RACE, -1, -1, -1, 3600000000001, -1, 3, "durations must be at most 1000000h" },
	};
	char *cmds[] = { "a", "b", "c" };
	struct grpx_job *job;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		struct grpx_adhoc a = adhoc_defaults(c[i].m);
		a.limit = c[i].limit;
		a.count = c[i].count;
		a.on_error = c[i].on_error;
		a.stagger_ms = c[i].stagger;
		a.delay_ms = c[i].delay;
		job = (struct grpx_job *)err;
		assert_int_equal(grpx_job_adhoc(&a, cmds, c[i].n, &job, err,
						sizeof err), -1);
		assert_null(job);
		assert_string_equal(err, c[i].msg);
	}
}

/* ---- plan ---- */

static void plan(void **state)
{
	static const char want[] =
		"checks  sized limit=4 on_error=continue\n"
		"  lint  task: make lint\n"
		"  unit  task timeout=10m attempts=2: make test\n"
		"fetch  race stagger=1.5s\n"
		"  1  task: curl a\n"
		"  2  task: [curl, b]\n"
		"tick  schedule on_error=continue\n"
		"  1  task delay=5s: date\n"
		"  2  task at=07:30: date\n"
		"  3  task at=2026-11-27T10:00:00Z: date\n"
		"again  retry attempts=3 backoff=100ms:10s:2\n"
		"  1  take count=1 on_error=continue\n"
		"    1  task stdin=inherit: x\n";
	struct grpx_job *job = load_ok(
		"timeout: 1h\n"
		"groups:\n"
		"- {name: checks, mode: sized, limit: 4, tasks: [\n"
		"   {name: lint, run: make lint},\n"
		"   {name: unit, run: make test, timeout: 10m, attempts: 2}]}\n"
		"- {name: fetch, mode: race, stagger: 1.5s, tasks: [\n"
		"   {run: curl a}, {argv: [curl, b]}]}\n"
		"- {name: tick, mode: schedule, tasks: [{run: date, delay: 5s},\n"
		"   {run: date, at: '07:30'}, {run: date, at: '2026-11-27T11:00:00+01:00'}]}\n"
		"- {name: again, mode: retry, backoff: {initial: 100ms, max: 10s},\n"
		"   tasks: [{mode: take, count: 1, tasks: [{run: x, stdin: inherit}]}]}\n");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	grpx_job_plan(job, f);
	fclose(f);
	if (strncmp(buf, "job  timeout=1h\n", 16) != 0)
		fail_msg("got:\n%s", buf);
	assert_string_equal(buf + 16, want);
	free(buf);
	grpx_job_free(job);
}

/* "a: [0,1,...,n-1]" */
static char *values(const char *var, int n)
{
	size_t cap = 16 + (size_t)n * 8, len;
	char *s = malloc(cap);

	assert_non_null(s);
	len = (size_t)snprintf(s, cap, "%s: [", var);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len, "%s%d", i ? "," : "", i);
	snprintf(s + len, cap - len, "]");
	return s;
}

/* The generated children of a matrix, their strings and their order. */
static void matrix_build(void **state)
{
	struct grpx_job *job = load_ok(
		"groups:\n"
		"- name: m\n"
		"  mode: all\n"
		"  matrix: {a: [x, 'y z'], b: ['1', '2'], exclude: [{a: x, b: '2'}]}\n"
		"  template:\n"
		"    name: '{b}-{#}'\n"
		"    run: echo {a} {b} {}\n"
		"    env: {A: '{a}', B: '{b}'}\n"
		"    cwd: 'd{#}'\n"
		"- name: one\n"
		"  mode: race\n"
		"  matrix: {f: [a.tar.gz]}\n"
		"  template: {argv: [x, '{}', '{.}', '{f/.}', '{g}']}\n");
	const struct grpx_node *m = grpx_job_find(job, "m"), *c;

	(void)state;
	/* (x 1) (x 2) (y z 1) (y z 2), the first variable slowest, minus (x 2) */
	assert_int_equal(m->nkids, 3);
	assert_string_equal(m->kids[0]->path, "m/1-1");
	assert_string_equal(m->kids[1]->path, "m/1-2");
	assert_string_equal(m->kids[2]->path, "m/2-3");
	c = m->kids[1];
	/* quoted in run only; {} with two variables is no replacement string */
	assert_string_equal(c->run, "echo 'y z' 1 {}");
	assert_string_equal(c->opt->env[0], "A=y z");
	assert_string_equal(c->opt->env[1], "B=1");
	assert_string_equal(c->opt->cwd, "d2");
	assert_int_equal(c->index, 1);
	assert_int_equal(c->seq, m->seq + 2);
	c = grpx_job_find(job, "one/1"); /* unnamed: by its index */
	assert_non_null(c);
	assert_string_equal(c->argv[1], "a.tar.gz");
	assert_string_equal(c->argv[2], "a.tar");
	assert_string_equal(c->argv[3], "a.tar");
	assert_string_equal(c->argv[4], "{g}");
	assert_int_equal(job->nnodes, 1 + 2 + 3 + 1);
	grpx_job_free(job);
}

/* Matrices are bounded like the rest of a file: by combinations, by the
 * nodes they generate all together, by the text they make. */
static void matrix_limits(void **state)
{
	char *a = values("a", 400), *b = values("b", 400), *s;
	size_t len = 2 * strlen(a) + 2 * 1024 * 1024;

	(void)state;
	assert_non_null(s = malloc(len));
	snprintf(s, len, "groups:\n- name: g\n  mode: sized\n  matrix: {%s, %s}\n"
		 "  template: {run: x}\n", a, b);
	load_bad(s, 4, 11, "'matrix' has more than 100000 combinations");
	snprintf(s, len, "groups:\n- name: g\n  mode: sized\n  matrix: {%s}\n"
		 "  template:\n    mode: all\n    matrix: {%s}\n"
		 "    template: {run: 'echo {a} {b}'}\n", a, b);
	load_bad(s, 8, 15, "matrices generate more than 100000 tasks and groups");
	/* one string past 1 MiB */
	snprintf(s, len, "groups:\n- name: g\n  mode: sized\n  matrix: {v: ['%0600000d']}\n"
		 "  template: {run: '{v} {v}'}\n", 0);
	load_bad(s, 5, 19, "'{v} {v}' is longer than 1 MiB for matrix child 1");
	/* all the copies of a long template past 256 MiB */
	len = (size_t)snprintf(s, len, "groups:\n- name: g\n  mode: sized\n  matrix: {%s}\n"
			       "  template: {run: '", a);
	memset(s + len, 'x', 1000000);
	strcpy(s + len + 1000000, "'}\n");
	load_bad(s, 5, 13, "matrices generate more than 256 MiB of tasks and groups");
	free(s);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_tree),
		cmocka_unit_test(seq_preorder),
		cmocka_unit_test(minimal),
		cmocka_unit_test(error_classes),
		cmocka_unit_test(yaml_errors),
		cmocka_unit_test(three_errors),
		cmocka_unit_test(missing_file),
		cmocka_unit_test(alias_bomb),
		cmocka_unit_test(alias_limits),
		cmocka_unit_test(too_deep),
		cmocka_unit_test(huge_scalar),
		cmocka_unit_test(many_tasks),
		cmocka_unit_test(adhoc_build),
		cmocka_unit_test(adhoc_errors),
		cmocka_unit_test(plan),
		cmocka_unit_test(matrix_build),
		cmocka_unit_test(matrix_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
