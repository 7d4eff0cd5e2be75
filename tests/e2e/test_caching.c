/*
 * Caching: ETag and If-None-Match (304, Cache-Control: private) on single
 * resources and lists, invalidated by every change; analyses of bytes
 * already analysed served from the stored result without tokens.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

#define WAIT_S		90

/* GET path as a, with If-None-Match: inm when given. */
static struct resp *
cget(const char *base, struct user *a, const char *path, const char *inm)
{
	const char	*hdrs[3];
	char		 auth[FX_TOKEN_MAX + 32], cond[256];
	int		 n;

	n = 0;
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    a->token);
	hdrs[n++] = auth;
	if (inm != NULL) {
		(void)snprintf(cond, sizeof(cond), "If-None-Match: %s", inm);
		hdrs[n++] = cond;
	}
	hdrs[n] = NULL;
	return (http_req_to(fx_base(base), "GET", path, hdrs, NULL, 0));
}

/* A 200 with an ETag and private caching; the tag, copied into out. */
static void
expect_tagged(struct resp *r, char *out, size_t len)
{
	const char	*et, *cc;

	cr_assert_eq(r->status, 200, "%s", r->body);
	et = resp_header(r, "etag");
	cr_assert_not_null(et, "no ETag");
	cr_expect_eq(et[0], '"', "strong tag: %s", et);
	cc = resp_header(r, "cache-control");
	cr_assert_not_null(cc);
	cr_expect_not_null(strstr(cc, "private"), "%s", cc);
	cr_expect_null(strstr(cc, "no-store"), "%s", cc);
	(void)snprintf(out, len, "%s", et);
}

static void
expect_not_modified(struct resp *r, const char *etag)
{
	cr_assert_eq(r->status, 304, "%ld %s", r->status, r->body);
	cr_expect_eq(r->len, 0, "304 with a body: %s", r->body);
	cr_expect_str_eq(resp_header(r, "etag"), etag);
	cr_expect_not_null(strstr(resp_header(r, "cache-control"), "private"));
	cr_expect_not_null(resp_header(r, "x-request-id"));
}

Test(caching, single_todo_etag_304_and_invalidation)
{
	struct user	 a, b;
	struct resp	*r;
	char		 path[256], tag[64], tag2[64], weak[80], body[128];

	fx_new(&a, "etag");
	fx_new(&b, "etag");
	(void)snprintf(path, sizeof(path), "/api/v1/users/%s/todos", a.id);
	r = fx_req(NULL, "POST", path, a.token, NULL,
	    "{\"title\": \"cache me\"}");
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_expect_null(resp_header(r, "etag"), "a POST carries no ETag");
	(void)snprintf(path, sizeof(path), "/api/v1/users/%s/todos/%s", a.id,
	    jstr(r, "data.id"));
	resp_free(r);

	r = cget(NULL, &a, path, NULL);
	expect_tagged(r, tag, sizeof(tag));
	resp_free(r);

	r = cget(NULL, &a, path, tag);
	expect_not_modified(r, tag);
	resp_free(r);
	(void)snprintf(weak, sizeof(weak), "\"other\", W/%s", tag);
	r = cget(NULL, &a, path, weak);
	expect_not_modified(r, tag);
	resp_free(r);
	r = cget(NULL, &a, path, "*");
	expect_not_modified(r, tag);
	resp_free(r);
	r = cget(NULL, &a, path, "\"something-else\"");
	cr_expect_eq(r->status, 200);
	resp_free(r);

	/* Another user with the tag: still 403, never 304. */
	r = cget(NULL, &b, path, tag);
	cr_expect_eq(r->status, 403, "%ld %s", r->status, r->body);
	resp_free(r);

	/* A change makes the old tag stale at once. */
	(void)snprintf(body, sizeof(body), "{\"title\": \"changed\"}");
	r = fx_req(NULL, "PATCH", path, a.token, NULL, body);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_null(resp_header(r, "etag"));
	resp_free(r);
	r = cget(NULL, &a, path, tag);
	expect_tagged(r, tag2, sizeof(tag2));
	cr_expect_str_neq(tag, tag2);
	cr_expect_str_eq(jstr(r, "data.title"), "changed");
	resp_free(r);
	r = cget(NULL, &a, path, tag2);
	expect_not_modified(r, tag2);
	resp_free(r);

	r = fx_req(NULL, "DELETE", path, a.token, NULL, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	resp_free(r);
	r = cget(NULL, &a, path, tag2);
	cr_expect_eq(r->status, 404);
	cr_expect_null(resp_header(r, "etag"));
	resp_free(r);
}

Test(caching, list_etag_changes_when_an_item_does)
{
	struct user	 a;
	struct resp	*r;
	char		 path[256], item[300], tag[64], tag2[64], tag3[64];

	fx_new(&a, "etagl");
	(void)snprintf(path, sizeof(path), "/api/v1/users/%s/todos", a.id);
	r = fx_req(NULL, "POST", path, a.token, NULL, "{\"title\": \"one\"}");
	cr_assert_eq(r->status, 201);
	(void)snprintf(item, sizeof(item), "%s/%s/complete", path,
	    jstr(r, "data.id"));
	resp_free(r);

	r = cget(NULL, &a, path, NULL);
	expect_tagged(r, tag, sizeof(tag));
	resp_free(r);
	r = cget(NULL, &a, path, tag);
	expect_not_modified(r, tag);
	resp_free(r);

	/* Another page or filter is another representation. */
	r = cget(NULL, &a, "/api/v1/users/me", tag);
	cr_expect_eq(r->status, 200);
	resp_free(r);

	/* Completing an item (another route) changes the list. */
	r = fx_req(NULL, "PATCH", item, a.token, NULL,
	    "{\"completed\": true}");
	cr_assert_eq(r->status, 200, "%s", r->body);
	resp_free(r);
	r = cget(NULL, &a, path, tag);
	expect_tagged(r, tag2, sizeof(tag2));
	cr_expect_str_neq(tag, tag2);
	resp_free(r);

	/* A new item too. */
	r = fx_req(NULL, "POST", path, a.token, NULL, "{\"title\": \"two\"}");
	cr_assert_eq(r->status, 201);
	resp_free(r);
	r = cget(NULL, &a, path, tag2);
	expect_tagged(r, tag3, sizeof(tag3));
	cr_expect_str_neq(tag2, tag3);
	cr_expect_eq(jint(r, "data.total"), 2);
	resp_free(r);

	/* The profile and the document list are tagged as well. */
	r = cget(NULL, &a, "/api/v1/users/me", NULL);
	expect_tagged(r, tag, sizeof(tag));
	resp_free(r);
	r = fx_req(NULL, "PATCH", "/api/v1/users/me", a.token, NULL,
	    "{\"full_name\": \"Renamed Tester\"}");
	cr_assert_eq(r->status, 200, "%s", r->body);
	resp_free(r);
	r = cget(NULL, &a, "/api/v1/users/me", tag);
	cr_expect_eq(r->status, 200, "profile change not seen");
	resp_free(r);
}

Test(caching, etag_through_the_tls_front)
{
	struct user	 a;
	struct resp	*r;
	char		 tag[64];
	const char	*tls;

	tls = env_or("E2E_TLS", NULL);
	cr_assert_not_null(tls, "E2E_TLS not set");
	fx_new(&a, "etagtls");
	r = cget(tls, &a, "/api/v1/users/me", NULL);
	expect_tagged(r, tag, sizeof(tag));
	resp_free(r);
	r = cget(tls, &a, "/api/v1/users/me", tag);
	cr_expect_eq(r->status, 304, "%ld %s", r->status, r->body);
	resp_free(r);
}

/* Analyse id with type and wait: the finished analysis. */
static struct resp *
analyse(struct user *a, const char *id, const char *type)
{
	struct resp	*r;
	char		 path[256], body[128];
	const char	*st;
	int		 i;

	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s/analyze", id);
	(void)snprintf(body, sizeof(body), "{\"analysis_type\": \"%s\"}",
	    type);
	r = fx_req(NULL, "POST", path, a->token, NULL, body);
	cr_assert_eq(r->status, 202, "%s", r->body);
	resp_free(r);
	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s/analysis",
	    id);
	for (i = 0; i < WAIT_S * 10; i++) {
		r = fx_req(NULL, "GET", path, a->token, NULL, NULL);
		cr_assert_eq(r->status, 200, "%s", r->body);
		st = jstr(r, "data.status");
		if (!strcmp(st, "completed") || !strcmp(st, "failed"))
			return (r);
		resp_free(r);
		(void)usleep(100000);
	}
	cr_assert_fail("analysis of %s not done", id);
	return (NULL);
}

static long
llm_calls(struct user *a)
{
	return (atol(fx_sql("SELECT count(*) FROM llm_calls WHERE "
	    "user_id = $1::uuid", a->id)));
}

Test(caching, analysis_of_identical_bytes_is_served_from_the_stored_result)
{
	struct user	 a, b;
	struct resp	*r;
	char		 d1[64], d2[64], db[64], text[512], *summary;
	long		 calls;

	fx_new(&a, "ancache");
	fx_new(&b, "ancache");
	(void)snprintf(text, sizeof(text), "Memorandum %s. The tenant shall "
	    "pay rent monthly; either party may terminate on thirty days "
	    "notice.", uniq("m"));
	fx_doc_new(NULL, &a, "memo.txt", text, d1, sizeof(d1));
	fx_doc_new(NULL, &a, "memo.txt", text, d2,
	    sizeof(d2));	/* the same bytes again */
	fx_doc_new(NULL, &b, "memo.txt", text, db,
	    sizeof(db));	/* and at another user */
	cr_assert_str_eq(fx_doc_wait(NULL, &a, d1, WAIT_S), "completed",
	    "document %s not processed", d1);
	cr_assert_str_eq(fx_doc_wait(NULL, &a, d2, WAIT_S), "completed",
	    "document %s not processed", d2);
	cr_assert_str_eq(fx_doc_wait(NULL, &b, db, WAIT_S), "completed",
	    "document %s not processed", db);

	r = analyse(&a, d1, "summary");
	cr_assert_str_eq(jstr(r, "data.status"), "completed", "%s", r->body);
	cr_expect(json_is_false(jpath(r->json, "data.cached")), "%s", r->body);
	cr_expect_gt(jint(r, "data.usage.total_tokens"), 0);
	summary = strdup(jstr(r, "data.summary"));
	resp_free(r);
	calls = llm_calls(&a);
	cr_expect_gt(calls, 0);

	/* The copy: same result, cached, no tokens, no call. */
	r = analyse(&a, d2, "summary");
	cr_assert_str_eq(jstr(r, "data.status"), "completed", "%s", r->body);
	cr_expect(json_is_true(jpath(r->json, "data.cached")), "%s", r->body);
	cr_expect_eq(jint(r, "data.usage.total_tokens"), 0);
	cr_expect_str_eq(jstr(r, "data.summary"), summary);
	cr_expect_not_null(jstr(r, "data.model_used"));
	resp_free(r);
	cr_expect_eq(llm_calls(&a), calls, "the model was called again");

	/* Another type is another analysis. */
	r = analyse(&a, d2, "risks");
	cr_expect(json_is_false(jpath(r->json, "data.cached")), "%s", r->body);
	cr_expect_gt(jint(r, "data.usage.total_tokens"), 0);
	resp_free(r);
	calls = llm_calls(&a);

	/* Another model is too (as if the earlier ones asked for another). */
	(void)fx_sql("UPDATE document_analyses SET model_requested = 'older' "
	    "WHERE user_id = $1::uuid", a.id);
	r = analyse(&a, d1, "summary");
	cr_expect(json_is_false(jpath(r->json, "data.cached")), "%s", r->body);
	cr_expect_gt(jint(r, "data.usage.total_tokens"), 0);
	resp_free(r);
	cr_expect_gt(llm_calls(&a), calls);

	/* Another user's identical bytes are not served from a's result. */
	r = analyse(&b, db, "summary");
	cr_expect(json_is_false(jpath(r->json, "data.cached")), "%s", r->body);
	cr_expect_gt(jint(r, "data.usage.total_tokens"), 0);
	resp_free(r);
	free(summary);
}
