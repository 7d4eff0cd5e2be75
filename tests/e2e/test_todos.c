/*
 * Todos (docs/API.md §4) against the real server: CRUD, listing (filters,
 * sorting, pagination), validation, ownership, and the cascade when an
 * admin purges a user.  Every test registers its own users.
 */
#include <criterion/criterion.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "fixture.h"

static size_t
field_count(struct resp *r)
{
	return (json_array_size(jpath(r->json, "error.details.fields")));
}

/* Create a todo from body as w; its id into id (UUID + NUL). */
static void
mk(const struct user *w, const char *body, char *id)
{
	struct resp	*r;

	r = fx_call("POST", w, body, "/api/v1/users/%s/todos", w->id);
	cr_assert_eq(r->status, 201, "create: %ld %s", r->status, r->body);
	cr_assert_not_null(jstr(r, "data.id"));
	(void)snprintf(id, 37, "%s", jstr(r, "data.id"));
	resp_free(r);
}

static void
mk_titled(const struct user *w, const char *title, const char *prio,
    char *id)
{
	char		*s;
	json_t		*b;

	b = json_pack("{s:s, s:s}", "title", title, "priority", prio);
	s = json_dumps(b, 0);
	json_decref(b);
	mk(w, s, id);
	free(s);
}

/* The list's items' field values joined by ",". */
static void
list_join(struct resp *r, const char *field, char *out, size_t len)
{
	json_t		*items, *it;
	size_t		i, off;

	out[0] = '\0';
	off = 0;
	items = jpath(r->json, "data.items");
	cr_assert(json_is_array(items), "no items: %s", r->body);
	json_array_foreach(items, i, it) {
		off += (size_t)snprintf(out + off, len - off, "%s%s",
		    i ? "," : "", json_string_value(json_object_get(it,
		    field)));
		cr_assert_lt(off, len);
	}
}

static int
is_rfc3339_utc(const char *s)
{
	/* 2026-11-23T18:14:06.123Z */
	return (s != NULL && strlen(s) == 24 && s[4] == '-' &&
	    s[10] == 'T' && s[19] == '.' && s[23] == 'Z');
}

static char *
repeat(const char *unit, int n)
{
	char		*s;
	size_t		ul;
	int		i;

	ul = strlen(unit);
	s = malloc(ul * (size_t)n + 1);
	cr_assert_not_null(s);
	for (i = 0; i < n; i++)
		memcpy(s + ul * (size_t)i, unit, ul);
	s[ul * (size_t)n] = '\0';
	return (s);
}

/* A scalar from the database under test (DATABASE_URL). */
static long long
db_count(const char *sql, const char *param)
{
	PGconn		*c;
	PGresult	*res;
	long long	n;
	const char	*url;

	url = getenv("DATABASE_URL");
	cr_assert_not_null(url, "DATABASE_URL is not set");
	c = PQconnectdb(url);
	cr_assert_eq(PQstatus(c), CONNECTION_OK, "%s", PQerrorMessage(c));
	res = PQexecParams(c, sql, 1, NULL, &param, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s",
	    PQerrorMessage(c));
	n = atoll(PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(c);
	return (n);
}

Test(todos, create_applies_defaults_and_get_returns_it)
{
	struct user	a;
	struct resp	*r;
	char		id[40];

	fx_new(&a, "todo-");
	r = fx_call("POST", &a, "{\"title\": \"Read the brief\"}",
	    "/api/v1/users/%s/todos", a.id);
	cr_assert_eq(r->status, 201, "%ld %s", r->status, r->body);
	cr_expect(json_is_true(jpath(r->json, "success")));
	cr_expect(json_is_array(jpath(r->json, "warnings")));
	cr_expect_str_eq(jstr(r, "data.title"), "Read the brief");
	cr_expect_str_eq(jstr(r, "data.priority"), "medium");
	cr_expect_str_eq(jstr(r, "data.user_id"), a.id);
	cr_expect(json_is_null(jpath(r->json, "data.description")));
	cr_expect(json_is_false(jpath(r->json, "data.completed")));
	cr_expect(json_is_null(jpath(r->json, "data.completed_at")));
	cr_expect(is_rfc3339_utc(jstr(r, "data.created_at")), "%s",
	    jstr(r, "data.created_at"));
	cr_expect(is_rfc3339_utc(jstr(r, "data.updated_at")));
	cr_assert_eq(strlen(jstr(r, "data.id")), 36);
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos/%s", a.id, id);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cr_expect_str_eq(jstr(r, "data.id"), id);
	cr_expect_str_eq(jstr(r, "data.title"), "Read the brief");
	cr_expect_str_eq(jstr(r, "data.priority"), "medium");
	cr_expect_str_eq(resp_header(r, "cache-control"), "private, no-cache");
	resp_free(r);
}

Test(todos, create_stores_every_field)
{
	struct user	a;
	struct resp	*r;

	fx_new(&a, "todo-");
	r = fx_call("POST", &a, "{\"title\": \"File motion\", \"description\": "
	    "\"Before Friday\", \"priority\": \"high\"}",
	    "/api/v1/users/%s/todos", a.id);
	cr_assert_eq(r->status, 201, "%ld %s", r->status, r->body);
	cr_expect_str_eq(jstr(r, "data.description"), "Before Friday");
	cr_expect_str_eq(jstr(r, "data.priority"), "high");
	resp_free(r);
}

Test(todos, create_reports_every_invalid_field)
{
	struct user	a;
	struct resp	*r;
	char		*desc, *body;

	fx_new(&a, "todo-");
	desc = repeat("d", 1001);
	body = malloc(strlen(desc) + 128);
	(void)sprintf(body, "{\"title\": \"   \", \"description\": \"%s\", "
	    "\"priority\": \"urgent\"}", desc);
	r = fx_call("POST", &a, body, "/api/v1/users/%s/todos", a.id);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "title"), "blank");
	cr_expect_str_eq(fx_issue(r, "description"), "too_long");
	cr_expect_str_eq(fx_issue(r, "priority"), "invalid_choice");
	cr_expect_eq(field_count(r), 3, "%s", r->body);
	resp_free(r);
	free(body);
	free(desc);

	r = fx_call("POST", &a, "{}", "/api/v1/users/%s/todos", a.id);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "title"), "missing");
	resp_free(r);

	r = fx_call("POST", &a, "{\"title\": \"\"}", "/api/v1/users/%s/todos",
	    a.id);
	fx_error(r, 400, "validation_error");
	cr_expect_not_null(fx_issue(r, "title"));
	resp_free(r);
}

Test(todos, title_and_description_limits_count_characters)
{
	struct user	a;
	struct resp	*r;
	char		*title, *desc, *s;
	json_t		*b;

	fx_new(&a, "todo-");
	/* 200 two-byte characters is 400 bytes, still a valid title. */
	title = repeat("\xc3\xa9", 200);
	desc = repeat("\xe2\x82\xac", 1000);
	b = json_pack("{s:s, s:s}", "title", title, "description", desc);
	s = json_dumps(b, 0);
	json_decref(b);
	r = fx_call("POST", &a, s, "/api/v1/users/%s/todos", a.id);
	cr_expect_eq(r->status, 201, "%ld %s", r->status, r->body);
	cr_expect_str_eq(jstr(r, "data.title"), title);
	cr_expect_str_eq(jstr(r, "data.description"), desc);
	resp_free(r);
	free(s);
	free(title);
	free(desc);

	title = repeat("a", 201);
	b = json_pack("{s:s}", "title", title);
	s = json_dumps(b, 0);
	json_decref(b);
	r = fx_call("POST", &a, s, "/api/v1/users/%s/todos", a.id);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "title"), "too_long");
	resp_free(r);
	free(s);
	free(title);
}

Test(todos, wrong_json_types_are_400_per_field)
{
	struct user	a;
	struct resp	*r;

	fx_new(&a, "todo-");
	r = fx_call("POST", &a, "{\"title\": 42, \"description\": [1], "
	    "\"priority\": 3, \"completed\": \"yes\"}",
	    "/api/v1/users/%s/todos", a.id);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "title"), "wrong_type");
	cr_expect_str_eq(fx_issue(r, "description"), "wrong_type");
	cr_expect_str_eq(fx_issue(r, "priority"), "wrong_type");
	cr_expect_str_eq(fx_issue(r, "completed"), "wrong_type");
	cr_expect_eq(field_count(r), 4, "%s", r->body);
	resp_free(r);

	r = fx_call("POST", &a, "{\"title\": null}", "/api/v1/users/%s/todos",
	    a.id);
	fx_error(r, 400, "validation_error");
	cr_expect_not_null(fx_issue(r, "title"));
	resp_free(r);
}

Test(todos, malformed_json_and_non_objects_are_400)
{
	struct user	a;
	struct resp	*r;

	fx_new(&a, "todo-");
	r = fx_call("POST", &a, "{\"title\": \"x\"", "/api/v1/users/%s/todos",
	    a.id);
	fx_error(r, 400, "invalid_json");
	resp_free(r);

	r = fx_call("POST", &a, "[\"title\"]", "/api/v1/users/%s/todos", a.id);
	cr_expect_eq(r->status, 400, "%s", r->body);
	resp_free(r);

	r = fx_call("POST", &a, "", "/api/v1/users/%s/todos", a.id);
	cr_expect_eq(r->status, 400, "%s", r->body);
	resp_free(r);
}

Test(todos, unknown_fields_are_ignored)
{
	struct user	a, b;
	struct resp	*r;
	char		body[512];

	fx_new(&a, "todo-");
	fx_new(&b, "todo-");
	/* Not even user_id or id in the body can redirect the write. */
	(void)snprintf(body, sizeof(body), "{\"title\": \"mine\", \"colour\": "
	    "\"red\", \"user_id\": \"%s\", \"id\": \"%s\", \"tags\": [1]}",
	    b.id, FX_NO_SUCH_ID);
	r = fx_call("POST", &a, body, "/api/v1/users/%s/todos", a.id);
	cr_assert_eq(r->status, 201, "%ld %s", r->status, r->body);
	cr_expect_str_eq(jstr(r, "data.user_id"), a.id);
	cr_expect_str_neq(jstr(r, "data.id"), FX_NO_SUCH_ID);
	cr_expect_null(jpath(r->json, "data.colour"));
	resp_free(r);
}

Test(todos, unicode_and_sql_metacharacters_are_stored_verbatim)
{
	const char	*title = "Robert'); DROP TABLE todos;-- \"q\" \\ %_ "
	    "$1 \xc3\xbc \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89";
	struct user	a;
	struct resp	*r;
	char		id[40];

	fx_new(&a, "todo-");
	mk_titled(&a, title, "low", id);
	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos/%s", a.id, id);
	cr_assert_eq(r->status, 200);
	cr_expect_str_eq(jstr(r, "data.title"), title);
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos", a.id);
	cr_assert_eq(r->status, 200);
	cr_expect_str_eq(jstr(r, "data.items.0.title"), title);
	cr_expect_eq(jint(r, "data.total"), 1);
	resp_free(r);
}

Test(todos, list_defaults_to_newest_first_with_filters_applied)
{
	struct user	a;
	struct resp	*r;
	char		id[3][40], got[256], want[256];

	fx_new(&a, "todo-");
	mk_titled(&a, "first", "low", id[0]);
	mk_titled(&a, "second", "high", id[1]);
	mk_titled(&a, "third", "medium", id[2]);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos", a.id);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	list_join(r, "id", got, sizeof(got));
	(void)snprintf(want, sizeof(want), "%s,%s,%s", id[2], id[1], id[0]);
	cr_expect_str_eq(got, want);
	cr_expect_eq(jint(r, "data.total"), 3);
	cr_expect_eq(jint(r, "data.limit"), 50);
	cr_expect_eq(jint(r, "data.offset"), 0);
	cr_expect_str_eq(jstr(r, "data.filters_applied.status"), "all");
	cr_expect_str_eq(jstr(r, "data.filters_applied.sort_by"),
	    "created_at");
	cr_expect_str_eq(jstr(r, "data.filters_applied.order"), "desc");
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos?order=asc", a.id);
	list_join(r, "title", got, sizeof(got));
	cr_expect_str_eq(got, "first,second,third");
	cr_expect_str_eq(jstr(r, "data.filters_applied.order"), "asc");
	resp_free(r);
}

Test(todos, list_is_empty_for_a_new_user)
{
	struct user	a;
	struct resp	*r;

	fx_new(&a, "todo-");
	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos", a.id);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cr_expect(json_is_array(jpath(r->json, "data.items")));
	cr_expect_eq(json_array_size(jpath(r->json, "data.items")), 0);
	cr_expect_eq(jint(r, "data.total"), 0);
	resp_free(r);
}

Test(todos, list_paginates_with_limit_offset_skip_and_total)
{
	struct user	a;
	struct resp	*r;
	char		id[5][40], got[512], t[16];
	int		i;

	fx_new(&a, "todo-");
	for (i = 0; i < 5; i++) {
		(void)snprintf(t, sizeof(t), "t%d", i);
		mk_titled(&a, t, "medium", id[i]);
	}

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos?limit=2", a.id);
	cr_assert_eq(r->status, 200, "%s", r->body);
	list_join(r, "title", got, sizeof(got));
	cr_expect_str_eq(got, "t4,t3");
	cr_expect_eq(jint(r, "data.total"), 5);
	cr_expect_eq(jint(r, "data.limit"), 2);
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos?limit=2&offset=2",
	    a.id);
	list_join(r, "title", got, sizeof(got));
	cr_expect_str_eq(got, "t2,t1");
	cr_expect_eq(jint(r, "data.offset"), 2);
	cr_expect_eq(jint(r, "data.total"), 5);
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos?limit=2&skip=4",
	    a.id);
	list_join(r, "title", got, sizeof(got));
	cr_expect_str_eq(got, "t0");
	cr_expect_eq(jint(r, "data.offset"), 4);
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos?offset=10", a.id);
	cr_expect_eq(r->status, 200);
	cr_expect_eq(json_array_size(jpath(r->json, "data.items")), 0);
	cr_expect_eq(jint(r, "data.total"), 5);
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos?limit=0", a.id);
	fx_error(r, 400, "validation_error");
	cr_expect_not_null(fx_issue(r, "limit"));
	resp_free(r);

	r = fx_call("GET", &a, NULL,
	    "/api/v1/users/%s/todos?limit=101&offset=-1",
	    a.id);
	fx_error(r, 400, "validation_error");
	cr_expect_not_null(fx_issue(r, "limit"));
	cr_expect_not_null(fx_issue(r, "offset"));
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos?limit=abc", a.id);
	fx_error(r, 400, "validation_error");
	resp_free(r);
}

Test(todos, priority_sorts_high_medium_low_not_alphabetically)
{
	struct user	a;
	struct resp	*r;
	char		id[40], got[256];

	fx_new(&a, "todo-");
	mk_titled(&a, "l1", "low", id);
	mk_titled(&a, "h1", "high", id);
	mk_titled(&a, "m1", "medium", id);
	mk_titled(&a, "l2", "low", id);

	r = fx_call("GET", &a, NULL,
	    "/api/v1/users/%s/todos?sort_by=priority&order=desc", a.id);
	cr_assert_eq(r->status, 200, "%s", r->body);
	list_join(r, "priority", got, sizeof(got));
	cr_expect_str_eq(got, "high,medium,low,low");
	cr_expect_str_eq(jstr(r, "data.filters_applied.sort_by"), "priority");
	resp_free(r);

	/* Without order the default (desc) applies: high first. */
	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos?sort_by=priority",
	    a.id);
	list_join(r, "priority", got, sizeof(got));
	cr_expect_str_eq(got, "high,medium,low,low");
	resp_free(r);

	r = fx_call("GET", &a, NULL,
	    "/api/v1/users/%s/todos?sort_by=priority&order=asc", a.id);
	list_join(r, "priority", got, sizeof(got));
	cr_expect_str_eq(got, "low,low,medium,high");
	resp_free(r);
}

Test(todos, title_sort_both_directions)
{
	struct user	a;
	struct resp	*r;
	char		id[40], got[256];

	fx_new(&a, "todo-");
	mk_titled(&a, "banana", "low", id);
	mk_titled(&a, "apple", "low", id);
	mk_titled(&a, "cherry", "low", id);

	r = fx_call("GET", &a, NULL,
	    "/api/v1/users/%s/todos?sort_by=title&order=asc", a.id);
	cr_assert_eq(r->status, 200, "%s", r->body);
	list_join(r, "title", got, sizeof(got));
	cr_expect_str_eq(got, "apple,banana,cherry");
	resp_free(r);

	r = fx_call("GET", &a, NULL,
	    "/api/v1/users/%s/todos?sort_by=title&order=desc", a.id);
	list_join(r, "title", got, sizeof(got));
	cr_expect_str_eq(got, "cherry,banana,apple");
	resp_free(r);
}

Test(todos, status_filter_selects_and_counts)
{
	struct user	a;
	struct resp	*r;
	char		id[3][40], got[256];

	fx_new(&a, "todo-");
	mk_titled(&a, "p1", "low", id[0]);
	mk_titled(&a, "c1", "low", id[1]);
	mk_titled(&a, "p2", "low", id[2]);
	r = fx_call("PATCH", &a, "{\"completed\": true}",
	    "/api/v1/users/%s/todos/%s/complete", a.id, id[1]);
	cr_assert_eq(r->status, 200, "%s", r->body);
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos?status=completed",
	    a.id);
	cr_assert_eq(r->status, 200, "%s", r->body);
	list_join(r, "title", got, sizeof(got));
	cr_expect_str_eq(got, "c1");
	cr_expect_eq(jint(r, "data.total"), 1);
	cr_expect(json_is_true(jpath(r->json, "data.items.0.completed")));
	cr_expect_str_eq(jstr(r, "data.filters_applied.status"), "completed");
	resp_free(r);

	r = fx_call("GET", &a, NULL,
	    "/api/v1/users/%s/todos?status=pending&order=asc", a.id);
	list_join(r, "title", got, sizeof(got));
	cr_expect_str_eq(got, "p1,p2");
	cr_expect_eq(jint(r, "data.total"), 2);
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos?status=all", a.id);
	cr_expect_eq(jint(r, "data.total"), 3);
	resp_free(r);

	/* A page past the end still counts what the filter selects. */
	r = fx_call("GET", &a, NULL,
	    "/api/v1/users/%s/todos?status=pending&offset=5", a.id);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_eq(json_array_size(jpath(r->json, "data.items")), 0);
	cr_expect_eq(jint(r, "data.total"), 2);
	resp_free(r);
	r = fx_call("GET", &a, NULL,
	    "/api/v1/users/%s/todos?status=completed&offset=1", a.id);
	cr_expect_eq(json_array_size(jpath(r->json, "data.items")), 0);
	cr_expect_eq(jint(r, "data.total"), 1);
	resp_free(r);
}

/* The list's total for status, as w, on its own todos. */
static long long
list_total(const struct user *w, const char *status)
{
	struct resp	*r;
	long long	n;

	r = fx_call("GET", w, NULL, "/api/v1/users/%s/todos?status=%s&limit=1",
	    w->id, status);
	cr_assert_eq(r->status, 200, "%s", r->body);
	n = jint(r, "data.total");
	resp_free(r);
	return (n);
}

/* The three totals of w against the rows themselves. */
static void
expect_totals(const struct user *w, long long all, long long done)
{
	cr_expect_eq(list_total(w, "all"), all);
	cr_expect_eq(list_total(w, "completed"), done);
	cr_expect_eq(list_total(w, "pending"), all - done);
	cr_expect_eq(db_count("SELECT count(*) FROM todos WHERE user_id = $1",
	    w->id), all);
	cr_expect_eq(db_count("SELECT count(*) FROM todos WHERE user_id = $1 "
	    "AND completed", w->id), done);
}

/* The total comes from counters (sql/014_perf.sql), not count(*). */
Test(todos, totals_follow_every_write)
{
	struct user	a;
	struct resp	*r;
	char		id[4][40];

	fx_new(&a, "todo-");
	expect_totals(&a, 0, 0);
	mk_titled(&a, "t0", "low", id[0]);
	mk_titled(&a, "t1", "high", id[1]);
	mk(&a, "{\"title\": \"t2\", \"completed\": true}", id[2]);
	mk_titled(&a, "t3", "medium", id[3]);
	expect_totals(&a, 4, 1);

	r = fx_call("PATCH", &a, "{\"completed\": true}",
	    "/api/v1/users/%s/todos/%s/complete", a.id, id[0]);
	cr_assert_eq(r->status, 200, "%s", r->body);
	resp_free(r);
	expect_totals(&a, 4, 2);

	/* A second completion changes nothing. */
	r = fx_call("PATCH", &a, "{\"completed\": true}",
	    "/api/v1/users/%s/todos/%s/complete", a.id, id[0]);
	resp_free(r);
	r = fx_call("PATCH", &a, "{\"title\": \"t1b\"}",
	    "/api/v1/users/%s/todos/%s", a.id, id[1]);
	resp_free(r);
	expect_totals(&a, 4, 2);

	r = fx_call("PUT", &a, "{\"title\": \"t2\", \"priority\": \"low\", "
	    "\"completed\": false}", "/api/v1/users/%s/todos/%s", a.id, id[2]);
	cr_assert_eq(r->status, 200, "%s", r->body);
	resp_free(r);
	expect_totals(&a, 4, 1);

	r = fx_call("DELETE", &a, NULL, "/api/v1/users/%s/todos/%s", a.id,
	    id[0]);
	cr_assert_eq(r->status, 200, "%s", r->body);
	resp_free(r);
	r = fx_call("DELETE", &a, NULL, "/api/v1/users/%s/todos/%s", a.id,
	    id[3]);
	resp_free(r);
	expect_totals(&a, 2, 0);

	/* Bulk changes count every todo they touch, once. */
	{
		char	body[256];

		(void)snprintf(body, sizeof(body), "{\"action\": \"complete\", "
		    "\"ids\": [\"%s\", \"%s\", \"%s\"]}", id[1], id[2], id[1]);
		r = fx_call("POST", &a, body, "/api/v1/users/%s/todos/bulk",
		    a.id);
		cr_assert_eq(r->status, 200, "%s", r->body);
		resp_free(r);
		expect_totals(&a, 2, 2);
		(void)snprintf(body, sizeof(body), "{\"action\": \"delete\", "
		    "\"ids\": [\"%s\", \"%s\"]}", id[1], id[2]);
		r = fx_call("POST", &a, body, "/api/v1/users/%s/todos/bulk",
		    a.id);
		cr_assert_eq(r->status, 200, "%s", r->body);
		resp_free(r);
		expect_totals(&a, 0, 0);
		mk_titled(&a, "t4", "low", id[0]);
		mk_titled(&a, "t5", "low", id[3]);
		expect_totals(&a, 2, 0);
	}

	/* A failed write (validation) counts nothing. */
	r = fx_call("POST", &a, "{\"title\": \"\"}", "/api/v1/users/%s/todos",
	    a.id);
	cr_expect_eq(r->status, 400);
	resp_free(r);
	expect_totals(&a, 2, 0);
}

Test(todos, list_rejects_unknown_choices)
{
	struct user	a;
	struct resp	*r;

	fx_new(&a, "todo-");
	r = fx_call("GET", &a, NULL,
	    "/api/v1/users/%s/todos?status=done&sort_by=colour&order=up",
	    a.id);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "status"), "invalid_choice");
	cr_expect_str_eq(fx_issue(r, "sort_by"), "invalid_choice");
	cr_expect_str_eq(fx_issue(r, "order"), "invalid_choice");
	resp_free(r);

	/* Not SQL: a sort key that names a column is still refused. */
	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos?sort_by=id;drop",
	    a.id);
	fx_error(r, 400, "validation_error");
	resp_free(r);
}

Test(todos, put_replaces_and_requires_title_and_priority)
{
	struct user	a;
	struct resp	*r;
	char		id[40];

	fx_new(&a, "todo-");
	mk(&a, "{\"title\": \"old\", \"description\": \"keep?\", "
	    "\"priority\": \"low\"}", id);

	r = fx_call("PUT", &a, "{\"description\": \"only this\"}",
	    "/api/v1/users/%s/todos/%s", a.id, id);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "title"), "missing");
	cr_expect_str_eq(fx_issue(r, "priority"), "missing");
	resp_free(r);

	/* A full replacement: description left out is cleared. */
	r = fx_call("PUT", &a, "{\"title\": \"new\", \"priority\": \"high\"}",
	    "/api/v1/users/%s/todos/%s", a.id, id);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cr_expect_str_eq(jstr(r, "data.title"), "new");
	cr_expect_str_eq(jstr(r, "data.priority"), "high");
	cr_expect(json_is_null(jpath(r->json, "data.description")));
	cr_expect_str_eq(jstr(r, "data.id"), id);
	cr_expect(strcmp(jstr(r, "data.updated_at"),
	    jstr(r, "data.created_at")) >= 0);
	resp_free(r);

	r = fx_call("PUT", &a, "{\"title\": \"newer\", \"priority\": \"low\", "
	    "\"description\": \"d\"}", "/api/v1/users/%s/todos/%s", a.id, id);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.description"), "d");
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos/%s", a.id, id);
	cr_expect_str_eq(jstr(r, "data.title"), "newer");
	cr_expect_str_eq(jstr(r, "data.priority"), "low");
	resp_free(r);

	r = fx_call("PUT", &a, "{\"title\": \"x\", \"priority\": \"urgent\"}",
	    "/api/v1/users/%s/todos/%s", a.id, id);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "priority"), "invalid_choice");
	resp_free(r);
}

Test(todos, patch_changes_only_the_given_fields)
{
	struct user	a;
	struct resp	*r;
	char		id[40];

	fx_new(&a, "todo-");
	mk(&a, "{\"title\": \"t\", \"description\": \"d\", "
	    "\"priority\": \"low\"}", id);

	r = fx_call("PATCH", &a, "{\"priority\": \"high\"}",
	    "/api/v1/users/%s/todos/%s", a.id, id);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cr_expect_str_eq(jstr(r, "data.priority"), "high");
	cr_expect_str_eq(jstr(r, "data.title"), "t");
	cr_expect_str_eq(jstr(r, "data.description"), "d");
	resp_free(r);

	r = fx_call("PATCH", &a, "{\"title\": \"t2\"}",
	    "/api/v1/users/%s/todos/%s", a.id, id);
	cr_expect_str_eq(jstr(r, "data.title"), "t2");
	cr_expect_str_eq(jstr(r, "data.description"), "d");
	cr_expect_str_eq(jstr(r, "data.priority"), "high");
	resp_free(r);

	r = fx_call("PATCH", &a, "{\"description\": null}",
	    "/api/v1/users/%s/todos/%s", a.id, id);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect(json_is_null(jpath(r->json, "data.description")));
	cr_expect_str_eq(jstr(r, "data.title"), "t2");
	resp_free(r);

	r = fx_call("PATCH", &a, "{}", "/api/v1/users/%s/todos/%s", a.id, id);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.title"), "t2");
	cr_expect_str_eq(jstr(r, "data.priority"), "high");
	resp_free(r);

	r = fx_call("PATCH", &a, "{\"completed\": true}",
	    "/api/v1/users/%s/todos/%s", a.id, id);
	cr_expect(json_is_true(jpath(r->json, "data.completed")));
	cr_expect(is_rfc3339_utc(jstr(r, "data.completed_at")));
	resp_free(r);

	r = fx_call("PATCH", &a, "{\"title\": \" \", \"priority\": null, "
	    "\"completed\": 1}", "/api/v1/users/%s/todos/%s", a.id, id);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "title"), "blank");
	cr_expect_str_eq(fx_issue(r, "priority"), "wrong_type");
	cr_expect_str_eq(fx_issue(r, "completed"), "wrong_type");
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos/%s", a.id, id);
	cr_expect_str_eq(jstr(r, "data.title"), "t2");
	resp_free(r);
}

Test(todos, complete_sets_and_clears_completed_at)
{
	struct user	a;
	struct resp	*r;
	char		id[40], at[40];

	fx_new(&a, "todo-");
	mk_titled(&a, "finish", "medium", id);

	r = fx_call("PATCH", &a, "{\"completed\": true}",
	    "/api/v1/users/%s/todos/%s/complete", a.id, id);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cr_expect(json_is_true(jpath(r->json, "data.completed")));
	cr_assert(is_rfc3339_utc(jstr(r, "data.completed_at")), "%s",
	    r->body);
	(void)snprintf(at, sizeof(at), "%s", jstr(r, "data.completed_at"));
	resp_free(r);

	/* Completing again keeps the first completion time. */
	r = fx_call("PATCH", &a, "{\"completed\": true}",
	    "/api/v1/users/%s/todos/%s/complete", a.id, id);
	cr_expect_str_eq(jstr(r, "data.completed_at"), at);
	resp_free(r);

	r = fx_call("PATCH", &a, "{\"completed\": false}",
	    "/api/v1/users/%s/todos/%s/complete", a.id, id);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect(json_is_false(jpath(r->json, "data.completed")));
	cr_expect(json_is_null(jpath(r->json, "data.completed_at")));
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos/%s", a.id, id);
	cr_expect(json_is_null(jpath(r->json, "data.completed_at")));
	resp_free(r);

	r = fx_call("PATCH", &a, "{}", "/api/v1/users/%s/todos/%s/complete",
	    a.id, id);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "completed"), "missing");
	resp_free(r);

	r = fx_call("PATCH", &a, "{\"completed\": \"yes\"}",
	    "/api/v1/users/%s/todos/%s/complete", a.id, id);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "completed"), "wrong_type");
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos/%s/complete",
	    a.id, id);
	fx_error(r, 405, "method_not_allowed");
	cr_expect_str_eq(resp_header(r, "allow"), "PATCH, OPTIONS");
	resp_free(r);
}

Test(todos, delete_answers_deleted_id_then_404)
{
	struct user	a;
	struct resp	*r;
	char		id[40];

	fx_new(&a, "todo-");
	mk_titled(&a, "gone soon", "low", id);

	r = fx_call("DELETE", &a, NULL, "/api/v1/users/%s/todos/%s", a.id, id);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cr_expect_str_eq(jstr(r, "data.deleted_id"), id);
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos/%s", a.id, id);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_call("DELETE", &a, NULL, "/api/v1/users/%s/todos/%s", a.id, id);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_call("PUT", &a, "{\"title\": \"x\", \"priority\": \"low\"}",
	    "/api/v1/users/%s/todos/%s", a.id, id);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_call("PATCH", &a, "{\"completed\": true}",
	    "/api/v1/users/%s/todos/%s/complete", a.id, id);
	fx_error(r, 404, "not_found");
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos", a.id);
	cr_expect_eq(jint(r, "data.total"), 0);
	resp_free(r);
}

Test(todos, another_users_path_is_403_for_every_method)
{
	struct user	a, b;
	struct resp	*r;
	char		id[40];

	fx_new(&a, "todo-");
	fx_new(&b, "todo-");
	mk_titled(&a, "private", "high", id);

	r = fx_call("GET", &b, NULL, "/api/v1/users/%s/todos", a.id);
	fx_error(r, 403, "forbidden");
	resp_free(r);
	r = fx_call("POST", &b, "{\"title\": \"intrude\"}",
	    "/api/v1/users/%s/todos", a.id);
	fx_error(r, 403, "forbidden");
	resp_free(r);
	r = fx_call("GET", &b, NULL, "/api/v1/users/%s/todos/%s", a.id, id);
	fx_error(r, 403, "forbidden");
	resp_free(r);
	r = fx_call("PUT", &b, "{\"title\": \"x\", \"priority\": \"low\"}",
	    "/api/v1/users/%s/todos/%s", a.id, id);
	fx_error(r, 403, "forbidden");
	resp_free(r);
	r = fx_call("PATCH", &b, "{\"title\": \"x\"}",
	    "/api/v1/users/%s/todos/%s", a.id, id);
	fx_error(r, 403, "forbidden");
	resp_free(r);
	r = fx_call("PATCH", &b, "{\"completed\": true}",
	    "/api/v1/users/%s/todos/%s/complete", a.id, id);
	fx_error(r, 403, "forbidden");
	resp_free(r);
	r = fx_call("DELETE", &b, NULL, "/api/v1/users/%s/todos/%s", a.id, id);
	fx_error(r, 403, "forbidden");
	resp_free(r);
	/* A user_id that is not even a UUID is not the caller's either. */
	r = fx_call("GET", &b, NULL, "/api/v1/users/not-a-uuid/todos");
	fx_error(r, 403, "forbidden");
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos/%s", a.id, id);
	cr_expect_eq(r->status, 200);
	cr_expect_str_eq(jstr(r, "data.title"), "private");
	cr_expect(json_is_false(jpath(r->json, "data.completed")));
	resp_free(r);
	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos", a.id);
	cr_expect_eq(jint(r, "data.total"), 1);
	resp_free(r);
}

Test(todos, another_users_todo_under_own_path_is_404)
{
	struct user	a, b;
	struct resp	*r;
	char		id[40];

	fx_new(&a, "todo-");
	fx_new(&b, "todo-");
	mk_titled(&a, "not yours", "high", id);

	r = fx_call("GET", &b, NULL, "/api/v1/users/%s/todos/%s", b.id, id);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_call("PUT", &b, "{\"title\": \"x\", \"priority\": \"low\"}",
	    "/api/v1/users/%s/todos/%s", b.id, id);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_call("PATCH", &b, "{\"title\": \"x\"}",
	    "/api/v1/users/%s/todos/%s", b.id, id);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_call("PATCH", &b, "{\"completed\": true}",
	    "/api/v1/users/%s/todos/%s/complete", b.id, id);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_call("DELETE", &b, NULL, "/api/v1/users/%s/todos/%s", b.id, id);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_call("GET", &b, NULL, "/api/v1/users/%s/todos", b.id);
	cr_expect_eq(jint(r, "data.total"), 0);
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos/%s", a.id, id);
	cr_expect_eq(r->status, 200);
	cr_expect_str_eq(jstr(r, "data.title"), "not yours");
	resp_free(r);
}

Test(todos, malformed_or_unknown_todo_id_is_404)
{
	struct user	a;
	struct resp	*r;
	char		*lng;

	fx_new(&a, "todo-");
	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos/not-a-uuid", a.id);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_call("GET", &a, NULL,
	    "/api/v1/users/%s/todos/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
	    a.id);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_call("DELETE", &a, NULL, "/api/v1/users/%s/todos/%s", a.id,
	    FX_NO_SUCH_ID);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_call("PATCH", &a, "{\"title\": \"x\"}",
	    "/api/v1/users/%s/todos/12'%%3B--", a.id);
	fx_error(r, 404, "not_found");
	resp_free(r);
	lng = repeat("a", 300);
	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos/%s", a.id, lng);
	fx_error(r, 404, "not_found");
	resp_free(r);
	free(lng);
}

Test(todos, without_a_token_is_401)
{
	struct resp	*r;

	r = fx_call("GET", NULL, NULL, "/api/v1/users/%s/todos", FX_NO_SUCH_ID);
	fx_error(r, 401, "unauthorized");
	cr_expect_not_null(resp_header(r, "www-authenticate"));
	resp_free(r);
	r = fx_call("POST", NULL, "{\"title\": \"x\"}",
	    "/api/v1/users/%s/todos",
	    FX_NO_SUCH_ID);
	fx_error(r, 401, "unauthorized");
	resp_free(r);
}

Test(todos, wrong_method_is_405_with_allow)
{
	struct user	a;
	struct resp	*r;

	fx_new(&a, "todo-");
	r = fx_call("POST", &a, "{}", "/api/v1/users/%s/todos/%s", a.id,
	    FX_NO_SUCH_ID);
	fx_error(r, 405, "method_not_allowed");
	cr_expect_str_eq(resp_header(r, "allow"),
	    "GET, HEAD, PUT, PATCH, DELETE, OPTIONS");
	resp_free(r);
	r = fx_call("DELETE", &a, NULL, "/api/v1/users/%s/todos", a.id);
	fx_error(r, 405, "method_not_allowed");
	cr_expect_str_eq(resp_header(r, "allow"), "GET, HEAD, POST, OPTIONS");
	resp_free(r);
}

Test(todos, admin_may_use_any_user_id)
{
	struct user	a, adm;
	struct resp	*r;
	char		id[40];

	fx_new(&a, "todo-");
	fx_admin(&adm);
	mk_titled(&a, "seen by admin", "low", id);

	r = fx_call("GET", &adm, NULL, "/api/v1/users/%s/todos", a.id);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cr_expect_eq(jint(r, "data.total"), 1);
	cr_expect_str_eq(jstr(r, "data.items.0.id"), id);
	resp_free(r);

	r = fx_call("GET", &adm, NULL, "/api/v1/users/%s/todos/%s", a.id, id);
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);

	r = fx_call("POST", &adm, "{\"title\": \"from admin\"}",
	    "/api/v1/users/%s/todos", a.id);
	cr_assert_eq(r->status, 201, "%ld %s", r->status, r->body);
	cr_expect_str_eq(jstr(r, "data.user_id"), a.id);
	resp_free(r);

	/* A user that does not exist has no todos to show or to take. */
	r = fx_call("GET", &adm, NULL, "/api/v1/users/%s/todos", FX_NO_SUCH_ID);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_call("POST", &adm, "{\"title\": \"orphan\"}",
	    "/api/v1/users/%s/todos", FX_NO_SUCH_ID);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_call("GET", &adm, NULL, "/api/v1/users/not-a-uuid/todos");
	fx_error(r, 404, "not_found");
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos", a.id);
	cr_expect_eq(jint(r, "data.total"), 2);
	resp_free(r);
}

Test(todos, purging_a_user_removes_their_todos)
{
	const char	*count =
	    "SELECT count(*) FROM todos WHERE user_id = $1";
	struct user	a, adm;
	struct resp	*r;
	char		id[40];

	fx_new(&a, "todo-");
	fx_admin(&adm);
	mk_titled(&a, "one", "low", id);
	mk_titled(&a, "two", "high", id);
	cr_assert_eq(db_count(count, a.id), 2);

	r = fx_call("DELETE", &adm, NULL, "/api/v1/users/%s", a.id);
	cr_assert_eq(r->status, 200, "purge: %ld %s", r->status, r->body);
	resp_free(r);

	cr_expect_eq(db_count(count, a.id), 0);
	cr_expect_eq(db_count("SELECT count(*) FROM todos WHERE id = $1", id),
	    0);
	cr_expect_eq(db_count("SELECT count(*) FROM todo_counts "
	    "WHERE user_id = $1", a.id), 0);
	r = fx_call("GET", &adm, NULL, "/api/v1/users/%s/todos", a.id);
	fx_error(r, 404, "not_found");
	resp_free(r);
}

/*
 * The todo columns come from PostgreSQL in binary (uuids as 16 bytes,
 * timestamps as microseconds since 2000): what the API shows must be
 * exactly what the database holds, in the single answer and the list.
 */
Test(todos, ids_and_times_are_the_database_s)
{
	struct user	a;
	struct resp	*r;
	char		id[40], created[64], completed[64];

#define TODO_UTC(col)	"SELECT to_char(" col " AT TIME ZONE 'UTC', "	\
	"'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM todos WHERE id = $1"
	fx_new(&a, "todo-");
	mk_titled(&a, "exact", "low", id);
	r = fx_call("PATCH", &a, "{\"completed\": true}",
	    "/api/v1/users/%s/todos/%s/complete", a.id, id);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	resp_free(r);
	(void)snprintf(created, sizeof(created), "%s",
	    fx_sql(TODO_UTC("created_at"), id));
	(void)snprintf(completed, sizeof(completed), "%s",
	    fx_sql(TODO_UTC("completed_at"), id));
	cr_assert_neq(created[0], '\0');

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos/%s", a.id, id);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cr_expect_str_eq(jstr(r, "data.id"), id);
	cr_expect_str_eq(jstr(r, "data.user_id"), a.id);
	cr_expect_str_eq(jstr(r, "data.priority"), "low");
	cr_expect(json_is_true(jpath(r->json, "data.completed")));
	cr_expect_str_eq(jstr(r, "data.created_at"), created);
	cr_expect_str_eq(jstr(r, "data.completed_at"), completed);
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos", a.id);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cr_expect_str_eq(jstr(r, "data.items.0.id"), id);
	cr_expect_str_eq(jstr(r, "data.items.0.user_id"), a.id);
	cr_expect_str_eq(jstr(r, "data.items.0.created_at"), created);
	cr_expect_str_eq(jstr(r, "data.items.0.completed_at"), completed);
	cr_expect_eq(json_integer_value(jpath(r->json, "data.total")), 1);
	resp_free(r);
#undef TODO_UTC
}

/*
 * The list's rows carry no user_id from the database (every row is the
 * page's user's): the answer writes the user's id as PostgreSQL would,
 * lower case, whatever the case of the path's.
 */
Test(todos, the_list_s_user_id_is_the_user_s_whatever_the_path_s_case)
{
	struct user	a;
	struct resp	*r;
	char		id[40], upper[64];
	size_t		i;

	fx_new(&a, "todo-");
	mk_titled(&a, "cased", "low", id);
	for (i = 0; a.id[i] != '\0' && i < sizeof(upper) - 1; i++)
		upper[i] = (char)toupper((unsigned char)a.id[i]);
	upper[i] = '\0';
	cr_assert_str_neq(upper, a.id);
	r = fx_call("GET", &a, NULL, "/api/v1/users/%s/todos", upper);
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	cr_expect_str_eq(jstr(r, "data.items.0.id"), id);
	cr_expect_str_eq(jstr(r, "data.items.0.user_id"), a.id);
	resp_free(r);
}
