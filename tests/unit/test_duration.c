/* test_duration.c - grpx_parse_duration() and grpx_format_duration(). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "grpx.h"

static int64_t parse_ok(const char *s)
{
	int64_t ms = -42;

	if (grpx_parse_duration(s, &ms) != 0)
		fail_msg("'%s' did not parse", s);
	return ms;
}

static void parse_valid(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("250ms"), 250);
	assert_int_equal(parse_ok("2s"), 2000);
	assert_int_equal(parse_ok("1.5m"), 90000);
	assert_int_equal(parse_ok("1h"), 3600000);
	assert_int_equal(parse_ok("1h30m"), 5400000);
	assert_int_equal(parse_ok("1h30m15s250ms"), 5415250);
	assert_int_equal(parse_ok("1m30s"), 90000);
	assert_int_equal(parse_ok("90"), 90000);
	assert_int_equal(parse_ok("0.5"), 500);
	assert_int_equal(parse_ok("0"), 0);
	assert_int_equal(parse_ok("0s"), 0);
	assert_int_equal(parse_ok(".5s"), 500);
	assert_int_equal(parse_ok("5.s"), 5000);
	assert_int_equal(parse_ok("0.0004s"), 0);   /* rounded */
	assert_int_equal(parse_ok("0.0005s"), 1);   /* half up */
	assert_int_equal(parse_ok("1.25ms"), 1);
	assert_int_equal(parse_ok("0.333333333333333333333h"), 1200000);
	assert_int_equal(parse_ok("9223372036854775807ms"), INT64_MAX);
}

static void parse_invalid(void **state)
{
	static const char *const bad[] = {
		"", "s", "ms", ".", "..5s", "1.2.3s", "-1s", "+1s", " 1s",
		"1s ", "1 s", "1x", "1sec", "1S", "1hms", "1s1h", "1m1m",
		"1ms1s", "1h30", "abc", "1e3", "0x10", "2sm", "1d",
	};
	int64_t ms = 7;

	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		errno = 0;
		if (grpx_parse_duration(bad[i], &ms) != -1)
			fail_msg("'%s' parsed as %lld", bad[i], (long long)ms);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(ms, 7);
	assert_int_equal(grpx_parse_duration(NULL, &ms), -1);
}

static void parse_overflow(void **state)
{
	static const char *const big[] = {
		"9223372036854775808ms", "99999999999999999999", "2562047788016h",
		"2562047788015h12m55s808ms", "2562047788015h12m56s",
		"9223372036854775.808"
	};
	int64_t ms;

	(void)state;
	for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
		errno = 0;
		assert_int_equal(grpx_parse_duration(big[i], &ms), -1);
		assert_int_equal(errno, ERANGE);
	}
	assert_int_equal(parse_ok("2562047788015h12m55s807ms"), INT64_MAX);
	assert_int_equal(parse_ok("9223372036854775.807"), INT64_MAX);
}

static void format(void **state)
{
	static const struct { int64_t ms; const char *s; } cases[] = {
		{ 0, "0s" }, { 1, "1ms" }, { 250, "250ms" }, { 1000, "1s" },
		{ 1500, "1.5s" }, { 1050, "1.05s" }, { 1001, "1.001s" }, { 2000, "2s" },
		{ 60000, "1m" }, { 60500, "1m500ms" }, { 61500, "1m1.5s" },
		{ 90000, "1m30s" }, { 3600000, "1h" }, { 3600250, "1h250ms" },
		{ 5400000, "1h30m" }, { 90061001, "25h1m1.001s" }, { -2000, "-2s" },
		{ -1500, "-1.5s" },
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		grpx_format_duration(cases[i].ms, buf, sizeof buf);
		assert_string_equal(buf, cases[i].s);
	}
	grpx_format_duration(90000, buf, 3);
	assert_string_equal(buf, "1m");
	grpx_format_duration(INT64_MIN, buf, sizeof buf);
	assert_string_equal(buf, "-2562047788015h12m55.808s");
}

static void roundtrip(void **state)
{
	static const int64_t v[] = {
		0, 1, 999, 1000, 1001, 1010, 1100, 59999, 60000, 60001, 61000, 3599999,
		3600000, 3600001, 86400000, 123456789, INT64_MAX,
	};
	char buf[64];

	(void)state;
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		grpx_format_duration(v[i], buf, sizeof buf);
		assert_int_equal(parse_ok(buf), v[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_valid),
		cmocka_unit_test(parse_invalid),
		cmocka_unit_test(parse_overflow),
		cmocka_unit_test(format),
		cmocka_unit_test(roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
