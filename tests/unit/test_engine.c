/*
 * The engine and the modes' decisions, through the library with real
 * processes: what each policy selects, which statuses and reasons it
 * leaves, and how an outcome maps to an exit status.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "grpx.h"

struct capture {
	char out[4096];
	size_t len;
};

/* Run a job given as YAML text; returns the run, fills cap. */
static struct grpx_run *run_yaml(const char *yaml, struct grpx_job **job, struct capture *cap,
				 int64_t timeout_ms)
{
	struct grpx_diags d = { 0 };
	FILE *out = tmpfile();
	assert_non_null(out);
	struct grpx_opts o = { .timeout_ms = timeout_ms, .grace_ms = -1,
			       .output = GRPX_OUT_GROUPED, .stdout_fd = fileno(out),
			       .events_fd = -1 };
	struct grpx_run *run = NULL;

	memset(cap, 0, sizeof *cap);
	if (grpx_load_mem("test.yaml", yaml, strlen(yaml), job, &d) < 0) {
		for (size_t i = 0; i < d.n; i++)
			fprintf(stderr, "%d:%d: %s\n", d.v[i].line, d.v[i].col, d.v[i].msg);
		fail_msg("job did not load");
	}
	grpx_diags_free(&d);
	assert_int_equal(grpx_run(*job, &o, &run), 0);
	/* the output went to the file, whole: at most what the buffer takes */
	ssize_t k = pread(fileno(out), cap->out, sizeof cap->out, 0);
	cap->len = k > 0 ? (size_t)k : 0;
	fclose(out);
	return run;
}

/* A scratch directory for the tasks' pid files; removed by rm_tmpdir. */
static void make_tmpdir(char dir[static 32])
{
	strcpy(dir, "/tmp/grpx-test-XXXXXX");
	assert_non_null(mkdtemp(dir));
}

static void rm_tmpdir(const char *dir)
{
	char cmd[64];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * Orderings come from gates, not sleeps.  A task writes its pid with
 * PIDFILE_CMD; another waits with AFTER_CMD until that pid is gone, that
 * is, until the engine has reaped it (a zombie still answers kill -0).
 * Both take the file's path twice.  The wait gives up after about a minute:
 * a broken engine then fails the assertion instead of hanging.
 */
#define PIDFILE_CMD "echo $$ > %s"
#define AFTER_CMD                                                                 \
	"i=0; until [ -s %s ] && ! kill -0 $(cat %s) 2>/dev/null; do "              \
	"i=$((i+1)); [ $i -lt 6000 ] || break; sleep 0.01; done"

static enum grpx_status status_of(struct grpx_job *job, const char *path)
{
	struct grpx_node *n = grpx_job_find(job, path);
	assert_non_null(n);
	return grpx_node_status(n);
}

static void race_selects_first_ok(void **state)
{
	(void)state;
	struct grpx_job *job;
	struct capture cap;
	struct grpx_run *run = run_yaml(
		"grace: 200ms\n"
		"groups:\n"
		"  - {name: r, mode: race, tasks: [{run: sleep 5; echo 1}, {run: exit 1}, {run: echo 3}]}\n",
		&job, &cap, -1);
	assert_int_equal(grpx_run_outcome(run), GRPX_RUN_OK);
	assert_int_equal(cap.len, 2);
	assert_memory_equal(cap.out, "3\n", 2);
	assert_int_equal(status_of(job, "r/1"), GRPX_CANCELED);
	/* r/2 fails, unless r/3 won in an earlier wake-up and canceled it */
	assert_true(status_of(job, "r/2") == GRPX_FAILED || status_of(job, "r/2") == GRPX_CANCELED);
	char why[128];
	assert_string_equal(grpx_node_reason(grpx_job_find(job, "r/1"), why, sizeof why),
			    "race won by r/3");
	grpx_run_free(run);
	grpx_job_free(job);
}

static void race_all_fail_keeps_last_error(void **state)
{
	(void)state;
	struct grpx_job *job;
	struct capture cap;
	char dir[32], pid[64], yaml[1024];
	make_tmpdir(dir);
	snprintf(pid, sizeof pid, "%s/1.pid", dir);
	/* r/2 fails once r/1 has been reaped: its error is the last to arrive
	 * (and if both came in one wake-up, input order would still put r/2 last) */
	snprintf(yaml, sizeof yaml,
		 "groups:\n"
		 "  - name: r\n    mode: race\n    tasks:\n"
		 "      - run: " PIDFILE_CMD "; exit 3\n"
		 "      - run: " AFTER_CMD "; exit 4\n",
		 pid, pid, pid);
	struct grpx_run *run = run_yaml(yaml, &job, &cap, -1);
	assert_int_equal(grpx_run_outcome(run), GRPX_RUN_FAILED);
	assert_int_equal(grpx_run_nerrors(run), 1);
	const char *msg, *path = grpx_run_error(run, 0, &msg);
	assert_string_equal(path, "r/2");
	assert_string_equal(msg, "exit status 4");
	assert_int_equal(grpx_run_cause_code(run), 4);
	grpx_run_free(run);
	grpx_job_free(job);
	rm_tmpdir(dir);
}

static void take_in_completion_order(void **state)
{
	(void)state;
	struct grpx_job *job;
	struct capture cap;
	char dir[32], pid[64], yaml[1024];
	make_tmpdir(dir);
	snprintf(pid, sizeof pid, "%s/3.pid", dir);
	/* t/2 ends after t/3 has been reaped, and 0.3 s later still: ends
	 * reaped in one wake-up reach the group in input order, which would
	 * put t/2 first.  t/1 is still running when the take has its two. */
	snprintf(yaml, sizeof yaml,
		 "groups:\n"
		 "  - name: t\n    mode: take\n    count: 2\n    tasks:\n"
		 "      - run: sleep 30; echo 1\n"
		 "      - run: " AFTER_CMD "; sleep 0.3; echo 2\n"
		 "      - run: " PIDFILE_CMD "; echo 3\n",
		 pid, pid, pid);
	struct grpx_run *run = run_yaml(yaml, &job, &cap, -1);
	assert_int_equal(grpx_run_outcome(run), GRPX_RUN_OK);
	assert_int_equal(cap.len, 4);
	assert_memory_equal(cap.out, "3\n2\n", 4);
	assert_int_equal(status_of(job, "t/1"), GRPX_CANCELED);
	grpx_run_free(run);
	grpx_job_free(job);
	rm_tmpdir(dir);
}

static void all_in_input_order(void **state)
{
	(void)state;
	struct grpx_job *job;
	struct capture cap;
	struct grpx_run *run = run_yaml(
		"groups:\n"
		"  - {name: a, mode: all, tasks: [{run: sleep .3; echo 1}, {run: echo 2; exit 5}, {run: echo 3}]}\n",
		&job, &cap, -1);
	assert_int_equal(grpx_run_outcome(run), GRPX_RUN_FAILED);
	assert_int_equal(cap.len, 6);
	assert_memory_equal(cap.out, "1\n2\n3\n", 6);
	assert_int_equal(grpx_run_exit_code(run), 1);
	grpx_run_free(run);
	grpx_job_free(job);
}

static void errgroup_skips_and_names_cause(void **state)
{
	(void)state;
	struct grpx_job *job;
	struct capture cap;
	struct grpx_run *run = run_yaml(
		"groups:\n"
		"  - {name: e, mode: errgroup, limit: 1, tasks: [{name: lint, run: exit 2}, {run: echo no}]}\n"
		"  - {name: later, mode: sized, tasks: [{run: echo no}]}\n",
		&job, &cap, -1);
	char why[128];
	assert_int_equal(cap.len, 0);
	assert_int_equal(status_of(job, "e/2"), GRPX_SKIPPED);
	assert_string_equal(grpx_node_reason(grpx_job_find(job, "e/2"), why, sizeof why),
			    "e/lint failed");
	assert_int_equal(status_of(job, "later"), GRPX_SKIPPED);
	assert_int_equal(status_of(job, "later/1"), GRPX_SKIPPED);
	assert_int_equal(grpx_run_cause_code(run), 2);
	grpx_run_free(run);
	grpx_job_free(job);
}

static void run_timeout_is_124(void **state)
{
	(void)state;
	struct grpx_job *job;
	struct capture cap;
	struct grpx_run *run = run_yaml("groups:\n  - {name: s, mode: sized, tasks: [{run: sleep 30}]}\n",
					&job, &cap, 200);
	assert_int_equal(grpx_run_outcome(run), GRPX_RUN_TIMEOUT);
	assert_int_equal(grpx_run_exit_code(run), 124);
	assert_int_equal(status_of(job, "s/1"), GRPX_CANCELED);
	grpx_run_free(run);
	grpx_job_free(job);
}

static void retry_until_ok(void **state)
{
	(void)state;
	struct grpx_job *job;
	struct capture cap;
	char yaml[512];
	char dir[] = "/tmp/grpx-test-XXXXXX";
	assert_non_null(mkdtemp(dir));
	snprintf(yaml, sizeof yaml,
		 "groups:\n"
		 "  - name: r\n    mode: retry\n    attempts: 5\n    tasks:\n"
		 "      - run: echo x >> %s/n; [ $(wc -l < %s/n) -ge 3 ] && echo done\n",
		 dir, dir);
	struct grpx_run *run = run_yaml(yaml, &job, &cap, -1);
	assert_int_equal(grpx_run_outcome(run), GRPX_RUN_OK);
	assert_int_equal(cap.len, 5);
	assert_memory_equal(cap.out, "done\n", 5);
	struct grpx_node_info info;
	grpx_node_info(grpx_job_find(job, "r"), &info);
	assert_int_equal(info.attempts, 3);
	grpx_run_free(run);
	grpx_job_free(job);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void waterfall_pipes_through_files(void **state)
{
	(void)state;
	struct grpx_job *job;
	struct capture cap;
	struct grpx_run *run = run_yaml(
		"groups:\n"
		"  - name: w\n    mode: waterfall\n    tasks:\n"
		"      - run: echo 1\n"
		"      - run: read n; echo $((n+1))\n"
		"      - {name: top, mode: take, count: 1, tasks: [{run: read n; echo $((n+1))}]}\n",
		&job, &cap, -1);
	assert_int_equal(grpx_run_outcome(run), GRPX_RUN_OK);
	assert_int_equal(cap.len, 2);
	assert_memory_equal(cap.out, "3\n", 2);
	grpx_run_free(run);
	grpx_job_free(job);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(race_selects_first_ok),
		cmocka_unit_test(race_all_fail_keeps_last_error),
		cmocka_unit_test(take_in_completion_order),
		cmocka_unit_test(all_in_input_order),
		cmocka_unit_test(errgroup_skips_and_names_cause),
		cmocka_unit_test(run_timeout_is_124),
		cmocka_unit_test(retry_until_ok),
		cmocka_unit_test(waterfall_pipes_through_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
