/* test_fuzz_regressions.c - replay every input the fuzzer once crashed on. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpx.h"

/* A directory under tests/, found from this file's own path. */
static const char *tests_dir(const char *sub, char *buf, size_t len)
{
	const char *slash = strrchr(__FILE__, '/');
	int dir = slash ? (int)(slash - __FILE__) : 1;

	snprintf(buf, len, "%.*s/../%s", dir, slash ? __FILE__ : ".", sub);
	return buf;
}

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	assert_non_null(f);
	for (;;) {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
		size_t k = fread(buf + n, 1, cap - n, f);
		if (k == 0)
			break;
		n += k;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* Load every file of dir the way fuzz_load does; the sanitizers judge. */
static size_t replay(const char *sub)
{
	char dir[4096], path[8192];
	DIR *d = opendir(tests_dir(sub, dir, sizeof dir));
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		size_t len;
		char *buf = slurp(path, &len);
		struct grpx_job *job = NULL;
		struct grpx_diags diags = { 0 };
		int rc = grpx_load_mem(e->d_name, buf, len, &job, &diags);
		/* Exactly one of the two results, never half of both. */
		if (rc == 0) {
			assert_non_null(job);
			assert_int_equal(diags.n, 0);
			grpx_job_free(job);
		} else {
			assert_int_equal(rc, -1);
			assert_null(job);
			assert_true(diags.n > 0);
		}
		grpx_diags_free(&diags);
		free(buf);
		n++;
	}
	closedir(d);
	return n;
}

static void test_regressions(void **state)
{
	(void)state;
	replay("fuzz/regressions");
}

static void test_seeds(void **state)
{
	(void)state;
	assert_true(replay("data") > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regressions),
		cmocka_unit_test(test_seeds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
