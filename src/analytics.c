/*
 * Analytics (API.md §8): usage, tokens per day, recent activity, and the
 * admin's view over all users.  Every figure comes from rows: model
 * calls from llm_usage_daily (the exact rollup of the llm_calls ledger,
 * sql/013_analytics.sql), uploads from the audit trail, analyses and
 * workflow runs from their tables.  Costs are priced here, in C, from
 * AI_PRICE_TABLE (lib/pricing.h), per model and per day, so the day rows
 * add up to the period's totals to the last picodollar.
 *
 * A period of N days is today (UTC) and the N - 1 days before it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"
#include "query.h"
#include "analytics.h"
#include "lib/llm.h"
#include "lib/pricing.h"

#define AN_DAYS_DEFAULT		7
#define AN_PROVIDER_MAX		32
#define AN_DAY_LEN		10	/* YYYY-MM-DD */

/* Columns of the rows statements. */
#define AN_COL_DAY		0
#define AN_COL_PROVIDER		1
#define AN_COL_MODEL		2
#define AN_COL_SUMS		3	/* calls, ok, failed, pt, ct, tt, lat */
#define AN_NSUMS		7
#define AN_COL_EXTRA		10

enum an_view {
	AN_USAGE = 0,
	AN_TOKENS,
	AN_SYSTEM
};

struct an_sum {
	u_int64_t	calls;
	u_int64_t	ok;
	u_int64_t	failed;
	u_int64_t	prompt;
	u_int64_t	completion;
	u_int64_t	total;
	u_int64_t	ok_ms;
	pricing_pico	cost;
	int		unpriced;
};

struct an_key {
	char		provider[AN_PROVIDER_MAX];
	char		model[LLM_MAX_MODEL_LEN + 1];
	struct an_sum	s;
};

struct an_keys {
	struct an_key	*k;
	size_t		 n;
	size_t		 cap;
};

/* A period's rows summed: in total, per model, per provider, per day. */
struct an_tally {
	struct an_sum	 total;
	struct an_keys	 models;
	struct an_keys	 providers;
	struct kore_buf	 days;		/* the days' JSON objects */
	int		 ndays;
	const char	*extra;		/* the first row's last column */
};

static struct pricing_table	an_prices;

static int	an_usage(struct http_request *, struct rq *);
static int	an_tokens(struct http_request *, struct rq *);
static int	an_system(struct http_request *, struct rq *);
static int	an_activity(struct http_request *, struct rq *);
static int	an_period(struct http_request *, struct rq *, enum an_view,
		    const char *, int);
static int	an_days(struct http_request *, struct rq *, char [RQ_NUM]);
static int	an_answer(struct http_request *, struct rq *, enum an_view);
static void	an_tally(const struct dbq *, struct an_tally *);
static void	an_write(struct kore_buf *, enum an_view,
		    const struct an_tally *);
static void	an_row(const struct dbq *, int, struct an_sum *);
static void	an_add(struct an_sum *, const struct an_sum *);
static struct an_key *an_key(struct an_keys *, const char *,
		    const char *);
static void	an_sum_json(struct kore_buf *, const struct an_sum *);
static void	an_keys_json(struct kore_buf *, const char *,
		    const struct an_keys *, int);
static void	an_extra(struct kore_buf *, const char *);
static void	an_u64(struct kore_buf *, const char *, u_int64_t);

ROUTE(page_analytics_usage, "/api/v1/analytics/usage",
    { HTTP_METHOD_GET, an_usage, RQ_USER })
ROUTE(page_analytics_tokens, "/api/v1/analytics/tokens",
    { HTTP_METHOD_GET, an_tokens, RQ_USER })
ROUTE(page_analytics_activity, "/api/v1/analytics/activity",
    { HTTP_METHOD_GET, an_activity, RQ_USER })
ROUTE(page_analytics_system, "/api/v1/analytics/system",
    { HTTP_METHOD_GET, an_system, RQ_ADMIN })

/*
 * One row per (day, provider, model) with calls in the period, and one
 * row with NULL provider for each day without any, oldest first; the
 * first row's last column carries the view's other figures (x).  The
 * period's first day is p.d0, its first instant pt.t0.
 */
#define AN_ROWS(days, where, x)						\
    "WITH p AS (SELECT (now() AT TIME ZONE 'UTC')::date AS d1, "	\
    "(now() AT TIME ZONE 'UTC')::date - (" days "::int - 1) AS d0), "	\
    "pt AS (SELECT d0::timestamp AT TIME ZONE 'UTC' AS t0 FROM p), "	\
    "r AS (SELECT u.day, u.provider, u.model, sum(u.calls)::bigint c, "	\
    "sum(u.ok_calls)::bigint o, sum(u.failed_calls)::bigint f, "	\
    "sum(u.prompt_tokens)::bigint pt, sum(u.completion_tokens)::bigint "\
    "ct, sum(u.total_tokens)::bigint tt, sum(u.ok_latency_ms)::bigint l "\
    "FROM llm_usage_daily u, p WHERE u.day >= p.d0 AND u.day <= p.d1 "	\
    where " GROUP BY 1, 2, 3 HAVING sum(u.calls) > 0), "		\
    "g AS (SELECT d::date AS day FROM p, generate_series(p.d0::timestamp,"\
    " p.d1::timestamp, interval '1 day') d), "				\
    "x AS (" x ") "							\
    "SELECT to_char(g.day, 'YYYY-MM-DD'), r.provider, r.model, r.c, r.o, "\
    "r.f, r.pt, r.ct, r.tt, r.l, CASE WHEN row_number() OVER (ORDER BY "\
    "g.day, r.provider, r.model) = 1 THEN (SELECT x FROM x) END "	\
    "FROM g LEFT JOIN r ON r.day = g.day "				\
    "ORDER BY g.day, r.provider, r.model"

/* $1 user, $2 days, $3 the default daily quota. */
static const char sql_usage[] = AN_ROWS("$2", "AND u.user_id = $1",
    "SELECT json_build_object("
    "'period_start', rfc3339(pt.t0), "
    "'documents_uploaded', (SELECT count(*) FROM audit_events a "
    "WHERE a.user_id = $1 AND a.event = 'document_uploaded' AND "
    "a.created_at >= pt.t0), "
    "'documents_analyzed', (SELECT count(DISTINCT a.document_id) FROM "
    "document_analyses a WHERE a.user_id = $1 AND a.status = 'completed' "
    "AND a.created_at >= pt.t0), "
    "'workflows_executed', w.n, 'workflows_completed', w.c, "
    "'workflows_failed', w.f, 'workflows_cancelled', w.x, "
    "'quota_daily', q.quota, 'tokens_used_today', q.used, "
    "'quota_remaining', CASE WHEN q.quota = 0 THEN NULL ELSE "
    "greatest(q.quota - q.used, 0) END, "
    "'quota_resets_at', rfc3339((p.d1 + 1)::timestamp AT TIME ZONE 'UTC'))"
    " AS x FROM p, pt, "
    "(SELECT count(*) n, count(*) FILTER (WHERE e.status = 'completed') c,"
    " count(*) FILTER (WHERE e.status = 'failed') f, "
    "count(*) FILTER (WHERE e.status = 'cancelled') x "
    "FROM workflow_executions e WHERE e.user_id = $1 AND "
    "e.created_at >= (SELECT t0 FROM pt)) w, "
    "(SELECT coalesce(token_quota_daily, $3::bigint) AS quota, "
    "llm_tokens_today($1) AS used FROM users WHERE id = $1) q");

/* $1 user, $2 days. */
static const char sql_tokens[] = AN_ROWS("$2", "AND u.user_id = $1",
    "SELECT json_build_object('period_start', rfc3339(pt.t0)) AS x "
    "FROM pt WHERE $1::uuid IS NOT NULL");

/* $1 days. */
static const char sql_system[] = AN_ROWS("$1", "",
    "SELECT json_build_object("
    "'period_start', rfc3339(pt.t0), "
    "'documents_uploaded', (SELECT count(*) FROM audit_events a "
    "WHERE a.event = 'document_uploaded' AND a.created_at >= pt.t0), "
    "'documents_analyzed', (SELECT count(DISTINCT a.document_id) FROM "
    "document_analyses a WHERE a.status = 'completed' AND "
    "a.created_at >= pt.t0), "
    "'workflows_executed', w.n, 'workflows_completed', w.c, "
    "'workflows_failed', w.f, 'workflows_cancelled', w.x, "
    "'total_users', (SELECT count(*) FROM users WHERE deleted_at IS NULL), "
    "'new_users', (SELECT count(*) FROM users WHERE created_at >= pt.t0), "
    "'active_users', (SELECT count(*) FROM (SELECT u.user_id FROM "
    "llm_usage_daily u WHERE u.day >= p.d0 AND u.user_id IS NOT NULL "
    "UNION SELECT a.user_id FROM audit_events a WHERE "
    "a.event = 'document_uploaded' AND a.created_at >= pt.t0 "
    "UNION SELECT e.user_id FROM workflow_executions e WHERE "
    "e.created_at >= pt.t0) au), "
    "'top_users', (SELECT coalesce(json_agg(json_build_object("
    "'user_id', t.user_id, 'email', us.email, 'total_tokens', t.tt, "
    "'total_queries', t.c) ORDER BY t.tt DESC, t.user_id), '[]'::json) "
    "FROM (SELECT u.user_id, sum(u.total_tokens) tt, sum(u.calls) c "
    "FROM llm_usage_daily u WHERE u.day >= p.d0 AND u.user_id IS NOT NULL "
    "GROUP BY u.user_id HAVING sum(u.calls) > 0 "
    "ORDER BY 2 DESC, 1 LIMIT 10) t JOIN users us ON us.id = t.user_id)) "
    "AS x FROM p, pt, "
    "(SELECT count(*) n, count(*) FILTER (WHERE e.status = 'completed') c,"
    " count(*) FILTER (WHERE e.status = 'failed') f, "
    "count(*) FILTER (WHERE e.status = 'cancelled') x "
    "FROM workflow_executions e WHERE "
    "e.created_at >= (SELECT t0 FROM pt)) w");

/*
 * $1 user, $2 limit, $3 offset.  Each kind of activity is read newest
 * first from its own index, at most limit + offset rows each, then
 * merged.  Durations: a chat call's latency; an upload's processing
 * (created to processed_at); an analysis's queueing and run; a workflow
 * run from start to end.
 */
static const char sql_activity[] =
    "WITH c AS (SELECT l.created_at AS at, json_build_object("
    "'type', 'chat', 'id', coalesce(l.message_id::text, l.id::text), "
    "'conversation_id', l.conversation_id, "
    "'status', CASE WHEN l.status = 'ok' THEN 'completed' ELSE 'failed' "
    "END, 'duration_ms', l.latency_ms, 'provider', l.provider, "
    "'model', l.model, 'total_tokens', l.total_tokens, "
    "'error_code', l.error_code, 'created_at', rfc3339(l.created_at)) j "
    "FROM llm_calls l WHERE l.user_id = $1 AND l.kind = 'chat' "
    "ORDER BY l.created_at DESC, l.id DESC LIMIT $2::int + $3::int), "
    "d AS (SELECT d.created_at AS at, json_build_object("
    "'type', 'upload', 'id', d.id, 'title', d.original_filename, "
    "'status', d.processing_status, 'duration_ms', "
    "(extract(epoch FROM d.processed_at - d.created_at) * 1000)::bigint, "
    "'file_size', d.file_size, 'created_at', rfc3339(d.created_at)) j "
    "FROM documents d WHERE d.user_id = $1 "
    "ORDER BY d.created_at DESC LIMIT $2::int + $3::int), "
    "a AS (SELECT a.created_at AS at, json_build_object("
    "'type', 'analysis', 'id', a.id, 'document_id', a.document_id, "
    "'title', a.analysis_type, 'status', a.status, 'duration_ms', "
    "(extract(epoch FROM a.completed_at - a.created_at) * 1000)::bigint, "
    "'model', a.model_used, 'total_tokens', a.total_tokens, "
    "'created_at', rfc3339(a.created_at)) j "
    "FROM document_analyses a WHERE a.user_id = $1 "
    "ORDER BY a.created_at DESC LIMIT $2::int + $3::int), "
    "w AS (SELECT e.created_at AS at, json_build_object("
    "'type', 'workflow', 'id', e.id, 'title', e.template, "
    "'status', e.status, 'duration_ms', (extract(epoch FROM "
    "e.completed_at - coalesce(e.started_at, e.created_at)) * 1000)"
    "::bigint, 'error_message', e.error_message, "
    "'created_at', rfc3339(e.created_at)) j "
    "FROM workflow_executions e WHERE e.user_id = $1 "
    "ORDER BY e.created_at DESC, e.id DESC LIMIT $2::int + $3::int), "
    "m AS (SELECT * FROM c UNION ALL SELECT * FROM d UNION ALL "
    "SELECT * FROM a UNION ALL SELECT * FROM w) "
    "SELECT json_build_object('items', coalesce((SELECT json_agg(s.j "
    "ORDER BY s.at DESC) FROM (SELECT * FROM m ORDER BY at DESC "
    "LIMIT $2::int OFFSET $3::int) s), '[]'::json), "
    "'total', (SELECT coalesce(sum(calls), 0) FROM llm_usage_daily "
    "WHERE user_id = $1 AND kind = 'chat') + "
    "(SELECT count(*) FROM documents WHERE user_id = $1) + "
    "(SELECT count(*) FROM document_analyses WHERE user_id = $1) + "
    "(SELECT count(*) FROM workflow_executions WHERE user_id = $1), "
    "'limit', $2::int, 'offset', $3::int)";

void
analytics_init(void)
{
	enum pricing_err	err;
	size_t			at;

	if ((err = pricing_parse(cfg.ai_price_table, &an_prices, &at)) !=
	    PRICING_OK) {
		fprintf(stderr, "elenchus: AI_PRICE_TABLE: %s (at offset "
		    "%zu)\n", pricing_err_str(err), at);
		exit(1);
	}
}

static int
an_usage(struct http_request *req, struct rq *rq)
{
	return (an_period(req, rq, AN_USAGE, sql_usage, 3));
}

static int
an_tokens(struct http_request *req, struct rq *rq)
{
	return (an_period(req, rq, AN_TOKENS, sql_tokens, 2));
}

static int
an_system(struct http_request *req, struct rq *rq)
{
	return (an_period(req, rq, AN_SYSTEM, sql_system, 1));
}

static int
an_period(struct http_request *req, struct rq *rq, enum an_view view,
    const char *sql, int nparams)
{
	const char	*params[3];
	char		 days[RQ_NUM], quota[RQ_NUM];
	int		 r;

	if (rq->step == 0) {
		if (!an_days(req, rq, days))
			return (KORE_RESULT_OK);
		(void)snprintf(quota, sizeof(quota), "%d",
		    cfg.default_daily_token_quota);
		if (view == AN_SYSTEM) {
			params[0] = days;
		} else {
			params[0] = rq->user.id;
			params[1] = days;
			params[2] = quota;
		}
		db_start(req, &rq->q, sql, nparams, params);
		rq->step = 1;
	}
	if ((r = db_poll(req, &rq->q)) == DB_WAIT)
		return (KORE_RESULT_RETRY);
	if (r == DB_FAIL)
		return (rq_db_error(req, rq));
	return (an_answer(req, rq, view));
}

/*
 * ?days= (1–90 by its validator, v_days; default 7); when a field was
 * refused the 400 is sent and 0 back.
 */
static int
an_days(struct http_request *req, struct rq *rq, char out[RQ_NUM])
{
	const char	*s;

	if (!q_valid(req, rq))
		return (0);
	if ((s = q_get(req, "days")) != NULL)
		(void)snprintf(out, RQ_NUM, "%d", (int)strtol(s, NULL, 10));
	else
		(void)snprintf(out, RQ_NUM, "%d", AN_DAYS_DEFAULT);
	return (1);
}

/*
 * Price every row, sum it into its day, its model and its provider
 * (an_tally), and write the view (an_write).
 */
static int
an_answer(struct http_request *req, struct rq *rq, enum an_view view)
{
	struct an_tally	 t;
	struct kore_buf	 b;
	int		 rc;

	memset(&t, 0, sizeof(t));
	kore_buf_init(&t.days, 4096);
	kore_buf_init(&b, 4096);
	an_tally(&rq->q, &t);
	an_write(&b, view, &t);
	rc = rq_ok_raw(req, rq, 200, view == AN_TOKENS ? "Tokens per day" :
	    view == AN_SYSTEM ? "System usage" : "Usage", (const char *)b.data,
	    b.offset);
	kore_buf_cleanup(&b);
	kore_buf_cleanup(&t.days);
	kore_free(t.models.k);
	kore_free(t.providers.k);
	return (rc);
}

/* Sum the rows; each day's sums are written to t->days as it closes. */
static void
an_tally(const struct dbq *q, struct an_tally *t)
{
	struct an_sum	 day, row;
	struct an_key	*k;
	const char	*d, *prov, *model;
	char		 cur[AN_DAY_LEN + 1];
	int		 i, n;

	memset(&day, 0, sizeof(day));
	cur[0] = '\0';
	n = db_rows(q);
	for (i = 0; i <= n; i++) {
		d = i < n ? db_val(q, i, AN_COL_DAY) : NULL;
		if (cur[0] != '\0' && (d == NULL || strcmp(d, cur))) {
			kore_buf_appendf(&t->days, "%s{\"date\":\"%s\",",
			    t->ndays++ ? "," : "", cur);
			an_sum_json(&t->days, &day);
			kore_buf_append(&t->days, "}", 1);
			memset(&day, 0, sizeof(day));
		}
		if (d == NULL)
			break;
		(void)kore_strlcpy(cur, d, sizeof(cur));
		if (i == 0)
			t->extra = db_val(q, 0, AN_COL_EXTRA);
		if ((prov = db_val(q, i, AN_COL_PROVIDER)) == NULL)
			continue;
		model = db_val(q, i, AN_COL_MODEL);
		an_row(q, i, &row);
		row.cost = pricing_cost(pricing_find(&an_prices, model),
		    row.prompt, row.completion);
		row.unpriced = pricing_find(&an_prices, model) == NULL;
		an_add(&day, &row);
		an_add(&t->total, &row);
		k = an_key(&t->models, prov, model);
		an_add(&k->s, &row);
		k = an_key(&t->providers, prov, "");
		an_add(&k->s, &row);
	}
}

/* The view's JSON object from the tally. */
static void
an_write(struct kore_buf *b, enum an_view view, const struct an_tally *t)
{
	kore_buf_appendf(b, "{\"period_days\":%d,", t->ndays);
	if (view == AN_TOKENS) {
		kore_buf_append(b, "\"items\":[", 9);
		kore_buf_append(b, t->days.data, t->days.offset);
		kore_buf_append(b, "],\"totals\":{", 12);
		an_sum_json(b, &t->total);
		kore_buf_append(b, "}", 1);
	} else {
		an_sum_json(b, &t->total);
		an_keys_json(b, "models", &t->models, 1);
		if (view == AN_SYSTEM)
			an_keys_json(b, "providers", &t->providers, 0);
	}
	an_extra(b, t->extra);
	kore_buf_append(b, "}", 1);
}

static void
an_row(const struct dbq *q, int i, struct an_sum *s)
{
	u_int64_t	v[AN_NSUMS];
	const char	*t;
	int		j;

	for (j = 0; j < AN_NSUMS; j++) {
		t = db_val(q, i, AN_COL_SUMS + j);
		v[j] = t != NULL ? strtoull(t, NULL, 10) : 0;
	}
	memset(s, 0, sizeof(*s));
	s->calls = v[0];
	s->ok = v[1];
	s->failed = v[2];
	s->prompt = v[3];
	s->completion = v[4];
	s->total = v[5];
	s->ok_ms = v[6];
}

static void
an_add(struct an_sum *to, const struct an_sum *s)
{
	to->calls += s->calls;
	to->ok += s->ok;
	to->failed += s->failed;
	to->prompt += s->prompt;
	to->completion += s->completion;
	to->total += s->total;
	to->ok_ms += s->ok_ms;
	to->cost += s->cost;
	to->unpriced |= s->unpriced;
}

static struct an_key *
an_key(struct an_keys *ks, const char *provider, const char *model)
{
	size_t		i;

	for (i = 0; i < ks->n; i++) {
		if (!strcmp(ks->k[i].provider, provider) &&
		    !strcmp(ks->k[i].model, model))
			return (&ks->k[i]);
	}
	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? ks->cap * 2 : 8;
		ks->k = kore_realloc(ks->k, ks->cap * sizeof(*ks->k));
	}
	memset(&ks->k[ks->n], 0, sizeof(ks->k[ks->n]));
	(void)kore_strlcpy(ks->k[ks->n].provider, provider,
	    sizeof(ks->k[ks->n].provider));
	(void)kore_strlcpy(ks->k[ks->n].model, model,
	    sizeof(ks->k[ks->n].model));
	return (&ks->k[ks->n++]);
}

/* The figures of a sum, as members of an object being written. */
static void
an_sum_json(struct kore_buf *b, const struct an_sum *s)
{
	char		cost[PRICING_COST_STRLEN];

	an_u64(b, "total_queries", s->calls);
	an_u64(b, "successful_queries", s->ok);
	an_u64(b, "failed_queries", s->failed);
	an_u64(b, "prompt_tokens", s->prompt);
	an_u64(b, "completion_tokens", s->completion);
	an_u64(b, "total_tokens", s->total);
	kore_buf_appendf(b, "\"avg_response_time_ms\":%.1f,",
	    s->ok ? (double)s->ok_ms / (double)s->ok : 0.0);
	pricing_format(s->cost, cost);
	kore_buf_appendf(b, "\"estimated_cost_usd\":%s", cost);
}

/*
 * ,"name":[{provider, model, ...sums, priced}] or, without models, the
 * providers with their error rate.
 */
static void
an_keys_json(struct kore_buf *b, const char *name, const struct an_keys *ks,
    int models)
{
	const struct an_key	*k;
	size_t			 i;

	kore_buf_appendf(b, ",\"%s\":[", name);
	for (i = 0; i < ks->n; i++) {
		k = &ks->k[i];
		kore_buf_appendf(b, "%s{\"provider\":", i ? "," : "");
		rq_buf_strz(b, k->provider);
		kore_buf_append(b, ",", 1);
		if (models) {
			kore_buf_append(b, "\"model\":", 8);
			rq_buf_strz(b, k->model);
			kore_buf_appendf(b, ",\"priced\":%s,",
			    k->s.unpriced ? "false" : "true");
		} else {
			kore_buf_appendf(b, "\"error_rate\":%.4f,",
			    k->s.calls ? (double)k->s.failed /
			    (double)k->s.calls : 0.0);
		}
		an_sum_json(b, &k->s);
		kore_buf_append(b, "}", 1);
	}
	kore_buf_append(b, "]", 1);
}

/* The members of the statement's JSON object, after those written. */
static void
an_extra(struct kore_buf *b, const char *x)
{
	size_t		len;

	if (x == NULL || (len = strlen(x)) < 2 || x[0] != '{' ||
	    x[len - 1] != '}' || len == 2)
		return;
	kore_buf_append(b, ",", 1);
	kore_buf_append(b, x + 1, len - 2);
}

static void
an_u64(struct kore_buf *b, const char *name, u_int64_t v)
{
	kore_buf_appendf(b, "\"%s\":%" PRIu64 ",", name, (uint64_t)v);
}

static int
an_activity(struct http_request *req, struct rq *rq)
{
	return (q_user_page(req, rq, sql_activity, "Recent activity"));
}
