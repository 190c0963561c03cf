/*
 * at.c - the `at:` moment of a schedule child (SPEC section 4), in one
 * place: read it from the job file, find when it is next due, write it back
 * for `grpx plan`.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* Exactly `n` digits at *s, advancing it. */
static bool digits(const char **s, int n, int *v)
{
	for (*v = 0; n-- > 0; (*s)++) {
		if (**s < '0' || **s > '9')
			return false;
		*v = *v * 10 + (**s - '0');
	}
	return true;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian, H. Hinnant). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* "HH:MM[:SS]" (also "H:MM") after midnight, or "YYYY-MM-DDTHH:MM[:SS[.F]]"
 * followed by "Z" or an offset "+HH:MM" / "-HH:MM". */
int at_parse(const char *s, struct at_spec *at)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y = 1970, mo = 1, d = 1, h, mi, sec = 0, ms = 0, oh, om;
	bool abs = strlen(s) > 8; /* longer than "HH:MM:SS" */
	int64_t off = 0;

	if (abs && (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) ||
		    *s++ != '-' || !digits(&s, 2, &d) || !*s ||
		    !strchr("Tt ", *s++)))
		return -1;
	if (!digits(&s, !abs && s[0] && s[1] == ':' ? 1 : 2, &h) ||
	    *s++ != ':' || !digits(&s, 2, &mi))
		return -1;
	if (*s == ':' && (s++, !digits(&s, 2, &sec)))
		return -1;
	if (abs && *s == '.') {
		int scale = 100;
		for (s++; *s >= '0' && *s <= '9'; s++, scale /= 10)
			ms += (*s - '0') * scale;
		if (scale == 100)
			return -1;
	}
	if (h > 23 || mi > 59 || sec > 59 || mo < 1 || mo > 12 || d < 1 ||
	    d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))))
		return -1;
	int64_t day_ms = ((int64_t)h * 3600 + mi * 60 + sec) * 1000 + ms;
	if (!abs) {
		*at = (struct at_spec){ AT_CLOCK, day_ms };
		return *s == '\0' ? 0 : -1;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int sign = *s++ == '-' ? -1 : 1;
		if (!digits(&s, 2, &oh) || *s++ != ':' || !digits(&s, 2, &om) ||
		    oh > 23 || om > 59)
			return -1;
		off = sign * ((int64_t)oh * 60 + om) * 60000;
	} else {
		return -1;
	}
	*at = (struct at_spec){ AT_ABS,
				days_from_civil(y, mo, d) * 86400000 + day_ms - off };
	return *s == '\0' ? 0 : -1;
}

int64_t at_next_ms(const struct at_spec *at, int64_t wall)
{
	int64_t due = at->value;

	if (at->kind != AT_CLOCK)
		return due;
	time_t t = (time_t)(wall / 1000);
	struct tm tm;
	localtime_r(&t, &tm);
	for (int day = 0; day < 2; day++) {
		struct tm m = tm;
		m.tm_mday += day;
		m.tm_hour = (int)(at->value / 3600000);
		m.tm_min = (int)(at->value / 60000 % 60);
		m.tm_sec = (int)(at->value / 1000 % 60);
		m.tm_isdst = -1;
		due = (int64_t)mktime(&m) * 1000 + at->value % 1000;
		if (due > wall)
			break;
	}
	return due;
}

int64_t at_wait_ms(const struct at_spec *at)
{
	struct timespec now;
	int64_t wall, due;

	clock_gettime(CLOCK_REALTIME, &now);
	wall = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	due = at_next_ms(at, wall);
	return due > wall ? due - wall : 0;
}

int at_format(const struct at_spec *at, char *buf, size_t len)
{
	int64_t v = at->value, ms = ((v % 1000) + 1000) % 1000;
	time_t secs = (time_t)((v - ms) / 1000);
	struct tm tm;
	size_t n;

	if (len)
		buf[0] = '\0';
	if (at->kind == AT_CLOCK) {
		n = (size_t)snprintf(buf, len, "%02d:%02d", (int)(v / 3600000),
				     (int)(v / 60000 % 60));
		if (v % 60000 && n < len)
			snprintf(buf + n, len - n, ":%02d", (int)(v / 1000 % 60));
	} else if (at->kind == AT_ABS && gmtime_r(&secs, &tm) &&
		   (n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm)) > 0) {
		if (ms)
			n += (size_t)snprintf(buf + n, len - n, ".%03d", (int)ms);
		if (n < len)
			snprintf(buf + n, len - n, "Z");
	}
	return len && buf[0] ? 0 : -1;
}
