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

#include "harness.h"

static char	pgdir[256];
static int	pgport;

static void
pg(const char *cmd)
{
	char	sh[1024];

	(void)snprintf(sh, sizeof(sh), "PG_DIR=%s PG_PORT=%d scripts/pg.sh %s"
	    " >/dev/null", pgdir, pgport, cmd);
	cr_assert_eq(system(sh), 0, "%s failed", sh);
}

static int
count_in_log(const char *file, const char *needle)
{
	char	line[4096];
	FILE	*fp;
	int	n;

	if ((fp = fopen(file, "r")) == NULL)
		return (-1);
	n = 0;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strstr(line, needle) != NULL)
			n++;
	}
	(void)fclose(fp);
	return (n);
}

Test(outage, database_down_then_back, .timeout = 180)
{
	struct srv	s;
	struct resp	*r;
	char		url[512], env_url[600], sh[1024], log[300];
	const char	*env[4];
	int		i;

	(void)snprintf(pgdir, sizeof(pgdir), "%s/outage-pg",
	    env_or("E2E_TMP", "/tmp"));
	pgport = 20000 + (int)(getpid() % 20000);
	pg("start");
	pg("createdb elenchus_outage");
	(void)snprintf(url, sizeof(url),
	    "postgresql://elenchus@/elenchus_outage?host=%s&port=%d", pgdir,
	    pgport);
	(void)snprintf(sh, sizeof(sh), "scripts/migrate.sh '%s' >/dev/null",
	    url);
	cr_assert_eq(system(sh), 0);

	(void)snprintf(env_url, sizeof(env_url), "DATABASE_URL=%s", url);
	env[0] = env_url;
	env[1] = "JOBS_DISABLED=1";
	env[2] = NULL;
	cr_assert(srv_start(&s, env), "instance did not start");
	(void)snprintf(log, sizeof(log), "%s.log", s.dir);

	cr_assert(wait_status(s.base, "/ready", 200, 20));

	pg("stop");
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

	pg("start");
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

	srv_stop(&s);
	cr_expect_eq(count_in_log(log, ") gone"), 0, "a worker died");
	cr_expect_eq(count_in_log(log, "sandbox violation"), 0);
	pg("stop");
}
