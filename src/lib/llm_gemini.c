/*
 * Gemini generateContent codec: POST
 * {GEMINI_BASE_URL}/v1beta/models/{model}:generateContent (or
 * :streamGenerateContent?alt=sse) with the key in x-goog-api-key. The
 * answer is candidates[0].content.parts[].text; each streamed event is a
 * whole GenerateContentResponse carrying the next piece of text and the
 * usage so far; errors are google.rpc.Status objects whose details may
 * hold RetryInfo (retry delay) and QuotaFailure (which limit was hit).
 */

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "llm.h"

#define GEMINI_PATH		"/v1beta/models/"
#define GEMINI_METHOD		":generateContent"
#define GEMINI_METHOD_STREAM	":streamGenerateContent?alt=sse"
#define GEMINI_MODEL_PREFIX	"models/"
#define GEMINI_JSON_MIME	"application/json"
#define GEMINI_REAL_PRECISION	6
#define GEMINI_TYPE_RETRY	"type.googleapis.com/google.rpc.RetryInfo"
#define GEMINI_TYPE_QUOTA	"type.googleapis.com/google.rpc.QuotaFailure"
#define GEMINI_TYPE_INFO	"type.googleapis.com/google.rpc.ErrorInfo"
/* A quota id naming a daily limit: retrying before midnight is futile. */
#define GEMINI_DAILY_MARK	"PerDay"
/* Longest retry delay we parse (seconds); more is treated as absent. */
#define GEMINI_MAX_DELAY_S	86400L

struct gemini_parsed {
	char	*text;
	char	*finish_reason;
	char	*model;
	int	 has_usage;
	long	 prompt_tokens;
	long	 completion_tokens;
	long	 total_tokens;
	int	 blocked;
};

/* What an error object says (lives as long as the parsed body). */
struct gemini_fault {
	const char	*message;
	const char	*status;
	long		 delay;		/* RetryInfo, LLM_RETRY_UNKNOWN */
	int		 daily;		/* a per-day quota is exhausted */
	int		 badkey;	/* API_KEY_INVALID */
};

static void		 gemini_fault(json_t *, struct gemini_fault *);
static const char	*gemini_model_name(const char *);
static int		 gemini_model_ok(const char *);
static int		 gemini_parts_add(json_t *, const char *);
static enum llm_err	 gemini_contents(const struct llm_request *, json_t *,
			    json_t **);
static json_t		*gemini_generation_config(const struct llm_request *);
static enum llm_err	 gemini_parse(json_t *, struct gemini_parsed *);
static int		 gemini_long(json_t *, const char *, long *);
static enum llm_err	 gemini_copy_str(json_t *, size_t, char **);
static int		 gemini_is_blocking(const char *);
static json_t		*gemini_load(const char *, size_t);
static void		 gemini_parsed_free(struct gemini_parsed *);

/* {base}/v1beta/models/{model}:generateContent; caller frees *out. */
enum llm_err
llm_gemini_url(const char *base, const struct llm_request *req, char **out)
{
	const char	*model;

	*out = NULL;
	if (req == NULL || req->model == NULL)
		return (LLM_ERR_INVALID);
	model = gemini_model_name(req->model);
	if (!gemini_model_ok(model))
		return (LLM_ERR_INVALID);
	*out = llm_join_url(base, GEMINI_PATH, model,
	    req->stream ? GEMINI_METHOD_STREAM : GEMINI_METHOD);
	return (*out != NULL ? LLM_OK : LLM_ERR_INVALID);
}

/* Content-Type, Accept and x-goog-api-key (required). */
enum llm_err
llm_gemini_headers(const char *key, const struct llm_request *req,
    struct llm_headers *hs)
{
	enum llm_err	rc;

	hs->n = 0;
	if (key == NULL || key[0] == '\0')
		return (LLM_ERR_INVALID);
	if ((rc = llm_headers_add(hs, "Content-Type", "application/json")) ||
	    (rc = llm_headers_add(hs, "Accept", req->stream ?
	    "text/event-stream" : "application/json")) ||
	    (rc = llm_headers_add(hs, "x-goog-api-key", key))) {
		llm_headers_free(hs);
		return (rc);
	}
	return (LLM_OK);
}

/*
 * The JSON body; *out malloc'd (caller frees), *lenp its length.
 * System text (req->system and SYSTEM messages) goes to
 * systemInstruction; assistant turns take the role "model"; consecutive
 * turns of one role are merged into one content (Gemini wants turns to
 * alternate).
 */
enum llm_err
llm_gemini_body(const struct llm_request *req, char **out, size_t *lenp)
{
	json_t		*root, *sys, *contents, *gc;
	enum llm_err	 rc;

	*out = NULL;
	if ((rc = llm_request_check(req)) != LLM_OK)
		return (rc);
	if ((root = json_object()) == NULL)
		return (LLM_ERR_INVALID);
	sys = NULL;
	if ((rc = gemini_contents(req, root, &sys)) != LLM_OK)
		goto done;
	rc = LLM_ERR_INVALID;
	contents = json_object_get(root, "contents");
	if (json_array_size(contents) == 0)
		goto done;
	if (json_array_size(sys) > 0) {
		/* json_pack's "o" takes sys, even when it fails. */
		if (json_object_set_new(root, "systemInstruction",
		    json_pack("{s:o}", "parts", sys))) {
			sys = NULL;
			goto done;
		}
		sys = NULL;
	}
	if ((gc = gemini_generation_config(req)) == NULL)
		goto done;
	if (json_object_size(gc) > 0) {
		if (json_object_set_new(root, "generationConfig", gc))
			goto done;
	} else
		json_decref(gc);
	*out = json_dumps(root, JSON_COMPACT |
	    JSON_REAL_PRECISION(GEMINI_REAL_PRECISION));
	if (*out != NULL) {
		*lenp = strlen(*out);
		rc = LLM_OK;
	}
done:
	json_decref(sys);
	json_decref(root);
	return (rc);
}

/*
 * Parses a complete answer into res (caller frees with llm_result_free).
 * A refused prompt (promptFeedback.blockReason) or a candidate stopped
 * for safety with no text is LLM_ERR_BLOCKED. Usage missing: estimated.
 */
enum llm_err
llm_gemini_parse_response(const char *body, size_t len,
    const struct llm_request *req, struct llm_result *res,
    struct llm_error *err)
{
	struct gemini_parsed	 p;
	struct llm_error	 e;
	json_t			*root;
	enum llm_err		 rc;

	llm_result_init(res);
	llm_error_set(err, LLM_OK, 200, NULL);
	if (len > LLM_MAX_RESPONSE_BYTES) {
		llm_error_set(err, LLM_ERR_TOO_LARGE, 200, "response too large");
		return (LLM_ERR_TOO_LARGE);
	}
	if ((root = gemini_load(body, len)) == NULL ||
	    !json_is_object(root)) {
		json_decref(root);
		llm_error_set(err, LLM_ERR_MALFORMED, 200, "invalid JSON");
		return (LLM_ERR_MALFORMED);
	}
	if (json_object_get(root, "error") != NULL) {
		json_decref(root);
		llm_gemini_classify(200, body, len, &e);
		if (err != NULL)
			*err = e;
		return (e.code);
	}
	rc = gemini_parse(root, &p);
	json_decref(root);
	if (rc == LLM_OK && p.text == NULL &&
	    (p.blocked || p.finish_reason == NULL))
		rc = p.blocked ? LLM_ERR_BLOCKED : LLM_ERR_MALFORMED;
	if (rc != LLM_OK) {
		gemini_parsed_free(&p);
		llm_error_set(err, rc, 200, rc == LLM_ERR_BLOCKED ?
		    "blocked by provider" : "unexpected response shape");
		return (rc);
	}
	if (p.text == NULL && (p.text = strdup("")) == NULL) {
		gemini_parsed_free(&p);
		return (LLM_ERR_TOO_LARGE);
	}
	res->content = p.text;
	res->finish_reason = p.finish_reason;
	res->model = p.model;
	if (p.has_usage) {
		res->prompt_tokens = p.prompt_tokens;
		res->completion_tokens = p.completion_tokens;
		res->total_tokens = p.total_tokens;
	} else {
		llm_result_estimate(res, req);
	}
	return (LLM_OK);
}

/*
 * Parses one SSE event (a GenerateContentResponse) into d (caller frees
 * with llm_delta_free). Gemini sends no [DONE]: the stream is over at
 * end of body, complete if a finish reason was seen.
 */
enum llm_err
llm_gemini_parse_event(const char *data, size_t len, struct llm_delta *d,
    struct llm_error *err)
{
	struct gemini_parsed	 p;
	struct llm_error	 e;
	json_t			*root;
	enum llm_err		 rc;

	llm_delta_init(d);
	llm_error_set(err, LLM_OK, 200, NULL);
	if (len > LLM_MAX_EVENT_BYTES) {
		llm_error_set(err, LLM_ERR_TOO_LARGE, 200, "event too large");
		return (LLM_ERR_TOO_LARGE);
	}
	if ((root = gemini_load(data, len)) == NULL || !json_is_object(root)) {
		json_decref(root);
		llm_error_set(err, LLM_ERR_MALFORMED, 200, "invalid JSON event");
		return (LLM_ERR_MALFORMED);
	}
	if (json_object_get(root, "error") != NULL) {
		json_decref(root);
		llm_gemini_classify(200, data, len, &e);
		if (err != NULL)
			*err = e;
		return (e.code);
	}
	rc = gemini_parse(root, &p);
	json_decref(root);
	if (rc == LLM_OK && p.blocked && p.text == NULL)
		rc = LLM_ERR_BLOCKED;
	if (rc != LLM_OK) {
		gemini_parsed_free(&p);
		llm_error_set(err, rc, 200, rc == LLM_ERR_BLOCKED ?
		    "blocked by provider" : "unexpected stream event shape");
		return (rc);
	}
	d->text = p.text;
	d->finish_reason = p.finish_reason;
	d->model = p.model;
	d->has_usage = p.has_usage;
	d->prompt_tokens = p.prompt_tokens;
	d->completion_tokens = p.completion_tokens;
	d->total_tokens = p.total_tokens;
	return (LLM_OK);
}

/*
 * Classifies a failed answer into err. RESOURCE_EXHAUSTED is a rate
 * limit (retry after RetryInfo.retryDelay) unless a QuotaFailure names
 * a per-day limit, which is LLM_ERR_QUOTA. Gemini answers an invalid
 * key with 400 INVALID_ARGUMENT + ErrorInfo API_KEY_INVALID: that is
 * LLM_ERR_AUTH. The streaming endpoint may wrap the error in an array.
 */
void
llm_gemini_classify(int status, const char *body, size_t len,
    struct llm_error *err)
{
	struct gemini_fault	 f;
	json_t			*root, *e;
	enum llm_err		 c;

	memset(&f, 0, sizeof(f));
	f.delay = LLM_RETRY_UNKNOWN;
	root = (body != NULL && len <= LLM_MAX_RESPONSE_BYTES) ?
	    gemini_load(body, len) : NULL;
	e = json_is_array(root) ? json_array_get(root, 0) : root;
	e = json_object_get(e, "error");
	if (json_is_object(e))
		gemini_fault(e, &f);
#define ST(x)	(f.status != NULL && strcmp(f.status, (x)) == 0)
	if (f.badkey || status == 401 || status == 403 ||
	    ST("UNAUTHENTICATED") || ST("PERMISSION_DENIED"))
		c = LLM_ERR_AUTH;
	else if (status == 429 || ST("RESOURCE_EXHAUSTED"))
		c = f.daily ? LLM_ERR_QUOTA : LLM_ERR_RATE_LIMITED;
	else if (status == 404 || ST("NOT_FOUND"))
		c = LLM_ERR_NOT_FOUND;
	else if (status >= 500 || status == 408 || ST("INTERNAL") ||
	    ST("UNAVAILABLE") || ST("DEADLINE_EXCEEDED"))
		c = LLM_ERR_UPSTREAM_5XX;
	else if (status >= 400 || ST("INVALID_ARGUMENT") ||
	    ST("FAILED_PRECONDITION"))
		c = LLM_ERR_BAD_REQUEST;
	else
		c = LLM_ERR_UPSTREAM_5XX;
#undef ST
	llm_error_set(err, c, status, f.message != NULL ? f.message :
	    (root == NULL ? "non-JSON error body" : "no error message"));
	if (err != NULL)
		err->retry_after_ms = f.delay;
	json_decref(root);
}

/*
 * A google.protobuf.Duration in JSON ("30s", "1.5s", "0.000001s") to
 * milliseconds, rounded up; LLM_RETRY_UNKNOWN if unparsable or past
 * GEMINI_MAX_DELAY_S.
 */
long
llm_gemini_parse_duration(const char *s)
{
	long	sec, frac_ms;
	int	digits, any, up;

	sec = 0;
	any = 0;
	for (; *s >= '0' && *s <= '9'; s++) {
		sec = sec * 10 + (*s - '0');
		any = 1;
		if (sec > GEMINI_MAX_DELAY_S)
			return (LLM_RETRY_UNKNOWN);
	}
	frac_ms = 0;
	up = 0;
	if (*s == '.') {
		s++;
		for (digits = 0; *s >= '0' && *s <= '9'; s++, digits++) {
			any = 1;
			if (digits < 3)
				frac_ms = frac_ms * 10 + (*s - '0');
			else if (*s != '0')
				up = 1;
		}
		for (; digits < 3; digits++)
			frac_ms *= 10;
	}
	if (!any || s[0] != 's' || s[1] != '\0')
		return (LLM_RETRY_UNKNOWN);
	return (sec * 1000 + frac_ms + up);
}

/* Accepts "models/x" as well as "x", as the SDKs do. */
static const char *
gemini_model_name(const char *m)
{
	size_t	n;

	n = strlen(GEMINI_MODEL_PREFIX);
	if (strncmp(m, GEMINI_MODEL_PREFIX, n) == 0)
		return (m + n);
	return (m);
}

/* The model goes into the URL path: letters, digits, '.', '-', '_'. */
static int
gemini_model_ok(const char *m)
{
	size_t	n;

	if ((n = strlen(m)) == 0 || n > LLM_MAX_MODEL_LEN)
		return (0);
	for (; *m != '\0'; m++) {
		if (!((*m >= 'a' && *m <= 'z') || (*m >= 'A' && *m <= 'Z') ||
		    (*m >= '0' && *m <= '9') || *m == '.' || *m == '-' ||
		    *m == '_'))
			return (0);
	}
	return (1);
}

/* Appends {"text": text} to parts; 0 on success. */
static int
gemini_parts_add(json_t *parts, const char *text)
{
	json_t	*s;

	if (parts == NULL || (s = json_string(text)) == NULL)
		return (-1);
	return (json_array_append_new(parts, json_pack("{s:o}", "text", s)));
}

/*
 * Sets root.contents and returns the system parts in *sys (an array the
 * caller owns, possibly empty).
 */
static enum llm_err
gemini_contents(const struct llm_request *req, json_t *root, json_t **sys)
{
	json_t		*contents, *parts;
	const char	*role, *prev;
	size_t		 i;

	if ((*sys = json_array()) == NULL)
		return (LLM_ERR_INVALID);
	if (req->system != NULL && req->system[0] != '\0' &&
	    gemini_parts_add(*sys, req->system))
		return (LLM_ERR_INVALID);
	if ((contents = json_array()) == NULL ||
	    json_object_set_new(root, "contents", contents))
		return (LLM_ERR_INVALID);
	parts = NULL;
	prev = NULL;
	for (i = 0; i < req->nmsgs; i++) {
		if (req->msgs[i].role == LLM_ROLE_SYSTEM) {
			if (gemini_parts_add(*sys, req->msgs[i].content))
				return (LLM_ERR_INVALID);
			continue;
		}
		role = req->msgs[i].role == LLM_ROLE_ASSISTANT ?
		    "model" : "user";
		if (prev == NULL || strcmp(prev, role) != 0) {
			if ((parts = json_array()) == NULL ||
			    json_array_append_new(contents, json_pack(
			    "{s:s,s:o}", "role", role, "parts", parts)))
				return (LLM_ERR_INVALID);
			prev = role;
		}
		if (gemini_parts_add(parts, req->msgs[i].content))
			return (LLM_ERR_INVALID);
	}
	return (LLM_OK);
}

/* generationConfig with only what the request sets; NULL on failure. */
static json_t *
gemini_generation_config(const struct llm_request *req)
{
	json_t	*gc;

	if ((gc = json_object()) == NULL)
		return (NULL);
	if ((req->temperature >= 0 && json_object_set_new(gc, "temperature",
	    json_real(req->temperature))) ||
	    (req->max_tokens > 0 && json_object_set_new(gc, "maxOutputTokens",
	    json_integer(req->max_tokens))) ||
	    (req->json_mode && json_object_set_new(gc, "responseMimeType",
	    json_string(GEMINI_JSON_MIME)))) {
		json_decref(gc);
		return (NULL);
	}
	return (gc);
}

/*
 * The shared part of a response and a stream event: text of the first
 * candidate's parts (thought parts skipped), finish reason, model
 * version, usage. p's strings are malloc'd, even on error (free them).
 */
static enum llm_err
gemini_parse(json_t *root, struct gemini_parsed *p)
{
	json_t		*cand, *parts, *part, *u, *fb;
	size_t		 i, n, len;
	long		 cand_t, thoughts;
	char		*q;
	enum llm_err	 rc;

	memset(p, 0, sizeof(*p));
	fb = json_object_get(root, "promptFeedback");
	cand = json_array_get(json_object_get(root, "candidates"), 0);
	if (cand == NULL && json_is_string(json_object_get(fb,
	    "blockReason"))) {
		p->blocked = 1;
		return (gemini_copy_str(json_object_get(fb, "blockReason"),
		    LLM_MAX_SHORT_STR, &p->finish_reason));
	}
	if ((rc = gemini_copy_str(json_object_get(cand, "finishReason"),
	    LLM_MAX_SHORT_STR, &p->finish_reason)) != LLM_OK ||
	    (rc = gemini_copy_str(json_object_get(root, "modelVersion"),
	    LLM_MAX_SHORT_STR, &p->model)) != LLM_OK)
		return (rc);
	if (p->finish_reason != NULL && gemini_is_blocking(p->finish_reason))
		p->blocked = 1;
	parts = json_object_get(json_object_get(cand, "content"), "parts");
	len = 0;
	json_array_foreach(parts, i, part) {
		if (json_is_true(json_object_get(part, "thought")) ||
		    !json_is_string(json_object_get(part, "text")))
			continue;
		n = json_string_length(json_object_get(part, "text"));
		if (n > LLM_MAX_CONTENT_BYTES - len)
			return (LLM_ERR_TOO_LARGE);
		if ((q = realloc(p->text, len + n + 1)) == NULL)
			return (LLM_ERR_TOO_LARGE);
		p->text = q;
		memcpy(p->text + len, json_string_value(json_object_get(part,
		    "text")), n);
		len += n;
		p->text[len] = '\0';
	}
	u = json_object_get(root, "usageMetadata");
	if (json_is_object(u) && gemini_long(u, "promptTokenCount",
	    &p->prompt_tokens) == 0) {
		p->has_usage = 1;
		cand_t = thoughts = 0;
		/* Thinking tokens are billed as output. */
		(void)gemini_long(u, "thoughtsTokenCount", &thoughts);
		if (gemini_long(u, "candidatesTokenCount", &cand_t) == 0)
			p->completion_tokens = cand_t + thoughts;
		if (gemini_long(u, "totalTokenCount", &p->total_tokens) != 0)
			p->total_tokens = p->prompt_tokens +
			    p->completion_tokens;
		else if (p->completion_tokens == 0 &&
		    p->total_tokens > p->prompt_tokens)
			p->completion_tokens = p->total_tokens -
			    p->prompt_tokens;
	} else if (u != NULL && !json_is_object(u))
		return (LLM_ERR_MALFORMED);
	return (LLM_OK);
}

static int
gemini_long(json_t *o, const char *key, long *out)
{
	json_t		*v;
	json_int_t	 n;

	v = json_object_get(o, key);
	if (!json_is_integer(v))
		return (-1);
	n = json_integer_value(v);
	if (n < 0 || n > (json_int_t)INT_MAX)
		return (-1);
	*out = (long)n;
	return (0);
}

static enum llm_err
gemini_copy_str(json_t *v, size_t max, char **out)
{
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return (LLM_OK);
	if (!json_is_string(v))
		return (LLM_ERR_MALFORMED);
	if ((*out = llm_strndup_bounded(json_string_value(v),
	    json_string_length(v), max)) == NULL)
		return (LLM_ERR_TOO_LARGE);
	return (LLM_OK);
}

/* Finish reasons meaning the provider withheld the answer. */
static int
gemini_is_blocking(const char *r)
{
	static const char *const blocking[] = {
		"SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT",
		"SPII", "IMAGE_SAFETY"
	};
	size_t	i;

	for (i = 0; i < sizeof(blocking) / sizeof(blocking[0]); i++) {
		if (strcmp(r, blocking[i]) == 0)
			return (1);
	}
	return (0);
}

/* Object or array (the error shape of the non-SSE stream endpoint). */
static json_t *
gemini_load(const char *buf, size_t len)
{
	json_error_t	jerr;

	if (buf == NULL)
		return (NULL);
	return (json_loadb(buf, len, 0, &jerr));
}

static void
gemini_parsed_free(struct gemini_parsed *p)
{
	free(p->text);
	free(p->finish_reason);
	free(p->model);
	memset(p, 0, sizeof(*p));
}

/* An error object's message, status and the details that decide. */
static void
gemini_fault(json_t *e, struct gemini_fault *f)
{
	json_t		*it, *vs, *v;
	const char	*type, *s;
	size_t		 i, j;

	f->message = json_string_value(json_object_get(e, "message"));
	f->status = json_string_value(json_object_get(e, "status"));
	json_array_foreach(json_object_get(e, "details"), i, it) {
		type = json_string_value(json_object_get(it, "@type"));
		if (type == NULL)
			continue;
		if (strcmp(type, GEMINI_TYPE_RETRY) == 0) {
			s = json_string_value(json_object_get(it,
			    "retryDelay"));
			if (s != NULL)
				f->delay = llm_gemini_parse_duration(s);
		} else if (strcmp(type, GEMINI_TYPE_QUOTA) == 0) {
			vs = json_object_get(it, "violations");
			json_array_foreach(vs, j, v) {
				s = json_string_value(json_object_get(v,
				    "quotaId"));
				if (s != NULL &&
				    strstr(s, GEMINI_DAILY_MARK) != NULL)
					f->daily = 1;
			}
		} else if (strcmp(type, GEMINI_TYPE_INFO) == 0) {
			s = json_string_value(json_object_get(it, "reason"));
			if (s != NULL && strcmp(s, "API_KEY_INVALID") == 0)
				f->badkey = 1;
		}
	}
}
