/*
 * Server-Sent Events: an incremental parser for streams read from a
 * provider (fed arbitrary byte chunks, one callback per complete event)
 * and a formatter for the events we send to our own clients.
 */

#ifndef SSE_H
#define SSE_H

#include <stddef.h>

/* Default bound on one event (its lines and joined data). */
#define SSE_DEFAULT_MAX_EVENT	(256 * 1024)
/* Longest event name kept ("message", "delta", ...). */
#define SSE_MAX_EVENT_NAME	64
/* Largest event sse_format() writes. */
#define SSE_MAX_FORMAT_BYTES	(1024 * 1024)

enum sse_rc {
	SSE_OK = 0,
	SSE_ERR_TOO_LARGE,	/* an event passed the bound */
	SSE_ERR_STOPPED,	/* the callback asked to stop */
	SSE_ERR_TRUNCATED,	/* sse_finish: stream ended mid-event */
	SSE_ERR_NOMEM
};

/*
 * Called per dispatched event: name ("message" when the stream gave
 * none) and data (NUL-terminated, lines joined with "\n", trailing
 * newline removed). Both are valid only during the call. Return 0 to
 * go on, non-zero to stop the parser (sse_feed returns SSE_ERR_STOPPED).
 */
typedef int	(*sse_event_cb)(void *, const char *, const char *, size_t);

struct sse_parser {
	char		*line;
	size_t		 linelen;
	size_t		 linecap;
	char		*data;
	size_t		 datalen;
	size_t		 datacap;
	char		 event[SSE_MAX_EVENT_NAME + 1];
	int		 has_data;
	int		 pending;	/* a field seen since the last dispatch */
	int		 after_cr;	/* last byte was CR: skip a next LF */
	int		 started;	/* BOM check done */
	int		 failed;
	size_t		 max_event;
	sse_event_cb	 cb;
	void		*arg;
};

void	sse_init(struct sse_parser *, size_t, sse_event_cb, void *);
int	sse_feed(struct sse_parser *, const char *, size_t);
int	sse_finish(struct sse_parser *);
void	sse_free(struct sse_parser *);
char	*sse_format(const char *, const char *, size_t *);

#endif
