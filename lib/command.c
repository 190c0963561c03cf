/*
 * command.c - what a task runs: its argv, environment and cwd, from its
 * own settings and those it inherits, and the runner around it (slurm.c).
 * Built before the spawn, so that nothing but the exec happens in the child.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "run.h"

extern char **environ;

struct spawn {
	char **argv, **envp, *cwd, *prog;
	char *vars[5];
	int how;               /* slurm_how(): local, a step, a job of its own */
	const char *path;      /* the PATH the program is looked up in */
	char srun[512];        /* the text of srun's words */
};

static char *const default_shell[] = { "/bin/sh", "-c", NULL };

/* Set KEY=VALUE in a NULL-terminated array with room to grow. */
static void env_put(char **env, size_t *n, char *kv)
{
	size_t klen = strcspn(kv, "=");

	for (size_t i = 0; i < *n; i++)
		if (strncmp(env[i], kv, klen) == 0 && env[i][klen] == '=') {
			env[i] = kv;
			return;
		}
	env[(*n)++] = kv;
	env[*n] = NULL;
}

static int build_env(struct spawn *sp, const struct grpx_node *t)
{
	const struct grpx_node *n, *ac = attempt_counter(t);
	size_t nenv = 0, nbase = 0, nkeys = 4;

	for (n = t; n; n = n->parent)
		for (char **e = n->opt->env; e && *e; e++)
			nkeys++;
	while (environ[nbase])
		nbase++;
	sp->envp = calloc(nbase + nkeys + 2, sizeof *sp->envp);
	if (!sp->envp)
		return ENOMEM;
	for (size_t i = 0; i < nbase; i++)
		if (!slurm_env_drop(environ[i], sp->how))
			sp->envp[nenv++] = environ[i];
	sp->envp[nenv] = NULL;
	/* Outer maps first so that inner keys win. */
	for (uint32_t d = 0; d <= t->depth; d++) {
		n = t;
		while (n->depth > d)
			n = n->parent;
		for (char **e = n->opt->env; e && *e; e++)
			env_put(sp->envp, &nenv, *e);
	}
	if (asprintf(&sp->vars[0], "GRPX_TASK=%s", t->path) < 0 ||
	    asprintf(&sp->vars[1], "GRPX_GROUP=%s", t->parent ? t->parent->path : "") < 0 ||
	    asprintf(&sp->vars[2], "GRPX_ATTEMPT=%u", ac ? ac->attempt : 1) < 0 ||
	    asprintf(&sp->vars[3], "GRPX_INDEX=%u", t->index) < 0)
		return ENOMEM;
	for (int i = 0; i < 4; i++)
		env_put(sp->envp, &nenv, sp->vars[i]);
	if (t->input) { /* GRPX_INPUT: the raw inputs, joined by a space */
		size_t len = sizeof "GRPX_INPUT=";
		for (char **p = t->input; *p; p++)
			len += strlen(*p) + 1;
		char *v = sp->vars[4] = malloc(len);
		if (!v)
			return ENOMEM;
		v = stpcpy(v, "GRPX_INPUT=");
		for (char **p = t->input; *p; p++)
			v = stpcpy(stpcpy(v, p == t->input ? "" : " "), *p);
		env_put(sp->envp, &nenv, sp->vars[4]);
	}
	sp->path = getenv("PATH");
	for (char **e = sp->envp; *e; e++)
		if (!strncmp(*e, "PATH=", 5))
			sp->path = *e + 5;
	return 0;
}

/* argv: [srun ... --] (shell... RUN | argv...) */
static int build_argv(struct spawn *sp, const struct grpx_node *t, char *const *shell,
		      char **slurm)
{
	size_t na = 0, ns = 0, nsl = 0, k = 0;
	char *const *src = t->argv;

	if (!src)
		while (shell[ns])
			ns++;
	else
		while (src[na])
			na++;
	for (char **s = slurm; s && *s; s++)
		nsl++;
	sp->argv = calloc(ns + na + nsl + SLURM_ARGV_MAX + 5, sizeof *sp->argv);
	if (!sp->argv)
		return ENOMEM;
	if (sp->how != RUN_LOCAL) {
		int n = slurm_argv(t, sp->how, sp->argv, sp->srun, sizeof sp->srun);
		if (n < 0)
			return ENAMETOOLONG;
		k = (size_t)n;
		for (size_t i = 0; i < nsl; i++)
			sp->argv[k++] = slurm[i];
		sp->argv[k++] = "--";
	}
	if (src) {
		for (size_t i = 0; i < na; i++)
			sp->argv[k++] = src[i];
	} else {
		for (size_t i = 0; i < ns; i++)
			sp->argv[k++] = shell[i];
		if (ns == 1) /* `shell: bash` means `bash -c RUN` */
			sp->argv[k++] = "-c";
		if (t->run[0] == '-' || t->run[0] == '+') /* a command, not an option of sh */
			sp->argv[k++] = "--";
		sp->argv[k++] = t->run;
	}
	sp->argv[k] = NULL;
	return 0;
}

static int prepare(struct spawn *sp, const struct grpx_node *t)
{
	char *const *shell = NULL;
	char **slurm = NULL;
	int err;

	for (const struct grpx_node *n = t; n; n = n->parent)
		if (!shell && n->opt->shell)
			shell = n->opt->shell;
	for (const struct grpx_node *n = t; n; n = n->parent)
		if (n->runner >= 0) {
			slurm = n->opt->slurm_args;
			break;
		}
	sp->how = slurm_how(t);
	if ((err = build_env(sp, t)))
		return err;
	if (node_cwd(t, &sp->cwd) != 0)
		return ENOMEM;
	return build_argv(sp, t, shell ? shell : default_shell, slurm);
}

static void spawn_free(struct spawn *sp)
{
	free(sp->envp);
	free(sp->argv);
	free(sp->cwd);
	free(sp->prog);
	for (int i = 0; i < 5; i++)
		free(sp->vars[i]);
}

/*
 * The program to exec, looked up in the task's own PATH (its `env:` may
 * set one; posix_spawnp would search grpx's).  A relative name or PATH
 * entry is resolved after the chdir to the task's cwd, as exec would.
 * Returns 0 or an errno value.
 */
static int find_program(struct spawn *sp, const char *cwd)
{
	const char *name = sp->argv[0];
	const char *p = sp->path && *sp->path ? sp->path : "/usr/local/bin:/usr/bin:/bin";
	int err = ENOENT;

	if (strchr(name, '/'))
		return (sp->prog = strdup(name)) ? 0 : ENOMEM;
	while (*p) {
		size_t len = strcspn(p, ":");
		char *cand, *check = NULL;
		struct stat st;
		if (asprintf(&cand, "%.*s%s%s", (int)len, p, len ? "/" : "", name) < 0)
			return ENOMEM;
		if (cand[0] != '/' && cwd && asprintf(&check, "%s/%s", cwd, cand) < 0) {
			free(cand);
			return ENOMEM;
		}
		if (stat(check ? check : cand, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(check ? check : cand, X_OK) == 0) {
				free(check);
				sp->prog = cand;
				return 0;
			}
			err = EACCES;
		}
		free(check);
		free(cand);
		p += len;
		if (*p == ':')
			p++;
	}
	return err;
}

int spawn_task(struct grpx_node *t, const int fds[3], int tell)
{
	struct spawn sp = { 0 };
	sigset_t none;
	pid_t pid;
	int err;
	struct stat st;

	sigemptyset(&none);
	t->errwhat = EW_SPAWN;
	err = prepare(&sp, t);
	if (!err && sp.cwd && stat(sp.cwd, &st) != 0) {
		err = errno;
		t->errwhat = EW_CWD;
	} else if (!err && sp.cwd && !S_ISDIR(st.st_mode)) {
		err = ENOTDIR;
		t->errwhat = EW_CWD;
	}
	if (!err && (err = find_program(&sp, sp.cwd)) != 0)
		t->errwhat = t->argv || sp.how != RUN_LOCAL ? EW_PROGRAM : EW_SHELL;
	if (!err) {
		err = spawn_process(sp.prog, sp.argv, sp.envp, fds, sp.cwd, &none, tell, &pid);
		if (err == ENOENT || err == EACCES || err == ENOEXEC)
			t->errwhat = t->argv || sp.how != RUN_LOCAL ? EW_PROGRAM : EW_SHELL;
	}
	spawn_free(&sp);
	if (err)
		return err;
	t->errwhat = EW_SPAWN;
	t->pid = pid;
	t->pgid = pid;
	return 0;
}

const char *task_program(const struct grpx_node *t)
{
	if (t->argv)
		return t->argv[0];
	if (node_slurm(t))
		return "srun";
	for (const struct grpx_node *n = t; n; n = n->parent)
		if (n->opt->shell)
			return n->opt->shell[0];
	return default_shell[0];
}
