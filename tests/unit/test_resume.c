/*
 * test_resume.c - reading a journal or a report back (jread.c, resume.c):
 * strict JSON, the latest line of a path, cut lines, errors with their line
 * numbers; and which nodes a run resumes, mode by mode.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "jread.h"

/* --- jread --- */

static uint32_t parse(struct jdoc *d, const char *text, char *buf, size_t cap, size_t *used)
{
	size_t len = strlen(text);

	assert_true(len < cap);
	memcpy(buf, text, len + 1);
	jdoc_clear(d);
	return jparse(d, buf, len, used);
}

static void json_values(void **state)
{
	(void)state;
	struct jdoc d = { 0 };
	char buf[512];
	size_t used;
	uint32_t o;

	static const char text[] =
		" {\"a\": [1, -2.5e3, true, false, null], \"s\": \"x\\\"\\\\\\/\\n\\u00e9\\ud83d\\ude00\"} ";
	o = parse(&d, text, buf, sizeof buf, &used);
	assert_true(o != 0);
	assert_int_equal(used, sizeof text - 1); /* white space after it too */
	const struct jval *s = jget(&d, o, "s");
	assert_non_null(s);
	assert_int_equal(s->type, J_STR);
	assert_string_equal(s->s, "x\"\\/\n\xc3\xa9\xf0\x9f\x98\x80");
	const struct jval *a = jget(&d, o, "a");
	assert_int_equal(a->type, J_ARR);
	int types[5], n = 0;
	for (uint32_t k = a->kid; k; k = d.v[k].next)
		types[n++] = d.v[k].type;
	assert_int_equal(n, 5);
	assert_int_equal(types[0], J_NUM);
	assert_int_equal(types[2], J_TRUE);
	assert_int_equal(types[4], J_NULL);
	assert_null(jget(&d, o, "missing"));
	/* a value and what follows it */
	o = parse(&d, "{} x", buf, sizeof buf, &used);
	assert_true(o != 0);
	assert_int_equal(used, 3);
	jdoc_free(&d);
}

static void json_errors(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"{\"a\": 1,}", "[1,]", "{a: 1}", "\"\x01\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\x\"",
		"01", "1.", "-", "1e", "tru", "{\"a\" 1}", "\"abc", "", "[", "nul",
	};
	struct jdoc d = { 0 };
	char buf[2048];
	size_t used;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint32_t o = parse(&d, bad[i], buf, sizeof buf, &used);
		if (o && used == strlen(bad[i]))
			fail_msg("'%s' was taken as JSON", bad[i]);
	}
	/* nesting: JREAD_MAX_DEPTH levels are fine, one more is not */
	static char deep[2 * JREAD_MAX_DEPTH + 3], copy[sizeof deep];
	memset(deep, '[', JREAD_MAX_DEPTH);
	memset(deep + JREAD_MAX_DEPTH, ']', JREAD_MAX_DEPTH);
	assert_true(parse(&d, deep, copy, sizeof copy, &used) != 0);
	memset(deep, '[', JREAD_MAX_DEPTH + 1);
	memset(deep + JREAD_MAX_DEPTH + 1, ']', JREAD_MAX_DEPTH + 1);
	assert_int_equal(parse(&d, deep, copy, sizeof copy, &used), 0);
	assert_string_equal(d.err, "nested too deep");
	jdoc_free(&d);
}

/* --- loading --- */

static char tmpl[] = "/tmp/grpx-test-resume.XXXXXX";
static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = mkdtemp(tmpl);
	return dir ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *file_with(const char *name, const char *text)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
	return path;
}

#define K1 "0000000000000001"
#define K2 "0000000000000002"
#define RUN "{\"event\": \"run\", \"file\": \"x.yaml\"}\n"
#define END(path, key, status) \
	"{\"event\": \"end\", \"path\": \"" path "\", \"key\": \"" key "\", \"status\": \"" status "\"}"

/* Which of the tasks a, b, c of `groups: [{name: g, mode: sized, ...}]`
 * the file resumes, as "a c"; keys are faked: a=1, b=2, c=1... */
static struct grpx_job *job_abc(void)
{
	static const char yaml[] = "groups: [{name: g, mode: sized, tasks: [{name: a, run: x},"
				   " {name: b, run: y}, {name: c, run: z}]}]";
	struct grpx_diags d = { 0 };
	struct grpx_job *job = NULL;

	assert_int_equal(grpx_load_mem("t.yaml", yaml, sizeof yaml - 1, &job, &d), 0);
	return job;
}

static void resumed_abc(const char *text, const char *want)
{
	struct grpx_resume *rs = NULL;
	struct grpx_job *job = job_abc();
	char err[512], got[64] = "";

	if (grpx_resume_load(file_with("j", text), &rs, err, sizeof err) < 0)
		fail_msg("%s", err);
	job_keys(job->root);
	/* fake keys the file can name: 1 for every task, 2 for the group */
	for (uint32_t i = 0; i < 3; i++)
		job->root->kids[0]->kids[i]->key = 1;
	job->root->kids[0]->key = 2;
	resume_mark(job->root, rs);
	for (uint32_t i = 0; i < 3; i++) {
		const struct grpx_node *n = job->root->kids[0]->kids[i];
		if (n->resume == RM_OK)
			snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", *got ? " " : "", n->name);
	}
	assert_string_equal(got, want);
	grpx_resume_free(rs);
	grpx_job_free(job);
}

static void journal_lines(void **state)
{
	(void)state;
	/* the latest line of a path counts */
	resumed_abc(RUN END("g/a", K1, "ok") "\n" END("g/b", K1, "failed") "\n" END("g/c", K1, "ok") "\n"
		    RUN END("g/a", K1, "failed") "\n" END("g/b", K1, "ok") "\n", "b c");
	/* another key is another definition */
	resumed_abc(RUN END("g/a", K2, "ok") "\n" END("g/b", K1, "ok") "\n", "b");
	/* a cut last line; a cut line that a later run ended; blank lines */
	resumed_abc(RUN END("g/a", K1, "ok") "\n" "{\"event\": \"end\", \"pa", "a");
	resumed_abc(RUN END("g/a", K1, "ok") "\n{\"event\": \"end\", \"pa\n" RUN "\n  \n"
		    END("g/c", K1, "ok") "\n", "a c");
	/* the group ended ok: resumed whole, its children with their own lines */
	resumed_abc(RUN END("g/a", K1, "ok") "\n" END("g/b", K1, "canceled") "\n" END("g", K2, "ok") "\n",
		    "a");
	resumed_abc("", "");
	/* a report, on one line or many */
	resumed_abc("{\"version\": 1, \"root\": {\"path\": \"\", \"key\": \"" K2 "\", \"status\": "
		    "\"failed\", \"children\": [{\"path\": \"g\", \"key\": \"" K2 "\", \"status\": \"failed\","
		    " \"children\": [{\"path\": \"g/b\", \"key\": \"" K1 "\", \"status\": \"ok\"}]}]}}\n", "b");
	resumed_abc("{\n \"root\": {\"path\": \"\", \"key\": \"" K2 "\", \"status\": \"ok\",\n"
		    "  \"children\": [{\"path\": \"g/c\", \"key\": \"" K1 "\", \"status\": \"ok\"}]}\n}\n", "c");
}

static void load_error(const char *text, const char *want)
{
	struct grpx_resume *rs = (struct grpx_resume *)&rs;
	char err[512], expect[1024];
	const char *path = file_with("bad", text);

	assert_int_equal(grpx_resume_load(path, &rs, err, sizeof err), -1);
	assert_null(rs);
	snprintf(expect, sizeof expect, "%s:%s", path, want);
	assert_string_equal(err, expect);
}

static void journal_errors(void **state)
{
	(void)state;
	load_error(RUN "nonsense\n" END("g/a", K1, "ok") "\n", "2: invalid value");
	/* a cut line that nothing ended is corrupt once lines follow it */
	load_error(RUN "{\"event\": \"end\", \"pa\n" END("g/a", K1, "ok") "\n", "2: unterminated string");
	load_error(RUN "[1]\n", "2: not a JSON object");
	load_error(RUN "{\"path\": \"a\"}\n", "2: no \"event\" (not a grpx journal line)");
	load_error(RUN "{\"event\": \"exit\"}\n", "2: unknown \"event\" (not a grpx journal line)");
	load_error(RUN "\n" END("g/a", "00000000000000AA", "ok") "\n", "3: no \"key\" of 16 hex digits");
	load_error(RUN END("g/a", K1, "running") "\n", "2: no \"status\" of a node that ended");
	load_error(RUN "{\"event\": \"end\", \"path\": 1, \"key\": \"" K1 "\", \"status\": \"ok\"}\n",
		   "2: no \"path\" string");
	load_error(RUN END("g/a", K1, "ok") " x\n" RUN, "2: text after the JSON object");
	load_error("{\"root\": {\"path\": \"\", \"status\": \"ok\"}}\n", "1: no \"key\" of 16 hex digits");
	load_error("{\"root\": 3}\n", "1: \"root\" is not an object");

	struct grpx_resume *rs;
	char err[512], path[600];
	snprintf(path, sizeof path, "%s/missing", dir);
	assert_int_equal(grpx_resume_load(path, &rs, err, sizeof err), -1);
	assert_int_equal(errno, ENOENT);
}

/* --- which nodes are resumed --- */

static const char marks_yaml[] =
	"groups:\n"
	"  - name: e\n"
	"    mode: errgroup\n"
	"    tasks:\n"
	"      - {name: a, run: a}\n"
	"      - {name: r, mode: race, tasks: [{name: r1, run: r1},"
	"          {name: re, mode: errgroup, tasks: [{name: re1, run: re1}]}]}\n"
	"      - {name: t, mode: retry, tasks: [{name: te, mode: errgroup, tasks: [{name: te1, run: te1}]}]}\n"
	"      - {name: w, mode: waterfall, tasks: [{name: w1, run: w1}, {name: w2, run: w2}]}\n"
	"      - {name: al, mode: all, tasks: [{name: a1, run: a1}]}\n"
	"      - {name: s, mode: schedule, tasks: [{name: s1, delay: 1h, run: s1}]}\n"
	"      - {name: k, mode: take, count: 1, tasks: [{name: k1, run: k1}]}\n"
	"      - {name: l, mode: last, count: 1, tasks: [{name: l1, run: l1}]}\n"
	"      - {name: z, mode: sized, tasks: [{name: z1, run: z1}]}\n";

/* A journal where the nodes at `ok` (paths, space-separated) ended ok
 * with their real keys; then the marks of `paths` as "path=M ...". */
static void marks(const char *ok, const char *paths, const char *want)
{
	struct grpx_diags d = { 0 };
	struct grpx_job *job = NULL;
	struct grpx_resume *rs = NULL;
	char text[8192] = RUN, err[512], got[2048] = "", list[1024], *save, *p;

	assert_int_equal(grpx_load_mem("t.yaml", marks_yaml, sizeof marks_yaml - 1, &job, &d), 0);
	assert_int_equal(job_keys(job->root), 0);
	snprintf(list, sizeof list, "%s", ok);
	for (p = strtok_r(list, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
		char key[KEY_HEX];
		struct grpx_node *n = grpx_job_find(job, p);
		assert_non_null(n);
		key_format(n->key, key);
		snprintf(text + strlen(text), sizeof text - strlen(text),
			 "{\"event\": \"end\", \"path\": \"%s\", \"key\": \"%s\", \"status\": \"ok\"}\n", p, key);
	}
	if (grpx_resume_load(file_with("m", text), &rs, err, sizeof err) < 0)
		fail_msg("%s", err);
	resume_mark(job->root, rs);
	snprintf(list, sizeof list, "%s", paths);
	for (p = strtok_r(list, " ", &save); p; p = strtok_r(NULL, " ", &save)) {
		struct grpx_node *n = grpx_job_find(job, p);
		assert_non_null(n);
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s=%c", *got ? " " : "", p,
			 "-OS"[n->resume]);
	}
	assert_string_equal(got, want);
	grpx_resume_free(rs);
	grpx_job_free(job);
}

#define TASKS "e/a e/r/r1 e/r/re/re1 e/t/te/te1 e/w/w1 e/w/w2 e/al/a1 e/s/s1 e/k/k1 e/l/l1 e/z/z1"

static void resumed_one_by_one(void **state)
{
	(void)state;
	/* every task ended ok, no group did: only where nobody consumes the
	 * output (under a retry too), never under race, take, last, waterfall */
	marks(TASKS, TASKS,
	      "e/a=O e/r/r1=- e/r/re/re1=- e/t/te/te1=O e/w/w1=- e/w/w2=- e/al/a1=O e/s/s1=O "
	      "e/k/k1=- e/l/l1=- e/z/z1=O");
	/* nor the retry's own child, nor the group of a race */
	marks(TASKS " e/t/te e/r/re", "e/t/te e/r/re", "e/t/te=- e/r/re=-");
}

static void resumed_whole(void **state)
{
	(void)state;
	/* a race that ended ok: whole; inside, its own lines decide */
	marks("e/r e/r/r1 e/r/re/re1", "e/r e/r/r1 e/r/re e/r/re/re1", "e/r=O e/r/r1=O e/r/re=S e/r/re/re1=O");
	/* the top-level group ended ok: everything below */
	marks("e e/a", "e e/a e/w e/w/w1", "e=O e/a=O e/w=S e/w/w1=S");
	/* the root is never resumed itself */
	marks("e", "", "");
	struct grpx_diags d = { 0 };
	struct grpx_job *job = NULL;
	assert_int_equal(grpx_load_mem("t.yaml", marks_yaml, sizeof marks_yaml - 1, &job, &d), 0);
	assert_int_equal(grpx_job_resume(job, NULL), 0);
	assert_int_equal(job->root->resume, RM_NONE);
	grpx_job_free(job);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(json_values),     cmocka_unit_test(json_errors),
		cmocka_unit_test(journal_lines),   cmocka_unit_test(journal_errors),
		cmocka_unit_test(resumed_one_by_one), cmocka_unit_test(resumed_whole),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
