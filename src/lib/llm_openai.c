/*
 * OpenAI Chat Completions codec (also any OpenAI-compatible server):
 * POST {OPENAI_BASE_URL}/chat/completions with a Bearer key; the answer
 * is choices[0].message.content, streams are SSE chunks carrying
 * choices[0].delta.content, a usage-only chunk (stream_options
 * .include_usage) and "data: [DONE]".
 */

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "llm.h"

#define OPENAI_PATH		"/chat/completions"
#define OPENAI_DONE		"[DONE]"
#define OPENAI_JSON_HINT	"Answer with a single JSON object."
/* Keeps 0.2 printed as 0.2, not 0.20000000000000001. */
#define OPENAI_REAL_PRECISION	6

static const char	*openai_role(enum llm_role);
static int		 openai_mentions_json(const struct llm_request *);
static int		 openai_has_json(const char *);
static json_t		*openai_message(const char *, const char *);
static int		 openai_long(json_t *, const char *, long *);
static enum llm_err	 openai_copy_str(json_t *, size_t, char **);
static enum llm_err	 openai_usage(json_t *, long *, long *, long *);
static json_t		*openai_load(const char *, size_t);
static int		 openai_messages(const struct llm_request *, json_t *);
static int		 openai_options(const struct llm_request *, json_t *);
static enum llm_err	 openai_answer(json_t *, struct llm_result *);

/* {base}/chat/completions; *out malloc'd, caller frees. */
enum llm_err
llm_openai_url(const char *base, const struct llm_request *req, char **out)
{
	(void)req;
	if ((*out = llm_join_url(base, OPENAI_PATH, NULL, NULL)) == NULL)
		return (LLM_ERR_INVALID);
	return (LLM_OK);
}

/*
 * Content-Type, Accept and, when a key is set, "Authorization: Bearer".
 * An empty key is allowed: local OpenAI-compatible servers need none.
 */
enum llm_err
llm_openai_headers(const char *key, const struct llm_request *req,
    struct llm_headers *hs)
{
	char		*auth;
	size_t		 len;
	enum llm_err	 rc;

	hs->n = 0;
	if ((rc = llm_headers_add(hs, "Content-Type", "application/json")) !=
	    LLM_OK)
		goto fail;
	if ((rc = llm_headers_add(hs, "Accept", req->stream ?
	    "text/event-stream" : "application/json")) != LLM_OK)
		goto fail;
	if (key != NULL && key[0] != '\0') {
		len = strlen("Bearer ") + strlen(key) + 1;
		if ((auth = malloc(len)) == NULL) {
			rc = LLM_ERR_INVALID;
			goto fail;
		}
		memcpy(auth, "Bearer ", 7);
		memcpy(auth + 7, key, len - 7);
		rc = llm_headers_add(hs, "Authorization", auth);
		free(auth);
		if (rc != LLM_OK)
			goto fail;
	}
	return (LLM_OK);
fail:
	llm_headers_free(hs);
	return (rc);
}

/*
 * The JSON body; *out malloc'd (caller frees), *lenp its length.
 * The system prompt leads the messages; a streaming request asks for the
 * usage chunk so token counts stay real. JSON mode needs the word "JSON"
 * somewhere in the messages or OpenAI answers 400, so we add a line.
 */
enum llm_err
llm_openai_body(const struct llm_request *req, char **out, size_t *lenp)
{
	json_t		*root, *msgs;
	enum llm_err	 rc;

	*out = NULL;
	if ((rc = llm_request_check(req)) != LLM_OK)
		return (rc);
	rc = LLM_ERR_INVALID;
	root = json_object();
	msgs = json_array();
	if (root == NULL || msgs == NULL ||
	    json_object_set_new(root, "model", json_string(req->model)) ||
	    json_object_set(root, "messages", msgs) ||
	    openai_messages(req, msgs) == -1 || openai_options(req, root) == -1)
		goto done;
	*out = json_dumps(root, JSON_COMPACT |
	    JSON_REAL_PRECISION(OPENAI_REAL_PRECISION));
	if (*out != NULL) {
		*lenp = strlen(*out);
		rc = LLM_OK;
	}
done:
	json_decref(msgs);
	json_decref(root);
	return (rc);
}

/*
 * Parses a complete (non-streamed) answer into res (caller frees with
 * llm_result_free). An error object, even under 200, is classified into
 * err. Usage missing: estimated from req and flagged.
 */
enum llm_err
llm_openai_parse_response(const char *body, size_t len,
    const struct llm_request *req, struct llm_result *res,
    struct llm_error *err)
{
	json_t		*root;
	struct llm_error e;
	enum llm_err	 rc;

	llm_result_init(res);
	llm_error_set(err, LLM_OK, 200, NULL);
	if (len > LLM_MAX_RESPONSE_BYTES) {
		llm_error_set(err, LLM_ERR_TOO_LARGE, 200, "response too large");
		return (LLM_ERR_TOO_LARGE);
	}
	if ((root = openai_load(body, len)) == NULL) {
		llm_error_set(err, LLM_ERR_MALFORMED, 200, "invalid JSON");
		return (LLM_ERR_MALFORMED);
	}
	if (json_object_get(root, "error") != NULL) {
		json_decref(root);
		llm_openai_classify(200, body, len, &e);
		if (err != NULL)
			*err = e;
		return (e.code);
	}
	if ((rc = openai_answer(root, res)) != LLM_OK)
		goto fail;
	rc = openai_usage(json_object_get(root, "usage"), &res->prompt_tokens,
	    &res->completion_tokens, &res->total_tokens);
	if (rc == LLM_ERR_MALFORMED)
		goto fail;
	if (rc != LLM_OK) {
		llm_result_estimate(res, req);
	}
	json_decref(root);
	return (LLM_OK);
fail:
	json_decref(root);
	llm_result_free(res);
	llm_error_set(err, rc, 200, "unexpected response shape");
	return (rc);
}

/*
 * Parses one SSE event's data into d (caller frees with llm_delta_free).
 * "[DONE]" sets d->done. An error object inside the stream is
 * classified into err and returned.
 */
enum llm_err
llm_openai_parse_event(const char *data, size_t len, struct llm_delta *d,
    struct llm_error *err)
{
	json_t		*root, *choice, *delta, *u;
	struct llm_error e;
	size_t		 a, b;
	enum llm_err	 rc;

	llm_delta_init(d);
	llm_error_set(err, LLM_OK, 200, NULL);
	for (a = 0; a < len && isspace((unsigned char)data[a]); a++)
		;
	for (b = len; b > a && isspace((unsigned char)data[b - 1]); b--)
		;
	if (b - a == strlen(OPENAI_DONE) &&
	    memcmp(data + a, OPENAI_DONE, b - a) == 0) {
		d->done = 1;
		return (LLM_OK);
	}
	if (len > LLM_MAX_EVENT_BYTES) {
		llm_error_set(err, LLM_ERR_TOO_LARGE, 200, "event too large");
		return (LLM_ERR_TOO_LARGE);
	}
	if ((root = openai_load(data, len)) == NULL) {
		llm_error_set(err, LLM_ERR_MALFORMED, 200, "invalid JSON event");
		return (LLM_ERR_MALFORMED);
	}
	if (json_object_get(root, "error") != NULL) {
		json_decref(root);
		llm_openai_classify(200, data, len, &e);
		if (err != NULL)
			*err = e;
		return (e.code);
	}
	/* The usage chunk has choices [] (some servers: null or absent). */
	choice = json_array_get(json_object_get(root, "choices"), 0);
	delta = json_object_get(choice, "delta");
	if ((rc = openai_copy_str(json_object_get(delta, "content"),
	    LLM_MAX_CONTENT_BYTES, &d->text)) != LLM_OK ||
	    (rc = openai_copy_str(json_object_get(choice, "finish_reason"),
	    LLM_MAX_SHORT_STR, &d->finish_reason)) != LLM_OK ||
	    (rc = openai_copy_str(json_object_get(root, "model"),
	    LLM_MAX_SHORT_STR, &d->model)) != LLM_OK)
		goto fail;
	u = json_object_get(root, "usage");
	rc = openai_usage(u, &d->prompt_tokens, &d->completion_tokens,
	    &d->total_tokens);
	if (rc == LLM_ERR_MALFORMED)
		goto fail;
	d->has_usage = (rc == LLM_OK);
	json_decref(root);
	return (LLM_OK);
fail:
	json_decref(root);
	llm_delta_free(d);
	llm_error_set(err, rc, 200, "unexpected stream event shape");
	return (rc);
}

/*
 * Classifies a failed answer (HTTP status and body) into err. OpenAI
 * sends 429 both for rate limits (retry) and for an exhausted balance,
 * code "insufficient_quota" (never retry). OpenAI's body carries no
 * retry delay: the caller reads the Retry-After header.
 */
void
llm_openai_classify(int status, const char *body, size_t len,
    struct llm_error *err)
{
	json_t		*root, *e, *v;
	const char	*msg, *type, *code;
	enum llm_err	 c;

	msg = type = code = NULL;
	root = (body != NULL && len <= LLM_MAX_RESPONSE_BYTES) ?
	    openai_load(body, len) : NULL;
	e = json_object_get(root, "error");
	if (json_is_object(e)) {
		msg = json_string_value(json_object_get(e, "message"));
		type = json_string_value(json_object_get(e, "type"));
		v = json_object_get(e, "code");
		code = json_string_value(v);
	} else if (json_is_string(e))
		msg = json_string_value(e);

	if ((code != NULL && strcmp(code, "insufficient_quota") == 0) ||
	    (type != NULL && strcmp(type, "insufficient_quota") == 0))
		c = LLM_ERR_QUOTA;
	else if (status == 401 || status == 403)
		c = LLM_ERR_AUTH;
	else if (status == 404)
		c = LLM_ERR_NOT_FOUND;
	else if (status == 429 ||
	    (code != NULL && strcmp(code, "rate_limit_exceeded") == 0))
		c = LLM_ERR_RATE_LIMITED;
	else if (status >= 500 || status == 408 || status == 409)
		c = LLM_ERR_UPSTREAM_5XX;
	else if (status >= 400)
		c = LLM_ERR_BAD_REQUEST;
	else if (type != NULL && strcmp(type, "invalid_request_error") == 0)
		c = LLM_ERR_BAD_REQUEST;
	else
		/* An error inside a 200 (mid-stream): the server failed. */
		c = LLM_ERR_UPSTREAM_5XX;
	llm_error_set(err, c, status, msg != NULL ? msg :
	    (root == NULL ? "non-JSON error body" : "no error message"));
	json_decref(root);
}

static const char *
openai_role(enum llm_role r)
{
	switch (r) {
	case LLM_ROLE_SYSTEM:
		return ("system");
	case LLM_ROLE_ASSISTANT:
		return ("assistant");
	default:
		return ("user");
	}
}

static int
openai_mentions_json(const struct llm_request *req)
{
	size_t		 i;
	const char	*s;

	if (req->system != NULL && openai_has_json(req->system))
		return (1);
	for (i = 0; i < req->nmsgs; i++) {
		s = req->msgs[i].content;
		if (openai_has_json(s))
			return (1);
	}
	return (0);
}

static int
openai_has_json(const char *s)
{
	for (; *s != '\0'; s++) {
		if (strncasecmp(s, "json", 4) == 0)
			return (1);
	}
	return (0);
}

/* {"role": role, "content": content}; NULL if content is not UTF-8. */
static json_t *
openai_message(const char *role, const char *content)
{
	json_t	*s;

	if ((s = json_string(content)) == NULL)
		return (NULL);
	return (json_pack("{s:s,s:o}", "role", role, "content", s));
}

/* A non-negative integer member; 0 on success. */
static int
openai_long(json_t *o, const char *key, long *out)
{
	json_t		*v;
	json_int_t	 n;

	v = json_object_get(o, key);
	if (!json_is_integer(v))
		return (-1);
	n = json_integer_value(v);
	if (n < 0 || n > (json_int_t)LLM_MAX_RESPONSE_BYTES * 16)
		return (-1);
	*out = (long)n;
	return (0);
}

/*
 * Copies a JSON string (bounded by max) into *out; NULL/null leaves
 * *out NULL. Another type, or too long, is an error.
 */
static enum llm_err
openai_copy_str(json_t *v, size_t max, char **out)
{
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return (LLM_OK);
	if (!json_is_string(v))
		return (LLM_ERR_MALFORMED);
	if (json_string_length(v) > max)
		return (LLM_ERR_TOO_LARGE);
	if ((*out = llm_strndup_bounded(json_string_value(v),
	    json_string_length(v), max)) == NULL)
		return (LLM_ERR_TOO_LARGE);
	return (LLM_OK);
}

/*
 * usage{prompt_tokens, completion_tokens, total_tokens}: LLM_OK when
 * present, LLM_ERR_INVALID when absent or null (estimate), MALFORMED
 * when present but unusable.
 */
static enum llm_err
openai_usage(json_t *u, long *p, long *c, long *t)
{
	if (u == NULL || json_is_null(u))
		return (LLM_ERR_INVALID);
	if (!json_is_object(u) || openai_long(u, "prompt_tokens", p) ||
	    openai_long(u, "completion_tokens", c))
		return (LLM_ERR_MALFORMED);
	if (openai_long(u, "total_tokens", t))
		*t = *p + *c;
	return (LLM_OK);
}

static json_t *
openai_load(const char *buf, size_t len)
{
	json_error_t	 jerr;
	json_t		*root;

	if (buf == NULL)
		return (NULL);
	root = json_loadb(buf, len, 0, &jerr);
	if (root != NULL && !json_is_object(root)) {
		json_decref(root);
		return (NULL);
	}
	return (root);
}

/* The request's messages: system, the JSON hint, then the turns. */
static int
openai_messages(const struct llm_request *req, json_t *msgs)
{
	json_t		*m;
	size_t		 i;

	if (req->system != NULL && req->system[0] != '\0') {
		if ((m = openai_message("system", req->system)) == NULL ||
		    json_array_append_new(msgs, m))
			return (-1);
	}
	if (req->json_mode && !openai_mentions_json(req)) {
		if ((m = openai_message("system", OPENAI_JSON_HINT)) == NULL ||
		    json_array_append_new(msgs, m))
			return (-1);
	}
	for (i = 0; i < req->nmsgs; i++) {
		m = openai_message(openai_role(req->msgs[i].role),
		    req->msgs[i].content);
		if (m == NULL || json_array_append_new(msgs, m))
			return (-1);
	}
	return (0);
}

/* stream (with its usage), temperature, max_tokens, JSON mode. */
static int
openai_options(const struct llm_request *req, json_t *root)
{
	json_t		*o;

	if (json_object_set_new(root, "stream", json_boolean(req->stream)))
		return (-1);
	if (req->stream) {
		o = json_pack("{s:b}", "include_usage", 1);
		if (o == NULL || json_object_set_new(root, "stream_options", o))
			return (-1);
	}
	if (req->temperature >= 0 && json_object_set_new(root, "temperature",
	    json_real(req->temperature)))
		return (-1);
	if (req->max_tokens > 0 && json_object_set_new(root, "max_tokens",
	    json_integer(req->max_tokens)))
		return (-1);
	if (req->json_mode) {
		o = json_pack("{s:s}", "type", "json_object");
		if (o == NULL ||
		    json_object_set_new(root, "response_format", o))
			return (-1);
	}
	return (0);
}

/*
 * The first choice's text (or refusal), finish reason and model into
 * res.  No text: "" unless the content filter stopped it (blocked).
 */
static enum llm_err
openai_answer(json_t *root, struct llm_result *res)
{
	json_t		*choice, *msg, *c;
	enum llm_err	 rc;

	choice = json_array_get(json_object_get(root, "choices"), 0);
	msg = json_object_get(choice, "message");
	if (!json_is_object(msg))
		return (LLM_ERR_MALFORMED);
	c = json_object_get(msg, "content");
	if (json_is_null(c) || c == NULL)
		c = json_object_get(msg, "refusal");
	if (json_is_string(c)) {
		if ((rc = openai_copy_str(c, LLM_MAX_CONTENT_BYTES,
		    &res->content)) != LLM_OK)
			return (rc);
	} else if (c != NULL && !json_is_null(c))
		return (LLM_ERR_MALFORMED);
	if ((rc = openai_copy_str(json_object_get(choice, "finish_reason"),
	    LLM_MAX_SHORT_STR, &res->finish_reason)) != LLM_OK ||
	    (rc = openai_copy_str(json_object_get(root, "model"),
	    LLM_MAX_SHORT_STR, &res->model)) != LLM_OK)
		return (rc);
	if (res->content == NULL) {
		if (res->finish_reason != NULL &&
		    strcmp(res->finish_reason, "content_filter") == 0)
			return (LLM_ERR_BLOCKED);
		if ((res->content = strdup("")) == NULL)
			return (LLM_ERR_MALFORMED);
	}
	return (LLM_OK);
}
