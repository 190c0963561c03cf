/*
 * sweep.c - nothing grpx started outlives the run: as a subreaper grpx
 * inherits what escaped a task's process group, and the sweep at the end
 * gives it the grace sequence too.  Children grpx had before the run are
 * noted first and left alone.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"

static int list_children(pid_t *v, int max)
{
	char path[64];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof path, "/proc/self/task/%ld/children", (long)getpid());
	f = fopen(path, "re");
	if (!f)
		return 0;
	long pid;
	while (n < max && fscanf(f, "%ld", &pid) == 1)
		v[n++] = (pid_t)pid;
	fclose(f);
	return n;
}

static bool inherited(const struct grpx_run *r, pid_t pid)
{
	for (size_t i = 0; i < r->ninherit; i++)
		if (r->inherit[i] == pid)
			return true;
	return false;
}

/*
 * Nothing grpx started may outlive the run.  As a subreaper we inherit
 * whatever escaped its process group; it gets the grace sequence too.
 * Children grpx had before the run (`cmd & exec grpx`) are not ours to kill.
 * Returns true while some remain.
 */
bool sweep(struct grpx_run *r)
{
	pid_t v[256];
	int n, k = 0;

	for (;;) {
		int st;
		pid_t pid = waitpid(-1, &st, WNOHANG);
		if (pid > 0) {
			for (size_t i = 0; i < r->ninherit; i++)
				if (r->inherit[i] == pid)
					r->inherit[i] = 0; /* gone: its pid may be reused */
			continue;
		}
		if (pid < 0 && errno == EINTR)
			continue;
		break;
	}
	n = list_children(v, 256);
	for (int i = 0; i < n; i++)
		if (!inherited(r, v[i]) && v[i] != r->keeper.pid)
			v[k++] = v[i];
	if (k == 0)
		return false;
	int64_t now = run_now(r);
	if (r->sweep_at == 0)
		r->sweep_at = deadline_after(now, r->no_grace ? 0 : grace_of(r, r->job->root));
	int sig = now >= r->sweep_at || r->no_grace ? SIGKILL : SIGTERM;
	for (int i = 0; i < k; i++) {
		kill(v[i], sig);
		kill(-v[i], sig);
		kill(v[i], SIGCONT);
	}
	return true;
}

/* The children this process had before the run: not ours to sweep. */
void note_inherited(struct grpx_run *r)
{
	pid_t v[256];
	int n = list_children(v, 256);

	if (n > 0 && (r->inherit = calloc((size_t)n, sizeof *r->inherit))) {
		memcpy(r->inherit, v, (size_t)n * sizeof *v);
		r->ninherit = (size_t)n;
	}
}
