/*
 * Provider-neutral types for talking to an LLM, and the pure codecs
 * (request builders, response / stream-event parsers, error
 * classification) for OpenAI Chat Completions and Gemini generateContent.
 *
 * Nothing here does I/O: the HTTP caller (src/llm_client.c) builds the
 * URL, headers and body with these functions, sends them with libcurl,
 * and feeds what comes back into the parsers.
 */

#ifndef LLM_H
#define LLM_H

#include <stddef.h>

/* Largest response body (or SSE stream) the parsers accept. */
#define LLM_MAX_RESPONSE_BYTES		(4 * 1024 * 1024)
/* Largest answer text kept; more is an error, not a silent cut. */
#define LLM_MAX_CONTENT_BYTES		(128 * 1024)
/* Largest single streamed event handed to a parser. */
#define LLM_MAX_EVENT_BYTES		(256 * 1024)
/* Bounds on what a request may carry into a body. */
#define LLM_MAX_MESSAGES		64
#define LLM_MAX_REQUEST_CHARS		(512 * 1024)
#define LLM_MAX_URL_LEN			2048
#define LLM_MAX_KEY_LEN			512
#define LLM_MAX_MODEL_LEN		128
#define LLM_MAX_HEADERS			4
/* Provider error text kept for server-side logs. */
#define LLM_ERROR_MSG_MAX		256
/* Short provider strings (finish reason, model). */
#define LLM_MAX_SHORT_STR		128
/*
 * Completion tokens reserved against the daily quota for a call that sets
 * no max_tokens (the reservation is settled with the real usage).
 */
#define LLM_RESERVE_COMPLETION		1024
/* Usage estimate when the provider sends none: one token per 4 chars. */
#define LLM_EST_CHARS_PER_TOKEN		4
/* Sentinel: the provider said nothing about when to retry. */
#define LLM_RETRY_UNKNOWN		(-1L)

enum llm_provider {
	LLM_PROVIDER_OPENAI = 0,
	LLM_PROVIDER_GEMINI
};

enum llm_role {
	LLM_ROLE_SYSTEM = 0,
	LLM_ROLE_USER,
	LLM_ROLE_ASSISTANT
};

enum llm_err {
	LLM_OK = 0,
	LLM_ERR_RATE_LIMITED,	/* 429 without exhausted quota: retry */
	LLM_ERR_UPSTREAM_5XX,	/* provider failure: retry */
	LLM_ERR_NETWORK,	/* connect/reset before an answer: retry */
	LLM_ERR_TRUNCATED,	/* body/stream cut short: retry if nothing
				   was forwarded to the client yet */
	LLM_ERR_QUOTA,		/* insufficient_quota / per-day limit */
	LLM_ERR_BAD_REQUEST,
	LLM_ERR_AUTH,
	LLM_ERR_NOT_FOUND,	/* unknown model */
	LLM_ERR_MALFORMED,	/* answer we cannot parse */
	LLM_ERR_TOO_LARGE,	/* answer past our bounds */
	LLM_ERR_BLOCKED,	/* provider refused (safety) with no text */
	LLM_ERR_TIMEOUT,	/* our own deadline (AI_TIMEOUT_S) */
	LLM_ERR_INVALID		/* caller passed something unusable */
};

struct llm_msg {
	enum llm_role	 role;
	const char	*content;
};

/*
 * A request. Strings are borrowed: the request does not own them
 * (prompt_build() documents its own ownership).
 * temperature < 0 and max_tokens == 0 leave the provider's default.
 * Messages of role SYSTEM inside msgs are sent as extra system text.
 */
struct llm_request {
	const char		*model;
	const char		*system;	/* may be NULL */
	const struct llm_msg	*msgs;
	size_t			 nmsgs;
	double			 temperature;
	int			 max_tokens;
	int			 json_mode;
	int			 stream;
};

/* A complete answer. All strings malloc'd; free with llm_result_free(). */
struct llm_result {
	char	*content;
	char	*finish_reason;
	char	*model;
	long	 prompt_tokens;
	long	 completion_tokens;
	long	 total_tokens;
	int	 usage_estimated;
};

/*
 * What one streamed event carried. text/finish_reason/model malloc'd or
 * NULL; free with llm_delta_free(). done is set by OpenAI's [DONE].
 */
struct llm_delta {
	char	*text;
	char	*finish_reason;
	char	*model;
	int	 has_usage;
	long	 prompt_tokens;
	long	 completion_tokens;
	long	 total_tokens;
	int	 done;
};

/* A classified failure; message is provider text for server logs only. */
struct llm_error {
	enum llm_err	code;
	int		http_status;
	long		retry_after_ms;		/* LLM_RETRY_UNKNOWN if none */
	char		message[LLM_ERROR_MSG_MAX];
};

/* Headers for one request; strings malloc'd, free with llm_headers_free. */
struct llm_headers {
	char	*h[LLM_MAX_HEADERS];
	size_t	 n;
};

/* Accumulates a stream's deltas into a result. */
struct llm_stream {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	char	*finish_reason;
	char	*model;
	int	 has_usage;
	long	 prompt_tokens;
	long	 completion_tokens;
	long	 total_tokens;
	int	 done;
};

/* One provider's codec; see llm_codec(). */
struct llm_codec {
	const char	*name;
	enum llm_err	(*url)(const char *, const struct llm_request *,
			    char **);
	enum llm_err	(*headers)(const char *, const struct llm_request *,
			    struct llm_headers *);
	enum llm_err	(*body)(const struct llm_request *, char **, size_t *);
	enum llm_err	(*parse_response)(const char *, size_t,
			    const struct llm_request *, struct llm_result *,
			    struct llm_error *);
	enum llm_err	(*parse_event)(const char *, size_t, struct llm_delta *,
			    struct llm_error *);
	void		(*classify)(int, const char *, size_t,
			    struct llm_error *);
};

/* llm.c: shared helpers. */
const struct llm_codec	*llm_codec(enum llm_provider);
int			 llm_provider_parse(const char *, enum llm_provider *);
const char		*llm_err_name(enum llm_err);
int			 llm_err_retryable(enum llm_err);
void			 llm_result_estimate(struct llm_result *,
			    const struct llm_request *);
/* Whether an outcome says the provider is unwell (a circuit breaker's
   failure), rather than refusing this one request. */
int			 llm_err_provider_down(enum llm_err);
int			 llm_err_http_status(enum llm_err);
void			 llm_error_set(struct llm_error *, enum llm_err, int,
			    const char *);
long			 llm_estimate_tokens(size_t);
long			 llm_reserve_estimate(const struct llm_request *);
size_t			 llm_request_chars(const struct llm_request *);
enum llm_err		 llm_request_check(const struct llm_request *);
void			 llm_result_init(struct llm_result *);
void			 llm_result_free(struct llm_result *);
void			 llm_delta_init(struct llm_delta *);
void			 llm_delta_free(struct llm_delta *);
void			 llm_headers_free(struct llm_headers *);
enum llm_err		 llm_headers_add(struct llm_headers *, const char *,
			    const char *);
void			 llm_stream_init(struct llm_stream *);
enum llm_err		 llm_stream_apply(struct llm_stream *,
			    const struct llm_delta *);
enum llm_err		 llm_stream_finish(struct llm_stream *,
			    const struct llm_request *, struct llm_result *);
void			 llm_stream_free(struct llm_stream *);
char			*llm_strndup_bounded(const char *, size_t, size_t);
char			*llm_join_url(const char *, const char *, const char *,
			    const char *);

/* llm_openai.c */
enum llm_err	llm_openai_url(const char *, const struct llm_request *,
		    char **);
enum llm_err	llm_openai_headers(const char *, const struct llm_request *,
		    struct llm_headers *);
enum llm_err	llm_openai_body(const struct llm_request *, char **, size_t *);
enum llm_err	llm_openai_parse_response(const char *, size_t,
		    const struct llm_request *, struct llm_result *,
		    struct llm_error *);
enum llm_err	llm_openai_parse_event(const char *, size_t,
		    struct llm_delta *, struct llm_error *);
void		llm_openai_classify(int, const char *, size_t,
		    struct llm_error *);

/* llm_gemini.c */
enum llm_err	llm_gemini_url(const char *, const struct llm_request *,
		    char **);
enum llm_err	llm_gemini_headers(const char *, const struct llm_request *,
		    struct llm_headers *);
enum llm_err	llm_gemini_body(const struct llm_request *, char **, size_t *);
enum llm_err	llm_gemini_parse_response(const char *, size_t,
		    const struct llm_request *, struct llm_result *,
		    struct llm_error *);
enum llm_err	llm_gemini_parse_event(const char *, size_t,
		    struct llm_delta *, struct llm_error *);
void		llm_gemini_classify(int, const char *, size_t,
		    struct llm_error *);
long		llm_gemini_parse_duration(const char *);

#endif
