/*
 * Requests sent at once and locks held against them (calls.h).
 */
#include <criterion/criterion.h>

#include "calls.h"

static size_t
call_body(char *p, size_t sz, size_t n, void *arg)
{
	struct call	*c = arg;
	char		*b;

	if ((b = realloc(c->out, c->len + sz * n + 1)) == NULL)
		return (0);
	memcpy(b + c->len, p, sz * n);
	c->len += sz * n;
	b[c->len] = '\0';
	c->out = b;
	return (sz * n);
}

struct call *
call_set(struct call *c, const char *base, const char *method,
    const struct user *u, const char *body, long want, const char *fmt, ...)
{
	va_list		ap;

	memset(c, 0, sizeof(*c));
	c->base = fx_base(base);
	c->method = method;
	c->want = want;
	(void)snprintf(c->body, sizeof(c->body), "%s", body ? body : "");
	if (u != NULL)
		(void)snprintf(c->auth, sizeof(c->auth),
		    "Authorization: Bearer %s", u->token);
	va_start(ap, fmt);
	(void)vsnprintf(c->path, sizeof(c->path), fmt, ap);
	va_end(ap);
	return (c);
}

/* The answer must hold val at key. */
void
call_want(struct call *c, const char *key, const char *val)
{
	cr_assert_lt(c->nw, CALL_WANTS);
	(void)snprintf(c->key[c->nw], sizeof(c->key[0]), "%s", key);
	(void)snprintf(c->val[c->nw], sizeof(c->val[0]), "%s", val);
	c->nw++;
}

void
calls_start(CURLM *m, struct call *c, int n)
{
	char		url[400];
	int		i;

	for (i = 0; i < n; i++) {
		(void)snprintf(url, sizeof(url), "%s%s", c[i].base, c[i].path);
		c[i].hdrs = curl_slist_append(NULL,
		    "Content-Type: application/json");
		c[i].hdrs = curl_slist_append(c[i].hdrs, "Expect:");
		if (c[i].auth[0] != '\0')
			c[i].hdrs = curl_slist_append(c[i].hdrs, c[i].auth);
		c[i].h = curl_easy_init();
		(void)curl_easy_setopt(c[i].h, CURLOPT_URL, url);
		(void)curl_easy_setopt(c[i].h, CURLOPT_CUSTOMREQUEST,
		    c[i].method);
		(void)curl_easy_setopt(c[i].h, CURLOPT_HTTPHEADER, c[i].hdrs);
		if (c[i].body[0] != '\0')
			(void)curl_easy_setopt(c[i].h, CURLOPT_POSTFIELDS,
			    c[i].body);
		(void)curl_easy_setopt(c[i].h, CURLOPT_WRITEFUNCTION,
		    call_body);
		(void)curl_easy_setopt(c[i].h, CURLOPT_WRITEDATA, &c[i]);
		/* Far beyond any answer that is not stuck behind a lock. */
		(void)curl_easy_setopt(c[i].h, CURLOPT_TIMEOUT, 30L);
		(void)curl_easy_setopt(c[i].h, CURLOPT_NOSIGNAL, 1L);
		(void)curl_easy_setopt(c[i].h, CURLOPT_FORBID_REUSE, 1L);
		cr_assert_eq(curl_multi_add_handle(m, c[i].h), CURLM_OK);
	}
}

/* Drive the transfers for up to ms; how many are still running. */
int
calls_drive(CURLM *m, int ms)
{
	double		end;
	int		running, nfds;

	end = fx_now() + ms / 1000.0;
	do {
		(void)curl_multi_perform(m, &running);
		if (running == 0)
			break;
		(void)curl_multi_wait(m, NULL, 0, 50, &nfds);
	} while (fx_now() < end);
	return (running);
}

/* Close every transfer (finished or not: a client that goes away). */
void
calls_end(CURLM *m, struct call *c, int n)
{
	int		i;

	for (i = 0; i < n; i++) {
		(void)curl_easy_getinfo(c[i].h, CURLINFO_RESPONSE_CODE,
		    &c[i].status);
		(void)curl_multi_remove_handle(m, c[i].h);
		curl_easy_cleanup(c[i].h);
		curl_slist_free_all(c[i].hdrs);
		c[i].h = NULL;
		c[i].hdrs = NULL;
	}
}

/* Each answer is exactly the one its request asked for. */
void
calls_check(struct call *c, int n)
{
	json_t		*j, *v;
	char		 s[64];
	int		 i, k;

	for (i = 0; i < n; i++) {
		cr_assert_eq(c[i].status, c[i].want, "%s %s: %ld %s",
		    c[i].method, c[i].path, c[i].status,
		    c[i].out ? c[i].out : "(no answer)");
		j = json_loads(c[i].out ? c[i].out : "", 0, NULL);
		cr_assert_not_null(j, "%s %s: not JSON", c[i].method,
		    c[i].path);
		for (k = 0; k < c[i].nw; k++) {
			v = jpath(j, c[i].key[k]);
			if (json_is_integer(v))
				(void)snprintf(s, sizeof(s), "%lld",
				    (long long)json_integer_value(v));
			cr_assert(v != NULL && !strcmp(json_is_integer(v) ? s :
			    json_string_value(v) ? json_string_value(v) : "",
			    c[i].val[k]), "%s %s: %s is not %s: %s",
			    c[i].method, c[i].path, c[i].key[k], c[i].val[k],
			    c[i].out);
		}
		json_decref(j);
	}
}

void
calls_free(struct call *c, int n)
{
	int		i;

	for (i = 0; i < n; i++) {
		free(c[i].out);
		c[i].out = NULL;
		c[i].len = 0;
	}
}

/* Send the n at once, wait for every answer, check each (calls_free). */
void
calls_run(struct call *c, int n)
{
	CURLM		*m;

	cr_assert_not_null(m = curl_multi_init());
	calls_start(m, c, n);
	calls_wait(m, c, n);
	calls_check(c, n);
}

/* Drive the n to their answers (60 s at most), close them, and m. */
void
calls_wait(CURLM *m, struct call *c, int n)
{
	(void)calls_drive(m, 60000);
	calls_end(m, c, n);
	curl_multi_cleanup(m);
}

/* The locks held on db go (COMMIT), and db is closed. */
void
pg_unlock(PGconn *db)
{
	(void)fx_sql_on(db, "COMMIT", NULL);
	PQfinish(db);
}

/* Hold todo id's row lock on db (BEGIN; SELECT ... FOR UPDATE). */
void
pg_lock_todo(PGconn *db, const char *id)
{
	(void)fx_sql_on(db, "BEGIN", NULL);
	cr_assert_str_eq(fx_sql_on(db, "SELECT id FROM todos WHERE id = $1 "
	    "FOR UPDATE", id), id);
}

/*
 * Statements waiting on db's locks, directly or behind another waiter
 * (the second UPDATE of a row waits on the first one's tuple lock).
 */
int
pg_blocked(PGconn *db)
{
	char		pid[32];

	(void)snprintf(pid, sizeof(pid), "%d", PQbackendPID(db));
	return (atoi(fx_sql("WITH RECURSIVE b(pid) AS (SELECT $1::int "
	    "UNION SELECT a.pid FROM pg_stat_activity a, b "
	    "WHERE b.pid = ANY(pg_blocking_pids(a.pid))) "
	    "SELECT count(*) - 1 FROM b", pid)));
}

/* Drive m (if any) until want statements wait on db's lock, else fail. */
void
wait_blocked(CURLM *m, PGconn *db, int want)
{
	double		end;
	int		n;

	end = fx_now() + 20;
	while ((n = pg_blocked(db)) < want && fx_now() < end) {
		if (m != NULL)
			(void)calls_drive(m, 100);
		else
			(void)usleep(100000);
	}
	cr_assert_geq(n, want, "%d of %d statements reached the lock", n,
	    want);
}

long
busy_at(const char *base)
{
	return (fx_metric(base, "elenchus_db_pool_connections_busy"));
}

/*
 * Nothing in flight nor queued within seconds (others' requests come
 * and go).
 */
void
expect_idle(const char *base, int seconds)
{
	double		end;
	long		v;

	end = fx_now() + seconds;
	while (((v = busy_at(base)) != 0 || fx_metric(base, "elenchus_db_pool_waiting") != 0) &&
	    fx_now() < end)
		(void)usleep(50000);
	cr_expect_eq(v, 0, "elenchus_db_pool_connections_busy stays %ld", v);
	cr_expect_eq(fx_metric(base, "elenchus_db_pool_waiting"), 0,
	    "elenchus_db_pool_waiting stays above 0");
}