/*
 * JSON strings and timestamps written without a JSON library, for the
 * answers built from plain columns.  Escaping follows PostgreSQL's
 * escape_json: \" \\ \b \f \n \r \t, other bytes below 0x20 as \u00xx
 * (lowercase hex), everything else (DEL, '/', UTF-8) as it is; the input
 * is valid UTF-8 (it comes from PostgreSQL or has been checked).
 */
#include <string.h>

#include "jsonw.h"

#define JSONW_US_PER_MS		1000
#define JSONW_MS_PER_SEC	1000
#define JSONW_SEC_PER_DAY	86400
#define JSONW_DAYS_PER_ERA	146097
#define JSONW_YEARS_PER_ERA	400
#define JSONW_YEAR_MIN_DIGITS	4

/* Per byte: 0 as it is, a letter for "\x", 'u' for "\u00xx". */
static const char jsonw_esc[256] = {
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	'b', 't', 'n', 'u', 'f', 'r', 'u', 'u',
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	'u', 'u', 'u', 'u', 'u', 'u', 'u', 'u',
	0, 0, '"', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '\\', 0, 0, 0,
};

static char	*jsonw_digits(char *, unsigned long long, int);
static char	*jsonw_two(char *, int);

/*
 * The length of s (len bytes) as a quoted JSON string: len + 2 exactly
 * when nothing needs escaping, so callers can copy it as it is.
 */
size_t
jsonw_escape_len(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i, n;

	n = len + 2;
	for (i = 0; i < len; i++) {
		switch (jsonw_esc[p[i]]) {
		case 0:
			break;
		case 'u':
			n += 5;
			break;
		default:
			n += 1;
			break;
		}
	}
	return (n);
}

/*
 * s (len bytes) as a quoted JSON string into dst, which has room for
 * JSONW_ESC_MAX(len) bytes (jsonw_escape_len(s, len) is enough).  No NUL
 * is written.  Returns the number of bytes written.
 */
size_t
jsonw_escape(char *dst, const char *s, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	const unsigned char	*p = (const unsigned char *)s;
	char			*d = dst;
	size_t			 i;
	char			 e;

	*d++ = '"';
	for (i = 0; i < len; i++) {
		if ((e = jsonw_esc[p[i]]) == 0) {
			*d++ = (char)p[i];
			continue;
		}
		*d++ = '\\';
		if (e != 'u') {
			*d++ = e;
			continue;
		}
		*d++ = 'u';
		*d++ = '0';
		*d++ = '0';
		*d++ = hex[p[i] >> 4];
		*d++ = hex[p[i] & 0x0f];
	}
	*d++ = '"';
	return ((size_t)(d - dst));
}

/* v in decimal, at least width digits (zero padded); returns the end. */
static char *
jsonw_digits(char *out, unsigned long long v, int width)
{
	char	tmp[24];
	int	n;

	n = 0;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	while (n < width)
		tmp[n++] = '0';
	while (n > 0)
		*out++ = tmp[--n];
	return (out);
}

/* v (0-99) as two digits: a time has six of them, a page 50 times. */
static char *
jsonw_two(char *out, int v)
{
	static const char	tab[] =
	    "00010203040506070809101112131415161718192021222324"
	    "25262728293031323334353637383940414243444546474849"
	    "50515253545556575859606162636465666768697071727374"
	    "75767778798081828384858687888990919293949596979899";

	memcpy(out, tab + 2 * v, 2);
	return (out + 2);
}

/*
 * us microseconds since 1970-01-01 UTC as "YYYY-MM-DDTHH:MM:SS.mmmZ"
 * into out (JSONW_TS_MAX bytes), NUL terminated, without quotes.  As
 * PostgreSQL's to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'):
 * the microseconds are truncated to milliseconds, never rounded (the
 * fraction of a second is the part after the floor, also before 1970);
 * a year before 1 AD is written as its number of years BC (1 BC is
 * "0001", as YYYY prints it) and a year past 9999 in full.  Returns the
 * length.
 */
size_t
jsonw_rfc3339(char *out, int64_t us)
{
	int64_t		ms, secs, days, sod, era, doe, yoe, y, doy, mp;
	int		m, d;
	char		*p;

	/* Floor division, so that times before 1970 count down correctly. */
	ms = us / JSONW_US_PER_MS;
	if (us % JSONW_US_PER_MS < 0)
		ms--;
	secs = ms / JSONW_MS_PER_SEC;
	if (ms % JSONW_MS_PER_SEC < 0)
		secs--;
	ms -= secs * JSONW_MS_PER_SEC;
	days = secs / JSONW_SEC_PER_DAY;
	if (secs % JSONW_SEC_PER_DAY < 0)
		days--;
	sod = secs - days * JSONW_SEC_PER_DAY;

	/* Days to a proleptic Gregorian date (Hinnant, civil_from_days). */
	days += 719468;
	era = (days >= 0 ? days : days - (JSONW_DAYS_PER_ERA - 1)) /
	    JSONW_DAYS_PER_ERA;
	doe = days - era * JSONW_DAYS_PER_ERA;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * JSONW_YEARS_PER_ERA;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = (int)(doy - (153 * mp + 2) / 5 + 1);
	m = (int)(mp < 10 ? mp + 3 : mp - 9);
	if (m <= 2)
		y++;
	/* Astronomical year 0 is 1 BC. */
	if (y <= 0)
		y = 1 - y;

	p = jsonw_digits(out, (unsigned long long)y, JSONW_YEAR_MIN_DIGITS);
	*p++ = '-';
	p = jsonw_two(p, m);
	*p++ = '-';
	p = jsonw_two(p, d);
	*p++ = 'T';
	p = jsonw_two(p, (int)(sod / 3600));
	*p++ = ':';
	p = jsonw_two(p, (int)(sod / 60 % 60));
	*p++ = ':';
	p = jsonw_two(p, (int)(sod % 60));
	*p++ = '.';
	*p++ = (char)('0' + ms / 100);
	p = jsonw_two(p, (int)(ms % 100));
	*p++ = 'Z';
	*p = '\0';
	return ((size_t)(p - out));
}

size_t
jsonw_ms(char *out, size_t len, uint64_t us)
{
	char		*p = out;
	unsigned int	 ms, frac;

	if (us >= 1000000 || len < 9)
		return (0);
	ms = (unsigned int)(us / 1000);
	frac = (unsigned int)(us % 1000);
	if (ms >= 100)
		*p++ = (char)('0' + ms / 100);
	if (ms >= 10)
		*p++ = (char)('0' + ms / 10 % 10);
	*p++ = (char)('0' + ms % 10);
	*p++ = '.';
	if (frac == 0) {
		*p++ = '0';
	} else {
		*p++ = (char)('0' + frac / 100);
		if (frac % 100 != 0) {
			*p++ = (char)('0' + frac / 10 % 10);
			if (frac % 10 != 0)
				*p++ = (char)('0' + frac % 10);
		}
	}
	*p = '\0';
	return ((size_t)(p - out));
}
