/*
 * grpx - run shell commands as groups under Go-style concurrency policies.
 *
 * This file parses arguments, renders task output and the summary, and maps
 * the run's outcome to an exit status.  The work is done by lib/.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "grpx.h"

static const char usage_text[] =
	"usage: grpx run [OPTIONS] JOBFILE [PATH...]\n"
	"       grpx check JOBFILE\n"
	"       grpx plan JOBFILE\n"
	"       grpx MODE [OPTIONS] [--] COMMAND...\n"
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
	"ad-hoc group options:\n"
	"      --limit N  --count N  --attempts N  --backoff INITIAL[:MAX[:FACTOR]]\n"
	"      --retry-on N,N  --on-error cancel|drain|continue  --stagger DUR\n"
	"      --delay DUR       schedule: command i starts at i x DUR\n";

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

/* --- writing output --- */

/* Write all of buf to fd; -1 when the reader is gone (EPIPE) or fd broke. */
static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			poll(&p, 1, -1);
			continue;
		}
		if (n < 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

struct out {
	enum grpx_output mode;
	int tag;
	/* prefix mode: the partial last line of each live stream */
	struct line {
		const struct grpx_node *n;
		int stream;
		size_t len;
		char *buf;
	} *lines;
	size_t nlines;
};

#define LINE_MAX_BYTES 8192

static int put_tagged(const struct grpx_node *n, int fd, const char *s, size_t len,
		      int cont)
{
	char tag[512];
	int t = snprintf(tag, sizeof tag, "[%s]%s ", grpx_node_path(n), cont ? "+" : "");

	if (t < 0 || (size_t)t >= sizeof tag)
		t = 0;
	if (write_all(fd, tag, (size_t)t) < 0 || write_all(fd, s, len) < 0)
		return -1;
	return len && s[len - 1] == '\n' ? 0 : write_all(fd, "\n", 1);
}

/* Tag every whole line of buf; keep the unterminated tail in l. */
static int tag_lines(struct line *l, int fd, const char *buf, size_t len)
{
	while (len > 0) {
		const char *nl = memchr(buf, '\n', len);
		size_t take = nl ? (size_t)(nl - buf) + 1 : len;
		if (l->len + take > LINE_MAX_BYTES || nl) {
			if (l->len + take > LINE_MAX_BYTES && !nl)
				take = LINE_MAX_BYTES - l->len;
			memcpy(l->buf + l->len, buf, take);
			l->len += take;
			if (put_tagged(l->n, fd, l->buf, l->len, 0) < 0)
				return -1;
			l->len = 0;
		} else {
			memcpy(l->buf + l->len, buf, take);
			l->len += take;
		}
		buf += take;
		len -= take;
	}
	return 0;
}

static struct line *line_of(struct out *o, const struct grpx_node *n, int stream)
{
	for (size_t i = 0; i < o->nlines; i++)
		if (o->lines[i].n == n && o->lines[i].stream == stream)
			return &o->lines[i];
	for (size_t i = 0; i < o->nlines; i++)
		if (!o->lines[i].n) {
			o->lines[i] = (struct line){ n, stream, 0, o->lines[i].buf };
			return &o->lines[i];
		}
	struct line *v = realloc(o->lines, (o->nlines + 1) * sizeof *v);
	char *buf = malloc(LINE_MAX_BYTES);
	if (!v || !buf) {
		free(buf);
		if (v)
			o->lines = v;
		return NULL;
	}
	o->lines = v;
	o->lines[o->nlines] = (struct line){ n, stream, 0, buf };
	return &o->lines[o->nlines++];
}

static int on_chunk(void *ctx, const struct grpx_node *n, int stream, const char *buf,
		    size_t len)
{
	struct out *o = ctx;
	int fd = stream == GRPX_STDOUT ? STDOUT_FILENO : STDERR_FILENO;
	struct line *l = line_of(o, n, stream);
	int rc = 0;

	if (!l)
		return 0;
	if (len)
		return tag_lines(l, fd, buf, len);
	if (l->len) /* EOF: a final unterminated line gets its newline */
		rc = put_tagged(n, fd, l->buf, l->len, 0);
	l->len = 0;
	l->n = NULL;
	return rc;
}

static int on_emit(void *ctx, const struct grpx_node *n, int stream, int fd, off_t len)
{
	struct out *o = ctx;
	int out = stream == GRPX_STDOUT ? STDOUT_FILENO : STDERR_FILENO;
	off_t off = 0;
	char buf[65536];

	if (o->mode == GRPX_OUT_QUIET)
		return 0;
	if (o->mode == GRPX_OUT_PREFIX || o->tag) {
		struct line l = { n, stream, 0, malloc(LINE_MAX_BYTES) };
		int rc = 0;
		if (!l.buf)
			return 0;
		while (off < len && rc == 0) {
			ssize_t k = pread(fd, buf, sizeof buf, off);
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;
			off += k;
			rc = tag_lines(&l, out, buf, (size_t)k);
		}
		if (rc == 0 && l.len)
			rc = put_tagged(n, out, l.buf, l.len, 0);
		free(l.buf);
		return rc;
	}
	while (off < len) {
		ssize_t k = sendfile(out, fd, &off, (size_t)(len - off));
		if (k > 0)
			continue;
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EPIPE)
			return -1;
		if (k < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = out, .events = POLLOUT };
			poll(&p, 1, -1);
			continue;
		}
		/* sendfile cannot serve this pair: copy by hand */
		k = pread(fd, buf, sizeof buf, off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (write_all(out, buf, (size_t)k) < 0)
			return -1;
		off += k;
	}
	return 0;
}

/* --- summary --- */

static void fmt_ms(double ms, char *buf, size_t len)
{
	if (ms < 1000)
		snprintf(buf, len, "%.0fms", ms);
	else
		snprintf(buf, len, "%.2fs", ms / 1000);
}

static void summary_node(const struct grpx_node *n)
{
	struct grpx_node_info i;
	char dur[32], why[512], code[32] = "";

	grpx_node_info(n, &i);
	if (!i.is_task) {
		for (size_t k = 0; k < i.nkids; k++)
			summary_node(grpx_node_kid(n, k));
		return;
	}
	fmt_ms(i.start_ms >= 0 && i.end_ms >= i.start_ms ? i.end_ms - i.start_ms : 0, dur,
	       sizeof dur);
	if (i.signal)
		snprintf(code, sizeof code, "signal %d", i.signal);
	else if (i.exit_code >= 0)
		snprintf(code, sizeof code, "exit %d", i.exit_code);
	const char *reason = grpx_node_reason(n, why, sizeof why);
	fprintf(stderr, "  %-30s %-9s %-10s %2u %8s%s%s\n", i.path, grpx_status_name(i.status),
		code, i.attempts, dur, reason ? "  " : "", reason ? reason : "");
}

static void print_errors(const struct grpx_run *run)
{
	size_t n = grpx_run_nerrors(run);

	if (n == 0)
		return;
	fprintf(stderr, "grpx: %zu error%s: ", n, n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		const char *msg, *path = grpx_run_error(run, i, &msg);
		fprintf(stderr, "%s%s%s%s", i ? "; " : "", path, *path ? ": " : "", msg);
	}
	fputc('\n', stderr);
}

/* --- options --- */

struct cli {
	struct grpx_opts o;
	struct out out;
	const char *report;
	int exit_code_mode, verbose, output_set;
	struct grpx_adhoc adhoc;
	int retry_on[64];
};

static int64_t parse_dur(const char *opt, const char *s)
{
	int64_t ms;

	if (grpx_parse_duration(s, &ms) < 0)
		die_usage("invalid duration '%s' for %s", s, opt);
	return ms;
}

static long parse_num(const char *opt, const char *s, long min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min)
		die_usage("invalid number '%s' for %s", s, opt);
	return v;
}

enum {
	OPT_TAG = 256, OPT_REPORT, OPT_TIMEOUT, OPT_GRACE, OPT_LIMIT, OPT_COUNT,
	OPT_ATTEMPTS, OPT_BACKOFF, OPT_RETRY_ON, OPT_ON_ERROR, OPT_STAGGER, OPT_DELAY,
	OPT_HELP, OPT_VERSION,
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
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ 0 },
};

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
	while ((ch = getopt_long(argc, argv, adhoc ? "+j:o:qxv" : "j:o:qxv", long_opts,
				 NULL)) != -1) {
		if (!adhoc && ch >= OPT_LIMIT && ch <= OPT_DELAY)
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
		case OPT_TAG: c->out.tag = 1; break;
		case OPT_REPORT: c->report = optarg; break;
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
		case OPT_HELP: fputs(usage_text, stdout); exit(0);
		case OPT_VERSION: puts("grpx " GRPX_VERSION); exit(0);
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
		if (d.n == 0)
			fprintf(stderr, "grpx: cannot load '%s'\n", path);
		grpx_diags_free(&d);
		exit(2);
	}
	grpx_diags_free(&d);
	return job;
}

static int run_job(struct cli *c, struct grpx_job *job)
{
	struct grpx_run *run;

	if (!c->output_set)
		c->o.output = isatty(STDOUT_FILENO) ? GRPX_OUT_PREFIX : GRPX_OUT_GROUPED;
	c->out.mode = c->o.output;
	c->o.ctx = &c->out;
	c->o.emit = on_emit;
	c->o.chunk = on_chunk;
	if (grpx_run(job, &c->o, &run) < 0) {
		fprintf(stderr, "grpx: cannot run: %s\n", strerror(errno));
		return 1;
	}
	if (c->verbose || isatty(STDERR_FILENO)) {
		fputs("grpx: summary\n", stderr);
		summary_node(grpx_job_root(job));
	}
	if (grpx_run_outcome(run) != GRPX_RUN_OK)
		print_errors(run);
	if (c->report && grpx_report_json(run, c->report) < 0)
		fprintf(stderr, "grpx: cannot write report '%s': %s\n", c->report,
			strerror(errno));
	int sig = grpx_run_signal(run);
	int code = c->exit_code_mode ? grpx_run_cause_code(run) : grpx_run_exit_code(run);
	grpx_run_free(run);
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

static char **read_commands(size_t *n)
{
	char **v = NULL, *line = NULL;
	size_t cap = 0, len = 0;
	ssize_t k;

	*n = 0;
	while ((k = getline(&line, &len, stdin)) >= 0) {
		while (k > 0 && (line[k - 1] == '\n' || line[k - 1] == '\r'))
			line[--k] = '\0';
		if (k == 0)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			char **nv = realloc(v, cap * sizeof *v);
			if (!nv) {
				fputs("grpx: out of memory\n", stderr);
				exit(1);
			}
			v = nv;
		}
		v[(*n)++] = strdup(line);
	}
	free(line);
	return v;
}

static int adhoc(struct cli *c, int mode, int argc, char **argv)
{
	int first = parse_options(c, argc, argv, 1);
	char **cmds = argv + first, err[512];
	size_t n = (size_t)(argc - first);
	struct grpx_job *job = NULL;

	c->adhoc.mode = (enum grpx_mode)mode;
	if ((mode == GRPX_TAKE || mode == GRPX_LAST) && c->adhoc.count < 0)
		die_usage("%s needs --count", grpx_mode_name(mode));
	if (n == 0) {
		cmds = read_commands(&n);
		if (n == 0) {
			if (mode == GRPX_ERRGROUP || mode == GRPX_SIZED || mode == GRPX_ALL ||
			    mode == GRPX_SCHEDULE)
				return 0;
			die_usage("%s needs at least one command", grpx_mode_name(mode));
		}
	}
	if (grpx_job_adhoc(&c->adhoc, cmds, n, &job, err, sizeof err) < 0)
		die_usage("%s", err);
	int rc = run_job(c, job);
	grpx_job_free(job);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli c = { .o = { .timeout_ms = -1, .grace_ms = -1 } };

	c.adhoc = (struct grpx_adhoc){ .limit = -1, .count = -1, .attempts = -1,
				       .initial_ms = -1, .max_ms = -1, .on_error = -1,
				       .stagger_ms = -1, .delay_ms = -1 };
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
	if (mode >= 0)
		return adhoc(&c, mode, argc - 1, argv + 1);
	if (strcmp(cmd, "run") && strcmp(cmd, "check") && strcmp(cmd, "plan"))
		die_usage("unknown command '%s'", cmd);
	int first = parse_options(&c, argc - 1, argv + 1, 0) + 1;
	if (first >= argc)
		die_usage("%s needs a JOBFILE", cmd);
	if (strcmp(cmd, "run") && first + 1 < argc)
		die_usage("%s takes one JOBFILE", cmd);
	struct grpx_job *job = load_or_die(argv[first]);
	int rc = 0;
	if (!strcmp(cmd, "check")) {
		rc = 0;
	} else if (!strcmp(cmd, "plan")) {
		grpx_job_plan(job, stdout);
	} else {
		for (int i = first + 1; i < argc; i++)
			if (!grpx_job_find(job, argv[i])) {
				grpx_job_free(job);
				die_usage("no node '%s' in '%s'", argv[i], argv[first]);
			}
		c.o.paths = (const char *const *)argv + first + 1;
		c.o.npaths = (size_t)(argc - first - 1);
		rc = run_job(&c, job);
	}
	grpx_job_free(job);
	return rc;
}
