/* test_slurm.c - the slurm runner's pure parts: resources and allocation
 * in the loader and the plan, srun's words and environment, the
 * allocation's CPUs and end, and srun's refusals read from stderr. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

static struct grpx_job *load_ok(const char *yaml)
{
	struct grpx_diags d = { 0 };
	struct grpx_job *job = NULL;

	if (grpx_load_mem("t.yaml", yaml, strlen(yaml), &job, &d) != 0) {
		for (size_t i = 0; i < d.n; i++)
			print_error("%d:%d: %s\n", d.v[i].line, d.v[i].col, d.v[i].msg);
		grpx_diags_free(&d);
		fail_msg("load failed");
	}
	return job;
}

/* Load must fail with exactly one diag, at line:col, saying msg. */
static void load_bad(const char *yaml, int line, int col, const char *msg)
{
	struct grpx_diags d = { 0 };
	struct grpx_job *job = NULL;

	assert_int_equal(grpx_load_mem("t.yaml", yaml, strlen(yaml), &job, &d), -1);
	assert_null(job);
	if (d.n != 1 || d.v[0].line != line || d.v[0].col != col || strcmp(d.v[0].msg, msg) != 0) {
		for (size_t i = 0; i < d.n; i++)
			print_error("got %d:%d: %s\n", d.v[i].line, d.v[i].col, d.v[i].msg);
		fail_msg("want %d:%d: %s\nfor:\n%s", line, col, msg, yaml);
	}
	grpx_diags_free(&d);
}

static const char job_yaml[] =
	"resources: {cpus: 2}\n"
	"runner: slurm\n"
	"groups:\n"
	"  - name: g\n"
	"    mode: sized\n"
	"    resources: {mem: 4G, gpus: 1}\n"
	"    tasks:\n"
	"      - {name: a, run: 'true', resources: {cpus: 8}}\n"
	"      - {name: b, run: 'true', resources: {gpus: 0, mem: 512}}\n"
	"      - name: c\n"
	"        run: 'true'\n"
	"        runner: {slurm: {args: [-p, debug], allocation: new}}\n"
	"      - {name: d, run: 'true', runner: local}\n";

static void resources_inherit(void **state)
{
	struct grpx_job *job = load_ok(job_yaml);
	struct resources res;

	(void)state;
	node_resources(grpx_job_find(job, "g/a"), &res);
	assert_int_equal(res.cpus, 8);
	assert_int_equal(res.gpus, 1);
	assert_string_equal(res.mem, "4G");
	node_resources(grpx_job_find(job, "g/b"), &res);
	assert_int_equal(res.cpus, 2);
	assert_int_equal(res.gpus, 0);
	assert_string_equal(res.mem, "512");
	node_resources(job->root, &res);
	assert_int_equal(res.cpus, 2);
	assert_int_equal(res.gpus, -1);
	assert_null(res.mem);
	assert_int_equal(node_runner(grpx_job_find(job, "g/a")), RUN_SLURM);
	assert_int_equal(node_runner(grpx_job_find(job, "g/c")), RUN_SLURM_JOB);
	assert_int_equal(node_runner(grpx_job_find(job, "g/d")), RUN_LOCAL);
	assert_false(node_slurm(grpx_job_find(job, "g/d")));
	grpx_job_free(job);
}

static void resources_errors(void **state)
{
	(void)state;
	load_bad("groups: [{run: a, resources: {cpus: 0}}]\n", 1, 37, "'cpus' must be at least 1");
	load_bad("groups: [{run: a, resources: {cpus: '2'}}]\n", 1, 37, "'cpus' must be an integer");
	load_bad("groups: [{run: a, resources: {gpus: -1}}]\n", 1, 37, "'gpus' must be at least 0");
	load_bad("groups: [{run: a, resources: {cpu: 2}}]\n", 1, 31,
		 "unknown key 'cpu' in 'resources' (did you mean 'cpus'?)");
	load_bad("groups: [{run: a, resources: 4}]\n", 1, 30,
		 "'resources' must be a mapping of cpus, mem and gpus");
	static const char *const mems[] = { "0", "'0'", "0M", "4GB", "4X", "-1", "1.5G", "''",
					    "1000000000000000", "0512", "' 4G'", "[1]" };
	for (size_t i = 0; i < sizeof mems / sizeof *mems; i++) {
		char yaml[128], msg[256];
		const char *shown = mems[i];
		char unq[32];
		if (shown[0] == '\'') {
			snprintf(unq, sizeof unq, "%.*s", (int)strlen(shown) - 2, shown + 1);
			shown = unq;
		} else if (shown[0] == '[') {
			shown = "";
		}
		snprintf(yaml, sizeof yaml, "groups: [{run: a, resources: {mem: %s}}]\n", mems[i]);
		snprintf(msg, sizeof msg, "'mem' must be a positive size in megabytes, or with K, M, "
			 "G or T (512, 4G), not '%s'", shown);
		load_bad(yaml, 1, 36, msg);
	}
	load_bad("runner: {slurm: {allocation: old}}\ngroups: [{run: a}]\n", 1, 30,
		 "'allocation' must be 'new', not 'old'");
	load_bad("runner: {slurm: {alocation: new}}\ngroups: [{run: a}]\n", 1, 18,
		 "unknown key 'alocation' in 'slurm' (did you mean 'allocation'?)");
}

static void plan_shows(void **state)
{
	struct grpx_job *job = load_ok(job_yaml);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	grpx_job_plan(job, f);
	fclose(f);
	assert_string_equal(buf,
			    "job  runner=slurm resources=cpus:2\n"
			    "g  sized on_error=continue resources=mem:4G,gpus:1\n"
			    "  a  task resources=cpus:8: true\n"
			    "  b  task resources=mem:512,gpus:0: true\n"
			    "  c  task runner=slurm:='-p debug' allocation=new: true\n"
			    "  d  task runner=local: true\n");
	free(buf);
	grpx_job_free(job);
}

/* srun's words for a task, as one string. */
static void words(const struct grpx_node *t, int how, const char *want)
{
	char *v[SLURM_ARGV_MAX + 1] = { 0 }, buf[512], got[1024] = "", name[128];
	int n = slurm_argv(t, how, v, buf, sizeof buf);

	assert_true(n > 0 && n <= SLURM_ARGV_MAX);
	for (int i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", i ? " " : "", v[i]);
	assert_int_equal(slurm_job_name(t, name, sizeof name), 0);
	char full[1024];
	snprintf(full, sizeof full, "%s --job-name=%s", want, name);
	assert_string_equal(got, full);
}

static void srun_words(void **state)
{
	struct grpx_job *job = load_ok(job_yaml);
	char name[128], want[160];

	(void)state;
	words(grpx_job_find(job, "g/a"), RUN_SLURM,
	      "srun -Q --exact -N1 -n1 --cpus-per-task=8 --mem=4G --gpus=1");
	words(grpx_job_find(job, "g/b"), RUN_SLURM,
	      "srun -Q --exact -N1 -n1 --cpus-per-task=2 --mem=512 --gpus=0");
	words(grpx_job_find(job, "g/a"), RUN_SLURM_JOB, "srun -Q --cpus-per-task=8 --mem=4G --gpus=1");
	assert_int_equal(slurm_job_name(grpx_job_find(job, "g/b"), name, sizeof name), 0);
	snprintf(want, sizeof want, "-%ld-3", (long)getpid());
	assert_string_equal(name + strlen(name) - strlen(want), want);
	assert_memory_equal(name, "grpx-", 5);
	/* no room: an error, not a cut word */
	char *v[SLURM_ARGV_MAX], small[24];
	assert_int_equal(slurm_argv(grpx_job_find(job, "g/a"), RUN_SLURM, v, small, sizeof small), -1);
	grpx_job_free(job);
}

static void how_and_env(void **state)
{
	struct grpx_job *job = load_ok(job_yaml);
	const struct grpx_node *a = grpx_job_find(job, "g/a"), *c = grpx_job_find(job, "g/c");

	(void)state;
	unsetenv("SLURM_JOB_ID");
	unsetenv("SLURM_JOBID");
	assert_int_equal(slurm_how(a), RUN_SLURM_JOB);
	assert_false(slurm_env_drop("SLURM_NTASKS=2", RUN_SLURM_JOB));
	assert_false(slurm_env_drop("SLURM_PARTITION=debug", RUN_SLURM_JOB));
	setenv("SLURM_JOB_ID", "42", 1);
	assert_int_equal(slurm_how(a), RUN_SLURM);
	assert_int_equal(slurm_how(c), RUN_SLURM_JOB);
	assert_int_equal(slurm_how(grpx_job_find(job, "g/d")), RUN_LOCAL);
	/* a step: the allocation's shape stays out, the allocation stays in */
	assert_true(slurm_env_drop("SLURM_NTASKS=2", RUN_SLURM));
	assert_true(slurm_env_drop("SLURM_CPUS_PER_TASK=4", RUN_SLURM));
	assert_true(slurm_env_drop("SLURM_MEM_PER_NODE=1000", RUN_SLURM));
	assert_true(slurm_env_drop("SRUN_CPUS_PER_TASK=4", RUN_SLURM));
	assert_true(slurm_env_drop("SLURM_EXPORT_ENV=NONE", RUN_SLURM));
	assert_false(slurm_env_drop("SLURM_JOB_ID=42", RUN_SLURM));
	assert_false(slurm_env_drop("SLURM_CONF=/etc/slurm.conf", RUN_SLURM));
	assert_false(slurm_env_drop("SLURM_NTASKSX=1", RUN_SLURM));
	assert_false(slurm_env_drop("PATH=/bin", RUN_SLURM));
	/* a job of its own inside an allocation: none of it */
	assert_true(slurm_env_drop("SLURM_JOB_ID=42", RUN_SLURM_JOB));
	assert_true(slurm_env_drop("SLURM_NTASKS=2", RUN_SLURM_JOB));
	assert_true(slurm_env_drop("SRUN_CPUS_PER_TASK=4", RUN_SLURM_JOB));
	assert_false(slurm_env_drop("SLURM_CONF=/etc/slurm.conf", RUN_SLURM_JOB));
	assert_false(slurm_env_drop("SLURM_NTASKS=2", RUN_LOCAL));
	unsetenv("SLURM_JOB_ID");
	setenv("SLURM_JOBID", "42", 1);
	assert_int_equal(slurm_how(a), RUN_SLURM);
	unsetenv("SLURM_JOBID");
	grpx_job_free(job);
}

static void alloc_cpus(void **state)
{
	(void)state;
	assert_int_equal(slurm_cpus_of("8", "2", "2", "4(x2)"), 8);
	assert_int_equal(slurm_cpus_of(NULL, "4", "3", "4(x3)"), 12);
	assert_int_equal(slurm_cpus_of("", "4", "3", NULL), 12);
	assert_int_equal(slurm_cpus_of(NULL, NULL, "3", "4(x2),2"), 10);
	assert_int_equal(slurm_cpus_of(NULL, NULL, NULL, "16"), 16);
	assert_int_equal(slurm_cpus_of(NULL, NULL, NULL, "4(x2"), 0);
	assert_int_equal(slurm_cpus_of(NULL, NULL, NULL, "x"), 0);
	assert_int_equal(slurm_cpus_of(NULL, NULL, NULL, NULL), 0);
	assert_int_equal(slurm_cpus_of("0", "0", "1", NULL), 0);
	assert_int_equal(slurm_cpus_of("-2", NULL, NULL, "3"), 3);
	assert_int_equal(slurm_cpus_of(NULL, "100000", "100000", NULL), UINT32_MAX);
	unsetenv("SLURM_JOB_ID");
	unsetenv("SLURM_JOBID");
	setenv("SLURM_NTASKS", "5", 1);
	assert_int_equal(slurm_alloc_cpus(), 0); /* not in an allocation */
	setenv("SLURM_JOB_ID", "42", 1);
	assert_int_equal(slurm_alloc_cpus(), 5);
	unsetenv("SLURM_NTASKS");
	setenv("SLURM_CPUS_ON_NODE", "3", 1);
	setenv("SLURM_JOB_NUM_NODES", "2", 1);
	assert_int_equal(slurm_alloc_cpus(), 6);
	unsetenv("SLURM_CPUS_ON_NODE");
	unsetenv("SLURM_JOB_NUM_NODES");
	unsetenv("SLURM_JOB_ID");
}

static void alloc_end(void **state)
{
	struct grpx_job *job = load_ok(job_yaml), *local;
	struct tm tm = { .tm_year = 126, .tm_mon = 11, .tm_mday = 5, .tm_hour = 9, .tm_min = 3,
			 .tm_sec = 26, .tm_isdst = -1 };

	(void)state;
	assert_int_equal(slurm_parse_end("2026-12-05T09:03:26"), (int64_t)mktime(&tm) * 1000);
	assert_int_equal(slurm_parse_end("NONE"), -1);
	assert_int_equal(slurm_parse_end("Unknown"), -1);
	assert_int_equal(slurm_parse_end("N/A"), -1);
	assert_int_equal(slurm_parse_end("2026-12-05T09:03:26x"), -1);
	assert_int_equal(slurm_parse_end(""), -1);
	/* SLURM_JOB_END_TIME, inside an allocation, with a Slurm task */
	unsetenv("SLURM_JOBID");
	setenv("SLURM_JOB_END_TIME", "1796461406", 1);
	unsetenv("SLURM_JOB_ID");
	assert_int_equal(slurm_alloc_end_ms(job->root), -1);
	setenv("SLURM_JOB_ID", "42", 1);
	assert_int_equal(slurm_alloc_end_ms(job->root), 1796461406000LL);
	local = load_ok("groups: [{run: a}]\n");
	assert_int_equal(slurm_alloc_end_ms(local->root), -1); /* no Slurm task: not asked */
	/* the last minute */
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t ms = (int64_t)now.tv_sec * 1000;
	const struct grpx_node *a = grpx_job_find(job, "g/a"), *d = grpx_job_find(job, "g/d");
	assert_false(slurm_late(-1, a));
	assert_false(slurm_late(ms + SLURM_END_MARGIN_MS + 10000, a));
	assert_true(slurm_late(ms + SLURM_END_MARGIN_MS - 10000, a));
	assert_true(slurm_late(ms - 1000, a));
	assert_false(slurm_late(ms - 1000, d)); /* a local task */
	unsetenv("SLURM_JOB_END_TIME");
	unsetenv("SLURM_JOB_ID");
	grpx_job_free(local);
	grpx_job_free(job);
}

/* Feed t's stderr in chunks, end the attempt with exit code `code`. */
static void ends(struct grpx_node *t, int code, const char *const *chunks)
{
	t->status = code ? GRPX_FAILED : GRPX_OK;
	t->exit_code = code;
	t->errnum = 0;
	t->slurm_scan_off = t->slurm_refused = false;
	free(t->errtext);
	t->errtext = NULL;
	for (; *chunks; chunks++)
		slurm_scan(t, *chunks, strlen(*chunks));
	slurm_check(t, -1);
}

static void refusals(void **state)
{
	struct grpx_job *job = load_ok(job_yaml);
	struct grpx_node *a = grpx_job_find(job, "g/a"), *d = grpx_job_find(job, "g/d");

	(void)state;
	ends(a, 1, (const char *[]){ "srun: error: Unable to create step for job 20: More "
				     "processors requested than permitted\n", NULL });
	assert_int_equal(a->status, GRPX_ERROR);
	assert_int_equal(a->errnum, SLURM_ESRUN);
	assert_string_equal(node_strerror(a),
			    "srun: Unable to create step for job 20: More processors requested than permitted");
	/* two reads */
	ends(a, 1, (const char *[]){ "srun: error: Memory specification can not be satisfied\n",
				     "srun: error: Unable to allocate resources: Requested node configuration "
				     "is not available\n", NULL });
	assert_int_equal(a->status, GRPX_ERROR);
	ends(a, 1, (const char *[]){ "srun: error: Memory specification can not be satisfied\n"
				     "srun: error: Unable to allocate resources: Requested node "
				     "configuration is not available\n", NULL });
	assert_string_equal(node_strerror(a),
			    "srun: Memory specification can not be satisfied; Unable to allocate "
			    "resources: Requested node configuration is not available");
	ends(a, 255, (const char *[]){ "srun: unrecognized option '--bogus'\nTry \"srun --help\" "
				       "for more information\n", NULL });
	assert_int_equal(a->status, GRPX_ERROR);
	assert_string_equal(node_strerror(a), "srun: unrecognized option '--bogus'");
	ends(a, 1, (const char *[]){ "srun: error: Unable to contact slurm controller (connect "
				     "failure)\n", NULL });
	assert_int_equal(a->errnum, SLURM_ENOCTLD);
	assert_string_equal(node_strerror(a), "unable to contact slurm controller");
	/* the task ran: what it said, or srun's report of its end */
	ends(a, 1, (const char *[]){ "oops\nsrun: error: Unable to create step\n", NULL });
	assert_int_equal(a->status, GRPX_FAILED);
	assert_null(a->errtext);
	ends(a, 3, (const char *[]){ "srun: error: vm: task 0: Exited with exit code 3\n"
				     "srun: error: Unable to create step\n", NULL });
	assert_int_equal(a->status, GRPX_FAILED);
	ends(a, 1, (const char *[]){ "srun: Warning: can't run 1 processes on 2 nodes\n", NULL });
	assert_int_equal(a->status, GRPX_FAILED);
	/* it exited 0: whatever it said, it ran */
	ends(a, 0, (const char *[]){ "srun: error: Unable to create step\n", NULL });
	assert_int_equal(a->status, GRPX_OK);
	assert_null(a->errtext);
	/* a local task that prints srun's words is only a failure */
	ends(d, 1, (const char *[]){ "srun: error: Unable to create step\n", NULL });
	assert_int_equal(d->status, GRPX_FAILED);
	grpx_job_free(job);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(resources_inherit), cmocka_unit_test(resources_errors),
		cmocka_unit_test(plan_shows),        cmocka_unit_test(srun_words),
		cmocka_unit_test(how_and_env),       cmocka_unit_test(alloc_cpus),
		cmocka_unit_test(alloc_end),         cmocka_unit_test(refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
