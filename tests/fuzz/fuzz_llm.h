/*
 * fuzz_llm.h -- one provider codec under fuzz.  The first byte picks what
 * the rest is: a whole response body, an SSE stream cut into pieces whose
 * events go through parse_event and the stream accumulator, or an error
 * body under some HTTP status.
 */
#ifndef ELENCHUS_FUZZ_LLM_H
#define ELENCHUS_FUZZ_LLM_H

#include "llm.h"
#include "sse.h"
#include "utf8.h"
#include "fuzz.h"

struct fuzz_run {
	const struct llm_codec	*codec;
	struct llm_stream	 st;
	struct llm_error	 err;
	enum llm_err		 rc;
};

static int
fuzz_llm_event(void *arg, const char *ev, const char *data, size_t len)
{
	struct fuzz_run		*r = arg;
	struct llm_delta	 d;

	(void)ev;
	r->rc = r->codec->parse_event(data, len, &d, &r->err);
	if (r->rc == LLM_OK) {
		if (d.text != NULL)
			FUZZ_CHECK(utf8_valid(d.text, strlen(d.text)));
		r->rc = llm_stream_apply(&r->st, &d);
	}
	llm_delta_free(&d);
	return (r->rc != LLM_OK);
}

static void
fuzz_llm_result(enum llm_err rc, struct llm_result *res,
    const struct llm_error *err)
{
	FUZZ_CHECK(llm_err_name(rc) != NULL);
	if (rc == LLM_OK) {
		FUZZ_CHECK(res->content != NULL);
		FUZZ_CHECK(strlen(res->content) <= LLM_MAX_CONTENT_BYTES);
		FUZZ_CHECK(utf8_valid(res->content, strlen(res->content)));
	} else
		FUZZ_CHECK(memchr(err->message, '\0',
		    sizeof(err->message)) != NULL);
}

static int
fuzz_llm(const struct llm_codec *codec, const uint8_t *data, size_t len)
{
	static const struct llm_msg	 msg = { LLM_ROLE_USER, "hi" };
	static const int		 status[] = { 400, 401, 403, 404, 408,
					    429, 500, 502, 503, 504 };
	struct llm_request		 req;
	struct llm_result		 res;
	struct sse_parser		 p;
	struct fuzz_run			 r;
	const char			*s;
	size_t				 i, n, step;
	uint8_t				 mode;

	if (len < 1)
		return (0);
	mode = data[0];
	s = (const char *)data + 1;
	len--;
	memset(&req, 0, sizeof(req));
	req.model = "m";
	req.msgs = &msg;
	req.nmsgs = 1;
	req.max_tokens = 64;
	req.json_mode = (mode >> 7) & 1;
	llm_result_init(&res);
	memset(&r, 0, sizeof(r));
	switch (mode % 3) {
	case 0:
		r.rc = codec->parse_response(s, len, &req, &res, &r.err);
		fuzz_llm_result(r.rc, &res, &r.err);
		break;
	case 1:
		r.codec = codec;
		llm_stream_init(&r.st);
		sse_init(&p, LLM_MAX_EVENT_BYTES, fuzz_llm_event, &r);
		step = 1 + ((mode >> 2) & 0x1f) * 7;
		for (i = 0; i < len; i += n) {
			n = len - i < step ? len - i : step;
			if (sse_feed(&p, s + i, n) != SSE_OK)
				break;
		}
		(void)sse_finish(&p);
		if (r.rc == LLM_OK) {
			r.rc = llm_stream_finish(&r.st, &req, &res);
			fuzz_llm_result(r.rc, &res, &r.err);
		}
		sse_free(&p);
		llm_stream_free(&r.st);
		break;
	default:
		codec->classify(status[(mode >> 2) % 10], s, len, &r.err);
		FUZZ_CHECK(r.err.code != LLM_OK);
		break;
	}
	llm_result_free(&res);
	return (0);
}

#endif
