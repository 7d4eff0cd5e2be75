/*
 * Dependency outage drill: an instance on a PostgreSQL cluster of its own
 * (so other suites are not disturbed).  With PostgreSQL stopped, /health
 * and /live stay 200, /health/db and /ready answer 503, no worker dies;
 * when PostgreSQL returns, everything recovers by itself.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

Test(outage, database_down_then_back, .timeout = 180)
{
	struct pgc	pg;
	struct srv	s;
	struct resp	*r;
	char		env_url[600], log[300];
	const char	*env[4];
	int		i;

	fx_pg_start(&pg, "elenchus_outage");
	(void)snprintf(env_url, sizeof(env_url), "DATABASE_URL=%s", pg.url);
	env[0] = env_url;
	env[1] = "JOBS_DISABLED=1";
	env[2] = NULL;
	fx_srv_start(&s, env);
	(void)snprintf(log, sizeof(log), "%s.log", s.dir);

	cr_assert(wait_status(s.base, "/ready", 200, 20));

	fx_pg_ctl(&pg, "stop");
	for (i = 0; i < 10; i++) {
		r = http_req_to(s.base, "GET", "/health", NULL, NULL, 0);
		cr_expect_eq(r->status, 200);
		resp_free(r);
		r = http_req_to(s.base, "GET", "/api/v1/health", NULL, NULL,
		    0);
		cr_expect_eq(r->status, 200, "%s", r->body);
		resp_free(r);
		r = http_req_to(s.base, "GET", "/live", NULL, NULL, 0);
		cr_expect_eq(r->status, 200);
		resp_free(r);
		r = http_req_to(s.base, "GET", "/health/db", NULL, NULL, 0);
		cr_expect_eq(r->status, 503, "%s", r->body);
		cr_expect_str_eq(err_code(r), "db_unavailable");
		resp_free(r);
		r = http_req_to(s.base, "GET", "/ready", NULL, NULL, 0);
		cr_expect_eq(r->status, 503);
		cr_expect_str_eq(err_code(r), "db_unavailable");
		resp_free(r);
	}
	r = http_req_to(s.base, "GET", "/api/v1/health/detailed", NULL,
	    NULL, 0);
	cr_expect_eq(r->status, 200);
	cr_expect_str_eq(jstr(r, "data.status"), "degraded");
	resp_free(r);

	fx_pg_ctl(&pg, "start");
	cr_expect(wait_status(s.base, "/ready", 200, 30),
	    "did not recover after PostgreSQL returned");
	/* Every connection recovered: several in a row succeed. */
	for (i = 0; i < 20; i++) {
		r = http_req_to(s.base, "GET", "/health/db", NULL, NULL, 0);
		cr_expect_eq(r->status, 200, "%s", r->body);
		resp_free(r);
	}
	r = http_req_to(s.base, "GET", "/metrics", NULL, NULL, 0);
	cr_expect_not_null(strstr(r->body, "elenchus_db_errors_total "));
	cr_expect_null(strstr(r->body, "elenchus_db_errors_total 0\n"),
	    "db errors were not counted");
	resp_free(r);

	fx_srv_stop(&s);
	cr_expect_eq(fx_count_in(log, ") gone"), 0, "a worker died");
	cr_expect_eq(fx_count_in(log, "sandbox violation"), 0);
	fx_pg_stop(&pg);
}
