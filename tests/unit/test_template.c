/*
 * test_template.c - GNU parallel's replacement strings (lib/template.c).
 *
 * The expected bytes are GNU parallel's (20221122), recorded by running,
 * for each value V and each replacement string RS:
 *   printf '%s\0' V | parallel -0 -k -j1 "printf '%s\0' RS"     (raw)
 *   printf '%s\0' V | parallel -0 -k -j1 --dry-run "echo RS"    (quoted)
 * and dropping the final NUL, and the "echo " and final newline.
 * tests/e2e/t_matrix.sh compares against a live GNU parallel too, through
 * real job files.
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

#include "template.h"

struct case_ {
	const char *in;
	const char *raw[5];    /* {} {.} {/} {//} {/.}, as the command sees them */
	const char *quoted[5]; /* the same as parallel writes them into the command */
};

static const struct case_ cases[] = {
	{ "a b.txt",
	  { "a b.txt", "a b", "a b.txt", ".", "a b" },
	  { "'a b.txt'", "'a b'", "'a b.txt'", ".", "'a b'" } },
	{ "it's.x",
	  { "it's.x", "it's", "it's.x", ".", "it's" },
	  { "'it'\"'\"'s.x'", "'it'\"'\"'s'", "'it'\"'\"'s.x'", ".", "'it'\"'\"'s'" } },
	{ "$HOME.sh",
	  { "$HOME.sh", "$HOME", "$HOME.sh", ".", "$HOME" },
	  { "'$HOME.sh'", "'$HOME'", "'$HOME.sh'", ".", "'$HOME'" } },
	{ "*.c",
	  { "*.c", "*", "*.c", ".", "*" },
	  { "'*.c'", "'*'", "'*.c'", ".", "'*'" } },
	{ "new\nline.txt",
	  { "new\nline.txt", "new\nline", "new\nline.txt", ".", "new\nline" },
	  { "'new\nline.txt'", "'new\nline'", "'new\nline.txt'", ".", "'new\nline'" } },
	{ "-n",
	  { "-n", "-n", "-n", ".", "-n" },
	  { "-n", "-n", "-n", ".", "-n" } },
	{ "dir.d/file",
	  { "dir.d/file", "dir.d/file", "file", "dir.d", "file" },
	  { "dir.d/file", "dir.d/file", "file", "dir.d", "file" } },
	{ "dir.d/noext",
	  { "dir.d/noext", "dir.d/noext", "noext", "dir.d", "noext" },
	  { "dir.d/noext", "dir.d/noext", "noext", "dir.d", "noext" } },
	{ ".bashrc",
	  { ".bashrc", "", ".bashrc", ".", "" },
	  { ".bashrc", "''", ".bashrc", ".", "''" } },
	{ "dir/.hidden",
	  { "dir/.hidden", "dir/", ".hidden", "dir", "" },
	  { "dir/.hidden", "dir/", ".hidden", "dir", "''" } },
	{ "a.b.c",
	  { "a.b.c", "a.b", "a.b.c", ".", "a.b" },
	  { "a.b.c", "a.b", "a.b.c", ".", "a.b" } },
	{ "noext",
	  { "noext", "noext", "noext", ".", "noext" },
	  { "noext", "noext", "noext", ".", "noext" } },
	{ "a/b/",
	  { "a/b/", "a/b/", "", "a", "" },
	  { "a/b/", "a/b/", "''", "a", "''" } },
	{ "/",
	  { "/", "/", "", "/", "" },
	  { "/", "/", "''", "/", "''" } },
	{ "",
	  { "", "", "", ".", "" },
	  { "''", "''", "''", ".", "''" } },
	{ ".",
	  { ".", "", ".", ".", "" },
	  { ".", "''", ".", ".", "''" } },
	{ "..",
	  { "..", ".", "..", ".", "." },
	  { "..", ".", "..", ".", "." } },
	{ "a//",
	  { "a//", "a//", "", ".", "" },
	  { "a//", "a//", "''", ".", "''" } },
	{ "/abs/x.y",
	  { "/abs/x.y", "/abs/x", "x.y", "/abs", "x" },
	  { "/abs/x.y", "/abs/x", "x.y", "/abs", "x" } },
	{ "x/a.b\nc",
	  { "x/a.b\nc", "x/a", "a.b\nc", "x", "a" },
	  { "'x/a.b\nc'", "x/a", "'a.b\nc'", "x", "a" } },
	{ "~user",
	  { "~user", "~user", "~user", ".", "~user" },
	  { "'~user'", "'~user'", "'~user'", ".", "'~user'" } },
	{ "; touch PWNED",
	  { "; touch PWNED", "; touch PWNED", "; touch PWNED", ".", "; touch PWNED" },
	  { "'; touch PWNED'", "'; touch PWNED'", "'; touch PWNED'", ".", "'; touch PWNED'" } },
	{ "$(touch PWNED)",
	  { "$(touch PWNED)", "$(touch PWNED)", "$(touch PWNED)", ".", "$(touch PWNED)" },
	  { "'$(touch PWNED)'", "'$(touch PWNED)'", "'$(touch PWNED)'", ".", "'$(touch PWNED)'" } },
	{ "`id`",
	  { "`id`", "`id`", "`id`", ".", "`id`" },
	  { "'`id`'", "'`id`'", "'`id`'", ".", "'`id`'" } },
	{ "tab\there",
	  { "tab\there", "tab\there", "tab\there", ".", "tab\there" },
	  { "'tab\there'", "'tab\there'", "'tab\there'", ".", "'tab\there'" } },
	{ "a\"b.q/c'd.e",
	  { "a\"b.q/c'd.e", "a\"b.q/c'd", "c'd.e", "a\"b.q", "c'd" },
	  { "'a\"b.q/c'\"'\"'d.e'", "'a\"b.q/c'\"'\"'d'", "'c'\"'\"'d.e'", "'a\"b.q'", "'c'\"'\"'d'" } },
};

static const char *const rs[5] = { "{}", "{.}", "{/}", "{//}", "{/.}" };

static char *expand(const char *tpl, const struct tpl_input *in, unsigned flags)
{
	char *out = NULL;

	assert_int_equal(tpl_expand(tpl, in, flags, 0, &out), 0);
	assert_non_null(out);
	return out;
}

/* One source, as `printf ... | parallel -0` gives it. */
static char *one(const char *tpl, const char *v, unsigned flags)
{
	const char *val[1] = { v };
	struct tpl_input in = { val, NULL, 1, 1, 1, NULL };

	return expand(tpl, &in, flags);
}

static void check(const char *tpl, const char *v, unsigned flags, const char *want)
{
	char *got = one(tpl, v, flags);

	if (strcmp(got, want) != 0)
		fail_msg("%s of \"%s\": got \"%s\", want \"%s\"", tpl, v, got, want);
	free(got);
}

/* Every replacement string on every hostile name: the bytes of GNU parallel. */
static void hostile_names(void **state)
{
	char tpl[32];

	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		for (int j = 0; j < 5; j++) {
			check(rs[j], cases[i].in, 0, cases[i].raw[j]);
			check(rs[j], cases[i].in, TPL_QUOTE, cases[i].quoted[j]);
			/* the Nth-source forms mean the same for source 1 */
			snprintf(tpl, sizeof tpl, "{1%.*s}", (int)strlen(rs[j]) - 2,
				 rs[j] + 1);
			check(tpl, cases[i].in, TPL_QUOTE, cases[i].quoted[j]);
		}
}

/* parallel --dry-run '...' ::: 'a b.x' ::: c/d.y ::: "it's" ::: .bashrc */
static void several_sources(void **state)
{
	const char *val[4] = { "a b.x", "c/d.y", "it's", ".bashrc" };
	struct tpl_input in = { val, NULL, 4, 1, 1, NULL };
	char *got;

	(void)state;
	got = expand("echo {} {1} {2.} {3//} {2/.} {4} {1/} {3.}", &in, TPL_QUOTE);
	assert_string_equal(got, "echo 'a b.x' c/d.y 'it'\"'\"'s' .bashrc 'a b.x' "
			    "c/d . d .bashrc 'a b.x' 'it'\"'\"'s'");
	free(got);
	got = expand("echo {.} {/} {//} {/.}", &in, TPL_QUOTE);
	assert_string_equal(got, "echo 'a b' c/d 'it'\"'\"'s' '' 'a b.x' d.y "
			    "'it'\"'\"'s' .bashrc . c . . 'a b' d 'it'\"'\"'s' ''");
	free(got);
	in.n = 2; /* past the last source: empty, as in parallel */
	got = expand("echo {5} {1}", &in, TPL_QUOTE);
	assert_string_equal(got, "echo  'a b.x'");
	free(got);
	got = expand("gzip -9", &in, TPL_QUOTE | TPL_APPEND);
	assert_string_equal(got, "gzip -9 'a b.x' c/d.y");
	free(got);
}

static void seq_and_slot(void **state)
{
	const char *val[1] = { "x" };
	struct tpl_input in = { val, NULL, 1, 42, 3, NULL };
	char *got;

	(void)state;
	got = expand("{#}:{%}", &in, TPL_QUOTE | TPL_APPEND);
	assert_string_equal(got, "42:3"); /* digits bare; no " {}" appended */
	free(got);
	in.slot = 0; /* not known yet: left for the expansion at spawn time */
	got = expand("job {#} on {%}", &in, TPL_QUOTE);
	assert_string_equal(got, "job 42 on {%}");
	free(got);
}

/* Braces that are not replacement strings stay as they are. */
static void other_braces(void **state)
{
	(void)state;
	check("awk '{print $1}' {}", "a b", TPL_QUOTE, "awk '{print $1}' 'a b'");
	check("echo ${HOME} {x} { } {1 x} {-1} {0x}", "v", TPL_QUOTE | TPL_APPEND,
	      "echo ${HOME} {x} { } {1 x} {-1} {0x} v");
	check("{{}}", "v", 0, "{v}");
	check("{}}", "v", 0, "v}");
	check("{", "v", 0, "{");
	check("}{", "v", 0, "}{");
	check("x{}y", "a b", TPL_QUOTE, "x'a b'y");
	check("", "v", 0, "");
	check("gzip", "-rf /", TPL_QUOTE | TPL_APPEND, "gzip '-rf /'");
}

/* The named form of a matrix: {VAR} and its modifiers, scopes. */
static void named(void **state)
{
	const char *var[2] = { "py", "db" }, *val[2] = { "3.12", "my sql" };
	const char *ivar[1] = { "f" }, *ival[1] = { "logs/a b.tar.gz" };
	struct tpl_input outer = { val, var, 2, 4, 0, NULL };
	struct tpl_input inner = { ival, ivar, 1, 2, 0, &outer };
	char *got;

	(void)state;
	got = expand("py{py}-{db} {} {1} {py.} {#} {%} {zz}", &outer, 0);
	assert_string_equal(got, "py3.12-my sql {} {1} 3 4 {%} {zz}");
	free(got);
	got = expand("tox -e py{py} --db {db}", &outer, TPL_QUOTE | TPL_APPEND);
	assert_string_equal(got, "tox -e py3.12 --db 'my sql'"); /* no " {}" */
	free(got);
	/* one variable: {} is it; the outer scope answers for {db}; {#} is
	 * the innermost child's */
	got = expand("{} {.} {f/} {f//} {f/.} {db} {#}", &inner, TPL_QUOTE);
	assert_string_equal(got, "'logs/a b.tar.gz' 'logs/a b.tar' 'a b.tar.gz' "
			    "logs 'a b.tar' 'my sql' 2");
	free(got);
	ivar[0] = "db"; /* an inner variable hides an outer one */
	got = expand("{db}", &inner, 0);
	assert_string_equal(got, "logs/a b.tar.gz");
	free(got);
}

/* A result past `max` is refused before it is built. */
static void too_long(void **state)
{
	const char *val[1] = { "0123456789" };
	struct tpl_input in = { val, NULL, 1, 1, 1, NULL };
	char *out = (char *)&in;

	(void)state;
	assert_int_equal(tpl_expand("{}{}{}", &in, 0, 30, &out), 0);
	assert_string_equal(out, "012345678901234567890123456789");
	free(out);
	assert_int_equal(tpl_expand("{}{}{}x", &in, 0, 30, &out), -1);
	assert_int_equal(errno, E2BIG);
	assert_null(out);
}

static void has_rs(void **state)
{
	const char *var[1] = { "x" }, *val[1] = { "v" };
	struct tpl_input pos = { NULL, NULL, 0, 1, 0, NULL };
	struct tpl_input nam = { val, var, 1, 1, 0, NULL };

	(void)state;
	assert_false(tpl_has_rs("gzip -9", &pos));
	assert_false(tpl_has_rs("awk '{print $1}' ${HOME}", &pos));
	assert_true(tpl_has_rs("find -exec rm {} ;", &pos));
	assert_true(tpl_has_rs("echo {3//}", &pos)); /* whatever the sources */
	assert_true(tpl_has_rs("echo {#}", &pos));
	assert_true(tpl_has_rs("echo {x/.}", &nam));
	assert_false(tpl_has_rs("echo {y}", &nam));
}

/* Nothing an input holds gets out of its quotes. */
static void quote(void **state)
{
	static const struct { const char *in, *out; } q[] = {
		{ "", "''" },
		{ "plain-1.0_x+y/z", "plain-1.0_x+y/z" },
		{ "a b", "'a b'" },
		{ "'", "\"'\"" },
		{ "''", "\"'\"''\"'\"" },
		{ "a'b", "'a'\"'\"'b'" },
		{ "$(touch PWNED)", "'$(touch PWNED)'" },
		{ "; touch PWNED", "'; touch PWNED'" },
		{ "`id`\n*", "'`id`\n*'" },
		{ "~x", "'~x'" },
	};
	char *got;

	(void)state;
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		got = tpl_quote(q[i].in);
		assert_non_null(got);
		assert_string_equal(got, q[i].out);
		free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hostile_names),
		cmocka_unit_test(several_sources),
		cmocka_unit_test(seq_and_slot),
		cmocka_unit_test(other_braces),
		cmocka_unit_test(named),
		cmocka_unit_test(too_long),
		cmocka_unit_test(has_rs),
		cmocka_unit_test(quote),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
