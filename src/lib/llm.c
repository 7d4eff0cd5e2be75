/*
 * Provider-neutral LLM helpers: the codec table, error names and
 * retryability, token estimates, result/delta lifetimes, and the stream
 * accumulator that turns a provider's deltas into one llm_result.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"
#include "utf8.h"

static int	llm_has_ctl(const char *);

static const struct llm_codec llm_codecs[] = {
	[LLM_PROVIDER_OPENAI] = {
		"openai",
		llm_openai_url,
		llm_openai_headers,
		llm_openai_body,
		llm_openai_parse_response,
		llm_openai_parse_event,
		llm_openai_classify
	},
	[LLM_PROVIDER_GEMINI] = {
		"gemini",
		llm_gemini_url,
		llm_gemini_headers,
		llm_gemini_body,
		llm_gemini_parse_response,
		llm_gemini_parse_event,
		llm_gemini_classify
	}
};

static const char *const llm_err_names[] = {
	[LLM_OK] = "ok",
	[LLM_ERR_RATE_LIMITED] = "rate_limited",
	[LLM_ERR_UPSTREAM_5XX] = "upstream_5xx",
	[LLM_ERR_NETWORK] = "network",
	[LLM_ERR_TRUNCATED] = "truncated",
	[LLM_ERR_QUOTA] = "quota",
	[LLM_ERR_BAD_REQUEST] = "bad_request",
	[LLM_ERR_AUTH] = "auth",
	[LLM_ERR_NOT_FOUND] = "not_found",
	[LLM_ERR_MALFORMED] = "malformed",
	[LLM_ERR_TOO_LARGE] = "too_large",
	[LLM_ERR_BLOCKED] = "blocked",
	[LLM_ERR_TIMEOUT] = "timeout",
	[LLM_ERR_INVALID] = "invalid"
};

/* The codec of a provider, NULL for an unknown value. */
const struct llm_codec *
llm_codec(enum llm_provider p)
{
	if ((size_t)p >= sizeof(llm_codecs) / sizeof(llm_codecs[0]))
		return (NULL);
	return (&llm_codecs[p]);
}

/* "openai" / "gemini" (as in AI_PROVIDER) to the enum; 0 on success. */
int
llm_provider_parse(const char *s, enum llm_provider *out)
{
	if (s == NULL)
		return (-1);
	if (strcmp(s, "openai") == 0) {
		*out = LLM_PROVIDER_OPENAI;
		return (0);
	}
	if (strcmp(s, "gemini") == 0) {
		*out = LLM_PROVIDER_GEMINI;
		return (0);
	}
	return (-1);
}

const char *
llm_err_name(enum llm_err e)
{
	if ((size_t)e >= sizeof(llm_err_names) / sizeof(llm_err_names[0]))
		return ("unknown");
	return (llm_err_names[e]);
}

/*
 * Whether trying again can help. A quota answer cannot (it resets
 * daily); our own timeout cannot (the deadline is already spent).
 */
int
llm_err_retryable(enum llm_err e)
{
	switch (e) {
	case LLM_ERR_RATE_LIMITED:
	case LLM_ERR_UPSTREAM_5XX:
	case LLM_ERR_NETWORK:
	case LLM_ERR_TRUNCATED:
		return (1);
	default:
		return (0);
	}
}

/*
 * What says the provider is unwell: no answer, a 5xx, overload, a cut
 * stream, our own timeout.  A refusal of this request (bad request,
 * safety, quota, an unknown model, a bad key) is the provider working.
 */
int
llm_err_provider_down(enum llm_err e)
{
	switch (e) {
	case LLM_ERR_UPSTREAM_5XX:
	case LLM_ERR_NETWORK:
	case LLM_ERR_TRUNCATED:
	case LLM_ERR_TIMEOUT:
	case LLM_ERR_RATE_LIMITED:
		return (1);
	default:
		return (0);
	}
}

/* No usage in the answer: estimated from the request and the text. */
void
llm_result_estimate(struct llm_result *res, const struct llm_request *req)
{
	res->prompt_tokens = llm_estimate_tokens(llm_request_chars(req));
	res->completion_tokens = llm_estimate_tokens(res->content != NULL ?
	    strlen(res->content) : 0);
	res->total_tokens = res->prompt_tokens + res->completion_tokens;
	res->usage_estimated = 1;
}

/* The HTTP status our API answers with for a failed provider call. */
int
llm_err_http_status(enum llm_err e)
{
	switch (e) {
	case LLM_OK:
		return (200);
	case LLM_ERR_TIMEOUT:
		return (504);
	case LLM_ERR_INVALID:
		return (500);
	default:
		return (502);
	}
}

/* Fill err (may be NULL) with a code, status and log-safe message. */
void
llm_error_set(struct llm_error *err, enum llm_err code, int status,
    const char *msg)
{
	size_t	i, n;

	if (err == NULL)
		return;
	err->code = code;
	err->http_status = status;
	err->retry_after_ms = LLM_RETRY_UNKNOWN;
	err->message[0] = '\0';
	if (msg == NULL)
		return;
	n = utf8_clip(msg, strlen(msg), sizeof(err->message) - 1);
	memcpy(err->message, msg, n);
	err->message[n] = '\0';
	/* Provider text goes to logs: no line breaks or escapes in it. */
	for (i = 0; i < n; i++) {
		if ((unsigned char)err->message[i] < 0x20 ||
		    err->message[i] == 0x7f)
			err->message[i] = ' ';
	}
}

/* Tokens for a text of n bytes when the provider gave no count. */
long
llm_estimate_tokens(size_t n)
{
	return ((long)((n + LLM_EST_CHARS_PER_TOKEN - 1) /
	    LLM_EST_CHARS_PER_TOKEN));
}

/*
 * Tokens to reserve against a daily quota before req is sent: its prompt
 * as estimated from its bytes, plus the answer's bound (max_tokens, else
 * LLM_RESERVE_COMPLETION).
 */
long
llm_reserve_estimate(const struct llm_request *req)
{
	return (llm_estimate_tokens(llm_request_chars(req)) +
	    (req->max_tokens > 0 ? req->max_tokens : LLM_RESERVE_COMPLETION));
}

/* Bytes of text a request sends (system prompt and every message). */
size_t
llm_request_chars(const struct llm_request *req)
{
	size_t	i, n;

	n = 0;
	if (req->system != NULL)
		n += strlen(req->system);
	for (i = 0; i < req->nmsgs; i++) {
		if (req->msgs[i].content != NULL)
			n += strlen(req->msgs[i].content);
	}
	return (n);
}

/* Checks every bound a request must respect before it is encoded. */
enum llm_err
llm_request_check(const struct llm_request *req)
{
	size_t	i, nuser;

	if (req == NULL || req->model == NULL || req->model[0] == '\0' ||
	    strlen(req->model) > LLM_MAX_MODEL_LEN || llm_has_ctl(req->model))
		return (LLM_ERR_INVALID);
	if (req->msgs == NULL || req->nmsgs == 0 ||
	    req->nmsgs > LLM_MAX_MESSAGES)
		return (LLM_ERR_INVALID);
	if (req->max_tokens < 0)
		return (LLM_ERR_INVALID);
	nuser = 0;
	for (i = 0; i < req->nmsgs; i++) {
		if (req->msgs[i].content == NULL)
			return (LLM_ERR_INVALID);
		switch (req->msgs[i].role) {
		case LLM_ROLE_USER:
			nuser++;
			break;
		case LLM_ROLE_SYSTEM:
		case LLM_ROLE_ASSISTANT:
			break;
		default:
			return (LLM_ERR_INVALID);
		}
	}
	if (nuser == 0)
		return (LLM_ERR_INVALID);
	if (llm_request_chars(req) > LLM_MAX_REQUEST_CHARS)
		return (LLM_ERR_INVALID);
	return (LLM_OK);
}

void
llm_result_init(struct llm_result *res)
{
	memset(res, 0, sizeof(*res));
}

/* Frees the strings of res (not res itself) and zeroes it. */
void
llm_result_free(struct llm_result *res)
{
	if (res == NULL)
		return;
	free(res->content);
	free(res->finish_reason);
	free(res->model);
	memset(res, 0, sizeof(*res));
}

void
llm_delta_init(struct llm_delta *d)
{
	memset(d, 0, sizeof(*d));
}

/* Frees the strings of d (not d itself) and zeroes it. */
void
llm_delta_free(struct llm_delta *d)
{
	if (d == NULL)
		return;
	free(d->text);
	free(d->finish_reason);
	free(d->model);
	memset(d, 0, sizeof(*d));
}

void
llm_headers_free(struct llm_headers *hs)
{
	size_t	i;

	if (hs == NULL)
		return;
	for (i = 0; i < hs->n; i++)
		free(hs->h[i]);
	hs->n = 0;
}

/*
 * Appends "name: value". A value with a control character (a key with
 * CR/LF would inject headers) or past LLM_MAX_KEY_LEN is refused.
 */
enum llm_err
llm_headers_add(struct llm_headers *hs, const char *name, const char *value)
{
	size_t	 len;
	char	*h;

	if (hs->n >= LLM_MAX_HEADERS || value == NULL ||
	    strlen(value) > LLM_MAX_KEY_LEN || llm_has_ctl(value))
		return (LLM_ERR_INVALID);
	len = strlen(name) + 2 + strlen(value) + 1;
	if ((h = malloc(len)) == NULL)
		return (LLM_ERR_INVALID);
	(void)snprintf(h, len, "%s: %s", name, value);
	hs->h[hs->n++] = h;
	return (LLM_OK);
}

void
llm_stream_init(struct llm_stream *st)
{
	memset(st, 0, sizeof(*st));
}

/*
 * Folds one delta into the stream: text appended (bounded by
 * LLM_MAX_CONTENT_BYTES), finish reason, model and usage replaced by the
 * latest seen (Gemini repeats cumulative usage in each chunk).
 */
enum llm_err
llm_stream_apply(struct llm_stream *st, const struct llm_delta *d)
{
	size_t	 n, ncap;
	char	*p;

	if (d->text != NULL && (n = strlen(d->text)) > 0) {
		if (n > LLM_MAX_CONTENT_BYTES - st->len)
			return (LLM_ERR_TOO_LARGE);
		if (st->len + n + 1 > st->cap) {
			ncap = st->cap ? st->cap : 1024;
			while (ncap < st->len + n + 1)
				ncap *= 2;
			if ((p = realloc(st->buf, ncap)) == NULL)
				return (LLM_ERR_TOO_LARGE);
			st->buf = p;
			st->cap = ncap;
		}
		memcpy(st->buf + st->len, d->text, n);
		st->len += n;
		st->buf[st->len] = '\0';
	}
	if (d->finish_reason != NULL) {
		free(st->finish_reason);
		if ((st->finish_reason = strdup(d->finish_reason)) == NULL)
			return (LLM_ERR_TOO_LARGE);
	}
	if (d->model != NULL && st->model == NULL) {
		if ((st->model = strdup(d->model)) == NULL)
			return (LLM_ERR_TOO_LARGE);
	}
	if (d->has_usage) {
		st->has_usage = 1;
		st->prompt_tokens = d->prompt_tokens;
		st->completion_tokens = d->completion_tokens;
		st->total_tokens = d->total_tokens;
	}
	if (d->done)
		st->done = 1;
	return (LLM_OK);
}

/*
 * Ends a stream: moves the text into res (caller frees with
 * llm_result_free) and fills usage, estimating it from req when the
 * provider sent none. A stream that never said it finished (no finish
 * reason, no [DONE]) was cut: LLM_ERR_TRUNCATED, res untouched.
 */
enum llm_err
llm_stream_finish(struct llm_stream *st, const struct llm_request *req,
    struct llm_result *res)
{
	if (st->finish_reason == NULL && !st->done)
		return (LLM_ERR_TRUNCATED);
	llm_result_init(res);
	if (st->buf == NULL && (st->buf = strdup("")) == NULL)
		return (LLM_ERR_TOO_LARGE);
	res->content = st->buf;
	res->finish_reason = st->finish_reason;
	res->model = st->model;
	st->buf = st->finish_reason = st->model = NULL;
	st->len = st->cap = 0;
	if (st->has_usage && st->total_tokens > 0) {
		res->prompt_tokens = st->prompt_tokens;
		res->completion_tokens = st->completion_tokens;
		res->total_tokens = st->total_tokens;
	} else {
		llm_result_estimate(res, req);
	}
	return (LLM_OK);
}

void
llm_stream_free(struct llm_stream *st)
{
	if (st == NULL)
		return;
	free(st->buf);
	free(st->finish_reason);
	free(st->model);
	memset(st, 0, sizeof(*st));
}

/*
 * malloc'd copy of the first len bytes of s, refused (NULL) past max:
 * parsers use it so no provider string escapes its bound.
 */
char *
llm_strndup_bounded(const char *s, size_t len, size_t max)
{
	char	*p;

	if (s == NULL || len > max)
		return (NULL);
	if ((p = malloc(len + 1)) == NULL)
		return (NULL);
	memcpy(p, s, len);
	p[len] = '\0';
	return (p);
}

/*
 * base + a + b + c (b, c may be NULL), with base's trailing slashes
 * dropped. NULL when base is empty, has a control character or space,
 * or the result passes LLM_MAX_URL_LEN. Caller frees.
 */
char *
llm_join_url(const char *base, const char *a, const char *b, const char *c)
{
	size_t	 blen, len;
	char	*url;
	int	 n;

	if (base == NULL || base[0] == '\0' || llm_has_ctl(base) ||
	    strchr(base, ' ') != NULL)
		return (NULL);
	blen = strlen(base);
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	if (blen == 0)
		return (NULL);
	len = blen + strlen(a) + (b ? strlen(b) : 0) + (c ? strlen(c) : 0);
	if (len > LLM_MAX_URL_LEN)
		return (NULL);
	if ((url = malloc(len + 1)) == NULL)
		return (NULL);
	n = snprintf(url, len + 1, "%.*s%s%s%s", (int)blen, base, a,
	    b ? b : "", c ? c : "");
	if (n < 0 || (size_t)n != len) {
		free(url);
		return (NULL);
	}
	return (url);
}

static int
llm_has_ctl(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return (1);
	}
	return (0);
}
