/*
 * A blocking provider call for the job runner: the pure codecs of
 * lib/llm.h over one libcurl easy handle, retried per lib/backoff.h, and
 * recorded in llm_calls (one row per call, after its retries) so quotas
 * and analytics see it.
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
	const struct llm_codec	*codec;
	struct backoff_policy	 bp;
	struct llm_headers	 hs;
	struct curl_slist	*hl = NULL;
	struct jl_sink		 sink;
	enum llm_provider	 prov;
	enum llm_err		 rc;
	CURL			*cu = NULL;
	CURLcode		 cc;
	const char		*base, *key;
	char			*url = NULL, *body = NULL;
	size_t			 blen, i;
	long			 status, hint, delay, left, timeout, ms;
	struct timespec		 t0, t1, t1w;
	struct otel_llm		 ol;
	char			 resv[24] = "0";
	int			 tries = 1, r;

	memset(&hs, 0, sizeof(hs));
	memset(&sink, 0, sizeof(sink));
	llm_result_init(res);
	memset(err, 0, sizeof(*err));
	(void)clock_gettime(CLOCK_MONOTONIC, &t0);
	if (llm_provider_parse(cfg.ai_provider, &prov) == -1) {
		llm_error_set(err, LLM_ERR_INVALID, 0, "no provider");
		return (LLM_ERR_INVALID);
	}
	codec = llm_codec(prov);
	base = prov == LLM_PROVIDER_GEMINI ? cfg.gemini_base_url :
	    cfg.openai_base_url;
	key = prov == LLM_PROVIDER_GEMINI ? cfg.gemini_api_key :
	    cfg.openai_api_key;
	if (req->model == NULL)
		req->model = jllm_model();
	if ((rc = codec->url(base, req, &url)) != LLM_OK ||
	    (rc = codec->headers(key, req, &hs)) != LLM_OK ||
	    (rc = codec->body(req, &body, &blen)) != LLM_OK) {
		llm_error_set(err, rc, 0, "request could not be built");
		goto done;
	}
	for (i = 0; i < hs.n; i++)
		hl = curl_slist_append(hl, hs.h[i]);

	if ((r = jl_reserve(c, user_id, req, deadline, resv,
	    sizeof(resv))) != 1) {
		rc = r == 0 ? LLM_ERR_QUOTA : LLM_ERR_NETWORK;
		llm_error_set(err, rc, 0, r == 0 ? "daily token quota "
		    "exceeded" : "database error reserving the quota");
		c->over_quota = r == 0;
		curl_slist_free_all(hl);
		llm_headers_free(&hs);
		free(url);
		free(body);
		return (rc);
	}

	backoff_policy_default(&bp);
	if (c->max_tries > 0)
		bp.max_tries = c->max_tries;
	for (tries = 1;; tries++) {
		free(sink.buf);
		memset(&sink, 0, sizeof(sink));
		llm_result_free(res);
		llm_result_init(res);
		left = (long)(deadline - time(NULL));
		if (jl_cancelled(c)) {
			rc = LLM_ERR_INVALID;
			llm_error_set(err, rc, 0, "cancelled");
			break;
		}
		if (left <= 0 || jobs_stopping) {
			rc = LLM_ERR_TIMEOUT;
			llm_error_set(err, rc, 0, "job deadline");
			break;
		}
		timeout = cfg.ai_timeout_s < left ? cfg.ai_timeout_s : left;
		if ((cu = curl_easy_init()) == NULL) {
			rc = LLM_ERR_NETWORK;
			llm_error_set(err, rc, 0, "curl_easy_init");
			break;
		}
		(void)curl_easy_setopt(cu, CURLOPT_URL, url);
		(void)curl_easy_setopt(cu, CURLOPT_HTTPHEADER, hl);
		(void)curl_easy_setopt(cu, CURLOPT_POSTFIELDS, body);
		(void)curl_easy_setopt(cu, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)blen);
		(void)curl_easy_setopt(cu, CURLOPT_WRITEFUNCTION, jl_body);
		(void)curl_easy_setopt(cu, CURLOPT_WRITEDATA, &sink);
		(void)curl_easy_setopt(cu, CURLOPT_HEADERFUNCTION, jl_header);
		(void)curl_easy_setopt(cu, CURLOPT_HEADERDATA, &sink);
		(void)curl_easy_setopt(cu, CURLOPT_TIMEOUT, timeout);
		(void)curl_easy_setopt(cu, CURLOPT_CONNECTTIMEOUT, 10L);
		(void)curl_easy_setopt(cu, CURLOPT_NOSIGNAL, 1L);
		(void)curl_easy_setopt(cu, CURLOPT_NOPROGRESS, 0L);
		(void)curl_easy_setopt(cu, CURLOPT_XFERINFOFUNCTION,
		    jl_progress);
		(void)curl_easy_setopt(cu, CURLOPT_XFERINFODATA, c);
		(void)curl_easy_setopt(cu, CURLOPT_PROTOCOLS_STR, "http,https");
		cc = curl_easy_perform(cu);
		status = 0;
		(void)curl_easy_getinfo(cu, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_cleanup(cu);
		cu = NULL;

		hint = LLM_RETRY_UNKNOWN;
		if (cc == CURLE_OPERATION_TIMEDOUT) {
			rc = LLM_ERR_TIMEOUT;
			llm_error_set(err, rc, 0, "provider timeout");
		} else if (sink.over) {
			rc = LLM_ERR_TOO_LARGE;
			llm_error_set(err, rc, (int)status, "answer too large");
		} else if (cc != CURLE_OK) {
			rc = LLM_ERR_NETWORK;
			llm_error_set(err, rc, 0, curl_easy_strerror(cc));
		} else if (status == 200) {
			rc = codec->parse_response(sink.buf ? sink.buf : "",
			    sink.len, req, res, err);
		} else {
			codec->classify((int)status, sink.buf ? sink.buf : "",
			    sink.len, err);
			rc = err->code;
			hint = err->retry_after_ms;
			if (hint == LLM_RETRY_UNKNOWN && sink.retry_after[0])
				hint = backoff_parse_retry_after(
				    sink.retry_after, time(NULL));
		}
		if (rc == LLM_OK)
			break;
		if (c->cancelled) {
			rc = LLM_ERR_INVALID;
			llm_error_set(err, rc, 0, "cancelled");
			break;
		}
		left = (long)(deadline - time(NULL)) * 1000;
		delay = backoff_delay(&bp, tries, rc, hint, left,
		    backoff_random());
		if (delay == BACKOFF_STOP || jsleep_ms(delay, deadline) == -1)
			break;
	}
done:
	(void)clock_gettime(CLOCK_MONOTONIC, &t1);
	(void)clock_gettime(CLOCK_REALTIME, &t1w);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 +
	    (t1.tv_nsec - t0.tv_nsec) / 1000000;
	jl_record(c, user_id, kind, llm_codec(prov)->name, res, rc, ms,
	    tries, resv);
	llmstat_add(jobs_llmstat, llm_codec(prov)->name, res->model != NULL ?
	    res->model : req->model, rc, (uint64_t)ms,
	    rc == LLM_OK ? res->prompt_tokens : 0,
	    rc == LLM_OK ? res->completion_tokens : 0);
	memset(&ol, 0, sizeof(ol));
	ol.provider = llm_codec(prov)->name;
	ol.request_model = req->model;
	ol.response_model = res->model;
	ol.kind = kind;
	ol.err = rc;
	ol.end_ns = (uint64_t)t1w.tv_sec * 1000000000ULL +
	    (uint64_t)t1w.tv_nsec;
	ol.start_ns = ol.end_ns - (uint64_t)ms * 1000000ULL;
	ol.prompt_tokens = res->prompt_tokens;
	ol.completion_tokens = res->completion_tokens;
	ol.finish_reason = res->finish_reason;
	ol.attempts = tries;
	ol.user_id = user_id;
	ol.step_index = -1;
	ol.completion = res->content;
	jotel_llm(&ol, req);
	curl_slist_free_all(hl);
	llm_headers_free(&hs);
	free(sink.buf);
	free(url);
	free(body);
	if (rc != LLM_OK && err->code == LLM_OK)
		err->code = rc;
	return (rc);
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
