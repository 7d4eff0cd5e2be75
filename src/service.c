/*
 * Service endpoints (docs/API.md §9): index, health, liveness, readiness,
 * detailed health, metrics, feature flags, the OpenAPI document, /docs,
 * and the 404 for every path no route claims.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rq.h"
#include "metrics.h"
#include "circuit.h"
#include "service.h"
#include "lib/feature.h"

#define ASSET_MAX		(8 * 1024 * 1024)
#define ASSETS_MAX		16
#define DOCS_CSP							\
	"default-src 'self'; img-src 'self' data:; "			\
	"style-src 'self' 'unsafe-inline'; script-src 'self'; "		\
	"frame-ancestors 'none'"

struct asset {
	char		name[64];
	const char	*ctype;
	u_int8_t	*data;
	size_t		len;
};

static struct asset	assets[ASSETS_MAX];
static int		nassets;
static time_t		started;

static const char sql_ping[] = "SELECT 1";
static const char sql_ready[] =
    "SELECT coalesce(max(version), '') FROM schema_migrations";
/*
 * Per kind: queued, running, and the age of the oldest queued job that
 * is due ('q' rows, from the jobs_ready partial index); job outcomes
 * ('o' rows: kind, outcome, count, from job_outcome_totals); and one 'w'
 * row: workflow executions by template and status, as lines of
 * "template status count" (metrics_render_workflows).
 */
static const char sql_queue[] =
    "SELECT 'q', kind, (count(*) FILTER (WHERE status = 'queued'))::text, "
    "(count(*) FILTER (WHERE status = 'running'))::text, "
    "coalesce(round(extract(epoch FROM now() - min(run_after) FILTER "
    "(WHERE status = 'queued' AND run_after <= now()))::numeric, 3), 0)"
    "::text FROM jobs WHERE status IN ('queued', 'running') GROUP BY kind "
    "UNION ALL SELECT 'o', kind, outcome, n::text, NULL "
    "FROM job_outcome_totals "
    "UNION ALL SELECT 'w', NULL, NULL, NULL, (SELECT string_agg(template "
    "|| ' ' || status || ' ' || n, E'\\n' ORDER BY template, status) "
    "FROM (SELECT template, status, count(*) AS n FROM "
    "workflow_executions GROUP BY 1, 2) w)";

static int	svc_index(struct http_request *, struct rq *);
static void	svc_metrics_jobs(struct kore_buf *, const struct dbq *);
static int	svc_label_ok(const char *);
static int	svc_health(struct http_request *, struct rq *);
static int	svc_health_db(struct http_request *, struct rq *);
static int	svc_live(struct http_request *, struct rq *);
static int	svc_ready(struct http_request *, struct rq *);
static int	svc_detailed(struct http_request *, struct rq *);
static int	svc_metrics(struct http_request *, struct rq *);
static int	svc_features(struct http_request *, struct rq *);
static int	svc_openapi(struct http_request *, struct rq *);
static int	svc_docs(struct http_request *, struct rq *);
static int	svc_docs_asset(struct http_request *, struct rq *);
static int	svc_notfound(struct http_request *, struct rq *);
static int	svc_asset(struct http_request *, struct rq *, const char *);
static void	asset_load(const char *, const char *, const char *);

ROUTE(page_index, "/", { HTTP_METHOD_GET, svc_index, RQ_PUBLIC })
ROUTE(page_health, "/health", { HTTP_METHOD_GET, svc_health, RQ_PUBLIC })
ROUTE(page_api_health, "/api/v1/health",
    { HTTP_METHOD_GET, svc_health, RQ_PUBLIC })
ROUTE(page_health_db, "/health/db",
    { HTTP_METHOD_GET, svc_health_db, RQ_PUBLIC })
ROUTE(page_live, "/live", { HTTP_METHOD_GET, svc_live, RQ_PUBLIC })
ROUTE(page_ready, "/ready", { HTTP_METHOD_GET, svc_ready, RQ_PUBLIC })
ROUTE(page_health_detailed, "/api/v1/health/detailed",
    { HTTP_METHOD_GET, svc_detailed, RQ_PUBLIC })
ROUTE(page_metrics, "/metrics", { HTTP_METHOD_GET, svc_metrics, RQ_PUBLIC })
ROUTE(page_features, "/api/v1/features",
    { HTTP_METHOD_GET, svc_features, RQ_PUBLIC })
ROUTE(page_openapi, "/openapi.json",
    { HTTP_METHOD_GET, svc_openapi, RQ_PUBLIC })
ROUTE(page_docs, "/docs", { HTTP_METHOD_GET, svc_docs, RQ_PUBLIC })
ROUTE(page_docs_asset, "/docs/{file}",
    { HTTP_METHOD_GET, svc_docs_asset, RQ_PUBLIC })
ROUTE(page_notfound, "unmatched",
    { HTTP_METHOD_GET, svc_notfound, RQ_PUBLIC },
    { HTTP_METHOD_POST, svc_notfound, RQ_PUBLIC },
    { HTTP_METHOD_PUT, svc_notfound, RQ_PUBLIC },
    { HTTP_METHOD_PATCH, svc_notfound, RQ_PUBLIC },
    { HTTP_METHOD_DELETE, svc_notfound, RQ_PUBLIC })

void
service_init(void)
{
	started = time(NULL);
	asset_load("openapi.json", "build/openapi.json",
	    "application/json; charset=utf-8");
	asset_load("docs.html", "assets/docs.html",
	    "text/html; charset=utf-8");
	asset_load("init.js", "assets/docs-init.js",
	    "application/javascript; charset=utf-8");
	asset_load("swagger-ui.css", "build/swagger-ui/swagger-ui.css",
	    "text/css; charset=utf-8");
	asset_load("swagger-ui-bundle.js",
	    "build/swagger-ui/swagger-ui-bundle.js",
	    "application/javascript; charset=utf-8");
	asset_load("favicon-32x32.png", "build/swagger-ui/favicon-32x32.png",
	    "image/png");
}

static int
svc_index(struct http_request *req, struct rq *rq)
{
	json_t		*d;

	d = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}",
	    "name", "Elenchus", "version", cfg.version,
	    "description", "Legal-AI assistant API",
	    "links", "docs", "/docs", "openapi", "/openapi.json",
	    "health", "/health", "ready", "/ready", "api", "/api/v1");
	return (rq_ok(req, rq, 200, "Elenchus API", d));
}

/* Written directly: the probe every load balancer sends, often. */
static int
svc_health(struct http_request *req, struct rq *rq)
{
	struct kore_buf	buf;

	rq_ok_begin(&buf, "Service is healthy", 96);
	RQ_LIT(&buf, "{\"status\":\"ok\",\"service\":\"elenchus\","
	    "\"version\":");
	rq_buf_strz(&buf, cfg.version);
	kore_buf_appendf(&buf, ",\"uptime_s\":%lld}",
	    (long long)(time(NULL) - started));
	return (rq_ok_end(req, rq, 200, &buf));
}

static int
svc_live(struct http_request *req, struct rq *rq)
{
	return (rq_ok(req, rq, 200, "alive",
	    json_pack("{s:s}", "status", "alive")));
}

/* Run one query for the request: DB_WAIT, DB_OK or DB_FAIL. */
static int
svc_query(struct http_request *req, struct rq *rq, const char *sql)
{
	if (rq->step == 0) {
		rq->step = 1;
		db_start(req, &rq->q, sql, 0, NULL);
	}
	return (db_poll(req, &rq->q));
}

static int
svc_health_db(struct http_request *req, struct rq *rq)
{
	double		ms;
	int		r;

	if ((r = svc_query(req, rq, sql_ping)) == DB_WAIT)
		return (KORE_RESULT_RETRY);
	ms = (double)(rq_now_us() - rq->start_us) / 1000.0;
	if (r == DB_FAIL) {
		return (rq_error(req, rq, 503, "db_unavailable",
		    "The database is unavailable",
		    json_pack("{s:s}", "database", "down")));
	}
	return (rq_ok(req, rq, 200, "Database is reachable",
	    json_pack("{s:s, s:f}", "status", "ok", "latency_ms", ms)));
}

static int
svc_ready(struct http_request *req, struct rq *rq)
{
	const char	*v;
	int		r;

	if ((r = svc_query(req, rq, sql_ready)) == DB_WAIT)
		return (KORE_RESULT_RETRY);
	if (r == DB_FAIL) {
		return (rq_error(req, rq, 503, "db_unavailable",
		    "Not ready: the database is unavailable", NULL));
	}
	v = db_val(&rq->q, 0, 0);
	if (v == NULL || strcmp(v, SCHEMA_VERSION) < 0) {
		return (rq_error(req, rq, 503, "db_unavailable",
		    "Not ready: migrations are not current",
		    json_pack("{s:s, s:s}", "schema", v ? v : "",
		    "expected", SCHEMA_VERSION)));
	}
	return (rq_ok(req, rq, 200, "ready", json_pack("{s:s, s:s}",
	    "status", "ready", "schema", v)));
}

static int
svc_detailed(struct http_request *req, struct rq *rq)
{
	json_t		*d;
	double		ms;
	int		r, dbok, aiok, smsok;

	if ((r = svc_query(req, rq, sql_ping)) == DB_WAIT)
		return (KORE_RESULT_RETRY);
	ms = (double)(rq_now_us() - rq->start_us) / 1000.0;
	dbok = r == DB_OK;
	aiok = config_ai_configured(&cfg, cfg.ai_provider);
	smsok = !strcmp(cfg.sms_provider, "console") ||
	    (cfg.twilio_account_sid[0] && cfg.twilio_auth_token[0] &&
	    cfg.twilio_from[0]);

	d = json_pack("{s:s, s:s, s:{s:s, s:f}, s:{s:s, s:s, s:b}, "
	    "s:{s:s, s:b}, s:I}",
	    "status", dbok ? "ok" : "degraded", "version", cfg.version,
	    "database", "status", dbok ? "ok" : "down", "latency_ms", ms,
	    "ai_service", "status", aiok ? "configured" : "not_configured",
	    "provider", cfg.ai_provider, "configured", aiok,
	    "sms", "provider", cfg.sms_provider, "configured", smsok,
	    "uptime_s", (json_int_t)(time(NULL) - started));
	(void)json_object_set_new(d, "circuits", circuit_json());
	return (rq_ok(req, rq, 200, dbok ? "All systems operational" :
	    "Degraded", d));
}

static int
svc_metrics(struct http_request *req, struct rq *rq)
{
	struct kore_buf	buf;
	const char	*v, *wf;
	long		depth;
	int		i, r;

	if ((r = svc_query(req, rq, sql_queue)) == DB_WAIT)
		return (KORE_RESULT_RETRY);
	depth = -1;
	if (r == DB_OK) {
		depth = 0;
		for (i = 0; i < db_rows(&rq->q); i++) {
			if ((v = db_val(&rq->q, i, 0)) == NULL || *v != 'q')
				continue;
			depth += strtol(db_val(&rq->q, i, 2), NULL, 10) +
			    strtol(db_val(&rq->q, i, 3), NULL, 10);
		}
	}

	kore_buf_init(&buf, 16384);
	metrics_render(&buf, depth);
	circuit_render(&buf);
	wf = NULL;
	for (i = 0; r == DB_OK && i < db_rows(&rq->q); i++) {
		if ((v = db_val(&rq->q, i, 0)) != NULL && *v == 'w')
			wf = db_val(&rq->q, i, 4);
	}
	metrics_render_workflows(&buf, wf);
	if (r == DB_OK)
		svc_metrics_jobs(&buf, &rq->q);
	r = rq_send(req, rq, 200, "text/plain; version=0.0.4; charset=utf-8",
	    buf.data, buf.offset);
	kore_buf_cleanup(&buf);
	return (r);
}

/* The job metrics of sql_queue's rows. */
static void
svc_metrics_jobs(struct kore_buf *b, const struct dbq *q)
{
	static const struct {
		char		 type;
		int		 col;
		const char	*name, *help, *kind;
	} m[] = {
		{ 'q', 2, "elenchus_jobs_queued", "Jobs waiting, by kind.",
		    "gauge" },
		{ 'q', 3, "elenchus_jobs_running", "Jobs running, by kind.",
		    "gauge" },
		{ 'q', 4, "elenchus_job_oldest_pending_seconds", "Age of the "
		    "oldest job that is due and not yet claimed, by kind.",
		    "gauge" },
		{ 'o', 2, "elenchus_job_outcomes_total", "Job runs by kind and "
		    "outcome (done, retry, failed, released, lost).",
		    "counter" },
	};
	const char	*t, *kind;
	size_t		 j;
	int		 i;

	for (j = 0; j < sizeof(m) / sizeof(m[0]); j++) {
		kore_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", m[j].name,
		    m[j].help, m[j].name, m[j].kind);
		for (i = 0; i < db_rows(q); i++) {
			t = db_val(q, i, 0);
			kind = db_val(q, i, 1);
			if (t == NULL || *t != m[j].type || kind == NULL ||
			    !svc_label_ok(kind))
				continue;
			if (m[j].type == 'o') {
				if (!svc_label_ok(db_val(q, i, 2)))
					continue;
				kore_buf_appendf(b, "%s{kind=\"%s\",outcome="
				    "\"%s\"} %s\n", m[j].name, kind,
				    db_val(q, i, 2), db_val(q, i, 3));
			} else {
				kore_buf_appendf(b, "%s{kind=\"%s\"} %s\n",
				    m[j].name, kind, db_val(q, i, m[j].col));
			}
		}
	}
}

/* A label value we write as is: [A-Za-z0-9_.-], 1-64 bytes. */
static int
svc_label_ok(const char *s)
{
	size_t		n;

	if (s == NULL)
		return (0);
	for (n = 0; s[n] != '\0'; n++) {
		if (n >= 64 || !(isalnum((unsigned char)s[n]) ||
		    s[n] == '_' || s[n] == '.' || s[n] == '-'))
			return (0);
	}
	return (n > 0);
}

/*
 * What this server really serves: a feature is true when its toggle is
 * on, kore.conf routes to it, and (for the AI features) a provider is
 * configured.  "toggles" shows each FEATURE_* variable as configured.
 */
static int
svc_features(struct http_request *req, struct rq *rq)
{
	json_t		*d, *t;
	unsigned int	 on;
	int		 ai, f;

	on = cfg.features & rq_features_served();
	ai = config_ai_configured(&cfg, cfg.ai_provider);
#define ON(f)	((on & FEATURE_BIT(f)) != 0)
	d = json_pack("{s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:b, s:s, "
	    "s:s, s:b, s:I, s:I}",
	    "registration", ON(FEATURE_REGISTRATION),
	    "todos", ON(FEATURE_TODOS),
	    "chat", ON(FEATURE_CHAT) && ai,
	    "chat_streaming", ON(FEATURE_CHAT) && ai,
	    "documents", ON(FEATURE_DOCUMENTS),
	    "document_analysis", ON(FEATURE_DOCUMENTS) && ai,
	    "workflows", ON(FEATURE_WORKFLOWS),
	    "analytics", ON(FEATURE_ANALYTICS),
	    "phone_verification", ON(FEATURE_PHONE_VERIFICATION),
	    "ai_provider", cfg.ai_provider,
	    "sms_provider", cfg.sms_provider,
	    "token_quotas", cfg.default_daily_token_quota > 0,
	    "max_upload_bytes", (json_int_t)cfg.max_upload_bytes,
	    "default_daily_token_quota",
	    (json_int_t)cfg.default_daily_token_quota);
#undef ON
	t = json_object();
	for (f = 0; f < FEATURE_COUNT; f++) {
		(void)json_object_set_new(t, feature_env(f), json_string(
		    (cfg.features & FEATURE_BIT(f)) ? "on" : "off"));
	}
	(void)json_object_set_new(d, "toggles", t);
	return (rq_ok(req, rq, 200, "Feature flags", d));
}

static int
svc_openapi(struct http_request *req, struct rq *rq)
{
	return (svc_asset(req, rq, "openapi.json"));
}

static int
svc_docs(struct http_request *req, struct rq *rq)
{
	rq->csp = DOCS_CSP;
	return (svc_asset(req, rq, "docs.html"));
}

static int
svc_docs_asset(struct http_request *req, struct rq *rq)
{
	rq->csp = DOCS_CSP;
	/* kore.conf's pattern allows only [A-Za-z0-9_.-] after /docs/. */
	return (svc_asset(req, rq, req->path + strlen("/docs/")));
}

static int
svc_notfound(struct http_request *req, struct rq *rq)
{
	return (rq_error(req, rq, 404, "not_found", "No such endpoint",
	    NULL));
}

static int
svc_asset(struct http_request *req, struct rq *rq, const char *name)
{
	int		i;

	for (i = 0; i < nassets; i++) {
		if (!strcmp(assets[i].name, name)) {
			http_response_header(req, "cache-control",
			    "public, max-age=300");
			return (rq_send(req, rq, 200, assets[i].ctype,
			    assets[i].data, assets[i].len));
		}
	}
	return (rq_not_found(req, rq));
}

static void
asset_load(const char *name, const char *path, const char *ctype)
{
	struct asset	*a;
	struct stat	st;
	ssize_t		r;
	size_t		off;
	int		fd;

	if (nassets >= ASSETS_MAX)
		fatal("too many assets");
	if ((fd = open(path, O_RDONLY)) == -1) {
		kore_log(LOG_WARNING, "asset %s: %s", path, errno_s);
		return;
	}
	if (fstat(fd, &st) == -1 || st.st_size > ASSET_MAX) {
		(void)close(fd);
		kore_log(LOG_WARNING, "asset %s: unusable", path);
		return;
	}
	a = &assets[nassets];
	a->data = kore_malloc((size_t)st.st_size + 1);
	for (off = 0; off < (size_t)st.st_size; off += (size_t)r) {
		r = read(fd, a->data + off, (size_t)st.st_size - off);
		if (r <= 0)
			break;
	}
	(void)close(fd);
	a->len = off;
	a->ctype = ctype;
	(void)kore_strlcpy(a->name, name, sizeof(a->name));
	nassets++;
}
