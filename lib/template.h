/*
 * template.h - GNU parallel's replacement strings (SPEC section 7), pure:
 * no I/O, no globals, so both the loader (matrix templates, at load time)
 * and the engine (ad-hoc templates, at spawn time) can use them.
 *
 * Positional form (ad hoc, `:::` sources), GNU parallel's meanings:
 *   {}     every input, each as its own word, space separated
 *   {.}    without its extension     {/}   its basename
 *   {//}   its directory ("." if none) {/.} basename without extension
 *   {N} {N.} {N/} {N//} {N/.}  the same for the Nth source only (1-based;
 *          empty past the last source)
 *   {#}    the sequence number       {%}   the slot number
 * Named form (job-file matrix): {VAR} {VAR.} {VAR/} {VAR//} {VAR/.}, {#},
 * and {} with its modifiers when the innermost scope has exactly one
 * variable.  Any other {...} is left as written, so `awk '{print $1}'` and
 * `${HOME}` pass through.
 *
 * {%}: the engine knows a task's slot only when it starts it.  The clean
 * way is to keep the template and the task's inputs on the node and call
 * tpl_expand() once, at spawn time, with the slot: expanding twice (first
 * the inputs, then {%} in the result) would also replace a "{%}" that an
 * input brought in.  Until then (slot 0: `grpx plan`, a report of a task
 * that never started) {%} stays as written.
 */
#ifndef GRPX_TEMPLATE_H
#define GRPX_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The values one task's template is expanded with. */
struct tpl_input {
	const char *const *val;   /* the values, not owned */
	const char *const *var;   /* their variable names (named form), or NULL:
				     positional sources ({N} forms) */
	size_t n;                 /* entries in val (and var) */
	uint64_t seq;             /* {#}, 1-based */
	uint32_t slot;            /* {%}, 1-based; 0: not known, {%} stays */
	const struct tpl_input *up; /* named form: the enclosing scope, asked for
				       a {VAR} this one lacks; or NULL */
};

enum tpl_flag {
	TPL_QUOTE = 1 << 0,  /* shell-quote each substituted input: it stays one
				word whatever it holds, and cannot inject code */
	TPL_APPEND = 1 << 1, /* with no replacement string, append " {}" (ad hoc) */
};

/* Expand tpl into *out (malloc'ed), at most `max` bytes long (0: no
 * limit).  Returns 0, or -1 with *out NULL and errno ENOMEM (out of
 * memory) or E2BIG (longer than max). */
int tpl_expand(const char *tpl, const struct tpl_input *in, unsigned flags,
	       size_t max, char **out);
/* Whether tpl holds a replacement string for `in` (the positional forms
 * depend only on the syntax, not on in->n). */
bool tpl_has_rs(const char *tpl, const struct tpl_input *in);
/* s quoted for a POSIX shell, as GNU parallel quotes: bare when it is only
 * [A-Za-z0-9_.+/-], else in single quotes.  malloc'ed; NULL: no memory. */
char *tpl_quote(const char *s);

#endif
