/*
 * report.c - the JSON report (SPEC section 6), written by outfile_write()
 * (atomically when the target is a regular file), and the JSON strings
 * that the events and the trace share.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "run.h"

size_t utf8_len(const unsigned char *s, size_t n)
{
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
		   : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
	uint32_t cp;

	if (len == 0 || len > n)
		return 0;
	cp = len == 1 ? s[0] : s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * A JSON string.  JSON text is UTF-8, but commands, paths and file names
 * are bytes: a byte that does not begin a valid UTF-8 sequence becomes
 * U+FFFD, as the JUnit report does, so every reader can parse the report
 * (the bytes themselves have no JSON spelling: "\u00ff" would be another
 * character).  Control characters are escaped.
 */
void json_str(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);

	fputc('"', f);
	for (size_t i = 0; i < n;) {
		size_t len = utf8_len(p + i, n - i);
		if (len == 0) {
			fputs("\xef\xbf\xbd", f);
			i++;
			continue;
		}
		switch (p[i]) {
		case '"':  fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (p[i] < 0x20)
				fprintf(f, "\\u%04x", p[i]);
			else
				fwrite(p + i, 1, len, f);
		}
		i += len;
	}
	fputc('"', f);
}

static void json_ms(FILE *f, double ms)
{
	if (ms < 0)
		fputs("null", f);
	else
		fprintf(f, "%.3f", ms);
}

static void json_int_or_null(FILE *f, int v, bool null)
{
	if (null)
		fputs("null", f);
	else
		fprintf(f, "%d", v);
}

static void write_attempts(FILE *f, const struct grpx_node *n)
{
	fputs(", \"attempt_log\": [", f);
	for (uint32_t i = 0; i < n->nlog; i++) {
		const struct attempt *a = &n->log[i];
		fprintf(f, "%s{\"status\": \"%s\", \"exit_code\": ", i ? ", " : "",
			grpx_status_name((enum grpx_status)a->status));
		json_int_or_null(f, a->exit_code, a->exit_code < 0);
		fputs(", \"signal\": ", f);
		json_int_or_null(f, a->signal, a->signal == 0);
		fputs(", \"start_ms\": ", f);
		json_ms(f, a->start_ms);
		fputs(", \"end_ms\": ", f);
		json_ms(f, a->end_ms);
		fputc('}', f);
	}
	fputc(']', f);
}

static int by_pick(const void *a, const void *b)
{
	const struct grpx_node *x = *(struct grpx_node *const *)a;
	const struct grpx_node *y = *(struct grpx_node *const *)b;
	return (x->pick > y->pick) - (x->pick < y->pick);
}

/* The children whose output the group chose, in the order it chose them. */
static void write_selected(FILE *f, const struct grpx_node *g)
{
	struct grpx_node **v = calloc(g->grp->npicked + 1, sizeof *v);
	size_t n = 0;

	if (!v)
		return;
	for (uint32_t i = 0; i < g->nkids && n < g->grp->npicked; i++)
		if (g->kids[i]->pick)
			v[n++] = g->kids[i];
	qsort(v, n, sizeof *v, by_pick);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", f);
		json_str(f, v[i]->path);
	}
	free(v);
}

static void write_node(FILE *f, const struct grpx_node *n, int depth)
{
	char why[512], key[KEY_HEX];

	fputs("{\"path\": ", f);
	json_str(f, n->path);
	if (n->parent) {
		fputs(", \"name\": ", f);
		json_str(f, n->name);
	}
	fprintf(f, ", \"kind\": \"%s\"", n->kind == NODE_TASK ? "task" : "group");
	key_format(n->key, key);
	fprintf(f, ", \"key\": \"%s\"", key);
	if (n->kind == NODE_GROUP)
		fprintf(f, ", \"mode\": \"%s\"", mode_name(n->mode));
	if (n->run) {
		fputs(", \"run\": ", f);
		json_str(f, n->run);
	} else if (n->argv) {
		fputs(", \"argv\": [", f);
		for (char **a = n->argv; *a; a++) {
			if (a != n->argv)
				fputs(", ", f);
			json_str(f, *a);
		}
		fputc(']', f);
	}
	fprintf(f, ", \"status\": \"%s\"", grpx_status_name((enum grpx_status)n->status));
	if (n->resumed)
		fputs(", \"resumed\": true", f);
	if (grpx_node_reason(n, why, sizeof why) &&
	    (n->status == GRPX_CANCELED || n->status == GRPX_SKIPPED)) {
		fputs(", \"reason\": ", f);
		json_str(f, why);
	}
	if (n->kind == NODE_TASK) {
		fputs(", \"exit_code\": ", f);
		json_int_or_null(f, n->exit_code, n->exit_code < 0);
		fputs(", \"signal\": ", f);
		json_int_or_null(f, n->signal, n->signal == 0);
		fprintf(f, ", \"attempts\": %u", n->attempt);
		if (n->status == GRPX_ERROR) {
			fputs(", \"error\": ", f);
			json_str(f, node_strerror(n));
		}
	} else if (n->counts) {
		fprintf(f, ", \"attempts\": %u", n->nlog);
	}
	if (n->counts)
		write_attempts(f, n);
	fputs(", \"start_ms\": ", f);
	json_ms(f, n->start_ms);
	fputs(", \"end_ms\": ", f);
	json_ms(f, n->end_ms);
	if (n->kind == NODE_TASK) {
		fprintf(f, ", \"stdout_bytes\": %lld, \"stderr_bytes\": %lld",
			(long long)n->stdout_bytes, (long long)n->stderr_bytes);
		fputc('}', f);
		return;
	}
	fputs(", \"selected\": [", f);
	write_selected(f, n);
	fputs("], \"children\": [", f);
	for (uint32_t i = 0; i < n->nkids; i++) {
		if (i)
			fputs(", ", f);
		write_node(f, n->kids[i], depth + 1);
	}
	fputs("]}", f);
}

static const char *outcome_name(int o)
{
	static const char *const names[] = { "ok", "failed", "timeout", "interrupted" };
	return names[o];
}

void started_at(const struct grpx_run *r, char *buf, size_t len)
{
	struct tm tm;
	char day[48];

	gmtime_r(&r->loop.wall0.tv_sec, &tm);
	strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", day, r->loop.wall0.tv_nsec / 1000000);
}

static void report_fill(FILE *f, const void *arg)
{
	const struct grpx_run *r = arg;
	char stamp[64];

	started_at(r, stamp, sizeof stamp);
	fputs("{\"version\": 1, \"file\": ", f);
	json_str(f, r->job->file ? r->job->file : "");
	fprintf(f, ", \"status\": \"%s\", \"exit_code\": %d, \"started_at\": \"%s\"",
		outcome_name(r->outcome), r->exit_set ? r->exit_final : grpx_run_exit_code(r), stamp);
	fputs(", \"duration_ms\": ", f);
	json_ms(f, r->job->root->end_ms >= 0 ? r->job->root->end_ms : 0);
	fputs(", \"errors\": [", f);
	for (size_t i = 0; i < r->nerrs; i++) {
		fputs(i ? ", {\"path\": " : "{\"path\": ", f);
		json_str(f, r->errs[i]->path);
		fputs(", \"message\": ", f);
		json_str(f, r->errmsg[i] ? r->errmsg[i] : "");
		fputc('}', f);
	}
	fputs("], \"root\": ", f);
	write_node(f, r->job->root, 0);
	fputs("}\n", f);
}

int grpx_report_json(const struct grpx_run *run, const char *path)
{
	return outfile_write(path, report_fill, run);
}

void event_write(FILE *f, const struct grpx_event *e)
{
	static const char *const kinds[] = { "start", "exit", "retry", "cancel", "select", "end" };

	fprintf(f, "{\"event\": \"%s\", \"t_ms\": %.3f, \"path\": ", kinds[e->kind], e->t_ms);
	json_str(f, e->node->path);
	fprintf(f, ", \"kind\": \"%s\", \"attempt\": %u",
		e->node->kind == NODE_TASK ? "task" : "group", e->attempt);
	switch (e->kind) {
	case GRPX_EV_START:
		if (e->node->kind == NODE_TASK)
			fprintf(f, ", \"pid\": %d", e->pid);
		break;
	case GRPX_EV_EXIT:
	case GRPX_EV_END:
		fprintf(f, ", \"status\": \"%s\"", grpx_status_name(e->status));
		if (e->kind == GRPX_EV_END && e->node->resumed)
			fputs(", \"resumed\": true", f);
		if (e->node->kind == NODE_TASK) {
			fputs(", \"exit_code\": ", f);
			json_int_or_null(f, e->exit_code, e->exit_code < 0);
			fputs(", \"signal\": ", f);
			json_int_or_null(f, e->signal, e->signal == 0);
		}
		break;
	case GRPX_EV_RETRY:
		fprintf(f, ", \"delay_ms\": %.1f", e->delay_ms);
		break;
	case GRPX_EV_SELECT:
		fputs(", \"group\": ", f);
		json_str(f, e->group->path);
		break;
	default:
		break;
	}
	if (e->reason && (e->kind == GRPX_EV_CANCEL || e->kind == GRPX_EV_END)) {
		fputs(", \"reason\": ", f);
		json_str(f, e->reason);
	}
	fputs("}\n", f);
}
