/*
 * Retry policy for provider calls. The delay before try n+1 is drawn
 * uniformly from [0, min(cap, base * 2^(n-1))] ("full jitter": many
 * workers hitting one rate limit spread out instead of retrying in
 * step), unless the provider named a delay, which we honour — or give
 * up if it is longer than we are willing to make the user wait.
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "backoff.h"

static int	backoff_digits(const char *, long, long *);
static int	backoff_num(const char **, int, int *);
static int	backoff_http_date(const char *, time_t *);
static long	backoff_days_from_civil(long, int, int);

void
backoff_policy_default(struct backoff_policy *bp)
{
	bp->max_tries = BACKOFF_MAX_TRIES;
	bp->base_ms = BACKOFF_BASE_MS;
	bp->cap_ms = BACKOFF_CAP_MS;
	bp->max_hint_ms = BACKOFF_MAX_HINT_MS;
}

/*
 * How long to wait before trying again after try number `tries` (1 for
 * the first) failed with err, or BACKOFF_STOP. hint_ms is the delay the
 * provider asked for (LLM_RETRY_UNKNOWN if none); remaining_ms is what
 * is left of the caller's deadline (< 0: no deadline); rnd is a random
 * value (backoff_random()), a parameter so tests can pin it.
 */
long
backoff_delay(const struct backoff_policy *bp, int tries, enum llm_err err,
    long hint_ms, long remaining_ms, uint32_t rnd)
{
	long	window, delay;
	int	i;

	if (!llm_err_retryable(err) || tries < 1 || tries >= bp->max_tries)
		return (BACKOFF_STOP);
	if (hint_ms >= 0) {
		if (hint_ms > bp->max_hint_ms)
			return (BACKOFF_STOP);
		delay = hint_ms;
	} else {
		window = bp->base_ms;
		for (i = 1; i < tries && window < bp->cap_ms; i++)
			window *= 2;
		if (window > bp->cap_ms)
			window = bp->cap_ms;
		delay = (long)(rnd % (uint32_t)(window + 1));
	}
	if (remaining_ms >= 0 && delay >= remaining_ms)
		return (BACKOFF_STOP);
	return (delay);
}

/*
 * The delay a Retry-After header value asks for, in ms: delta-seconds
 * ("120") or an HTTP-date ("Wed, 21 Oct 2015 07:28:00 GMT", compared
 * with now; a date in the past means 0). LLM_RETRY_UNKNOWN when absent
 * or unparsable.
 */
long
backoff_parse_retry_after(const char *v, time_t now)
{
	time_t		 when;
	long		 sec;

	if (v == NULL || strlen(v) > BACKOFF_MAX_HEADER_LEN)
		return (LLM_RETRY_UNKNOWN);
	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		if (backoff_digits(v, BACKOFF_MAX_RETRY_AFTER_S, &sec) == -1)
			return (LLM_RETRY_UNKNOWN);
		return (sec * 1000);
	}
	if (backoff_http_date(v, &when) == -1)
		return (LLM_RETRY_UNKNOWN);
	if (when <= now)
		return (0);
	if (when - now > BACKOFF_MAX_RETRY_AFTER_S)
		return (LLM_RETRY_UNKNOWN);
	return ((long)(when - now) * 1000);
}

int
backoff_header(const char *line, size_t n, char *out)
{
	static const char	 name[] = "retry-after:";
	const char		*v;
	size_t			 vl;

	if (n <= sizeof(name) - 1 ||
	    strncasecmp(line, name, sizeof(name) - 1) != 0)
		return (0);
	v = line + sizeof(name) - 1;
	vl = n - (sizeof(name) - 1);
	while (vl > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vl--;
	}
	while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' ||
	    v[vl - 1] == ' ' || v[vl - 1] == '\t'))
		vl--;
	if (vl > BACKOFF_MAX_HEADER_LEN)
		return (0);
	memcpy(out, v, vl);
	out[vl] = '\0';
	return (1);
}

/*
 * The provider's hint to pass to backoff_delay(): the body's delay
 * (Gemini RetryInfo) wins over the Retry-After header; either may be
 * LLM_RETRY_UNKNOWN.
 */
long
backoff_hint(long body_ms, long header_ms)
{
	if (body_ms >= 0)
		return (body_ms);
	return (header_ms);
}

/* A uniformly random 32-bit value for the jitter. */
uint32_t
backoff_random(void)
{
	return (arc4random());
}

/* All-digit string (trailing blanks allowed) to *out, at most max. */
static int
backoff_digits(const char *s, long max, long *out)
{
	long	n;

	n = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (*s - '0');
		if (n > max)
			return (-1);
	}
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '\0')
		return (-1);
	*out = n;
	return (0);
}

/*
 * An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", RFC 9110 5.6.7),
 * parsed by hand: strptime's %a/%b follow the locale.
 */
static int
backoff_http_date(const char *s, time_t *out)
{
	static const char	months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char		*m;
	int			 day, mon, year, hh, mm, ss;

	if (strlen(s) < 29 || s[3] != ',' || s[4] != ' ')
		return (-1);
	s += 5;
	if (backoff_num(&s, 2, &day) == -1 || *s++ != ' ')
		return (-1);
	for (m = months, mon = 1; *m != '\0'; m += 3, mon++) {
		if (strncmp(s, m, 3) == 0)
			break;
	}
	if (*m == '\0' || s[3] != ' ')
		return (-1);
	s += 4;
	if (backoff_num(&s, 4, &year) == -1 || *s++ != ' ' ||
	    backoff_num(&s, 2, &hh) == -1 || *s++ != ':' ||
	    backoff_num(&s, 2, &mm) == -1 || *s++ != ':' ||
	    backoff_num(&s, 2, &ss) == -1 || strncmp(s, " GMT", 4) != 0)
		return (-1);
	s += 4;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '\0' || day < 1 || day > 31 || hh > 23 || mm > 59 ||
	    ss > 60 || year < 1970)
		return (-1);
	*out = (time_t)(backoff_days_from_civil(year, mon, day) * 86400L +
	    hh * 3600L + mm * 60L + ss);
	return (0);
}

/* Exactly n digits from *s into *out; advances *s. */
static int
backoff_num(const char **s, int n, int *out)
{
	int	i, v;

	v = 0;
	for (i = 0; i < n; i++) {
		if ((*s)[i] < '0' || (*s)[i] > '9')
			return (-1);
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*out = v;
	return (0);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long
backoff_days_from_civil(long y, int m, int d)
{
	long	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153L * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}
