/*
 * GET /api/v1/users/me/export: the caller's data of every kind and
 * nothing of another user's, as valid JSON through the TLS front; the
 * rate limit; 401 without a token; a 100,000-message export streamed by a
 * worker whose memory stays flat while the client reads slowly, with the
 * body the database says it must be; and clients that drop the
 * connection mid-export, after which the worker holds no request, no
 * database connection and no memory of them.
 *
 * Data is written with SQL (DATABASE_URL): fast, and every kind at once.
 */
#define _GNU_SOURCE

#include <dirent.h>
#include <pthread.h>

#include <curl/curl.h>

#include "fixture.h"

#define EX_PATH			"/api/v1/users/me/export"
#define EX_BIG_MESSAGES		100000
#define EX_DROP_MESSAGES	30000	/* far more than socket buffers hold */
#define EX_BIG_CONVS		4
#define EX_RSS_MAX_KB		(20 * 1024)	/* growth allowed */
#define EX_PAUSE_AFTER		(256 * 1024)	/* bytes, then the client naps */
#define EX_PAUSE_US		8000000
#define EX_WORKERS_MAX		16

/* A download on its own thread, the main thread sampling memory. */
struct ex_dl {
	const char	*base;
	const char	*token;
	size_t		 abort_after;	/* 0: read it all */
	int		 pause;		/* nap once after EX_PAUSE_AFTER */
	int		 paused;
	char		*body;
	size_t		 len, cap;
	long		 status;
	CURLcode	 rc;
	volatile int	 done;
};

/* Run sql with text parameters (NULL ends); the first value, or NULL. */
static char *
ex_sql(PGconn *db, const char *sql, ...)
{
	const char	*p[8];
	PGresult	*res;
	va_list		 ap;
	char		*v;
	int		 n;

	va_start(ap, sql);
	for (n = 0; n < 8 && (p[n] = va_arg(ap, const char *)) != NULL; n++)
		;
	va_end(ap);
	res = PQexecParams(db, sql, n, NULL, p, NULL, NULL, 0);
	cr_assert(PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
	    PQresultErrorMessage(res));
	v = NULL;
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 &&
	    !PQgetisnull(res, 0, 0))
		v = strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return (v);
}

static struct resp *
ex_get(const char *base, const char *token)
{
	const char	*hdrs[2];
	char		 auth[4200];

	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	hdrs[0] = auth;
	hdrs[1] = NULL;
	return (http_req_to(base, "GET", EX_PATH, hdrs, NULL, 0));
}

/*
 * One user's data of every kind, each piece carrying tag: todos, a live
 * and a soft-deleted conversation (nmsg messages in the first), a
 * document whose text (with quotes, backslashes, newlines, a control
 * character and non-ASCII) spans several slices, an analysis, a workflow
 * run with its steps.
 */
static void
ex_seed(PGconn *db, const char *uid, const char *tag, const char *nmsg)
{
	(void)ex_sql(db, "INSERT INTO todos (user_id, title, description) "
	    "SELECT $1, 'todo-' || $2 || '-' || g, 'about ' || $2 "
	    "FROM generate_series(1, 3) g", uid, tag, NULL);
	(void)ex_sql(db, "WITH c AS (INSERT INTO conversations (user_id, "
	    "title) VALUES ($1, 'conv-' || $2) RETURNING id) "
	    "INSERT INTO messages (conversation_id, user_id, role, content) "
	    "SELECT c.id, $1, CASE WHEN g % 2 = 0 THEN 'assistant' ELSE "
	    "'user' END, 'msg-' || $2 || '-' || g FROM c, "
	    "generate_series(1, $3::int) g ORDER BY g", uid, tag, nmsg, NULL);
	(void)ex_sql(db, "INSERT INTO conversations (user_id, title, "
	    "deleted_at) VALUES ($1, 'gone-' || $2, now())", uid, tag, NULL);
	(void)ex_sql(db, "WITH d AS (INSERT INTO documents (user_id, "
	    "filename, original_filename, file_type, mime_type, file_size, "
	    "content_hash, processing_status, content) VALUES ($1, "
	    "'doc-' || $2 || '.txt', 'doc-' || $2 || '.txt', 'txt', "
	    "'text/plain', 10, md5($2), 'completed', 'text-' || $2 || ': ' || "
	    "repeat(E'Ünïcödé \"quoted\" back\\\\slash\\nline\\ttab' || "
	    "chr(1) || ' € ', 12000) || ' end-' || $2) RETURNING id) "
	    "INSERT INTO document_analyses (document_id, user_id, "
	    "analysis_type, status, result) SELECT d.id, $1, 'summary', "
	    "'completed', jsonb_build_object('summary', 'analysis-' || $2) "
	    "FROM d", uid, tag, NULL);
	(void)ex_sql(db, "WITH e AS (INSERT INTO workflow_executions "
	    "(user_id, template, status, total_steps, input) VALUES ($1, "
	    "'contract_review', 'completed', 2, jsonb_build_object('note', "
	    "'run-' || $2)) RETURNING id) INSERT INTO workflow_steps "
	    "(execution_id, step_index, name, status, output) SELECT e.id, s, "
	    "'step', 'completed', 'step-output-' || $2 || '-' || s FROM e, "
	    "generate_series(0, 1) s", uid, tag, NULL);
}

static json_t *
ex_section(json_t *doc, const char *name, size_t want)
{
	json_t	*a;

	a = json_object_get(doc, name);
	cr_assert(json_is_array(a), "no array %s", name);
	cr_assert_eq(json_array_size(a), want, "%s: %zu items, want %zu",
	    name, json_array_size(a), want);
	return (a);
}

/* The conversation whose title starts with prefix. */
static json_t *
ex_conv(json_t *convs, const char *prefix)
{
	json_t		*c;
	size_t		 i;
	const char	*t;

	json_array_foreach(convs, i, c) {
		t = json_string_value(json_object_get(c, "title"));
		if (t != NULL && !strncmp(t, prefix, strlen(prefix)))
			return (c);
	}
	cr_assert_fail("no conversation %s", prefix);
	return (NULL);
}

Test(export, requires_a_valid_token)
{
	struct resp	*r;

	r = http_req("GET", EX_PATH, NULL, NULL, 0);
	cr_assert_eq(r->status, 401, "%ld %s", r->status, r->body);
	cr_assert_str_eq(err_code(r), "unauthorized");
	resp_free(r);
	r = ex_get(env_or("E2E_BASE", ""), "not-a-token");
	cr_assert_eq(r->status, 401, "%ld %s", r->status, r->body);
	resp_free(r);
}

Test(export, head_answers_the_headers_and_starts_no_export)
{
	struct user	 u;
	struct resp	*r;
	const char	*hdrs[2];
	char		 auth[4200], *n;
	PGconn		*db;

	fx_new_at(NULL, NULL, &u, "export-head-");
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    u.token);
	hdrs[0] = auth;
	hdrs[1] = NULL;
	r = http_req("HEAD", EX_PATH, hdrs, NULL, 0);
	cr_assert_eq(r->status, 200, "%ld", r->status);
	cr_assert_eq(r->len, 0);
	cr_assert(!strncmp(resp_header(r, "content-disposition"),
	    "attachment;", 11));
	resp_free(r);
	db = fx_db();
	n = ex_sql(db, "SELECT count(*) FROM audit_events WHERE user_id = $1 "
	    "AND event = 'user.export'", u.id, NULL);
	cr_assert_str_eq(n, "0");
	free(n);
	PQfinish(db);
}

Test(export, holds_every_kind_of_the_callers_data_and_none_of_others)
{
	struct user	 a, b;
	struct resp	*r;
	json_t		*doc, *convs, *c, *msgs, *docs, *runs, *ev;
	PGconn		*db;
	char		*text, want[64];
	const char	*s;
	size_t		 i;
	int		 seen;

	fx_new_at(NULL, NULL, &a, "export-a-");
	fx_new_at(NULL, NULL, &b, "export-b-");
	db = fx_db();
	ex_seed(db, a.id, "mine", "1234");
	ex_seed(db, b.id, "theirs", "7");

	/* Through the TLS front, HTTP/1.1: chunked, streamed, an attachment. */
	http_version = CURL_HTTP_VERSION_1_1;
	r = ex_get(env_or("E2E_TLS", ""), a.token);
	http_version = 0;
	cr_assert_eq(r->status, 200, "%ld %.300s", r->status, r->body);
	cr_assert(strstr(resp_header(r, "content-type"),
	    "application/json") != NULL);
	cr_assert(!strncmp(resp_header(r, "content-disposition"),
	    "attachment; filename=\"elenchus-export-", 38), "%s",
	    resp_header(r, "content-disposition"));
	cr_assert_str_eq(resp_header(r, "cache-control"), "no-store");
	cr_assert_str_eq(resp_header(r, "transfer-encoding"), "chunked");

	cr_assert_null(strstr(r->body, b.id), "another user's id");
	cr_assert_null(strstr(r->body, "theirs"), "another user's data");
	doc = json_loadb(r->body, r->len, 0, NULL);
	cr_assert_not_null(doc, "not JSON (%zu bytes)", r->len);

	cr_assert_eq(json_integer_value(json_object_get(doc,
	    "export_version")), 1);
	cr_assert_str_eq(json_string_value(json_object_get(doc, "user_id")),
	    a.id);
	cr_assert_str_eq(json_string_value(jpath(doc, "profile.id")), a.id);
	cr_assert_str_eq(json_string_value(jpath(doc, "settings.theme")),
	    "system");
	seen = 0;
	json_array_foreach(ex_section(doc, "todos", 3), i, ev) {
		s = json_string_value(json_object_get(ev, "title"));
		cr_assert(s != NULL && !strncmp(s, "todo-mine-", 10), "%s", s);
		seen++;
	}
	cr_assert_eq(seen, 3);

	convs = ex_section(doc, "conversations", 2);
	c = ex_conv(convs, "conv-mine");
	cr_assert(json_is_null(json_object_get(c, "deleted_at")));
	msgs = json_object_get(c, "messages");
	cr_assert_eq(json_array_size(msgs), 1234, "%zu messages",
	    json_array_size(msgs));
	for (i = 0; i < json_array_size(msgs); i++) {
		(void)snprintf(want, sizeof(want), "msg-mine-%zu", i + 1);
		s = json_string_value(json_object_get(json_array_get(msgs, i),
		    "content"));
		cr_assert(s != NULL && !strcmp(s, want), "message %zu: %s", i,
		    s ? s : "(null)");
	}
	c = ex_conv(convs, "gone-mine");
	cr_assert(json_is_string(json_object_get(c, "deleted_at")));
	cr_assert_eq(json_array_size(json_object_get(c, "messages")), 0);

	/* The text, sliced on the server, is whole and exact. */
	docs = ex_section(doc, "documents", 1);
	text = ex_sql(db, "SELECT content FROM documents WHERE user_id = $1",
	    a.id, NULL);
	cr_assert_gt(strlen(text), 3 * 128 * 1024);
	s = json_string_value(json_object_get(json_array_get(docs, 0),
	    "content"));
	cr_assert(s != NULL && !strcmp(s, text), "document text differs");
	free(text);
	cr_assert_str_eq(json_string_value(jpath(doc,
	    "analyses.0.result.summary")), "analysis-mine");

	runs = ex_section(doc, "workflow_runs", 1);
	cr_assert_str_eq(json_string_value(jpath(json_array_get(runs, 0),
	    "steps.1.output")), "step-output-mine-1");

	/* This export is audited, and its event is in it. */
	seen = 0;
	json_array_foreach(json_object_get(doc, "audit_events"), i, ev) {
		cr_assert_str_eq(json_string_value(json_object_get(ev,
		    "user_id")), a.id);
		if (!strcmp(json_string_value(json_object_get(ev, "event")),
		    "user.export"))
			seen++;
	}
	cr_assert_eq(seen, 1);
	json_decref(doc);
	resp_free(r);
	PQfinish(db);
}

Test(export, is_limited_per_user_and_hour)
{
	struct user	 u, v;
	struct resp	*r;
	const char	*base;
	int		 i;

	base = env_or("E2E_BASE", "");
	fx_new_at(base, NULL, &u, "export-limit-");
	for (i = 0; i < 3; i++) {
		r = ex_get(base, u.token);
		cr_assert_eq(r->status, 200, "export %d: %ld", i, r->status);
		resp_free(r);
	}
	r = ex_get(base, u.token);
	cr_assert_eq(r->status, 429, "%ld %s", r->status, r->body);
	cr_assert_str_eq(err_code(r), "rate_limited");
	cr_assert_eq(jint(r, "error.details.limit"), 3);
	cr_assert(atoi(resp_header(r, "retry-after")) > 3000, "%s",
	    resp_header(r, "retry-after"));
	resp_free(r);

	/* Someone else's limit is their own. */
	fx_new_at(base, NULL, &v, "export-limit-other-");
	r = ex_get(base, v.token);
	cr_assert_eq(r->status, 200, "%ld", r->status);
	resp_free(r);
}

/* ---- the big export, on an instance of its own (one worker) ---- */

static size_t
ex_dl_write(char *p, size_t sz, size_t nm, void *arg)
{
	struct ex_dl	*d = arg;
	size_t		 n = sz * nm;

	if (d->abort_after > 0 && d->len + n > d->abort_after)
		return (0);
	if (d->len + n + 1 > d->cap) {
		d->cap = (d->len + n + 1) * 2;
		d->body = realloc(d->body, d->cap);
		cr_assert_not_null(d->body);
	}
	memcpy(d->body + d->len, p, n);
	d->len += n;
	d->body[d->len] = '\0';
	/*
	 * A slow reader: one long nap, longer than the worker needs to make
	 * 20 MiB of export (without backpressure it would queue them all).
	 */
	if (d->pause && !d->paused && d->len > EX_PAUSE_AFTER) {
		d->paused = 1;
		(void)usleep(EX_PAUSE_US);
	}
	return (n);
}

static void *
ex_dl_run(void *arg)
{
	struct ex_dl		*d = arg;
	struct curl_slist	*sl;
	CURL			*c;
	char			 url[256], auth[4200];

	(void)snprintf(url, sizeof(url), "%s%s", d->base, EX_PATH);
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    d->token);
	sl = curl_slist_append(NULL, auth);
	c = curl_easy_init();
	(void)curl_easy_setopt(c, CURLOPT_URL, url);
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ex_dl_write);
	(void)curl_easy_setopt(c, CURLOPT_WRITEDATA, d);
	(void)curl_easy_setopt(c, CURLOPT_TIMEOUT, 110L);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	d->rc = curl_easy_perform(c);
	(void)curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &d->status);
	curl_easy_cleanup(c);
	curl_slist_free_all(sl);
	__atomic_store_n(&d->done, 1, __ATOMIC_SEQ_CST);
	return (NULL);
}

/* The instance's Kore processes: its parent (kore.pid) and children. */
static int
ex_pids(const struct srv *s, pid_t *out, int max)
{
	struct dirent	*de;
	DIR		*dir;
	FILE		*fp;
	char		 path[256], comm[64], st;
	int		 n, parent, pid, ppid;

	(void)snprintf(path, sizeof(path), "%s/kore.pid", s->dir);
	fp = fopen(path, "r");
	cr_assert_not_null(fp, "%s", path);
	cr_assert_eq(fscanf(fp, "%d", &parent), 1);
	(void)fclose(fp);
	n = 0;
	out[n++] = parent;
	dir = opendir("/proc");
	while ((de = readdir(dir)) != NULL && n < max) {
		if ((pid = atoi(de->d_name)) <= 0)
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if ((fp = fopen(path, "r")) == NULL)
			continue;
		if (fscanf(fp, "%*d (%63[^)]) %c %d", comm, &st, &ppid) == 3 &&
		    ppid == parent)
			out[n++] = pid;
		(void)fclose(fp);
	}
	(void)closedir(dir);
	cr_assert_gt(n, 1, "no worker of kore %d", parent);
	return (n);
}

static long
ex_rss_kb(pid_t pid)
{
	FILE	*fp;
	char	 path[64], line[256];
	long	 kb;

	(void)snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return (-1);
	kb = -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	(void)fclose(fp);
	return (kb);
}

/* The instance of a test (the fixture stops it however the test ends). */
static struct srv	ex_srv;

/* An instance with one worker, and a user with nmsg messages. */
static void
ex_big_setup(struct srv *s, PGconn **db, struct user *u, int nmsg)
{
	const char	*env[] = { "WORKERS=1", "EXPORT_PER_HOUR=100", NULL };
	char		 n[32], per[32];

	fx_srv_start(s, env);
	*db = fx_db();
	fx_new_at(s->base, NULL, u, "export-big-");
	(void)snprintf(n, sizeof(n), "%d", EX_BIG_CONVS);
	(void)snprintf(per, sizeof(per), "%d", nmsg / EX_BIG_CONVS);
	(void)ex_sql(*db, "WITH c AS (INSERT INTO conversations (user_id, "
	    "title) SELECT $1, 'big-' || g FROM generate_series(1, $2::int) g "
	    "RETURNING id) INSERT INTO messages (conversation_id, user_id, "
	    "role, content) SELECT c.id, $1, 'user', 'bigmsg-' || g || ' ' || "
	    "repeat('x', 100) FROM c, generate_series(1, $3::int) g",
	    u->id, n, per, NULL);
}

static void
ex_big_teardown(struct srv *s, PGconn *db, const char *uid)
{
	(void)ex_sql(db, "DELETE FROM users WHERE id = $1", uid, NULL);
	PQfinish(db);
	fx_srv_stop(s);
}

static size_t
ex_count(const char *hay, size_t len, const char *needle)
{
	const char	*p, *e = hay + len;
	size_t		 n, nl = strlen(needle);

	n = 0;
	for (p = hay; (p = memmem(p, (size_t)(e - p), needle, nl)) != NULL;
	    p += nl)
		n++;
	return (n);
}

Test(export, streams_100k_messages_in_flat_worker_memory)
{
	struct user	 u, w;
	struct ex_dl	 d;
	struct resp	*r;
	pthread_t	 th;
	PGconn		*db;
	pid_t		 pids[EX_WORKERS_MAX];
	long		 base[EX_WORKERS_MAX], peak[EX_WORKERS_MAX], kb, grow;
	long long	 want;
	char		*v;
	int		 i, n, samples;

	ex_big_setup(&ex_srv, &db, &u, EX_BIG_MESSAGES);
	/* Warm up: pools, prepared statements, a small export. */
	fx_new_at(ex_srv.base, NULL, &w, "export-warm-");
	r = ex_get(ex_srv.base, w.token);
	cr_assert_eq(r->status, 200);
	resp_free(r);

	n = ex_pids(&ex_srv, pids, EX_WORKERS_MAX);
	for (i = 0; i < n; i++)
		base[i] = peak[i] = ex_rss_kb(pids[i]);

	memset(&d, 0, sizeof(d));
	d.base = ex_srv.base;
	d.token = u.token;
	d.pause = 1;
	cr_assert_eq(pthread_create(&th, NULL, ex_dl_run, &d), 0);
	samples = 0;
	while (!__atomic_load_n(&d.done, __ATOMIC_SEQ_CST)) {
		for (i = 0; i < n; i++)
			if ((kb = ex_rss_kb(pids[i])) > peak[i])
				peak[i] = kb;
		samples++;
		(void)usleep(20000);
	}
	(void)pthread_join(th, NULL);
	cr_assert_eq(d.rc, CURLE_OK, "%s", curl_easy_strerror(d.rc));
	cr_assert_eq(d.status, 200);

	grow = 0;
	for (i = 0; i < n; i++)
		if (peak[i] - base[i] > grow)
			grow = peak[i] - base[i];
	fprintf(stderr, "e2e-report: export of %d messages, %zu bytes: "
	    "worker RSS grew at most %ld KiB (%d samples, %d processes)\n",
	    EX_BIG_MESSAGES, d.len, grow, samples, n);
	cr_assert_lt(grow, EX_RSS_MAX_KB, "RSS grew %ld KiB", grow);

	/* The body: every message once, and the bytes the rows make. */
	cr_assert_eq(ex_count(d.body, d.len, "\"content\" : \"bigmsg-"),
	    EX_BIG_MESSAGES);
	v = ex_sql(db, "SELECT sum(octet_length(chat_message_json(m)::text) "
	    "+ 1) FROM messages m WHERE m.user_id = $1", u.id, NULL);
	want = atoll(v);
	free(v);
	cr_assert(d.len >= (size_t)want && d.len < (size_t)want + 64 * 1024,
	    "body %zu bytes, the messages alone %lld", d.len, want);
	cr_assert(d.len > 2 && !strcmp(d.body + d.len - 2, "}\n"));
	free(d.body);
	ex_big_teardown(&ex_srv, db, u.id);
}

Test(export, a_client_gone_mid_export_leaves_nothing_behind)
{
	struct user	 u;
	struct ex_dl	 d;
	PGconn		*db;
	pid_t		 pids[EX_WORKERS_MAX];
	long		 base[EX_WORKERS_MAX], kb;
	int		 i, k, n, t;

	ex_big_setup(&ex_srv, &db, &u, EX_DROP_MESSAGES);
	n = ex_pids(&ex_srv, pids, EX_WORKERS_MAX);
	for (k = 0; k < 5; k++) {
		memset(&d, 0, sizeof(d));
		d.base = ex_srv.base;
		d.token = u.token;
		d.abort_after = (size_t)(k + 1) * 300 * 1024;
		(void)ex_dl_run(&d);
		cr_assert_eq(d.rc, CURLE_WRITE_ERROR, "%s",
		    curl_easy_strerror(d.rc));
		free(d.body);
		if (k == 0)
			for (i = 0; i < n; i++)
				base[i] = ex_rss_kb(pids[i]);
	}
	/* Only the /metrics request itself in flight, no connection held. */
	for (t = 0; t < 50; t++) {
		if (fx_metric(ex_srv.base,
		    "elenchus_http_requests_in_flight") == 1 &&
		    fx_metric(ex_srv.base,
		    "elenchus_db_pool_connections_busy") == 0)
			break;
		(void)usleep(100000);
	}
	cr_assert_lt(t, 50, "requests or connections left behind");
	for (i = 0; i < n; i++) {
		kb = ex_rss_kb(pids[i]);
		cr_assert_gt(kb, 0, "process %d gone", (int)pids[i]);
		cr_assert_lt(kb - base[i], EX_RSS_MAX_KB / 4,
		    "process %d grew %ld KiB over four drops", (int)pids[i],
		    kb - base[i]);
	}
	/* The worker still serves a whole export. */
	memset(&d, 0, sizeof(d));
	d.base = ex_srv.base;
	d.token = u.token;
	(void)ex_dl_run(&d);
	cr_assert_eq(d.rc, CURLE_OK, "%s", curl_easy_strerror(d.rc));
	cr_assert_eq(ex_count(d.body, d.len, "\"content\" : \"bigmsg-"),
	    EX_DROP_MESSAGES, "%zu messages in %zu bytes",
	    ex_count(d.body, d.len, "\"content\" : \"bigmsg-"), d.len);
	free(d.body);
	ex_big_teardown(&ex_srv, db, u.id);
}
