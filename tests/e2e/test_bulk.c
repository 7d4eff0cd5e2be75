/*
 * Bulk operations: completing, un-completing and deleting many todos,
 * and deleting many documents, each in one request and one statement,
 * with the ids not found (or not the caller's) reported back.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define NOBODY	"00000000-0000-4000-8000-00000000abcd"

static void
todo_new(struct user *a, const char *title, char *id, size_t len)
{
	struct resp	*r;
	char		 path[256], body[256];

	(void)snprintf(path, sizeof(path), "/api/v1/users/%s/todos", a->id);
	(void)snprintf(body, sizeof(body), "{\"title\": \"%s\"}", title);
	r = fx_req(NULL, "POST", path, a->token, NULL, body);
	cr_assert_eq(r->status, 201, "%s", r->body);
	(void)snprintf(id, len, "%s", jstr(r, "data.id"));
	resp_free(r);
}

static struct resp *
todo_get(struct user *a, const char *id)
{
	char		 path[256];

	(void)snprintf(path, sizeof(path), "/api/v1/users/%s/todos/%s", a->id,
	    id);
	return (fx_req(NULL, "GET", path, a->token, NULL, NULL));
}

static struct resp *
todo_bulk(struct user *a, const char *owner, const char *body)
{
	char		 path[256];

	(void)snprintf(path, sizeof(path), "/api/v1/users/%s/todos/bulk",
	    owner ? owner : a->id);
	return (fx_req(NULL, "POST", path, a->token, NULL, body));
}

static void
expect_ids(struct resp *r, const char *key, const char *const *want)
{
	json_t		*arr;
	size_t		 i;

	arr = jpath(r->json, key);
	cr_assert(json_is_array(arr), "%s: %s", key, r->body);
	for (i = 0; want[i] != NULL; i++) {
		cr_expect_str_eq(json_string_value(json_array_get(arr, i)),
		    want[i], "%s[%zu]: %s", key, i, r->body);
	}
	cr_expect_eq(json_array_size(arr), i, "%s: %s", key, r->body);
}

static const char *
field_of(struct resp *r, size_t i)
{
	return (json_string_value(json_object_get(json_array_get(
	    jpath(r->json, "error.details.fields"), i), "field")));
}

Test(bulk, todos_complete_uncomplete_and_delete_report_what_was_missing)
{
	struct user	 a, b;
	struct resp	*r;
	char		 t1[64], t2[64], t3[64], tb[64], body[1024], path[256];

	fx_new(&a, "bulk");
	fx_new(&b, "bulk");
	todo_new(&a, "one", t1, sizeof(t1));
	todo_new(&a, "two", t2, sizeof(t2));
	todo_new(&a, "three", t3, sizeof(t3));
	todo_new(&b, "theirs", tb, sizeof(tb));

	/* Another user's todo, an unknown id, a duplicate: not found once. */
	(void)snprintf(body, sizeof(body), "{\"action\": \"complete\", "
	    "\"ids\": [\"%s\", \"%s\", \"%s\", \"%s\", \"%s\"]}", t2, tb,
	    NOBODY, t1, t2);
	r = todo_bulk(&a, NULL, body);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.action"), "complete");
	cr_expect_eq(jint(r, "data.count"), 2);
	expect_ids(r, "data.ids", (const char *[]){ t2, t1, NULL });
	expect_ids(r, "data.not_found", (const char *[]){ tb, NOBODY, NULL });
	resp_free(r);

	r = todo_get(&a, t1);
	cr_expect(json_is_true(jpath(r->json, "data.completed")), "%s",
	    r->body);
	cr_expect_not_null(jstr(r, "data.completed_at"));
	resp_free(r);
	r = todo_get(&a, t3);
	cr_expect(json_is_false(jpath(r->json, "data.completed")));
	resp_free(r);
	r = todo_get(&b, tb);
	cr_expect(json_is_false(jpath(r->json, "data.completed")),
	    "another user's todo was changed: %s", r->body);
	resp_free(r);

	(void)snprintf(body, sizeof(body), "{\"action\": \"uncomplete\", "
	    "\"ids\": [\"%s\"]}", t1);
	r = todo_bulk(&a, NULL, body);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_eq(jint(r, "data.count"), 1);
	resp_free(r);
	r = todo_get(&a, t1);
	cr_expect(json_is_false(jpath(r->json, "data.completed")));
	cr_expect(json_is_null(jpath(r->json, "data.completed_at")));
	resp_free(r);

	(void)snprintf(body, sizeof(body), "{\"action\": \"delete\", "
	    "\"ids\": [\"%s\", \"%s\", \"%s\"]}", t1, tb, t3);
	r = todo_bulk(&a, NULL, body);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.action"), "delete");
	cr_expect_eq(jint(r, "data.count"), 2);
	expect_ids(r, "data.ids", (const char *[]){ t1, t3, NULL });
	expect_ids(r, "data.not_found", (const char *[]){ tb, NULL });
	resp_free(r);

	r = todo_get(&a, t1);
	cr_expect_eq(r->status, 404);
	resp_free(r);
	r = todo_get(&b, tb);
	cr_expect_eq(r->status, 200, "another user's todo was deleted");
	resp_free(r);
	(void)snprintf(path, sizeof(path), "/api/v1/users/%s/todos", a.id);
	r = fx_req(NULL, "GET", path, a.token, NULL, NULL);
	cr_expect_eq(jint(r, "data.total"), 1, "%s", r->body);
	resp_free(r);

	/* Everything missing is still a 200 that says so. */
	(void)snprintf(body, sizeof(body), "{\"action\": \"delete\", "
	    "\"ids\": [\"%s\"]}", t1);
	r = todo_bulk(&a, NULL, body);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_eq(jint(r, "data.count"), 0);
	expect_ids(r, "data.ids", (const char *[]){ NULL });
	expect_ids(r, "data.not_found", (const char *[]){ t1, NULL });
	resp_free(r);
}

Test(bulk, todos_bulk_refuses_bad_requests)
{
	struct user	 a, b;
	struct resp	*r;
	char		*big;
	size_t		 off, i, cap;

	fx_new(&a, "bulkbad");
	fx_new(&b, "bulkbad");

	r = todo_bulk(&a, NULL, "{\"ids\": [\"" NOBODY "\"]}");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(field_of(r, 0), "action");
	resp_free(r);

	r = todo_bulk(&a, NULL, "{\"action\": \"archive\", \"ids\": [\""
	    NOBODY "\"]}");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(field_of(r, 0), "action");
	resp_free(r);

	r = todo_bulk(&a, NULL, "{\"action\": \"delete\", \"ids\": []}");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(field_of(r, 0), "ids");
	resp_free(r);

	r = todo_bulk(&a, NULL, "{\"action\": \"delete\", \"ids\": [\""
	    NOBODY "\", \"not-a-uuid\", 7]}");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(field_of(r, 0), "ids[1]");
	cr_expect_str_eq(field_of(r, 1), "ids[2]");
	resp_free(r);

	cap = 101 * 48 + 64;
	big = malloc(cap);
	off = (size_t)snprintf(big, cap, "{\"action\": \"delete\", \"ids\": [");
	for (i = 0; i < 101; i++)
		off += (size_t)snprintf(big + off, cap - off, "%s\"%s\"",
		    i ? "," : "", NOBODY);
	(void)snprintf(big + off, cap - off, "]}");
	r = todo_bulk(&a, NULL, big);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(field_of(r, 0), "ids");
	resp_free(r);
	free(big);

	r = todo_bulk(&a, NULL, "{\"action\": ");
	fx_error(r, 400, "invalid_json");
	resp_free(r);

	/* Another user's list: 403, as for every todo route. */
	r = todo_bulk(&a, b.id, "{\"action\": \"delete\", \"ids\": [\""
	    NOBODY "\"]}");
	fx_error(r, 403, "forbidden");
	resp_free(r);

	r = fx_req(NULL, "POST", "/api/v1/users/me/todos/bulk", NULL, NULL,
	    "{}");
	fx_error(r, 401, "unauthorized");
	resp_free(r);

	r = todo_bulk(&a, NULL, "{}");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(field_of(r, 0), "action");
	cr_expect_str_eq(field_of(r, 1), "ids");
	resp_free(r);
	(void)snprintf(big = malloc(256), 256, "/api/v1/users/%s/todos/bulk",
	    a.id);
	r = fx_req(NULL, "GET", big, a.token, NULL, NULL);
	fx_error(r, 405, "method_not_allowed");
	resp_free(r);
	free(big);
}

static long
doc_status(struct user *a, const char *id)
{
	struct resp	*r;
	char		 path[256];
	long		 st;

	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s", id);
	r = fx_req(NULL, "GET", path, a->token, NULL, NULL);
	st = r->status;
	resp_free(r);
	return (st);
}

Test(bulk, documents_delete_reports_missing_and_audits_each)
{
	struct user	 a, b;
	struct resp	*r;
	json_t		*it;
	char		 d1[64], d2[64], d3[64], db[64], body[1024];
	size_t		 i;
	int		 audited;

	fx_new(&a, "bulkdoc");
	fx_new(&b, "bulkdoc");
	fx_doc_new(NULL, &a, "note.txt", "The first note of the bulk test.", d1,
	    sizeof(d1));
	fx_doc_new(NULL, &a, "note.txt", "The second note of the bulk test.",
	    d2, sizeof(d2));
	fx_doc_new(NULL, &a, "note.txt", "The third note, which stays.", d3,
	    sizeof(d3));
	fx_doc_new(NULL, &b, "note.txt", "Somebody else's note.", db,
	    sizeof(db));

	(void)snprintf(body, sizeof(body), "{\"action\": \"delete\", "
	    "\"ids\": [\"%s\", \"%s\", \"%s\", \"%s\", \"%s\"]}", d2, db,
	    NOBODY, d1, d2);
	r = fx_req(NULL, "POST", "/api/v1/documents/bulk", a.token, NULL,
	    body);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.action"), "delete");
	cr_expect_eq(jint(r, "data.count"), 2);
	expect_ids(r, "data.ids", (const char *[]){ d2, d1, NULL });
	expect_ids(r, "data.not_found", (const char *[]){ db, NOBODY, NULL });
	resp_free(r);

	cr_expect_eq(doc_status(&a, d1), 404);
	cr_expect_eq(doc_status(&a, d2), 404);
	cr_expect_eq(doc_status(&a, d3), 200);
	cr_expect_eq(doc_status(&b, db), 200, "another user's document "
	    "was deleted");

	/* One audit row per deleted document, as for a single delete. */
	r = fx_req(NULL, "GET", "/api/v1/users/me/audit?limit=100", a.token,
	    NULL, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	audited = 0;
	json_array_foreach(jpath(r->json, "data.items"), i, it) {
		if (!strcmp(json_string_value(json_object_get(it, "event")),
		    "document_deleted"))
			audited++;
	}
	cr_expect_eq(audited, 2, "%s", r->body);
	resp_free(r);

	r = fx_req(NULL, "POST", "/api/v1/documents/bulk", a.token, NULL,
	    "{\"action\": \"complete\", \"ids\": [\"" NOBODY "\"]}");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(field_of(r, 0), "action");
	resp_free(r);
	r = fx_req(NULL, "POST", "/api/v1/documents/bulk", a.token, NULL,
	    "{\"action\": \"delete\", \"ids\": \"" NOBODY "\"}");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(field_of(r, 0), "ids");
	resp_free(r);
	r = fx_req(NULL, "POST", "/api/v1/documents/bulk", NULL, NULL,
	    "{\"action\": \"delete\", \"ids\": [\"" NOBODY "\"]}");
	fx_error(r, 401, "unauthorized");
	resp_free(r);
}
