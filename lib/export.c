/*
 * export.c - the run for other tools: JUnit XML (CI servers) and Chrome
 * Trace Event JSON (Perfetto, chrome://tracing).  Both are written after
 * the run from the tree, by outfile_write().
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "run.h"

/* Length of the UTF-8 sequence at s if it encodes a character XML allows
 * (not U+FFFE or U+FFFF either), or 0. */
static size_t xml_char_len(const unsigned char *s, size_t n)
{
	size_t len = utf8_len(s, n);

	if (len == 3 && s[0] == 0xef && s[1] == 0xbf && (s[2] == 0xbe || s[2] == 0xbf))
		return 0;
	return len;
}

/* XML text: escaped, characters XML forbids and invalid UTF-8 as U+FFFD. */
static void xml_text(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;

	for (size_t i = 0; i < n;) {
		size_t len = xml_char_len(p + i, n - i);
		unsigned char c = p[i];
		if (len == 0 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r')) {
			fputs("\xef\xbf\xbd", f);
			i += len ? len : 1;
			continue;
		}
		switch (c) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\r': fputs("&#13;", f); break;
		default: fwrite(p + i, 1, len, f);
		}
		i += len;
	}
}

static void xml_str(FILE *f, const char *s)
{
	xml_text(f, s, strlen(s));
}

struct tally {
	unsigned tests, failures, errors, skipped;
};

static void count(const struct grpx_node *t, struct tally *c)
{
	c->tests++;
	if (t->status == GRPX_FAILED || t->status == GRPX_TIMEOUT)
		c->failures++;
	else if (t->status == GRPX_ERROR)
		c->errors++;
	else if (t->status == GRPX_SKIPPED || t->status == GRPX_CANCELED)
		c->skipped++;
}

static double secs(const struct grpx_node *n)
{
	return n->start_ms >= 0 && n->end_ms >= n->start_ms ? (n->end_ms - n->start_ms) / 1e3 : 0;
}

/* The kept head of one of t's streams, as XML text. */
static void captured(FILE *f, const struct grpx_run *r, const struct grpx_node *t, int stream)
{
	int64_t off = ((int64_t)t->seq * 2 + (stream == GRPX_STDERR)) * r->o->capture_bytes;
	int32_t len = stream == GRPX_STDOUT ? t->cap_out : t->cap_err;
	char buf[65536];

	if (r->capfd < 0 || len <= 0)
		return;
	fputs(stream == GRPX_STDOUT ? "      <system-out>" : "      <system-err>", f);
	while (len > 0) {
		ssize_t k = pread(r->capfd, buf, (size_t)len < sizeof buf ? (size_t)len : sizeof buf, off);
		if (k <= 0)
			break;
		/* Do not split a UTF-8 sequence across two reads. */
		size_t keep = (size_t)k;
		if (keep == sizeof buf)
			while (keep > sizeof buf - 4 && ((unsigned char)buf[keep - 1] & 0xc0) == 0x80)
				keep--;
		xml_text(f, buf, keep);
		off += (off_t)keep;
		len -= (int32_t)keep;
	}
	fputs(stream == GRPX_STDOUT ? "</system-out>\n" : "</system-err>\n", f);
}

static void testcase(FILE *f, const struct grpx_run *r, const struct grpx_node *t)
{
	char why[512], *msg;

	fputs("    <testcase classname=\"", f);
	xml_str(f, t->parent->path[0] ? t->parent->path : "grpx");
	fputs("\" name=\"", f);
	xml_str(f, t->name);
	fprintf(f, "\" time=\"%.3f\">\n", secs(t));
	switch (t->status) {
	case GRPX_FAILED:
	case GRPX_TIMEOUT:
	case GRPX_ERROR:
		msg = node_error_message(t);
		fprintf(f, "      <%s type=\"%s\" message=\"", t->status == GRPX_ERROR ? "error" : "failure",
			grpx_status_name((enum grpx_status)t->status));
		xml_str(f, msg ? msg : "");
		fputs("\"/>\n", f);
		free(msg);
		break;
	case GRPX_SKIPPED:
	case GRPX_CANCELED:
		fprintf(f, "      <skipped message=\"%s", grpx_status_name((enum grpx_status)t->status));
		if (grpx_node_reason(t, why, sizeof why)) {
			fputs(": ", f);
			xml_str(f, why);
		}
		fputs("\"/>\n", f);
		break;
	default:
		if (t->resumed) /* it passed in the run it was resumed from */
			fputs("      <properties><property name=\"resumed\" value=\"true\"/>"
			      "</properties>\n", f);
		break;
	}
	captured(f, r, t, GRPX_STDOUT);
	captured(f, r, t, GRPX_STDERR);
	fputs("    </testcase>\n", f);
}

/* A testsuite for every group that holds tasks, in file order. */
static void suites(FILE *f, const struct grpx_run *r, const struct grpx_node *g)
{
	struct tally c = { 0 };
	bool tasks = false;

	for (uint32_t i = 0; i < g->nkids; i++)
		if (g->kids[i]->kind == NODE_TASK) {
			count(g->kids[i], &c);
			tasks = true;
		}
	if (tasks) {
		fputs("  <testsuite name=\"", f);
		xml_str(f, g->path[0] ? g->path : "grpx");
		fprintf(f, "\" tests=\"%u\" failures=\"%u\" errors=\"%u\" skipped=\"%u\" time=\"%.3f\">\n",
			c.tests, c.failures, c.errors, c.skipped, secs(g));
		for (uint32_t i = 0; i < g->nkids; i++)
			if (g->kids[i]->kind == NODE_TASK)
				testcase(f, r, g->kids[i]);
		fputs("  </testsuite>\n", f);
	}
	for (uint32_t i = 0; i < g->nkids; i++)
		if (g->kids[i]->kind == NODE_GROUP)
			suites(f, r, g->kids[i]);
}

static void tally_tree(const struct grpx_node *n, struct tally *c)
{
	if (n->kind == NODE_TASK)
		count(n, c);
	for (uint32_t i = 0; i < n->nkids; i++)
		tally_tree(n->kids[i], c);
}

static void junit_fill(FILE *f, const void *arg)
{
	const struct grpx_run *r = arg;
	struct tally c = { 0 };

	tally_tree(r->job->root, &c);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<testsuites name=\"grpx\" tests=\"%u\" failures=\"%u\" errors=\"%u\" "
		   "skipped=\"%u\" time=\"%.3f\">\n",
		c.tests, c.failures, c.errors, c.skipped, secs(r->job->root));
	suites(f, r, r->job->root);
	fputs("</testsuites>\n", f);
}

int grpx_report_junit(const struct grpx_run *run, const char *path)
{
	return outfile_write(path, junit_fill, run);
}

static void trace_event(FILE *f, bool *first, const struct grpx_node *t, unsigned attempt,
			int status, int exit_code, int sig, double start, double end)
{
	if (start < 0)
		return;
	if (end < start)
		end = start;
	fputs(*first ? "\n" : ",\n", f);
	*first = false;
	fputs("{\"name\": ", f);
	json_str(f, t->name);
	fprintf(f, ", \"cat\": \"task\", \"ph\": \"X\", \"ts\": %.0f, \"dur\": %.0f, \"pid\": 1, "
		   "\"tid\": %u, \"args\": {\"path\": ", start * 1e3, (end - start) * 1e3,
		t->parent->seq);
	json_str(f, t->path);
	fprintf(f, ", \"attempt\": %u, \"status\": \"%s\", \"exit_code\": ", attempt,
		grpx_status_name((enum grpx_status)status));
	if (exit_code >= 0)
		fprintf(f, "%d", exit_code);
	else
		fputs("null", f);
	fprintf(f, ", \"signal\": %d}}", sig);
}

/* Lane names (one per group) and, from the tree, each task's attempts. */
static void trace_tree(FILE *f, bool *first, const struct grpx_node *n, bool tasks)
{
	if (n->kind == NODE_GROUP) {
		fputs(*first ? "\n" : ",\n", f);
		*first = false;
		fprintf(f, "{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, \"tid\": %u, "
			   "\"args\": {\"name\": ", n->seq);
		json_str(f, n->path[0] ? n->path : "(run)");
		fputs("}}", f);
		for (uint32_t i = 0; i < n->nkids; i++)
			trace_tree(f, first, n->kids[i], tasks);
		return;
	}
	if (!tasks)
		return;
	if (n->retries && n->nlog) {
		for (uint32_t i = 0; i < n->nlog; i++)
			trace_event(f, first, n, i + 1, n->log[i].status, n->log[i].exit_code,
				    n->log[i].signal, n->log[i].start_ms, n->log[i].end_ms);
	} else {
		trace_event(f, first, n, n->attempt ? n->attempt : 1, n->status, n->exit_code,
			    n->signal, n->start_ms, n->end_ms);
	}
}

static void trace_fill(FILE *f, const void *arg)
{
	const struct grpx_run *r = arg;
	bool first = true;

	fputs("{\"displayTimeUnit\": \"ms\", \"traceEvents\": [", f);
	trace_tree(f, &first, r->job->root, r->recs == NULL);
	for (size_t i = 0; i < r->nrecs; i++) {
		const struct rec *e = &r->recs[i];
		trace_event(f, &first, e->n, e->attempt, e->a.status, e->a.exit_code, e->a.signal,
			    e->a.start_ms, e->a.end_ms);
	}
	fputs("\n]}\n", f);
}

int grpx_report_trace(const struct grpx_run *run, const char *path)
{
	return outfile_write(path, trace_fill, run);
}
