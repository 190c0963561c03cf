/* describe.c - words about a node: why it stopped, what went wrong. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

const char *grpx_node_reason(const struct grpx_node *n, char *buf, size_t len)
{
	const char *cause = n->cause ? n->cause->path : "";

	switch (n->why) {
	case WHY_FAILED:
		snprintf(buf, len, "%s failed", cause);
		break;
	case WHY_WON:
		snprintf(buf, len, "race won by %s", cause);
		break;
	case WHY_DONE:
		snprintf(buf, len, "%s had its results", cause);
		break;
	case WHY_INTERRUPTED:
		snprintf(buf, len, "interrupted");
		break;
	case WHY_TIMEOUT:
		snprintf(buf, len, "timeout");
		break;
	case WHY_RESUMED:
		snprintf(buf, len, "%s resumed", cause);
		break;
	case WHY_ALLOC:
		snprintf(buf, len, "allocation ends");
		break;
	default:
		if (n->status == GRPX_SKIPPED)
			snprintf(buf, len, "not selected");
		else
			return NULL;
	}
	return buf;
}

/* "cannot start: ..." saying what is missing. */
static int start_message(const struct grpx_node *n, char **s)
{
	const char *why = node_strerror(n);
	char *cwd;
	int rc;

	switch (n->errwhat) {
	case EW_CWD:
		if (node_cwd(n, &cwd) != 0)
			cwd = NULL;
		rc = asprintf(s, "cannot start: cwd %s: %s", cwd ? cwd : ".", why);
		free(cwd);
		return rc;
	case EW_SHELL:
		return asprintf(s, "cannot start: shell %s: %s", task_program(n),
				n->errnum == ENOENT ? "not found" : why);
	case EW_PROGRAM:
		return asprintf(s, "cannot start: argv[0] %s: %s", task_program(n),
				n->errnum == ENOENT ? "not found in PATH" : why);
	case EW_INPUT:
		return asprintf(s, "cannot start: the output of the stage before could not be "
				"kept: %s", why);
	default:
		return asprintf(s, "cannot start: %s", why);
	}
}

char *node_error_message(const struct grpx_node *n)
{
	char dur[32], *s = NULL;
	int rc;

	switch (n->status) {
	case GRPX_TIMEOUT:
		grpx_format_duration(n->kind == NODE_GROUP || n->timeout_ms >= 0 ? n->timeout_ms : 0,
				     dur, sizeof dur);
		rc = asprintf(&s, "timed out after %s", dur);
		break;
	case GRPX_ERROR:
		rc = start_message(n, &s);
		break;
	default:
		if (n->why == WHY_ALLOC) /* a Slurm task kept from starting */
			rc = asprintf(&s, "%s: the allocation ends",
				      n->status == GRPX_SKIPPED ? "not started" : "not started again");
		else if (n->kind == NODE_GROUP && n->nkids == 0)
			rc = asprintf(&s, "matrix has no values");
		else if (n->errwhat == EW_OUTPUT && n->errnum)
			rc = asprintf(&s, "its output could not be kept: %s", strerror(n->errnum));
		else if (n->signal)
			rc = asprintf(&s, "killed by signal %d (SIG%s)", n->signal,
				      grpx_signal_name(n->signal) ? grpx_signal_name(n->signal) : "?");
		else
			rc = asprintf(&s, "exit status %d", n->exit_code);
	}
	return rc < 0 ? NULL : s;
}
