/*
 * The fault suite: each test starts instances (and, for PostgreSQL, a
 * cluster) of its own, so the shared server of the e2e run is never
 * touched.  `make faults` runs these with the other fault tests (the
 * outage drill, the job runner's kill and lease tests, the provider
 * faults of the chat suites).
 *
 *   - kill -9 of a worker under write load: every acknowledged write is
 *     in the database, and the instance keeps serving;
 *   - Kore down behind nginx: 502 or 503, and back when Kore returns;
 *   - PostgreSQL restarted under load: the instance serves database
 *     requests again within 1 s of the cluster's return.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "fixture.h"

#define WRITERS		4
#define WRITES_MAX	4000

struct load {
	const char	*base;
	const char	*token;
	const char	*path;
	volatile int	*stop;
	char		 (*ids)[40];
	int		 nids;
	int		 failed;
};

/* Writers: POST todos until told to stop; keep the ids acknowledged. */
static void *
writer(void *arg)
{
	struct load	*l = arg;
	struct resp	*r;
	const char	*id;
	char		 body[128];
	int		 i;

	for (i = 0; !*l->stop && l->nids < WRITES_MAX / WRITERS; i++) {
		(void)snprintf(body, sizeof(body), "{\"title\":\"w %d\"}", i);
		r = fx_req(l->base, "POST", l->path, l->token, NULL, body);
		if (r->status == 201 && (id = jstr(r, "data.id")) != NULL)
			(void)snprintf(l->ids[l->nids++], 40, "%s", id);
		else if (r->status / 100 == 5 && r->status != 503)
			l->failed++;
		resp_free(r);
	}
	return (NULL);
}

Test(faults, worker_killed_under_write_load_loses_no_acknowledged_write,
    .timeout = 180)
{
	static char	 ids[WRITERS][WRITES_MAX / WRITERS][40];
	const char	*env[] = { "JOBS_DISABLED=1", NULL };
	struct load	 l[WRITERS];
	pthread_t	 th[WRITERS];
	struct srv	 s;
	struct user	 a;
	struct resp	*r;
	pid_t		 w[8];
	volatile int	 stop = 0;
	char		 path[200], *list, log[300];
	const char	*v;
	size_t		 cap, o;
	int		 i, j, n, total;

	fx_srv_start(&s, env);
	(void)snprintf(log, sizeof(log), "%s.log", s.dir);
	fx_new_at(s.base, NULL, &a, "fault-kill-");
	(void)snprintf(path, sizeof(path), "/api/v1/users/%s/todos", a.id);

	for (i = 0; i < WRITERS; i++) {
		memset(&l[i], 0, sizeof(l[i]));
		l[i].base = s.base;
		l[i].token = a.token;
		l[i].path = path;
		l[i].stop = &stop;
		l[i].ids = ids[i];
		cr_assert_eq(pthread_create(&th[i], NULL, writer, &l[i]), 0);
	}
	(void)usleep(700000);
	n = fx_srv_workers(&s, w, 8);
	cr_assert_geq(n, 1, "no workers found");
	cr_assert_eq(kill(w[0], SIGKILL), 0);
	(void)usleep(1500000);
	stop = 1;
	for (i = 0; i < WRITERS; i++)
		(void)pthread_join(th[i], NULL);

	/* Still serving, on a replacement worker. */
	r = fx_req(s.base, "POST", path, a.token, NULL,
	    "{\"title\":\"after\"}");
	cr_expect_eq(r->status, 201, "after the kill: %ld %s", r->status,
	    r->body);
	resp_free(r);

	/* Every id answered 201 is in the database. */
	total = 0;
	cap = 16;
	for (i = 0; i < WRITERS; i++)
		cap += (size_t)l[i].nids * 40;
	list = malloc(cap);
	o = (size_t)snprintf(list, cap, "{");
	for (i = 0; i < WRITERS; i++) {
		cr_expect_eq(l[i].failed, 0, "writer %d saw 5xx", i);
		for (j = 0; j < l[i].nids; j++) {
			o += (size_t)snprintf(list + o, cap - o, "%s%s",
			    total ? "," : "", ids[i][j]);
			total++;
		}
	}
	(void)snprintf(list + o, cap - o, "}");
	cr_assert_gt(total, 10, "too little load: %d writes", total);
	v = fx_sql("SELECT count(*) FROM todos WHERE id = ANY($1::uuid[])",
	    list);
	cr_expect_eq(atoi(v), total, "%s of %d acknowledged writes present",
	    v, total);
	printf("e2e-report: faults: %d acknowledged writes around a worker "
	    "kill, %s present\n", total, v);
	fflush(stdout);
	free(list);
	fx_srv_stop(&s);
	/* Kore's log reaches the file when the parent exits. */
	cr_expect_geq(fx_count_in(log, ") gone"), 1,
	    "the kill did not reach a worker");
}

Test(faults, kore_down_behind_nginx_is_502_or_503_then_recovers,
    .timeout = 120)
{
	char		 envport[40];
	const char	*env[] = { "JOBS_DISABLED=1", NULL, NULL };
	struct front	 f;
	struct srv	 s;
	struct resp	*r;
	int		 i;

	fx_srv_start(&s, env);
	fx_front_start(&f, s.port, NULL);
	cr_assert(wait_status(f.base, "/live", 200, 30), "nginx did not start");

	fx_srv_stop(&s);
	for (i = 0; i < 5; i++) {
		r = http_req_to(f.base, "GET", "/api/v1/auth/me", NULL, NULL,
		    0);
		cr_expect(r->status == 502 || r->status == 503,
		    "Kore down: %ld %s", r->status, r->body);
		/* nginx's own errors are JSON once the front says so. */
		if (r->json != NULL)
			cr_expect_not_null(err_code(r), "%s", r->body);
		resp_free(r);
	}

	/* Kore back on the same port: nginx finds it again. */
	(void)snprintf(envport, sizeof(envport), "HTTP_PORT=%d", s.port);
	env[1] = envport;
	fx_srv_start(&s, env);
	cr_expect(wait_status(f.base, "/ready", 200, 20),
	    "nginx did not recover");
	fx_srv_stop(&s);
	fx_front_stop(&f);
}

struct prober {
	const char	*base;
	const char	*token;
	volatile int	*stop;
	volatile double	 first_ok;	/* after since, the first 200 */
	volatile double	 since;
	int		 bad5xx;	/* not 503/504: a crash or a bug */
	int		 calls;
};

/* An authenticated read (user row from the database) in a tight loop. */
static void *
prober(void *arg)
{
	struct prober	*p = arg;
	struct resp	*r;

	while (!*p->stop) {
		r = fx_req(p->base, "GET", "/api/v1/users/me", p->token, NULL,
		    NULL);
		p->calls++;
		if (r->status == 200 && p->since > 0 && p->first_ok == 0)
			p->first_ok = fx_now();
		if (r->status / 100 == 5 && r->status != 503 &&
		    r->status != 504)
			p->bad5xx++;
		resp_free(r);
		(void)usleep(10000);
	}
	return (NULL);
}

Test(faults, postgres_restarted_under_load_recovers_within_a_second,
    .timeout = 180)
{
	char		 envurl[600], log[300];
	const char	*env[3];
	struct prober	 p[2];
	pthread_t	 th[2];
	struct pgc	 pg;
	struct srv	 s;
	struct user	 a;
	volatile int	 stop = 0;
	double		 back, worst = 0;
	int		 i;

	fx_pg_start(&pg, "elenchus_faults");
	(void)snprintf(envurl, sizeof(envurl), "DATABASE_URL=%s", pg.url);
	env[0] = envurl;
	env[1] = "JOBS_DISABLED=1";
	env[2] = NULL;
	fx_srv_start(&s, env);
	(void)snprintf(log, sizeof(log), "%s.log", s.dir);
	cr_expect(wait_status(s.base, "/ready", 200, 20));
	fx_new_at(s.base, NULL, &a, "fault-pg-");

	for (i = 0; i < 2; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].base = s.base;
		p[i].token = a.token;
		p[i].stop = &stop;
		cr_assert_eq(pthread_create(&th[i], NULL, prober, &p[i]), 0);
	}
	(void)usleep(500000);
	fx_pg_ctl(&pg, "stop");
	(void)usleep(1500000);
	fx_pg_ctl(&pg, "start");	/* returns once it accepts */
	back = fx_now();
	for (i = 0; i < 2; i++)
		p[i].since = back;
	(void)usleep(3000000);
	stop = 1;
	for (i = 0; i < 2; i++) {
		(void)pthread_join(th[i], NULL);
		cr_expect_gt(p[i].first_ok, 0, "prober %d never recovered", i);
		cr_expect_eq(p[i].bad5xx, 0, "prober %d: 5xx other than 503",
		    i);
		if (p[i].first_ok - back > worst)
			worst = p[i].first_ok - back;
	}
	printf("e2e-report: faults: PostgreSQL back, first authenticated "
	    "read served after %.3f s (%d + %d calls)\n", worst, p[0].calls,
	    p[1].calls);
	fflush(stdout);
	cr_expect_leq(worst, 1.0, "recovery took %.3f s", worst);
	fx_srv_stop(&s);
	cr_expect_eq(fx_count_in(log, ") gone"), 0, "a worker died");
	fx_pg_stop(&pg);
}
