/*
 * Server-Sent Events parser and formatter: line endings, multi-line
 * data, comments, event names, bounds, streams split at every byte, and
 * the events we send surviving a round trip through the parser.
 */

#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"

#define MAX_SEEN	16

struct seen {
	char	name[MAX_SEEN][SSE_MAX_EVENT_NAME + 1];
	char	*data[MAX_SEEN];
	size_t	n;
	size_t	stop_after;
};

static int
collect(void *arg, const char *name, const char *data, size_t len)
{
	struct seen	*s = arg;

	cr_assert_lt(s->n, MAX_SEEN);
	cr_assert_eq(strlen(data), len);
	strcpy(s->name[s->n], name);
	s->data[s->n] = strdup(data);
	s->n++;
	return (s->stop_after != 0 && s->n >= s->stop_after);
}

static void
seen_free(struct seen *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		free(s->data[i]);
	memset(s, 0, sizeof(*s));
}

/* Parses text in one feed (or two, cut at `cut`); returns sse_finish. */
static int
parse(const char *text, size_t cut, struct seen *s)
{
	struct sse_parser	p;
	size_t			len = strlen(text);
	int			rc;

	memset(s, 0, sizeof(*s));
	sse_init(&p, 0, collect, s);
	if (cut > 0 && cut < len) {
		rc = sse_feed(&p, text, cut);
		if (rc == SSE_OK)
			rc = sse_feed(&p, text + cut, len - cut);
	} else
		rc = sse_feed(&p, text, len);
	if (rc == SSE_OK)
		rc = sse_finish(&p);
	sse_free(&p);
	return (rc);
}

Test(sse_parse, lf_crlf_and_cr_line_ends_give_the_same_events)
{
	const char	*texts[] = {
		"event: delta\ndata: one\ndata: two\n\ndata: three\n\n",
		"event: delta\r\ndata: one\r\ndata: two\r\n\r\n"
		    "data: three\r\n\r\n",
		"event: delta\rdata: one\rdata: two\r\rdata: three\r\r"
	};
	struct seen	 s;
	size_t		 i;

	for (i = 0; i < 3; i++) {
		cr_assert_eq(parse(texts[i], 0, &s), SSE_OK);
		cr_assert_eq(s.n, 2, "text %zu", i);
		cr_assert_str_eq(s.name[0], "delta");
		cr_assert_str_eq(s.data[0], "one\ntwo", "text %zu", i);
		cr_assert_str_eq(s.name[1], "message", "name resets");
		cr_assert_str_eq(s.data[1], "three");
		seen_free(&s);
	}
}

Test(sse_parse, any_split_of_a_mixed_stream_gives_the_same_events)
{
	const char	*t = "\xef\xbb\xbf: hello\r\nevent: a\r\ndata:x\r\n"
	    "data:  two spaces\r\rid: 7\nretry: 10\ndata\n\n"
	    "data: {\"k\":\"v\"}\r\n\r\n";
	struct seen	 s;
	size_t		 cut;

	for (cut = 0; cut < strlen(t); cut++) {
		cr_assert_eq(parse(t, cut, &s), SSE_OK, "cut %zu", cut);
		cr_assert_eq(s.n, 3, "cut %zu", cut);
		cr_assert_str_eq(s.name[0], "a");
		cr_assert_str_eq(s.data[0], "x\n two spaces", "cut %zu", cut);
		cr_assert_str_eq(s.data[1], "", "a bare 'data' line");
		cr_assert_str_eq(s.data[2], "{\"k\":\"v\"}");
		seen_free(&s);
	}
}

Test(sse_parse, comments_and_unknown_fields_dispatch_nothing)
{
	struct seen	s;

	cr_assert_eq(parse(": keep-alive\n\nevent: x\n\nfoo: bar\n\n", 0, &s),
	    SSE_OK);
	cr_assert_eq(s.n, 0);
}

Test(sse_parse, done_marker_is_left_to_the_caller)
{
	struct seen	s;

	cr_assert_eq(parse("data: [DONE]\n\n", 0, &s), SSE_OK);
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(s.data[0], "[DONE]");
	seen_free(&s);
}

Test(sse_parse, an_event_cut_by_end_of_stream_is_dropped_and_reported)
{
	struct seen	s;

	cr_assert_eq(parse("data: whole\n\ndata: half", 0, &s),
	    SSE_ERR_TRUNCATED);
	cr_assert_eq(s.n, 1);
	seen_free(&s);
	cr_assert_eq(parse("data: whole\n\ndata: line\n", 0, &s),
	    SSE_ERR_TRUNCATED);
	cr_assert_eq(s.n, 1);
	seen_free(&s);
}

Test(sse_parse, an_event_past_the_bound_is_an_error_that_sticks)
{
	struct sse_parser	 p;
	struct seen		 s;
	char			 big[200];
	size_t			 i;

	memset(&s, 0, sizeof(s));
	memset(big, 'a', sizeof(big));
	sse_init(&p, 100, collect, &s);
	cr_assert_eq(sse_feed(&p, "data: ", 6), SSE_OK);
	cr_assert_eq(sse_feed(&p, big, sizeof(big)), SSE_ERR_TOO_LARGE);
	cr_assert_eq(sse_feed(&p, "\n\n", 2), SSE_ERR_TOO_LARGE);
	cr_assert_eq(sse_finish(&p), SSE_ERR_TOO_LARGE);
	cr_assert_eq(s.n, 0);
	sse_free(&p);

	/* Many short data lines hit the same bound through the join. */
	sse_init(&p, 100, collect, &s);
	for (i = 0; i < 30; i++) {
		if (sse_feed(&p, "data: 0123456\n", 14) != SSE_OK)
			break;
	}
	cr_assert_eq(sse_finish(&p), SSE_ERR_TOO_LARGE);
	sse_free(&p);
}

Test(sse_parse, an_overlong_event_name_is_refused)
{
	struct seen	s;
	char		t[SSE_MAX_EVENT_NAME + 32];

	memset(t, 0, sizeof(t));
	strcpy(t, "event: ");
	memset(t + 7, 'e', SSE_MAX_EVENT_NAME + 1);
	strcat(t, "\n");
	cr_assert_eq(parse(t, 0, &s), SSE_ERR_TOO_LARGE);
}

Test(sse_parse, the_callback_can_stop_the_parser)
{
	struct sse_parser	p;
	struct seen		s;

	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	sse_init(&p, 0, collect, &s);
	cr_assert_eq(sse_feed(&p, "data: a\n\ndata: b\n\n", 18),
	    SSE_ERR_STOPPED);
	cr_assert_eq(s.n, 1);
	sse_free(&p);
	seen_free(&s);
}

Test(sse_format, writes_event_and_one_data_line_per_line)
{
	char	*o;
	size_t	 n;

	o = sse_format("delta", "{\"content\":\"hi\"}", &n);
	cr_assert_str_eq(o, "event: delta\ndata: {\"content\":\"hi\"}\n\n");
	cr_assert_eq(n, strlen(o));
	free(o);
	o = sse_format(NULL, "a\nb\r\nc\rd", &n);
	cr_assert_str_eq(o, "data: a\ndata: b\ndata: c\ndata: d\n\n");
	free(o);
	o = sse_format("done", "", &n);
	cr_assert_str_eq(o, "event: done\ndata: \n\n");
	free(o);
}

Test(sse_format, refuses_names_that_would_break_the_stream)
{
	size_t	n;

	cr_assert_null(sse_format("a\nb", "x", &n));
	cr_assert_null(sse_format("", "x", &n));
}

Test(sse_format, round_trips_through_the_parser)
{
	const char	*data = "line one\n\nline three\r\nend";
	struct seen	 s;
	char		*o;
	size_t		 n;

	o = sse_format("error", data, &n);
	cr_assert_eq(parse(o, 0, &s), SSE_OK);
	cr_assert_eq(s.n, 1);
	cr_assert_str_eq(s.name[0], "error");
	cr_assert_str_eq(s.data[0], "line one\n\nline three\nend");
	seen_free(&s);
	free(o);
}
