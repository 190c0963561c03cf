/*
 * grpx - run shell commands as groups under Go-style concurrency policies.
 *
 * This file parses arguments, renders task output and the summary, and maps
 * the run's outcome to an exit status.  The work is done by lib/.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grpx.h"
#include "render.h"

static const char usage_text[] =
	"usage: grpx run [OPTIONS] JOBFILE [PATH...]\n"
	"       grpx check JOBFILE\n"
	"       grpx plan [--paths] [--resume FILE] JOBFILE\n"
	"       grpx MODE [OPTIONS] [--] COMMAND...\n"
	"       grpx MODE [OPTIONS] [--] TEMPLATE [::: ARG... | :::: FILE]...\n"
	"       ... | grpx MODE [OPTIONS] [--] TEMPLATE    (an input a line)\n"
	"       grpx --help | --version\n"
	"\n"
	"modes: errgroup sized all race take last retry waterfall schedule\n"
	"\n"
	"options:\n"
	"  -j, --jobs N          most tasks running at once in the whole run\n"
	"  -o, --output MODE     prefix, grouped, raw or quiet\n"
	"      --tag             tag grouped output lines with [path]\n"
	"  -q                    same as -o quiet\n"
	"      --report FILE     write the JSON report to FILE\n"
	"      --timeout DUR     bound the whole run (exit 124)\n"
	"      --grace DUR       wait between SIGTERM and SIGKILL (default 2s)\n"
	"  -x, --exit-code       exit with the one failed task's own status\n"
	"  -v                    print the per-task summary\n"
	"      --events FILE     live NDJSON events (- for stderr)\n"
	"      --junit FILE      write a JUnit XML report to FILE\n"
	"      --trace FILE      write a Chrome trace of the run to FILE\n"
	"      --color WHEN      auto, always or never (NO_COLOR is honoured)\n"
	"      --progress WHEN   auto, always or never: the live progress line\n"
	"      --journal FILE    run: append a JSON line to FILE as each node ends\n"
	"      --resume FILE     run: do not run what ended ok in FILE (a journal or\n"
	"                        a --report); plan: show what a run would not run\n"
	"ad-hoc group options:\n"
	"      --limit N  --count N  --attempts N  --backoff INITIAL[:MAX[:FACTOR]]\n"
	"      --retry-on N,N  --on-error cancel|drain|continue  --stagger DUR\n"
	"      --delay DUR       schedule: command i starts at i x DUR\n"
	"ad-hoc task options:\n"
	"      --task-timeout DUR  each task's timeout\n"
	"      --shell SHELL  run each command as SHELL -c COMMAND (not /bin/sh)\n"
	"      --cwd DIR  --env KEY=VALUE (repeatable)\n"
	"templates: {} {.} {/} {//} {/.} {#} {%} {N} {N.} ...: GNU parallel's, quoted\n"
	"  ::: A B      values on the command line (several ::: : their product)\n"
	"  :::: FILE    values a line from FILE;  -a, --arg-file FILE  the same\n"
	"  -0, --null   inputs from stdin or files are NUL-separated\n"
	"See grpx(1) and grpx.yaml(5).\n";

static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("grpx: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'grpx --help' for more information.\n", stderr);
	exit(2);
}

/* --- options --- */

struct cli {
	struct grpx_opts o;
	struct render out;
	const char *report, *junit, *trace, *events, *journal, *resume;
	int exit_code_mode, verbose, output_set, color, progress, tag;
	int paths; /* plan --paths */
	int tpl;   /* an ad-hoc template */
	struct grpx_adhoc adhoc;
	int retry_on[64];
	char *env[65];              /* --env K=V, NULL-terminated */
	size_t nenv;
	const char *argf[64];       /* -a FILE */
	size_t nargf;
};

static int64_t parse_dur(const char *opt, const char *s)
{
	int64_t ms;

	if (grpx_parse_duration(s, &ms) < 0)
		die_usage("invalid duration '%s' for %s", s, opt);
	if (ms > GRPX_DURATION_MAX_MS) /* as the job file */
		die_usage("duration '%s' for %s is too large (at most 1000000h)", s, opt);
	return ms;
}

static long parse_num(const char *opt, const char *s, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end != s && !*end && v > 0 && (errno == ERANGE || v > (long)UINT32_MAX))
		die_usage("number '%s' for %s is too large (at most %lu)", s, opt,
			  (unsigned long)UINT32_MAX); /* as the job file */
	if (errno || end == s || *end || v < min)
		die_usage("invalid number '%s' for %s", s, opt);
	return v;
}

enum {
	OPT_TAG = 256, OPT_REPORT, OPT_TIMEOUT, OPT_GRACE, OPT_LIMIT, OPT_COUNT,
	OPT_ATTEMPTS, OPT_BACKOFF, OPT_RETRY_ON, OPT_ON_ERROR, OPT_STAGGER, OPT_DELAY,
	OPT_TASK_TIMEOUT, OPT_SHELL, OPT_CWD, OPT_ENV, OPT_ARG_FILE, OPT_NUL,
	OPT_HELP, OPT_VERSION, OPT_JUNIT, OPT_TRACE, OPT_EVENTS, OPT_COLOR, OPT_PROGRESS,
	OPT_PATHS, OPT_JOURNAL, OPT_RESUME,
};

static const struct option long_opts[] = {
	{ "jobs", required_argument, NULL, 'j' },
	{ "output", required_argument, NULL, 'o' },
	{ "tag", no_argument, NULL, OPT_TAG },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "grace", required_argument, NULL, OPT_GRACE },
	{ "exit-code", no_argument, NULL, 'x' },
	{ "limit", required_argument, NULL, OPT_LIMIT },
	{ "count", required_argument, NULL, OPT_COUNT },
	{ "attempts", required_argument, NULL, OPT_ATTEMPTS },
	{ "backoff", required_argument, NULL, OPT_BACKOFF },
	{ "retry-on", required_argument, NULL, OPT_RETRY_ON },
	{ "on-error", required_argument, NULL, OPT_ON_ERROR },
	{ "stagger", required_argument, NULL, OPT_STAGGER },
	{ "delay", required_argument, NULL, OPT_DELAY },
	{ "task-timeout", required_argument, NULL, OPT_TASK_TIMEOUT },
	{ "shell", required_argument, NULL, OPT_SHELL },
	{ "cwd", required_argument, NULL, OPT_CWD },
	{ "env", required_argument, NULL, OPT_ENV },
	{ "arg-file", required_argument, NULL, 'a' },
	{ "null", no_argument, NULL, '0' },
	{ "junit", required_argument, NULL, OPT_JUNIT },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "events", required_argument, NULL, OPT_EVENTS },
	{ "color", required_argument, NULL, OPT_COLOR },
	{ "progress", required_argument, NULL, OPT_PROGRESS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "paths", no_argument, NULL, OPT_PATHS },
	{ "journal", required_argument, NULL, OPT_JOURNAL },
	{ "resume", required_argument, NULL, OPT_RESUME },
	{ 0 },
};

/* auto, always, never: -1, 1, 0 */
static int parse_when(const char *opt, const char *s)
{
	if (!strcmp(s, "auto"))
		return -1;
	if (!strcmp(s, "always"))
		return 1;
	if (!strcmp(s, "never"))
		return 0;
	die_usage("invalid value '%s' for %s (auto, always or never)", s, opt);
	return -1;
}

static void parse_backoff(struct cli *c, char *s)
{
	char *max = strchr(s, ':'), *factor = NULL;

	if (max) {
		*max++ = '\0';
		factor = strchr(max, ':');
		if (factor)
			*factor++ = '\0';
	}
	c->adhoc.initial_ms = parse_dur("--backoff", s);
	if (max && *max)
		c->adhoc.max_ms = parse_dur("--backoff", max);
	if (factor) {
		char *end;
		c->adhoc.factor = strtod(factor, &end);
		if (end == factor || *end || c->adhoc.factor < 1)
			die_usage("invalid factor '%s' for --backoff", factor);
	}
}

static void parse_retry_on(struct cli *c, char *s)
{
	for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
		if (c->adhoc.nretry_on == 64)
			die_usage("too many codes for --retry-on");
		long v = parse_num("--retry-on", tok, 0);
		if (v > 255)
			die_usage("invalid exit code '%s' for --retry-on", tok);
		c->retry_on[c->adhoc.nretry_on++] = (int)v;
	}
	c->adhoc.retry_on = c->retry_on;
}

static int parse_options(struct cli *c, int argc, char **argv, int adhoc)
{
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, adhoc ? "+j:o:qxva:0" : "j:o:qxva:0", long_opts,
				 NULL)) != -1) {
		if (!adhoc && ((ch >= OPT_LIMIT && ch <= OPT_NUL) || ch == 'a' || ch == '0'))
			die_usage("option '%s' is for ad-hoc groups only", argv[optind - 1]);
		switch (ch) {
		case 'j': c->o.jobs = parse_num("--jobs", optarg, 1); break;
		case 'o':
			if (!strcmp(optarg, "prefix")) c->o.output = GRPX_OUT_PREFIX;
			else if (!strcmp(optarg, "grouped")) c->o.output = GRPX_OUT_GROUPED;
			else if (!strcmp(optarg, "raw")) c->o.output = GRPX_OUT_RAW;
			else if (!strcmp(optarg, "quiet")) c->o.output = GRPX_OUT_QUIET;
			else die_usage("invalid output mode '%s'", optarg);
			c->output_set = 1;
			break;
		case 'q': c->o.output = GRPX_OUT_QUIET; c->output_set = 1; break;
		case 'x': c->exit_code_mode = 1; break;
		case 'v': c->verbose = 1; break;
		case OPT_TAG: c->tag = 1; break;
		case OPT_REPORT: c->report = optarg; break;
		case OPT_JUNIT: c->junit = optarg; break;
		case OPT_TRACE: c->trace = optarg; break;
		case OPT_EVENTS: c->events = optarg; break;
		case OPT_COLOR: c->color = parse_when("--color", optarg); break;
		case OPT_PROGRESS: c->progress = parse_when("--progress", optarg); break;
		case OPT_TIMEOUT: c->o.timeout_ms = parse_dur("--timeout", optarg); break;
		case OPT_GRACE: c->o.grace_ms = parse_dur("--grace", optarg); break;
		case OPT_LIMIT: c->adhoc.limit = parse_num("--limit", optarg, 1); break;
		case OPT_COUNT: c->adhoc.count = parse_num("--count", optarg, 1); break;
		case OPT_ATTEMPTS: c->adhoc.attempts = parse_num("--attempts", optarg, 0); break;
		case OPT_BACKOFF: parse_backoff(c, optarg); break;
		case OPT_RETRY_ON: parse_retry_on(c, optarg); break;
		case OPT_ON_ERROR:
			if (!strcmp(optarg, "cancel")) c->adhoc.on_error = GRPX_ON_CANCEL;
			else if (!strcmp(optarg, "drain")) c->adhoc.on_error = GRPX_ON_DRAIN;
			else if (!strcmp(optarg, "continue")) c->adhoc.on_error = GRPX_ON_CONTINUE;
			else die_usage("invalid value '%s' for --on-error", optarg);
			break;
		case OPT_STAGGER: c->adhoc.stagger_ms = parse_dur("--stagger", optarg); break;
		case OPT_DELAY: c->adhoc.delay_ms = parse_dur("--delay", optarg); break;
		case OPT_TASK_TIMEOUT: c->adhoc.task_timeout_ms = parse_dur("--task-timeout", optarg); break;
		case OPT_SHELL: c->adhoc.shell = optarg; break;
		case OPT_CWD: c->adhoc.cwd = optarg; break;
		case OPT_ENV:
			if (!strchr(optarg, '=') || optarg[0] == '=')
				die_usage("invalid value '%s' for --env (KEY=VALUE)", optarg);
			if (c->nenv == sizeof c->env / sizeof c->env[0] - 1)
				die_usage("too many --env");
			c->env[c->nenv++] = optarg;
			c->adhoc.env = c->env;
			break;
		case 'a':
			if (c->nargf == sizeof c->argf / sizeof c->argf[0])
				die_usage("too many -a");
			c->argf[c->nargf++] = optarg;
			break;
		case '0': c->adhoc.nul = 1; break;
		case OPT_HELP: fputs(usage_text, stdout); exit(0);
		case OPT_VERSION: puts("grpx " GRPX_VERSION); exit(0);
		case OPT_PATHS:
			if (adhoc)
				die_usage("option '--paths' is for plan only");
			c->paths = 1;
			break;
		case OPT_JOURNAL:
		case OPT_RESUME:
			if (adhoc)
				die_usage("option '%s' is for job files only (grpx run)",
					  ch == OPT_JOURNAL ? "--journal" : "--resume");
			*(ch == OPT_JOURNAL ? &c->journal : &c->resume) = optarg;
			break;
		default: die_usage("bad arguments");
		}
	}
	return optind;
}

/* --- commands --- */

static struct grpx_job *load_or_die(const char *path)
{
	struct grpx_diags d = { 0 };
	struct grpx_job *job = NULL;

	if (grpx_load(path, &job, &d) < 0) {
		for (size_t i = 0; i < d.n; i++)
			if (d.v[i].line > 0)
				fprintf(stderr, "%s:%d:%d: %s\n", d.v[i].file, d.v[i].line,
					d.v[i].col, d.v[i].msg);
			else
				fprintf(stderr, "grpx: %s: %s\n", d.v[i].file, d.v[i].msg);
		if (d.n == 0) /* every problem is a diagnostic, unless memory ran out for it */
			fprintf(stderr, "grpx: cannot load '%s': out of memory\n", path);
		grpx_diags_free(&d);
		exit(2);
	}
	grpx_diags_free(&d);
	return job;
}

/* Write one of the run's files; a failure is reported and fails the run. */
static int write_report(const char *what, const char *path,
			int (*writer)(const struct grpx_run *, const char *), const struct grpx_run *run)
{
	if (!path || writer(run, path) == 0)
		return 0;
	fprintf(stderr, "grpx: cannot write %s '%s': %s\n", what, path, strerror(errno));
	return -1;
}

/*
 * The --events file.  A FIFO without a reader yet is opened read-write,
 * which never blocks (Linux): the lines wait in it for a reader.
 */
static int open_events(const char *path)
{
	int fd;

	if (!strcmp(path, "-"))
		return STDERR_FILENO;
	fd = open(path, O_WRONLY | O_NONBLOCK | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0 && errno == ENXIO)
		fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	return fd;
}

static int run_job(struct cli *c, struct grpx_job *job)
{
	struct grpx_run *run;
	int code, failed = 0;

	if (!c->output_set)
		c->o.output = isatty(STDOUT_FILENO) ? GRPX_OUT_PREFIX : GRPX_OUT_GROUPED;
	render_init(&c->out, job, c->o.output, c->color, c->progress, c->verbose);
	c->o.events_fd = -1;
	if (c->events && (c->o.events_fd = open_events(c->events)) < 0) {
		fprintf(stderr, "grpx: cannot open '%s': %s\n", c->events, strerror(errno));
		return 2;
	}
	c->o.ctx = &c->out;
	c->o.tag = render_tag;
	c->o.tag_grouped = c->tag;
	c->o.event = render_event;
	c->o.finish = render_finish;
	if (c->out.progress) {
		c->o.status = render_status;
		c->o.tick_ms = 100;
	}
	if (c->junit)
		c->o.capture_bytes = 64 * 1024;
	c->o.record_attempts = c->trace != NULL;
	if (grpx_run(job, &c->o, &run) < 0) {
		fprintf(stderr, "grpx: cannot run: %s\n", strerror(errno));
		return 1;
	}
	const char *ierr = grpx_run_input_error(run);
	if (ierr) { /* the input read as the run went made a bad group: nothing ran */
		fprintf(stderr, "grpx: %s\nTry 'grpx --help' for more information.\n", ierr);
		grpx_run_free(run);
		return 2;
	}
	if (c->tpl && grpx_run_inputs(run) == 0)
		fputs("grpx: no input for the template, nothing ran\n", stderr);
	int jerr = grpx_run_journal_error(run);
	if (jerr) { /* the run went on; its journal misses lines */
		fprintf(stderr, "grpx: cannot write journal '%s': %s\n", c->journal, strerror(jerr));
		failed = 1;
	}
	/* the reports first: nothing below may keep them from being written */
	failed |= write_report("JUnit report", c->junit, grpx_report_junit, run);
	failed |= write_report("trace", c->trace, grpx_report_trace, run);
	int sig = grpx_run_signal(run), werr = grpx_run_stream_error(run, GRPX_STDOUT);
	if (werr && werr != EPIPE) { /* not a reader that went away: say so, fail */
		fprintf(stderr, "grpx: cannot write output: %s\n", strerror(werr));
		failed = 1;
	}
	int everr = c->events ? grpx_run_stream_error(run, GRPX_EVENTS) : 0;
	if (everr && c->o.events_fd != STDERR_FILENO) {
		fprintf(stderr, "grpx: cannot write events '%s': %s\n", c->events, strerror(everr));
		failed = 1;
	}
	if (c->o.events_fd > STDERR_FILENO)
		close(c->o.events_fd);
	code = c->exit_code_mode ? grpx_run_cause_code(run) : grpx_run_exit_code(run);
	if (failed && code == 0)
		code = 1;
	/* the JSON report last: its exit_code is the status we exit with */
	grpx_run_set_exit_code(run, code);
	if (write_report("report", c->report, grpx_report_json, run) < 0 && code == 0)
		code = 1;
	grpx_run_free(run);
	if (sig && sig != SIGPIPE && c->out.said_signal != sig) /* it came after the summary */
		render_signal(stderr, sig);
	if (sig) { /* die by the same signal, so our parent sees it */
		sigset_t set;
		fflush(NULL);
		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
	}
	return code;
}

/* --- ad-hoc inputs (SPEC section 7.1) --- */

/* One input source: values given, or the records of a file. */
struct source {
	char **v;  /* NULL-terminated, owned */
	size_t n;
	int fd;    /* read as the run goes instead (stdin, a pipe), or -1 */
};

static void source_add(struct source *s, char *v)
{
	char **nv = realloc(s->v, (s->n + 2) * sizeof *nv);

	if (!nv || !v) {
		fputs("grpx: out of memory\n", stderr);
		exit(1);
	}
	s->v = nv;
	s->v[s->n++] = v;
	s->v[s->n] = NULL;
}

/*
 * A `::::` / -a source.  A regular file is read now; stdin ("-") or a
 * pipe is read by the run as it goes (so its first records start tasks
 * before its end, and signals act while it is read).
 */
static void source_file(struct source *s, const char *path, int nul)
{
	struct stat st;
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : dup(STDIN_FILENO);

	if (fd < 0 || fstat(fd, &st) < 0)
		die_usage("cannot read input file '%s': %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode)) {
		s->fd = fd;
		return;
	}
	FILE *f = fdopen(fd, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t k;
	if (!f)
		die_usage("cannot read input file '%s': %s", path, strerror(errno));
	while ((k = getdelim(&line, &cap, nul ? '\0' : '\n', f)) >= 0) {
		if (k > 0 && line[k - 1] == (nul ? '\0' : '\n'))
			line[--k] = '\0';
		source_add(s, strdup(line));
	}
	if (ferror(f))
		die_usage("cannot read input file '%s': %s", path, strerror(errno));
	free(line);
	fclose(f);
}

static int adhoc(struct cli *c, int mode, int argc, char **argv)
{
	int first = parse_options(c, argc, argv, 1);
	bool dashdash = first > 1 && !strcmp(argv[first - 1], "--");
	char err[512];
	struct grpx_job *job = NULL;
	struct source src[64];
	size_t nsrc = 0, ncmd = 0;
	int stream = -1;

	c->adhoc.mode = (enum grpx_mode)mode;
	if ((mode == GRPX_TAKE || mode == GRPX_LAST) && c->adhoc.count < 0)
		die_usage("%s needs --count", grpx_mode_name(mode));
	/* the commands, up to the first input source */
	while (first + (int)ncmd < argc && strcmp(argv[first + ncmd], ":::") &&
	       strcmp(argv[first + ncmd], "::::"))
		ncmd++;
	for (size_t i = 0; i < ncmd && !dashdash; i++)
		if (argv[first + i][0] == '-')
			die_usage("unknown option '%s' after the commands (options go before the "
				  "commands; '--' before a command that begins with '-')",
				  argv[first + i]);
	/* -a FILE..., then the ::: and :::: sources, in order */
	for (size_t i = 0; i < c->nargf; i++) {
		src[nsrc] = (struct source){ .fd = -1 };
		source_file(&src[nsrc++], c->argf[i], c->adhoc.nul);
	}
	for (int i = first + (int)ncmd; i < argc;) {
		bool files = !strcmp(argv[i], "::::");
		if (i + 1 == argc || !strcmp(argv[i + 1], ":::") || !strcmp(argv[i + 1], "::::"))
			die_usage("'%s' needs %s", argv[i], files ? "a file" : "values");
		for (i++; i < argc && strcmp(argv[i], ":::") && strcmp(argv[i], "::::"); i++) {
			if (nsrc == sizeof src / sizeof src[0])
				die_usage("too many input sources");
			if (files) {
				src[nsrc] = (struct source){ .fd = -1 };
				source_file(&src[nsrc++], argv[i], c->adhoc.nul);
				continue;
			}
			if (!strcmp(argv[i - 1], ":::")) /* a new source starts */
				src[nsrc++] = (struct source){ .fd = -1 };
			source_add(&src[nsrc - 1], strdup(argv[i]));
		}
	}
	for (size_t i = 0; i < nsrc; i++)
		if (src[i].fd >= 0) {
			if (stream >= 0)
				die_usage("only one input source can be read as the run goes "
					  "(stdin or a pipe)");
			stream = (int)i;
		}
	if (nsrc && ncmd == 0)
		die_usage("input sources need a command (a template)");
	if (nsrc && ncmd > 1)
		die_usage("one command template goes with input sources, not %zu commands", ncmd);
	char **cmds = argv + first, **lists[64];
	if (ncmd == 1 && (nsrc || grpx_template_has_rs(cmds[0], 1))) {
		/* a template: its inputs come from the sources, or stdin */
		c->adhoc.tpl = cmds[0];
		if (!nsrc) {
			src[nsrc++] = (struct source){ .fd = STDIN_FILENO };
			stream = 0;
		}
		for (size_t i = 0; i < nsrc; i++)
			lists[i] = src[i].v;
		c->adhoc.src = (char *const *const *)lists;
		c->adhoc.nsrc = nsrc;
		c->adhoc.stream = stream;
		c->adhoc.read_input = stream >= 0;
		c->adhoc.in_fd = stream >= 0 ? src[stream].fd : -1;
		ncmd = 0;
	} else if (ncmd == 0) {
		c->adhoc.read_input = 1; /* commands, one a line */
		c->adhoc.in_fd = STDIN_FILENO;
	} else {
		c->adhoc.stdin_stage = 1; /* `seq 5 | grpx waterfall 'sort -r' 'head -2'` */
	}
	if (mode == GRPX_SIZED && c->adhoc.limit < 0 && c->o.jobs > 0)
		c->adhoc.limit = c->o.jobs; /* `grpx sized -j4` runs four at once, as xargs -P4 */
	int made = grpx_job_adhoc(&c->adhoc, cmds, ncmd, &job, err, sizeof err);
	for (size_t i = 0; i < nsrc; i++) {
		for (size_t k = 0; k < src[i].n; k++)
			free(src[i].v[k]);
		free(src[i].v);
	}
	if (made < 0)
		die_usage("%s", err);
	c->tpl = c->adhoc.tpl != NULL;
	int rc = run_job(c, job);
	grpx_job_free(job);
	return rc;
}

/* No descriptor of ours may reach a task but 0, 1, 2: what we inherited
 * without close-on-exec gets it now (it stays usable here). */
static void cloexec_inherited(void)
{
#ifdef CLOSE_RANGE_CLOEXEC
	if (close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
#endif
	long max = sysconf(_SC_OPEN_MAX);
	for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++) {
		int fl = fcntl(fd, F_GETFD);
		if (fl >= 0 && !(fl & FD_CLOEXEC))
			fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
	}
}

/* A closed 0, 1 or 2 would be taken by the next file we open. */
static void ensure_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0) {
			int nfd = open("/dev/null", O_RDWR);
			if (nfd >= 0 && nfd != fd) {
				dup2(nfd, fd);
				close(nfd);
			}
		}
}

int main(int argc, char **argv)
{
	struct cli c = { .o = { .timeout_ms = -1, .grace_ms = -1 }, .color = -1, .progress = -1 };

	c.adhoc = (struct grpx_adhoc){ .limit = -1, .count = -1, .attempts = -1,
				       .initial_ms = -1, .max_ms = -1, .on_error = -1,
				       .stagger_ms = -1, .delay_ms = -1, .task_timeout_ms = -1,
				       .stream = -1 };
	ensure_std_fds();
	cloexec_inherited();
	if (argc < 2)
		die_usage("missing command");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		puts("grpx " GRPX_VERSION);
		return 0;
	}
	int mode = grpx_mode_parse(cmd);
	/* a closed stderr must not kill us before the reports are written */
	signal(SIGPIPE, SIG_IGN);
	if (mode >= 0 || !strcmp(cmd, "run")) {
		/* A signal while the job loads must still end in a report:
		 * hold it; the run sees it at once and starts nothing. */
		sigset_t set;
		grpx_signals(&set);
		sigdelset(&set, SIGCHLD);
		sigprocmask(SIG_BLOCK, &set, NULL);
	}
	if (mode >= 0)
		return adhoc(&c, mode, argc - 1, argv + 1);
	if (strcmp(cmd, "run") && strcmp(cmd, "check") && strcmp(cmd, "plan"))
		die_usage("unknown command '%s'", cmd);
	int first = parse_options(&c, argc - 1, argv + 1, 0) + 1;
	if (c.paths && strcmp(cmd, "plan"))
		die_usage("option '--paths' is for plan only");
	if (c.journal && strcmp(cmd, "run"))
		die_usage("option '--journal' is for run only");
	if (c.resume && strcmp(cmd, "run") && strcmp(cmd, "plan"))
		die_usage("option '--resume' is for run and plan only");
	if (first >= argc)
		die_usage("%s needs a JOBFILE", cmd);
	if (strcmp(cmd, "run") && first + 1 < argc)
		die_usage("%s takes one JOBFILE", cmd);
	struct grpx_job *job = load_or_die(argv[first]);
	int rc = 0;
	struct grpx_resume *rs = NULL;
	char err[1024];
	/* The journal first: `--journal F --resume F` finds F even on the
	 * first round (empty then).  Nothing is written to it before F has
	 * been read: the run writes its first line. */
	if (c.journal && (c.o.journal_fd = grpx_journal_open(c.journal, err, sizeof err)) < 0) {
		fprintf(stderr, "grpx: %s\n", err);
		exit(2);
	}
	if (c.resume && grpx_resume_load(c.resume, &rs, err, sizeof err) < 0) {
		fprintf(stderr, "grpx: %s\n", err);
		exit(2);
	}
	c.o.resume = rs;
	if (!strcmp(cmd, "check")) {
		rc = 0;
	} else if (!strcmp(cmd, "plan")) {
		grpx_job_resume(job, rs);
		(c.paths ? grpx_job_paths : grpx_job_plan)(job, stdout);
	} else {
		for (int i = first + 1; i < argc; i++)
			if (!*argv[i] || !grpx_job_find(job, argv[i])) { /* "": the root, no node */
				grpx_job_free(job);
				die_usage("no node '%s' in '%s'", argv[i], argv[first]);
			}
		c.o.paths = (const char *const *)argv + first + 1;
		c.o.npaths = (size_t)(argc - first - 1);
		rc = run_job(&c, job);
	}
	if (c.o.journal_fd > 0)
		close(c.o.journal_fd);
	grpx_resume_free(rs);
	grpx_job_free(job);
	return rc;
}
