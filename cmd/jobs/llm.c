/*
 * A blocking provider call for the job runner: the pure codecs of
 * lib/llm.h over one libcurl easy handle, retried per lib/backoff.h,
 * behind the provider's circuit breaker (circuit.c), and recorded in
 * llm_calls (one row per call, after its retries) so quotas and
 * analytics see it.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "jobs.h"
#include "lib/backoff.h"

struct jl_sink {
	char		*buf;
	size_t		 len;
	int		 over;
	char		 retry_after[BACKOFF_MAX_HEADER_LEN + 1];
};

/* One call: what it asks, what it is sent as, and how it went. */
struct jl_call {
	struct jctx		*c;
	const char		*user_id;
	const char		*kind;
	struct llm_request	*req;
	struct llm_result	*res;
	struct llm_error	*err;
	time_t			 deadline;
	enum llm_provider	 prov;
	const struct llm_codec	*codec;
	struct llm_headers	 hs;
	struct curl_slist	*hl;
	char			*url;
	char			*body;
	size_t			 blen;
	struct jl_sink		 sink;
	int			 tries;
	int			 probe;		/* the breaker's half-open probe */
	char			 resv[24];	/* quota reservation, "0": none */
	struct timespec		 t0;
};

static enum llm_err jl_prepare(struct jl_call *);
static enum llm_err jl_admit(struct jl_call *);
static enum llm_err jl_loop(struct jl_call *);
static enum llm_err jl_try(struct jl_call *, long *);
static CURL	*jl_easy(struct jl_call *, long);
static void	jl_done(struct jl_call *, enum llm_err);
static void	jl_span(struct jl_call *, enum llm_err, long);
static void	jl_free(struct jl_call *);
static long	jl_left(time_t);
static size_t	jl_body(char *, size_t, size_t, void *);
static size_t	jl_header(char *, size_t, size_t, void *);
static int	jl_progress(void *, curl_off_t, curl_off_t, curl_off_t,
		    curl_off_t);
static void	jl_record(struct jctx *, const char *, const char *,
		    const char *, const struct llm_result *, enum llm_err,
		    long, int, const char *);
static int	jl_reserve(struct jctx *, const char *,
		    const struct llm_request *, time_t, char *, size_t);
static int	jl_cancelled(struct jctx *);

/* The call and the release of its quota reservation, together. */
static const char sql_record[] =
    "WITH r AS (DELETE FROM llm_reservations WHERE id = $15::bigint) "
    "INSERT INTO llm_calls (user_id, kind, provider, model, prompt_tokens, "
    "completion_tokens, total_tokens, latency_ms, status, error_code, "
    "usage_estimated, attempts, execution_id, step_index) VALUES ($1, $2, "
    "$3, $4, $5::int, $6::int, $7::int, $8::int, $9, $10, $11::boolean, "
    "$12::int, $13::uuid, $14::int)";

/* $1 user, $2 default quota, $3 estimate, $4 ttl s. */
static const char sql_reserve[] =
    "SELECT llm_reserve($1::uuid, $2::bigint, $3::bigint, $4::int)";

static const char sql_release[] =
    "DELETE FROM llm_reservations WHERE id = $1::bigint";

int
jllm_configured(void)
{
	return (config_ai_configured(&cfg, cfg.ai_provider));
}

const char *
jllm_model(void)
{
	return (strcmp(cfg.ai_provider, "gemini") == 0 ? cfg.gemini_model :
	    cfg.openai_model);
}

enum llm_err
jllm_call(struct jctx *c, const char *user_id, const char *kind,
    struct llm_request *req, struct llm_result *res, struct llm_error *err,
    time_t deadline)
{
	struct jl_call	jc;
	enum llm_err	rc;

	memset(&jc, 0, sizeof(jc));
	jc.c = c;
	jc.user_id = user_id;
	jc.kind = kind;
	jc.req = req;
	jc.res = res;
	jc.err = err;
	jc.deadline = deadline;
	(void)snprintf(jc.resv, sizeof(jc.resv), "0");
	c->circuit_wait_s = 0;
	llm_result_init(res);
	memset(err, 0, sizeof(*err));
	(void)clock_gettime(CLOCK_MONOTONIC, &jc.t0);
	if (llm_provider_parse(cfg.ai_provider, &jc.prov) == -1) {
		llm_error_set(err, LLM_ERR_INVALID, 0, "no provider");
		return (LLM_ERR_INVALID);
	}
	if ((rc = jl_prepare(&jc)) != LLM_OK) {
		jl_done(&jc, rc);
	} else if ((rc = jl_admit(&jc)) == LLM_OK) {
		rc = jl_loop(&jc);
		/* A stop or a cancel says nothing of the provider. */
		if (jc.tries > 0 && !jobs_stopping && !c->cancelled)
			jcircuit_record(jc.prov, rc, jc.probe);
		jl_done(&jc, rc);
	}
	jl_free(&jc);
	if (rc != LLM_OK && err->code == LLM_OK)
		err->code = rc;
	return (rc);
}

/* The request in the provider's wire format. */
static enum llm_err
jl_prepare(struct jl_call *jc)
{
	const char	*base, *key;
	enum llm_err	 rc;
	size_t		 i;

	jc->codec = llm_codec(jc->prov);
	base = jc->prov == LLM_PROVIDER_GEMINI ? cfg.gemini_base_url :
	    cfg.openai_base_url;
	key = jc->prov == LLM_PROVIDER_GEMINI ? cfg.gemini_api_key :
	    cfg.openai_api_key;
	if (jc->req->model == NULL)
		jc->req->model = jllm_model();
	if ((rc = jc->codec->url(base, jc->req, &jc->url)) != LLM_OK ||
	    (rc = jc->codec->headers(key, jc->req, &jc->hs)) != LLM_OK ||
	    (rc = jc->codec->body(jc->req, &jc->body, &jc->blen)) != LLM_OK) {
		llm_error_set(jc->err, rc, 0, "request could not be built");
		return (rc);
	}
	for (i = 0; i < jc->hs.n; i++)
		jc->hl = curl_slist_append(jc->hl, jc->hs.h[i]);
	return (LLM_OK);
}

/*
 * The user's quota, then the provider's breaker: LLM_OK to call.
 * Refused by the quota: LLM_ERR_QUOTA with over_quota set.  Refused by
 * an open breaker: LLM_ERR_UPSTREAM_5XX with circuit_wait_s set (the
 * seconds until it lets a call through), without touching the provider
 * and with the reservation released.  Neither is recorded as a call.
 */
static enum llm_err
jl_admit(struct jl_call *jc)
{
	struct jctx	*c = jc->c;
	const char	*p[1];
	int		 r;

	if ((r = jl_reserve(c, jc->user_id, jc->req, jc->deadline, jc->resv,
	    sizeof(jc->resv))) != 1) {
		c->over_quota = r == 0;
		llm_error_set(jc->err, r == 0 ? LLM_ERR_QUOTA : LLM_ERR_NETWORK,
		    0, r == 0 ? "daily token quota exceeded" :
		    "database error reserving the quota");
		return (jc->err->code);
	}
	if (jcircuit_allow(jc->prov, &jc->probe, &c->circuit_wait_s))
		return (LLM_OK);
	if (strcmp(jc->resv, "0") != 0) {
		p[0] = jc->resv;
		(void)jdb_cmd(c, sql_release, 1, p);
	}
	llm_error_set(jc->err, LLM_ERR_UPSTREAM_5XX, 0, "circuit open: the "
	    "provider is failing; not called");
	return (LLM_ERR_UPSTREAM_5XX);
}

/* Tries with backoff (lib/backoff.h) until an answer, a stop or the end. */
static enum llm_err
jl_loop(struct jl_call *jc)
{
	struct backoff_policy	 bp;
	enum llm_err		 rc;
	long			 hint, delay, left;

	backoff_policy_default(&bp);
	if (jc->c->max_tries > 0)
		bp.max_tries = jc->c->max_tries;
	for (;;) {
		free(jc->sink.buf);
		memset(&jc->sink, 0, sizeof(jc->sink));
		llm_result_free(jc->res);
		llm_result_init(jc->res);
		if (jl_cancelled(jc->c)) {
			rc = LLM_ERR_INVALID;
			llm_error_set(jc->err, rc, 0, "cancelled");
			return (rc);
		}
		if (jl_left(jc->deadline) <= 0 || jobs_stopping) {
			rc = LLM_ERR_TIMEOUT;
			llm_error_set(jc->err, rc, 0, "job deadline");
			return (rc);
		}
		jc->tries++;
		if ((rc = jl_try(jc, &hint)) == LLM_OK)
			return (rc);
		if (jc->c->cancelled) {
			rc = LLM_ERR_INVALID;
			llm_error_set(jc->err, rc, 0, "cancelled");
			return (rc);
		}
		left = jl_left(jc->deadline) * 1000;
		delay = backoff_delay(&bp, jc->tries, rc, hint, left,
		    backoff_random());
		if (delay == BACKOFF_STOP ||
		    jsleep_ms(delay, jc->deadline) == -1)
			return (rc);
	}
}

/* One transfer and what it came to (*hint: the provider's delay). */
static enum llm_err
jl_try(struct jl_call *jc, long *hint)
{
	struct llm_error	*err = jc->err;
	enum llm_err		 rc;
	CURL			*cu;
	CURLcode		 cc;
	long			 status, timeout;

	*hint = LLM_RETRY_UNKNOWN;
	timeout = jl_left(jc->deadline);
	if (cfg.ai_timeout_s < timeout)
		timeout = cfg.ai_timeout_s;
	if ((cu = jl_easy(jc, timeout)) == NULL) {
		llm_error_set(err, LLM_ERR_NETWORK, 0, "curl_easy_init");
		return (LLM_ERR_NETWORK);
	}
	cc = curl_easy_perform(cu);
	status = 0;
	(void)curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(cu);

	if (cc == CURLE_OPERATION_TIMEDOUT) {
		rc = LLM_ERR_TIMEOUT;
		llm_error_set(err, rc, 0, "provider timeout");
	} else if (jc->sink.over) {
		rc = LLM_ERR_TOO_LARGE;
		llm_error_set(err, rc, (int)status, "answer too large");
	} else if (cc != CURLE_OK) {
		rc = LLM_ERR_NETWORK;
		llm_error_set(err, rc, 0, curl_easy_strerror(cc));
	} else if (status == 200) {
		rc = jc->codec->parse_response(jc->sink.buf ? jc->sink.buf :
		    "", jc->sink.len, jc->req, jc->res, err);
	} else {
		jc->codec->classify((int)status, jc->sink.buf ? jc->sink.buf :
		    "", jc->sink.len, err);
		rc = err->code;
		*hint = err->retry_after_ms;
		if (*hint == LLM_RETRY_UNKNOWN && jc->sink.retry_after[0])
			*hint = backoff_parse_retry_after(jc->sink.retry_after,
			    time(NULL));
	}
	return (rc);
}

static CURL *
jl_easy(struct jl_call *jc, long timeout)
{
	CURL	*cu;

	if ((cu = curl_easy_init()) == NULL)
		return (NULL);
	(void)curl_easy_setopt(cu, CURLOPT_URL, jc->url);
	(void)curl_easy_setopt(cu, CURLOPT_HTTPHEADER, jc->hl);
	(void)curl_easy_setopt(cu, CURLOPT_POSTFIELDS, jc->body);
	(void)curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE,
	    (curl_off_t)jc->blen);
	(void)curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, jl_body);
	(void)curl_easy_setopt(cu, CURLOPT_WRITEDATA, &jc->sink);
	(void)curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, jl_header);
	(void)curl_easy_setopt(cu, CURLOPT_HEADERDATA, &jc->sink);
	(void)curl_easy_setopt(cu, CURLOPT_TIMEOUT, timeout);
	(void)curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT, 10L);
	(void)curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(cu, CURLOPT_NOPROGRESS, 0L);
	(void)curl_easy_setopt(cu, CURLOPT_XFERINFOFUNCTION, jl_progress);
	(void)curl_easy_setopt(cu, CURLOPT_XFERINFODATA, jc->c);
	(void)curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
	return (cu);
}

/* The call is over: into llm_calls, the metrics and the trace. */
static void
jl_done(struct jl_call *jc, enum llm_err rc)
{
	struct timespec	 t1;
	long		 ms;

	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - jc->t0.tv_sec) * 1000 +
	    (t1.tv_nsec - jc->t0.tv_nsec) / 1000000;
	jl_record(jc->c, jc->user_id, jc->kind, jc->codec->name, jc->res, rc,
	    ms, jc->tries > 0 ? jc->tries : 1, jc->resv);
	llmstat_add(jobs_llmstat, jc->codec->name, jc->res->model != NULL ?
	    jc->res->model : jc->req->model, rc, (uint64_t)ms,
	    rc == LLM_OK ? jc->res->prompt_tokens : 0,
	    rc == LLM_OK ? jc->res->completion_tokens : 0);
	jl_span(jc, rc, ms);
}

static void
jl_span(struct jl_call *jc, enum llm_err rc, long ms)
{
	struct otel_llm		ol;
	struct timespec		now;

	(void)clock_gettime(CLOCK_REALTIME, &now);
	memset(&ol, 0, sizeof(ol));
	ol.provider = jc->codec->name;
	ol.request_model = jc->req->model;
	ol.response_model = jc->res->model;
	ol.kind = jc->kind;
	ol.err = rc;
	ol.end_ns = (uint64_t)now.tv_sec * 1000000000ULL +
	    (uint64_t)now.tv_nsec;
	ol.start_ns = ol.end_ns - (uint64_t)ms * 1000000ULL;
	ol.prompt_tokens = jc->res->prompt_tokens;
	ol.completion_tokens = jc->res->completion_tokens;
	ol.finish_reason = jc->res->finish_reason;
	ol.attempts = jc->tries > 0 ? jc->tries : 1;
	ol.user_id = jc->user_id;
	ol.step_index = -1;
	ol.completion = jc->res->content;
	jotel_llm(&ol, jc->req);
}

static void
jl_free(struct jl_call *jc)
{
	curl_slist_free_all(jc->hl);
	llm_headers_free(&jc->hs);
	free(jc->sink.buf);
	free(jc->url);
	free(jc->body);
}

/* Seconds until deadline (0 or less once past). */
static long
jl_left(time_t deadline)
{
	return ((long)(deadline - time(NULL)));
}

static void
jl_record(struct jctx *c, const char *user_id, const char *kind,
    const char *provider, const struct llm_result *res, enum llm_err rc,
    long ms, int tries, const char *resv)
{
	const char	*p[15];
	char		 pt[24], ct[24], tt[24], lat[24], tr[16], si[16];

	/* A failed call counts with no tokens, whatever was parsed. */
	(void)snprintf(pt, sizeof(pt), "%ld", rc == LLM_OK ?
	    res->prompt_tokens : 0);
	(void)snprintf(ct, sizeof(ct), "%ld", rc == LLM_OK ?
	    res->completion_tokens : 0);
	(void)snprintf(tt, sizeof(tt), "%ld", rc == LLM_OK ?
	    res->total_tokens : 0);
	(void)snprintf(lat, sizeof(lat), "%ld", ms);
	p[0] = user_id;
	p[1] = kind;
	p[2] = provider;
	p[3] = res->model != NULL ? res->model : jllm_model();
	p[4] = pt;
	p[5] = ct;
	p[6] = tt;
	p[7] = lat;
	p[8] = rc == LLM_OK ? "ok" : "failed";
	p[9] = rc == LLM_OK ? NULL : c->cancelled ? "cancelled" :
	    llm_err_name(rc);
	p[10] = res->usage_estimated ? "true" : "false";
	(void)snprintf(tr, sizeof(tr), "%d", tries);
	p[11] = tr;
	(void)snprintf(si, sizeof(si), "%d", c->step_index);
	p[12] = c->exec_id;
	p[13] = c->exec_id != NULL ? si : NULL;
	p[14] = resv;
	if (jdb_cmd(c, sql_record, 15, p) == -1 && strcmp(resv, "0") != 0)
		(void)jdb_cmd(c, sql_release, 1, &p[14]);
}

/*
 * Reserve the call's estimate against user_id's daily quota: 1 with the
 * reservation id in out ("0": unlimited), 0 when refused, -1 on a
 * database error.  The reservation lapses a minute after the deadline
 * if this process dies before it records the call.
 */
static int
jl_reserve(struct jctx *c, const char *user_id,
    const struct llm_request *req, time_t deadline, char *out, size_t len)
{
	PGresult	*res;
	const char	*p[4];
	char		 q[24], est[24], ttl[24];
	long		 left;

	if (user_id == NULL)
		return (1);
	left = (long)(deadline - time(NULL));
	(void)snprintf(q, sizeof(q), "%d", cfg.default_daily_token_quota);
	(void)snprintf(est, sizeof(est), "%ld", llm_reserve_estimate(req));
	(void)snprintf(ttl, sizeof(ttl), "%ld", (left > 0 ? left : 0) + 60);
	p[0] = user_id;
	p[1] = q;
	p[2] = est;
	p[3] = ttl;
	if ((res = jdb_exec(c, sql_reserve, 4, p)) == NULL)
		return (-1);
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0)) {
		PQclear(res);
		return (-1);
	}
	(void)snprintf(out, len, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return (strcmp(out, "-1") == 0 ? 0 : 1);
}

/*
 * Whether the workflow execution this call serves was cancelled: a
 * NOTIFY on JOB_CANCEL_CHANNEL carrying its id (read without blocking;
 * other notifications only wake the thread, which polls anyway).
 */
static int
jl_cancelled(struct jctx *c)
{
	PGnotify	*n;

	if (c->exec_id == NULL || c->db == NULL || c->cancelled)
		return (c->cancelled);
	if (PQconsumeInput(c->db) != 1)
		return (0);
	while ((n = PQnotifies(c->db)) != NULL) {
		if (strcmp(n->relname, JOB_CANCEL_CHANNEL) == 0 &&
		    strcmp(n->extra, c->exec_id) == 0)
			c->cancelled = 1;
		PQfreemem(n);
	}
	return (c->cancelled);
}

static size_t
jl_body(char *p, size_t sz, size_t nm, void *arg)
{
	struct jl_sink	*s = arg;
	char		*nb;
	size_t		 n = sz * nm;

	if (s->len + n > LLM_MAX_RESPONSE_BYTES) {
		s->over = 1;
		return (0);
	}
	if ((nb = realloc(s->buf, s->len + n + 1)) == NULL)
		return (0);
	s->buf = nb;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return (n);
}

static size_t
jl_header(char *p, size_t sz, size_t nm, void *arg)
{
	struct jl_sink	*s = arg;

	(void)backoff_header(p, sz * nm, s->retry_after);
	return (sz * nm);
}

/* Abort a transfer when the runner is told to stop or it is cancelled. */
static int
jl_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut,
    curl_off_t un)
{
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return (jobs_stopping || jl_cancelled(arg) ? 1 : 0);
}
