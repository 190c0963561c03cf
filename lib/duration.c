/*
 * duration.c - "250ms", "2s", "1.5m", "1h30m" and bare seconds.
 *
 * A duration is one or more NUMBER UNIT parts, the units in decreasing order
 * (h, m, s, ms) and each at most once, or one bare NUMBER of seconds.  NUMBER
 * is decimal digits with an optional fraction (".5" and "5." included).  The
 * arithmetic is exact, in integers; a fraction finer than a millisecond is
 * rounded to the nearest one.  Signs, spaces, an empty string and anything
 * else fail with EINVAL; a value past INT64_MAX milliseconds with ERANGE.
 *
 * Formatting writes durations the way people write them: hours and
 * minutes, then seconds with a decimal fraction ("1.5s", "1m30s",
 * "1h0.25s"), and milliseconds only for what is under a second ("250ms",
 * "1m500ms").  A fraction has at most three digits, so the text is always
 * exact and parses back to the same value (`grpx plan` relies on that).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const struct unit {
	const char *name;
	int64_t ms;
} units[] = { { "h", 3600000 }, { "m", 60000 }, { "s", 1000 }, { "ms", 1 } };

#define NUNITS (sizeof units / sizeof units[0])

/* The number in [s, end) times `unit` ms, rounded; 0 or an errno value. */
static int scale_number(const char *s, const char *end, int64_t unit,
			int64_t *ms)
{
	int64_t whole = 0, frac = 0, den = 1;
	int ndig = 0;

	for (; s < end && *s != '.'; s++, ndig++) {
		if (whole > (INT64_MAX - (*s - '0')) / 10)
			return ERANGE;
		whole = whole * 10 + (*s - '0');
	}
	if (s < end && *s == '.')
		s++;
	for (; s < end; s++, ndig++) {
		if (*s == '.')
			return EINVAL;
		/* Digits past 1e-12 cannot change a rounded millisecond. */
		if (den < 1000000000000) {
			frac = frac * 10 + (*s - '0');
			den *= 10;
		}
	}
	if (ndig == 0)
		return EINVAL;
	if (whole > INT64_MAX / unit)
		return ERANGE;
	/* frac < den <= 1e12 and unit <= 3.6e6: 2 * frac * unit < 7.2e18. */
	int64_t f = (frac * unit * 2 + den) / (den * 2);
	if (whole * unit > INT64_MAX - f)
		return ERANGE;
	*ms = whole * unit + f;
	return 0;
}

int grpx_parse_duration(const char *s, int64_t *out)
{
	int64_t total = 0, part;
	size_t next = 0; /* the first unit still allowed */
	int err;

	if (!s || !*s)
		return errno = EINVAL, -1;
	while (*s) {
		const char *num = s;
		s += strspn(s, "0123456789.");
		size_t len = strspn(s, "hms"), u;
		if (*s == '\0' && next == 0) { /* bare seconds, alone */
			u = 2;
		} else {
			for (u = next; u < NUNITS; u++)
				if (strlen(units[u].name) == len &&
				    strncmp(s, units[u].name, len) == 0)
					break;
			if (len == 0 || u == NUNITS)
				return errno = EINVAL, -1;
		}
		if ((err = scale_number(num, s, units[u].ms, &part)) != 0)
			return errno = err, -1;
		if (total > INT64_MAX - part)
			return errno = ERANGE, -1;
		total += part;
		s += len;
		next = u + 1;
	}
	*out = total;
	return 0;
}

void grpx_format_duration(int64_t ms, char *buf, size_t len)
{
	uint64_t v = ms < 0 ? -(uint64_t)ms : (uint64_t)ms;
	uint64_t h = v / 3600000, m = v / 60000 % 60, s = v / 1000 % 60, frac = v % 1000;
	size_t off = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
#define PUT(...) (off += off < len ? (size_t)snprintf(buf + off, len - off, __VA_ARGS__) : 0)
	if (ms < 0)
		PUT("-");
	if (h)
		PUT("%lluh", (unsigned long long)h);
	if (m)
		PUT("%llum", (unsigned long long)m);
	if (s) {
		PUT("%llu", (unsigned long long)s);
		if (frac) { /* three digits, without the trailing zeros */
			char d[4];
			snprintf(d, sizeof d, "%03u", (unsigned)frac);
			for (int i = 2; i > 0 && d[i] == '0'; i--)
				d[i] = '\0';
			PUT(".%s", d);
		}
		PUT("s");
	} else if (frac) {
		PUT("%ums", (unsigned)frac);
	} else if (v == 0) {
		PUT("0s");
	}
#undef PUT
}
