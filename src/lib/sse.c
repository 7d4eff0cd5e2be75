/*
 * Server-Sent Events, as the HTML Living Standard defines the stream
 * format: lines end in CRLF, LF or CR; "field: value" lines build an
 * event, a blank line dispatches it; ':' starts a comment; data lines
 * are joined with LF. The parser is incremental so a provider's stream
 * can be fed exactly as libcurl hands it over, split anywhere.
 */

#include <stdlib.h>
#include <string.h>

#include "sse.h"

#define SSE_BOM		"\xef\xbb\xbf"
#define SSE_INITIAL_CAP	256

static int	sse_grow(char **, size_t *, size_t, size_t);
static int	sse_line(struct sse_parser *);
static int	sse_field(struct sse_parser *, const char *, size_t,
		    const char *, size_t);
static int	sse_dispatch(struct sse_parser *);
static size_t	sse_next_break(const char *, size_t, size_t);

/*
 * Prepares p. max_event bounds one event's line and data (0: the
 * default); cb receives each event with arg.
 */
void
sse_init(struct sse_parser *p, size_t max_event, sse_event_cb cb, void *arg)
{
	memset(p, 0, sizeof(*p));
	p->max_event = max_event ? max_event : SSE_DEFAULT_MAX_EVENT;
	p->cb = cb;
	p->arg = arg;
}

/*
 * Feeds len bytes. Complete events are dispatched before it returns;
 * a partial line or event is kept for the next call. After an error
 * every later call returns the same error.
 */
int
sse_feed(struct sse_parser *p, const char *buf, size_t len)
{
	size_t	i, j;
	int	rc;

	if (p->failed)
		return (p->failed);
	i = 0;
	while (i < len) {
		if (p->after_cr) {
			p->after_cr = 0;
			if (buf[i] == '\n') {
				i++;
				continue;
			}
		}
		j = sse_next_break(buf, i, len);
		if (j - i > p->max_event - p->linelen) {
			p->failed = SSE_ERR_TOO_LARGE;
			return (p->failed);
		}
		if (sse_grow(&p->line, &p->linecap, p->linelen + (j - i) + 1,
		    p->max_event + 1) == -1) {
			p->failed = SSE_ERR_NOMEM;
			return (p->failed);
		}
		memcpy(p->line + p->linelen, buf + i, j - i);
		p->linelen += j - i;
		p->line[p->linelen] = '\0';
		if (j == len)
			break;
		if (buf[j] == '\r')
			p->after_cr = 1;
		if ((rc = sse_line(p)) != SSE_OK) {
			p->failed = rc;
			return (rc);
		}
		i = j + 1;
	}
	return (SSE_OK);
}

/*
 * At end of stream. An event not closed by a blank line is discarded,
 * as the standard says, and reported as SSE_ERR_TRUNCATED so a caller
 * can tell a cut connection from a clean end.
 */
int
sse_finish(struct sse_parser *p)
{
	if (p->failed)
		return (p->failed);
	if (p->linelen > 0 || p->pending)
		return (SSE_ERR_TRUNCATED);
	return (SSE_OK);
}

void
sse_free(struct sse_parser *p)
{
	free(p->line);
	free(p->data);
	p->line = p->data = NULL;
	p->linelen = p->linecap = p->datalen = p->datacap = 0;
}

/*
 * One outgoing event: "event: <event>\n" (when event is not NULL), one
 * "data: " line per line of data (split at CRLF, LF or CR, which the
 * reader would otherwise take as line ends), then a blank line.
 * Returns a malloc'd string (caller frees) and its length in *lenp;
 * NULL if the event name is unusable or the result passes
 * SSE_MAX_FORMAT_BYTES.
 */
char *
sse_format(const char *event, const char *data, size_t *lenp)
{
	size_t	 i, n, dlen, elen, nlines, cap;
	char	*out;

	if (data == NULL)
		data = "";
	dlen = strlen(data);
	elen = 0;
	if (event != NULL) {
		elen = strlen(event);
		if (elen == 0 || elen > SSE_MAX_EVENT_NAME ||
		    strpbrk(event, "\r\n") != NULL)
			return (NULL);
	}
	nlines = 1;
	for (i = 0; i < dlen; i++) {
		if (data[i] == '\n' || (data[i] == '\r' &&
		    (i + 1 >= dlen || data[i + 1] != '\n')))
			nlines++;
	}
	cap = (event ? elen + 8 : 0) + nlines * 7 + dlen + 2;
	if (cap > SSE_MAX_FORMAT_BYTES || (out = malloc(cap)) == NULL)
		return (NULL);
	n = 0;
	if (event != NULL) {
		memcpy(out, "event: ", 7);
		memcpy(out + 7, event, elen);
		out[7 + elen] = '\n';
		n = elen + 8;
	}
	memcpy(out + n, "data: ", 6);
	n += 6;
	for (i = 0; i < dlen; i++) {
		if (data[i] == '\r' || data[i] == '\n') {
			if (data[i] == '\r' && i + 1 < dlen &&
			    data[i + 1] == '\n')
				i++;
			memcpy(out + n, "\ndata: ", 7);
			n += 7;
		} else
			out[n++] = data[i];
	}
	out[n++] = '\n';
	out[n++] = '\n';
	out[n] = '\0';
	*lenp = n;
	return (out);
}

/* Index of the next CR or LF in buf[i..len), or len. */
static size_t
sse_next_break(const char *buf, size_t i, size_t len)
{
	for (; i < len; i++) {
		if (buf[i] == '\r' || buf[i] == '\n')
			break;
	}
	return (i);
}

/* Makes *buf hold at least need bytes, never more than max. */
static int
sse_grow(char **buf, size_t *cap, size_t need, size_t max)
{
	size_t	 ncap;
	char	*p;

	if (need <= *cap)
		return (0);
	if (need > max)
		return (-1);
	ncap = *cap ? *cap : SSE_INITIAL_CAP;
	while (ncap < need)
		ncap *= 2;
	if (ncap > max)
		ncap = max;
	if ((p = realloc(*buf, ncap)) == NULL)
		return (-1);
	*buf = p;
	*cap = ncap;
	return (0);
}

/* Handles the complete line in p->line. */
static int
sse_line(struct sse_parser *p)
{
	const char	*line, *colon, *val;
	size_t		 len, flen, vlen;
	int		 rc;

	line = p->line;
	len = p->linelen;
	p->linelen = 0;
	if (!p->started) {
		p->started = 1;
		if (len >= 3 && memcmp(line, SSE_BOM, 3) == 0) {
			line += 3;
			len -= 3;
		}
	}
	if (len == 0)
		return (sse_dispatch(p));
	if (line[0] == ':')
		return (SSE_OK);
	if ((colon = memchr(line, ':', len)) != NULL) {
		flen = (size_t)(colon - line);
		val = colon + 1;
		vlen = len - flen - 1;
		if (vlen > 0 && val[0] == ' ') {
			val++;
			vlen--;
		}
	} else {
		flen = len;
		val = "";
		vlen = 0;
	}
	rc = sse_field(p, line, flen, val, vlen);
	return (rc);
}

static int
sse_field(struct sse_parser *p, const char *f, size_t flen, const char *v,
    size_t vlen)
{
	p->pending = 1;
	if (flen == 4 && memcmp(f, "data", 4) == 0) {
		if (vlen + 1 > p->max_event - p->datalen)
			return (SSE_ERR_TOO_LARGE);
		if (sse_grow(&p->data, &p->datacap, p->datalen + vlen + 2,
		    p->max_event + 2) == -1)
			return (SSE_ERR_NOMEM);
		memcpy(p->data + p->datalen, v, vlen);
		p->datalen += vlen;
		p->data[p->datalen++] = '\n';
		p->data[p->datalen] = '\0';
		p->has_data = 1;
	} else if (flen == 5 && memcmp(f, "event", 5) == 0) {
		if (vlen > SSE_MAX_EVENT_NAME)
			return (SSE_ERR_TOO_LARGE);
		memcpy(p->event, v, vlen);
		p->event[vlen] = '\0';
	}
	/* "id", "retry" and unknown fields: nothing we use. */
	return (SSE_OK);
}

/* A blank line: hand over the event built so far, if it has data. */
static int
sse_dispatch(struct sse_parser *p)
{
	int	stop;

	stop = 0;
	if (p->has_data) {
		p->datalen--;	/* the LF after the last data line */
		p->data[p->datalen] = '\0';
		stop = p->cb(p->arg, p->event[0] ? p->event : "message",
		    p->data, p->datalen);
	}
	p->datalen = 0;
	p->has_data = 0;
	p->pending = 0;
	p->event[0] = '\0';
	return (stop ? SSE_ERR_STOPPED : SSE_OK);
}
