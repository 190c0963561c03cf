/*
 * test_key.c - a node's key (key.c): equal definitions give equal keys,
 * each thing that goes in changes it, the things left out do not, and the
 * bytes of the format do not drift (a fixed job has a fixed key).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The key of the node at `path` of the job `yaml`. */
static uint64_t key_of(const char *yaml, const char *path)
{
	struct grpx_diags d = { 0 };
	struct grpx_job *job = NULL;

	if (grpx_load_mem("t.yaml", yaml, strlen(yaml), &job, &d) != 0) {
		for (size_t i = 0; i < d.n; i++)
			print_error("%d:%d: %s\n", d.v[i].line, d.v[i].col, d.v[i].msg);
		grpx_diags_free(&d);
		fail_msg("load failed:\n%s", yaml);
	}
	assert_int_equal(job_keys(job->root), 0);
	struct grpx_node *n = grpx_job_find(job, path);
	assert_non_null(n);
	uint64_t k = n->key;
	grpx_job_free(job);
	return k;
}

/* A task `t` (`body` after its name) and a task `u` in a sized group
 * `g` (`group`: more of its keys), under top-level lines `top`. */
static uint64_t body_key(const char *top, const char *group, const char *body, const char *path)
{
	char yaml[2048];

	snprintf(yaml, sizeof yaml,
		 "%s\ngroups:\n  - {name: g, mode: sized%s, tasks: [{name: t, %s},"
		 " {name: u, run: 'make test'}]}\n",
		 top, group, body);
	return key_of(yaml, path);
}

/* The same, t being `run: 'make lint'` and `task`. */
static uint64_t task_key(const char *top, const char *group, const char *task, const char *path)
{
	char body[1024];

	snprintf(body, sizeof body, "run: 'make lint'%s", task);
	return body_key(top, group, body, path);
}

#define SAME(a, b) assert_true((a) == (b))
#define DIFF(a, b) assert_true((a) != (b))

static void equal_definitions(void **state)
{
	(void)state;
	uint64_t t = task_key("", "", "", "g/t"), g = task_key("", "", "", "g");

	SAME(t, task_key("", "", "", "g/t"));
	SAME(g, task_key("", "", "", "g"));
	DIFF(t, task_key("", "", "", "g/u")); /* another command */
	DIFF(t, g);
	/* the same command elsewhere, under another name: the same key (the
	 * path is matched on its own) */
	SAME(t, key_of("groups: [{name: x, mode: race, tasks: [{name: other, run: 'make lint'}]}]",
		       "x/other"));
	/* the key is 16 hex digits */
	char hex[KEY_HEX];
	key_format(0xabcULL, hex);
	assert_string_equal(hex, "0000000000000abc");
}

static void task_ingredients(void **state)
{
	(void)state;
	uint64_t base = task_key("env: {A: '1'}", "", "", "g/t");

	DIFF(base, task_key("env: {A: '1'}", "", "", "g/u"));
	/* run vs argv */
	DIFF(body_key("", "", "argv: [make, lint]", "g/t"), task_key("", "", "", "g/t"));
	DIFF(body_key("", "", "argv: [make, lint]", "g/t"), body_key("", "", "argv: [make, 'lint x']", "g/t"));
	DIFF(body_key("", "", "argv: [make, lint]", "g/t"),
	     body_key("", "", "argv: ['make lint']", "g/t")); /* word bounds */
	/* shell: own, inherited from the group, from the top */
	DIFF(base, task_key("env: {A: '1'}", "", ", shell: bash", "g/t"));
	DIFF(base, task_key("env: {A: '1'}", ", shell: bash", "", "g/t"));
	DIFF(base, task_key("env: {A: '1'}\nshell: bash", "", "", "g/t"));
	DIFF(task_key("", "", ", shell: bash", "g/t"), task_key("", "", ", shell: zsh", "g/t"));
	/* env: a value, a new name, inherited or own */
	DIFF(base, task_key("env: {A: '2'}", "", "", "g/t"));
	DIFF(base, task_key("env: {A: '1', B: '1'}", "", "", "g/t"));
	DIFF(base, task_key("env: {A: '1'}", ", env: {B: '1'}", "", "g/t"));
	DIFF(base, task_key("env: {A: '1'}", "", ", env: {A: '3'}", "g/t"));
	DIFF(base, task_key("", "", "", "g/t"));
	/* cwd: own, inherited, joined */
	DIFF(base, task_key("env: {A: '1'}", "", ", cwd: sub", "g/t"));
	DIFF(base, task_key("env: {A: '1'}", ", cwd: sub", "", "g/t"));
	DIFF(task_key("", ", cwd: a", ", cwd: b", "g/t"), task_key("", ", cwd: a", ", cwd: c", "g/t"));
}

/* Written differently, the same definition. */
static void task_normal_forms(void **state)
{
	(void)state;
	uint64_t plain = task_key("", "", "", "g/t");

	SAME(plain, task_key("", "", ", shell: /bin/sh", "g/t"));
	SAME(plain, task_key("", "", ", shell: [/bin/sh, -c]", "g/t"));
	SAME(task_key("", "", ", shell: bash", "g/t"), task_key("", "", ", shell: [bash, -c]", "g/t"));
	SAME(task_key("", "", ", shell: bash", "g/t"), task_key("shell: bash", "", "", "g/t"));
	/* env maps merge, inner wins; order of writing does not count */
	SAME(task_key("env: {A: '1', B: '2'}", "", "", "g/t"),
	     task_key("env: {B: '2', A: '1'}", "", "", "g/t"));
	SAME(task_key("env: {A: '1', B: '2'}", "", "", "g/t"),
	     task_key("env: {A: '9'}", ", env: {B: '2'}", ", env: {A: '1'}", "g/t"));
	/* cwd as joined: a/b either way */
	SAME(task_key("", ", cwd: a", ", cwd: b", "g/t"), task_key("", "", ", cwd: a/b", "g/t"));
	/* an argv task runs no shell */
	SAME(body_key("", "", "argv: [make]", "g/t"), body_key("shell: bash", "", "argv: [make]", "g/t"));
	SAME(body_key("", "", "argv: [make]", "g/t"), body_key("", "", "shell: zsh, argv: [make]", "g/t"));
}

/* How or when it runs is not what it computes. */
static void task_left_out(void **state)
{
	(void)state;
	uint64_t plain = task_key("", "", "", "g/t");
	static const char *const extra[] = {
		", timeout: 5s", ", attempts: 4", ", backoff: {initial: 1s}", ", attempts: 2, retry_on: [3]",
		", grace: 9s", ", stdin: inherit", ", runner: {slurm: {args: [-p, x]}}", ", runner: local",
	};

	for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
		if (plain != task_key("", "", extra[i], "g/t"))
			fail_msg("'%s' changed the task's key", extra[i]);
	SAME(plain, task_key("grace: 1s\ntimeout: 1h", ", grace: 5s, timeout: 10s", "", "g/t"));
	/* delay/at under a schedule: when, not what */
	SAME(key_of("groups: [{name: g, mode: schedule, tasks: [{name: t, run: 'make lint'}]}]", "g/t"),
	     key_of("groups: [{name: g, mode: schedule, tasks: [{name: t, delay: 3s, run: 'make lint'}]}]",
		    "g/t"));
	SAME(key_of("groups: [{name: g, mode: schedule, tasks: [{name: t, run: 'make lint'}]}]", "g/t"),
	     key_of("groups: [{name: g, mode: schedule, tasks: [{name: t, at: '10:00', run: 'make lint'}]}]",
		    "g/t"));
}

static void group_ingredients(void **state)
{
	(void)state;
	uint64_t base = task_key("", "", "", "g");

	/* its mode, options and children, in order */
	DIFF(base, key_of("groups: [{name: g, mode: errgroup, tasks: [{name: t, run: 'make lint'},"
			  " {name: u, run: 'make test'}]}]", "g"));
	DIFF(base, task_key("", ", limit: 2", "", "g"));
	DIFF(task_key("", ", limit: 2", "", "g"), task_key("", ", limit: 3", "", "g"));
	DIFF(base, task_key("", ", on_error: cancel", "", "g"));
	DIFF(base, body_key("", "", "run: 'make lint2'", "g")); /* a child's command */
	DIFF(base, task_key("", "", ", env: {X: '1'}", "g"));     /* a child's env */
	DIFF(base, key_of("groups: [{name: g, mode: sized, tasks: [{name: u, run: 'make test'},"
			  " {name: t, run: 'make lint'}]}]", "g"));  /* order */
	DIFF(base, key_of("groups: [{name: g, mode: sized, tasks: [{name: t, run: 'make lint'}]}]",
			  "g"));                                     /* one child fewer */
	const char *take = "groups: [{name: g, mode: take, count: %d%s, tasks: [{run: a}, {run: b}]}]";
	char a[256], b[256];
	snprintf(a, sizeof a, take, 1, "");
	snprintf(b, sizeof b, take, 2, "");
	DIFF(key_of(a, "g"), key_of(b, "g"));
	snprintf(b, sizeof b, take, 1, ", stagger: 1s");
	DIFF(key_of(a, "g"), key_of(b, "g"));
	/* the root: its groups' keys */
	DIFF(key_of(a, ""), key_of(b, ""));
	/* the group's env reaches its children's keys, so its own */
	DIFF(base, task_key("", ", env: {X: '1'}", "", "g"));
	/* a nested group's change reaches the top */
	DIFF(key_of("groups: [{name: g, mode: race, tasks: [{mode: waterfall, tasks: [{run: a}, {run: b}]}]}]",
		    "g"),
	     key_of("groups: [{name: g, mode: race, tasks: [{mode: waterfall, tasks: [{run: a}, {run: c}]}]}]",
		    "g"));
}

static void group_left_out(void **state)
{
	(void)state;
	uint64_t base = task_key("", "", "", "g");
	static const char *const extra[] = {
		", timeout: 5s", ", attempts: 3", ", backoff: {initial: 1s}", ", grace: 1s",
		", on_error: continue", /* sized's default, written out */
	};

	for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
		if (base != task_key("", extra[i], "", "g"))
			fail_msg("'%s' changed the group's key", extra[i]);
	/* names of the group and of its children: the paths say those */
	SAME(base, key_of("groups: [{name: other, mode: sized, tasks: [{name: t2, run: 'make lint'},"
			  " {name: u2, run: 'make test'}]}]", "other"));
	/* a retry group's attempts */
	SAME(key_of("groups: [{name: g, mode: retry, tasks: [{run: a}]}]", "g"),
	     key_of("groups: [{name: g, mode: retry, attempts: 7, backoff: {initial: 1s}, tasks: [{run: a}]}]",
		    "g"));
}

/* The format is a contract with the journals already written: these keys
 * must never change (a grpx that changes the format bumps its version
 * field, and then these values with it). */
static void golden(void **state)
{
	(void)state;
	char hex[KEY_HEX];

	key_format(task_key("", "", "", "g/t"), hex);
	assert_string_equal(hex, "9da6ac90b3e81187");
	key_format(task_key("env: {A: '1'}", ", limit: 2", ", cwd: /tmp", "g"), hex);
	assert_string_equal(hex, "3ef9355b87f040bf");
	/* FNV-1a's own test vectors */
	assert_true(fnv1a(FNV_OFFSET, "", 0) == 0xcbf29ce484222325ULL);
	assert_true(fnv1a(FNV_OFFSET, "a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(fnv1a(FNV_OFFSET, "foobar", 6) == 0x85944171f73967e8ULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(equal_definitions), cmocka_unit_test(task_ingredients),
		cmocka_unit_test(task_normal_forms), cmocka_unit_test(task_left_out),
		cmocka_unit_test(group_ingredients), cmocka_unit_test(group_left_out),
		cmocka_unit_test(golden),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
