/*
 * Service endpoints and the behaviour every route shares (docs/API.md §1,
 * §9), against the real server.
 */
#define _GNU_SOURCE

#include <ctype.h>
#include <poll.h>

#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fixture.h"

static void
assert_common_headers(struct resp *r)
{
	cr_expect_not_null(resp_header(r, "x-request-id"));
	cr_expect_str_eq(resp_header(r, "x-content-type-options"), "nosniff");
	cr_expect_str_eq(resp_header(r, "x-frame-options"), "DENY");
	cr_expect_str_eq(resp_header(r, "referrer-policy"), "no-referrer");
	cr_expect_not_null(resp_header(r, "content-security-policy"));
}

/* Find the access-log line carrying this request id. */
static json_t *
log_line(const char *rid)
{
	char		line[8192];
	FILE		*fp;
	json_t		*j;
	int		i;

	for (i = 0; i < 50; i++) {
		fp = fopen(env_or("E2E_SERVER_LOG", "/dev/null"), "r");
		cr_assert_not_null(fp);
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (strstr(line, rid) == NULL || line[0] != '{')
				continue;
			(void)fclose(fp);
			j = json_loads(line, 0, NULL);
			cr_assert_not_null(j, "log line not JSON: %s", line);
			return (j);
		}
		(void)fclose(fp);
		(void)usleep(100000);
	}
	cr_assert_fail("no access-log line for %s", rid);
	return (NULL);
}

Test(service, health_answers_envelope_without_database)
{
	struct resp	*r;

	r = http_get("/health");
	cr_assert_eq(r->status, 200);
	cr_expect(json_is_true(jpath(r->json, "success")));
	cr_expect_str_eq(jstr(r, "data.status"), "ok");
	cr_expect_str_eq(jstr(r, "data.service"), "elenchus");
	cr_expect_not_null(jstr(r, "data.version"));
	cr_expect(json_is_integer(jpath(r->json, "data.uptime_s")));
	cr_expect(json_is_array(jpath(r->json, "warnings")));
	cr_expect_str_eq(resp_header(r, "content-type"),
	    "application/json; charset=utf-8");
	assert_common_headers(r);
	resp_free(r);
}

Test(service, index_live_ready_and_db_health)
{
	struct resp	*r;

	r = http_get("/");
	cr_expect_eq(r->status, 200);
	cr_expect_str_eq(jstr(r, "data.links.docs"), "/docs");
	resp_free(r);

	r = http_get("/live");
	cr_expect_eq(r->status, 200);
	resp_free(r);

	r = http_get("/ready");
	cr_expect_eq(r->status, 200, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.status"), "ready");
	resp_free(r);

	r = http_get("/health/db");
	cr_expect_eq(r->status, 200);
	cr_expect(json_is_number(jpath(r->json, "data.latency_ms")));
	resp_free(r);

	r = http_get("/api/v1/health/detailed");
	cr_expect_eq(r->status, 200);
	cr_expect_str_eq(jstr(r, "data.status"), "ok");
	cr_expect_str_eq(jstr(r, "data.database.status"), "ok");
	cr_expect_not_null(jpath(r->json, "data.ai_service.configured"));
	cr_expect_not_null(jstr(r, "data.sms.provider"));
	cr_expect_not_null(jstr(r, "data.version"));
	resp_free(r);

	r = http_get("/api/v1/features");
	cr_expect_eq(r->status, 200);
	cr_expect(json_is_boolean(jpath(r->json, "data.registration")));
	cr_expect(json_is_integer(jpath(r->json, "data.max_upload_bytes")));
	resp_free(r);
}

Test(service, unknown_path_is_404_in_envelope)
{
	struct resp	*r;

	r = http_get("/no/such/thing");
	fx_error(r, 404, "not_found");
	assert_common_headers(r);
	resp_free(r);

	r = http_json("POST", "/api/v1/nothing-here", NULL, "{}");
	fx_error(r, 404, "not_found");
	resp_free(r);
}

Test(service, wrong_method_is_405_with_allow)
{
	struct resp	*r;

	r = http_req("DELETE", "/health", NULL, NULL, 0);
	fx_error(r, 405, "method_not_allowed");
	cr_expect_str_eq(resp_header(r, "allow"), "GET, HEAD, OPTIONS");
	resp_free(r);

	r = http_json("POST", "/metrics", NULL, "{}");
	fx_error(r, 405, "method_not_allowed");
	resp_free(r);
}

Test(service, head_answers_like_get_without_body)
{
	struct resp	*r;

	r = http_req("HEAD", "/health", NULL, NULL, 0);
	cr_expect_eq(r->status, 200);
	cr_expect_eq(r->len, 0);
	resp_free(r);
}

Test(service, request_id_is_echoed_when_sane_and_replaced_when_not)
{
	const char	*ok[] = { "X-Request-ID: client-id_1.2-abc", NULL };
	const char	*bad[] = { "X-Request-ID: bad id <script>", NULL };
	struct resp	*r;
	const char	*id;
	char		longid[200];
	const char	*lng[2];

	r = http_req("GET", "/health", ok, NULL, 0);
	cr_expect_str_eq(resp_header(r, "x-request-id"), "client-id_1.2-abc");
	resp_free(r);

	r = http_req("GET", "/health", bad, NULL, 0);
	id = resp_header(r, "x-request-id");
	cr_assert_not_null(id);
	cr_expect_eq(strlen(id), 32);
	cr_expect_null(strstr(id, "script"));
	resp_free(r);

	memset(longid, 'a', sizeof(longid));
	memcpy(longid, "X-Request-ID: ", 14);
	longid[sizeof(longid) - 1] = '\0';
	lng[0] = longid;
	lng[1] = NULL;
	r = http_req("GET", "/health", lng, NULL, 0);
	cr_expect_eq(strlen(resp_header(r, "x-request-id")), 32);
	resp_free(r);

	r = http_get("/health");
	cr_expect_eq(strlen(resp_header(r, "x-request-id")), 32);
	resp_free(r);
}

/*
 * A successful GET under /api/ may be kept by the client only (private)
 * and is revalidated with its ETag; everything else is never stored.
 */
Test(service, api_answers_are_private_or_not_stored)
{
	struct resp	*r;

	r = http_get("/api/v1/features");
	cr_expect_str_eq(resp_header(r, "cache-control"), "private, no-cache");
	cr_expect_not_null(resp_header(r, "etag"));
	resp_free(r);
	r = http_get("/api/v1/no-such-thing");
	cr_expect_eq(r->status, 404);
	cr_expect_str_eq(resp_header(r, "cache-control"), "no-store");
	cr_expect_null(resp_header(r, "etag"));
	resp_free(r);
	r = http_req("POST", "/api/v1/auth/login", NULL, "{}", 2);
	cr_expect_eq(r->status, 400);
	cr_expect_str_eq(resp_header(r, "cache-control"), "no-store");
	resp_free(r);
}

Test(service, cors_preflight_for_allowed_origin_only)
{
	const char	*good[] = { "Origin: https://app.elenchus.test",
	    "Access-Control-Request-Method: POST", NULL };
	const char	*evil[] = { "Origin: https://evil.example",
	    "Access-Control-Request-Method: POST", NULL };
	struct resp	*r;

	r = http_req("OPTIONS", "/api/v1/features", good, NULL, 0);
	cr_expect_eq(r->status, 204);
	cr_expect_str_eq(resp_header(r, "access-control-allow-origin"),
	    "https://app.elenchus.test");
	cr_expect_not_null(resp_header(r, "access-control-allow-methods"));
	cr_expect_not_null(strstr(resp_header(r,
	    "access-control-allow-headers"), "Authorization"));
	resp_free(r);

	r = http_req("OPTIONS", "/api/v1/features", evil, NULL, 0);
	cr_expect_null(resp_header(r, "access-control-allow-origin"));
	resp_free(r);

	r = http_req("GET", "/api/v1/features", good, NULL, 0);
	cr_expect_str_eq(resp_header(r, "access-control-allow-origin"),
	    "https://app.elenchus.test");
	cr_expect_str_eq(resp_header(r, "vary"), "Origin");
	resp_free(r);

	r = http_req("GET", "/api/v1/features", evil, NULL, 0);
	cr_expect_null(resp_header(r, "access-control-allow-origin"));
	resp_free(r);
}

Test(service, metrics_are_summed_over_all_workers)
{
	struct resp	*r;
	const char	*p;
	long long	before, after;
	int		i;
	const char	*key = "elenchus_http_requests_total{route=\"/live\","
	    "status=\"200\"} ";

	r = http_get("/metrics");
	cr_assert_eq(r->status, 200);
	cr_expect_not_null(strstr(resp_header(r, "content-type"),
	    "text/plain"));
	p = strstr(r->body, key);
	before = p ? atoll(p + strlen(key)) : 0;
	resp_free(r);

	/* Each request on a new connection, spread across workers. */
	for (i = 0; i < 60; i++)
		resp_free(http_get("/live"));

	r = http_get("/metrics");
	p = strstr(r->body, key);
	cr_assert_not_null(p, "%s", r->body);
	after = atoll(p + strlen(key));
	cr_expect_eq(after - before, 60, "before %lld after %lld", before,
	    after);
	cr_expect_not_null(strstr(r->body,
	    "elenchus_http_request_duration_seconds_bucket{route=\"/live\""));
	cr_expect_not_null(strstr(r->body, "elenchus_http_requests_in_flight"));
	cr_expect_not_null(strstr(r->body, "elenchus_db_errors_total"));
	cr_expect_not_null(strstr(r->body, "elenchus_job_queue_depth "));
	resp_free(r);
}

Test(service, openapi_and_docs_are_served_offline)
{
	struct resp	*r;

	r = http_get("/openapi.json");
	cr_assert_eq(r->status, 200);
	cr_assert_not_null(r->json);
	cr_expect_str_eq(json_string_value(jpath(r->json, "openapi")),
	    "3.1.0");
	cr_expect_not_null(jpath(r->json, "paths./health"));
	resp_free(r);

	r = http_get("/docs");
	cr_assert_eq(r->status, 200);
	cr_expect_not_null(strstr(r->body, "swagger-ui"));
	cr_expect_not_null(strstr(resp_header(r, "content-type"),
	    "text/html"));
	resp_free(r);

	r = http_get("/docs/swagger-ui-bundle.js");
	cr_expect_eq(r->status, 200);
	cr_expect_gt(r->len, 100000);
	resp_free(r);

	r = http_get("/docs/init.js");
	cr_expect_eq(r->status, 200);
	cr_expect_not_null(strstr(r->body, "/openapi.json"));
	resp_free(r);

	r = http_get("/docs/nope.js");
	fx_error(r, 404, "not_found");
	resp_free(r);
}

Test(service, access_log_line_per_request)
{
	const char	*h[] = { "X-Request-ID: logcheck-", NULL };
	const char	*t;
	char		hdr[128], *rid;
	struct resp	*r;
	json_t		*j;

	rid = uniq("log-");
	(void)snprintf(hdr, sizeof(hdr), "X-Request-ID: %s", rid);
	h[0] = hdr;
	r = http_req("GET", "/live?x=1", h, NULL, 0);
	resp_free(r);

	j = log_line(rid);
	cr_expect_str_eq(json_string_value(json_object_get(j, "method")),
	    "GET");
	cr_expect_str_eq(json_string_value(json_object_get(j, "path")),
	    "/live");
	cr_expect_eq(json_integer_value(json_object_get(j, "status")), 200);
	cr_expect(json_is_number(json_object_get(j, "duration_ms")));
	t = json_string_value(json_object_get(j, "time"));
	cr_assert_not_null(t);
	/* RFC 3339 UTC with milliseconds, as the rest of the API writes. */
	cr_expect(strlen(t) == 24 && t[4] == '-' && t[10] == 'T' &&
	    t[19] == '.' && t[23] == 'Z' && isdigit((unsigned char)t[20]) &&
	    isdigit((unsigned char)t[22]), "time %s", t);
	cr_expect_str_eq(json_string_value(json_object_get(j, "ip")),
	    "127.0.0.1");
	json_decref(j);
}

Test(service, forwarded_for_ignored_from_untrusted_peer)
{
	const char	*h[3];
	char		hdr[128], *rid;
	json_t		*j;

	rid = uniq("xff-");
	(void)snprintf(hdr, sizeof(hdr), "X-Request-ID: %s", rid);
	h[0] = hdr;
	h[1] = "X-Forwarded-For: 203.0.113.77";
	h[2] = NULL;
	resp_free(http_req("GET", "/live", h, NULL, 0));
	j = log_line(rid);
	/* The test instance trusts only nginx's 127.0.0.2. */
	cr_expect_str_eq(json_string_value(json_object_get(j, "ip")),
	    "127.0.0.1");
	cr_expect_str_eq(json_string_value(json_object_get(j, "proto")),
	    "http");
	json_decref(j);
}

Test(service, through_tls_proxy_client_ip_proto_and_hsts)
{
	const char	*h[3];
	char		hdr[128], *rid;
	struct resp	*r;
	json_t		*j;

	rid = uniq("tls-");
	(void)snprintf(hdr, sizeof(hdr), "X-Request-ID: %s", rid);
	h[0] = hdr;
	h[1] = "X-Forwarded-For: 198.51.100.9";	/* spoofed by the client */
	h[2] = NULL;
	r = http_req_to(env_or("E2E_TLS", "https://127.0.0.1:8443"), "GET",
	    "/health", h, NULL, 0);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_not_null(resp_header(r, "strict-transport-security"));
	cr_expect_str_eq(resp_header(r, "x-request-id"), rid);
	resp_free(r);

	j = log_line(rid);
	/* nginx appends the real peer; the spoofed hop is not believed. */
	cr_expect_str_eq(json_string_value(json_object_get(j, "ip")),
	    "127.0.0.1");
	cr_expect_str_eq(json_string_value(json_object_get(j, "proto")),
	    "https");
	json_decref(j);

	/* Plain HTTP straight to Kore carries no HSTS. */
	r = http_get("/health");
	cr_expect_null(resp_header(r, "strict-transport-security"));
	resp_free(r);
}

Test(service, api_health_answers_like_health_without_database)
{
	struct resp	*r;

	r = http_get("/api/v1/health");
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect(json_is_true(jpath(r->json, "success")));
	cr_expect_str_eq(jstr(r, "data.status"), "ok");
	cr_expect_str_eq(jstr(r, "data.service"), "elenchus");
	cr_expect_not_null(jstr(r, "data.version"));
	cr_expect(json_is_integer(jpath(r->json, "data.uptime_s")));
	cr_expect_str_eq(resp_header(r, "cache-control"), "private, no-cache");
	assert_common_headers(r);
	resp_free(r);

	r = http_req("POST", "/api/v1/health", NULL, "{}", 2);
	fx_error(r, 405, "method_not_allowed");
	cr_expect_not_null(strstr(resp_header(r, "allow"), "GET"));
	resp_free(r);
}

/*
 * A configuration value out of range stops the server with a message that
 * says the variable, the value given and the allowed range.
 */
Test(service, out_of_range_configuration_is_refused_with_its_range)
{
	FILE	*fp;
	char	 cmd[512], line[512], all[8192];
	size_t	 len;
	int	 st;

	(void)snprintf(cmd, sizeof(cmd), "HTTP_PORT=1 JOBS_DISABLED=1 "
	    "LOCKOUT_THRESHOLD=100000 timeout 60 sh scripts/serve.sh "
	    "%s/srv-badconf 2>&1", env_or("E2E_TMP", "/tmp"));
	fp = popen(cmd, "r");
	cr_assert_not_null(fp);
	len = 0;
	all[0] = '\0';
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (len + strlen(line) < sizeof(all)) {
			memcpy(all + len, line, strlen(line) + 1);
			len += strlen(line);
		}
	}
	st = pclose(fp);
	cr_expect_neq(st, 0, "the server started: %s", all);
	cr_expect_not_null(strstr(all, "LOCKOUT_THRESHOLD=\"100000\" is not "
	    "allowed: a whole number from 1 to 1000 expected"), "%s", all);
}

/* Where the answer of one connection came from: its request id's prefix. */
struct conn_probe {
	CURL	*h;
	char	 worker[17];
};

static size_t
probe_header(char *p, size_t sz, size_t n, void *arg)
{
	struct conn_probe	*c = arg;
	size_t			 len = sz * n;

	if (len > 14 + 16 && !strncasecmp(p, "x-request-id: ", 14))
		(void)snprintf(c->worker, sizeof(c->worker), "%.16s", p + 14);
	return (len);
}

#define PROBES		16

/*
 * Connections a client opens, one after another, are shared by the
 * workers (the accept lock changes hands after each accept): with Kore's
 * default one worker took up to 16 in a row, and with them all their
 * work (8 clients logging in had one worker's bcrypt slot).  The request
 * ids name the worker (a random prefix each).  The lock is not passed
 * strictly in turn (the worker that lets it go hears its own notice too,
 * and a busy worker hears it late), so the test asks only that both
 * workers have some of 16, opened 20 ms apart.
 */
Test(service, connections_opened_in_a_row_are_shared_by_the_workers)
{
	const char		*env[] = { "JOBS_DISABLED=1", NULL };
	struct conn_probe	 c[PROBES];
	struct srv		 s;
	CURLM			*m;
	char			 url[256];
	double			 end;
	int			 i, running, nfds, first;

	/* An instance of its own: no other test's connections move the lock. */
	fx_srv_start(&s, env);
	cr_assert_not_null(m = curl_multi_init());
	(void)snprintf(url, sizeof(url), "%s/live", s.base);
	for (i = 0; i < PROBES; i++) {
		c[i].worker[0] = '\0';
		c[i].h = curl_easy_init();
		(void)curl_easy_setopt(c[i].h, CURLOPT_URL, url);
		(void)curl_easy_setopt(c[i].h, CURLOPT_FORBID_REUSE, 1L);
		(void)curl_easy_setopt(c[i].h, CURLOPT_HEADERFUNCTION,
		    probe_header);
		(void)curl_easy_setopt(c[i].h, CURLOPT_HEADERDATA, &c[i]);
		(void)curl_easy_setopt(c[i].h, CURLOPT_WRITEFUNCTION,
		    fx_discard);
		(void)curl_easy_setopt(c[i].h, CURLOPT_TIMEOUT, 10L);
		cr_assert_eq(curl_multi_add_handle(m, c[i].h), CURLM_OK);
		end = fx_now() + 0.02;
		do {
			(void)curl_multi_perform(m, &running);
			(void)curl_multi_wait(m, NULL, 0, 5, &nfds);
		} while (fx_now() < end);
	}
	do {
		(void)curl_multi_perform(m, &running);
		if (running > 0)
			(void)curl_multi_wait(m, NULL, 0, 100, &nfds);
	} while (running > 0);
	/* How many the worker of the first answer served. */
	for (first = 0, i = 0; i < PROBES; i++) {
		cr_assert_eq(strlen(c[i].worker), 16, "no request id");
		first += !strcmp(c[i].worker, c[0].worker);
	}
	for (i = 0; i < PROBES; i++) {
		(void)curl_multi_remove_handle(m, c[i].h);
		curl_easy_cleanup(c[i].h);
	}
	curl_multi_cleanup(m);
	fx_srv_stop(&s);
	cr_expect_lt(first, PROBES, "one worker served all %d connections",
	    PROBES);
}

#define LOG_BURST	400

/*
 * Every request of a burst has exactly one access-log line: the lines go
 * through two buffers and a writer thread (src/rq_log.c), more than one
 * buffer's worth here.
 */
Test(service, every_request_of_a_burst_is_logged_once, .timeout = 60)
{
	static struct conn_probe	 c[LOG_BURST];
	static struct curl_slist	*h[LOG_BURST];
	static int			 seen[LOG_BURST];
	char				 url[256], hdr[96], pfx[48], line[8192];
	const char			*p;
	CURLM				*m;
	FILE				*fp;
	int				 i, k, running, nfds, missing;

	(void)snprintf(pfx, sizeof(pfx), "burst-%d-%ld-", (int)getpid(),
	    (long)time(NULL));
	(void)snprintf(url, sizeof(url), "%s/live", fx_base(NULL));
	cr_assert_not_null(m = curl_multi_init());
	for (i = 0; i < LOG_BURST; i++) {
		(void)snprintf(hdr, sizeof(hdr), "X-Request-ID: %s%d", pfx, i);
		h[i] = curl_slist_append(NULL, hdr);
		c[i].h = curl_easy_init();
		(void)curl_easy_setopt(c[i].h, CURLOPT_URL, url);
		(void)curl_easy_setopt(c[i].h, CURLOPT_HTTPHEADER, h[i]);
		(void)curl_easy_setopt(c[i].h, CURLOPT_WRITEFUNCTION,
		    fx_discard);
		(void)curl_easy_setopt(c[i].h, CURLOPT_TIMEOUT, 30L);
		cr_assert_eq(curl_multi_add_handle(m, c[i].h), CURLM_OK);
	}
	do {
		(void)curl_multi_perform(m, &running);
		if (running > 0)
			(void)curl_multi_wait(m, NULL, 0, 100, &nfds);
	} while (running > 0);
	for (i = 0; i < LOG_BURST; i++) {
		(void)curl_multi_remove_handle(m, c[i].h);
		curl_easy_cleanup(c[i].h);
		curl_slist_free_all(h[i]);
	}
	curl_multi_cleanup(m);

	/* Written within a flush interval or two; wait up to 5 s. */
	for (k = 0; k < 50; k++) {
		memset(seen, 0, sizeof(seen));
		cr_assert_not_null(fp = fopen(env_or("E2E_SERVER_LOG",
		    "/dev/null"), "r"));
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (line[0] != '{' || (p = strstr(line, pfx)) == NULL)
				continue;
			i = atoi(p + strlen(pfx));
			cr_assert(i >= 0 && i < LOG_BURST, "%s", line);
			seen[i]++;
		}
		(void)fclose(fp);
		for (missing = 0, i = 0; i < LOG_BURST; i++)
			missing += seen[i] == 0;
		if (missing == 0)
			break;
		(void)usleep(100000);
	}
	for (i = 0; i < LOG_BURST; i++)
		cr_assert_eq(seen[i], 1, "request %d has %d lines", i, seen[i]);
}

/* A connection to the main instance's port (E2E_BASE). */
static int
raw_connect(void)
{
	const char	*p;
	int		 fd;

	p = strrchr(fx_base(NULL), ':');
	cr_assert_not_null(p);
	cr_assert((fd = fx_tcp_connect(atoi(p + 1))) >= 0);
	return (fd);
}

static void
raw_send(int fd, const char *s)
{
	cr_assert_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/*
 * The statuses of the next n answers on fd (each with Content-Length),
 * into st; fails after 5 s without them.
 */
static void
raw_answers(int fd, int *st, int n)
{
	static char	buf[65536];
	struct pollfd	pfd;
	size_t		len;
	ssize_t		r;
	char		*end, *cl;
	int		i;

	len = 0;
	for (i = 0; i < n; ) {
		buf[len] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL &&
		    (cl = strcasestr(buf, "content-length:")) != NULL &&
		    (size_t)(end + 4 - buf) + strtoul(cl + 15, NULL, 10) <= len) {
			st[i++] = atoi(buf + 9);
			r = (end + 4 - buf) + (ssize_t)strtoul(cl + 15, NULL, 10);
			memmove(buf, buf + r, len - (size_t)r);
			len -= (size_t)r;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		cr_assert_eq(poll(&pfd, 1, 5000), 1, "answer %d of %d never came",
		    i + 1, n);
		r = read(fd, buf + len, sizeof(buf) - 1 - len);
		cr_assert_gt(r, 0, "the connection closed");
		len += (size_t)r;
	}
}

/*
 * On one keep-alive connection (so that it carries the module's writer,
 * rq_net_write), requests that arrive in pieces with pauses between
 * them: each is read and answered.  Not pipelining: Kore 4.1 leaves a
 * second request sent in the same packet unanswered (docs/DESIGN.md).
 */
Test(service, a_connection_reads_requests_that_arrive_in_pieces)
{
	static const char	body[] = "{\"email\":\"nobody@elenchus.test\","
	    "\"password\":\"Not-the-password-1\"}";
	char			 req[512];
	int			 fd, st[1];

	fd = raw_connect();
	raw_send(fd, "GET /health HTTP/1.1\r\nHost: t\r\n\r\n");
	raw_answers(fd, st, 1);
	cr_expect_eq(st[0], 200);

	raw_send(fd, "GET /hea");
	(void)usleep(200000);
	raw_send(fd, "lth HTTP/1.1\r\nHost: t\r\n\r\n");
	raw_answers(fd, st, 1);
	cr_expect_eq(st[0], 200);

	(void)snprintf(req, sizeof(req), "POST /api/v1/auth/login HTTP/1.1\r\n"
	    "Host: t\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%.20s", sizeof(body) - 1, body);
	raw_send(fd, req);
	(void)usleep(200000);
	raw_send(fd, body + 20);
	raw_answers(fd, st, 1);
	cr_expect_eq(st[0], 401, "the login's body: %d", st[0]);

	raw_send(fd, "GET /live HTTP/1.1\r\nHost: t\r\n\r\n");
	raw_answers(fd, st, 1);
	cr_expect_eq(st[0], 200);
	(void)close(fd);
}
